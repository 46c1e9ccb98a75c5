#include "pipeline/expression.h"

#include <charconv>
#include <utility>

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

constexpr std::string_view kGetKey = "Get";
constexpr std::string_view kJoinKey = "Std:Join";
constexpr std::string_view kJsonGetKey = "Std:JsonGet";
// Expressions come from documents already bounded in depth; this bound also covers JSON built
// by programs.
constexpr size_t kMaxExpressionDepth = 128;

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string JoinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

class ExpressionParser {
 public:
  explicit ExpressionParser(std::vector<Issue>* issues) : issues_(issues) {}

  Expression Parse(const json& value, const FieldPath& at, size_t depth) {
    Expression expression;
    expression.field = at;
    if (depth > kMaxExpressionDepth) {
      Add(at, "nested more than " + std::to_string(kMaxExpressionDepth) + " levels deep");
      return expression;
    }
    if (value.is_array()) {
      expression.kind = Expression::Kind::kList;
      for (size_t index = 0; index < value.size(); ++index) {
        expression.items.push_back(Parse(value[index], at.Index(index), depth + 1));
      }
      return expression;
    }
    if (!value.is_object()) {
      expression.literal = value;
      return expression;
    }
    std::string special;
    for (const auto& [key, unused] : value.items()) {
      if (key == kGetKey || StartsWith(key, "Std:")) special = key;
    }
    if (special.empty()) {
      expression.kind = Expression::Kind::kObject;
      for (const auto& [key, item] : value.items()) {
        expression.keys.push_back(key);
        expression.items.push_back(Parse(item, at.Key(key), depth + 1));
      }
      return expression;
    }
    if (value.size() != 1) {
      std::string others;
      for (const auto& [key, unused] : value.items()) {
        if (key == special) continue;
        others += others.empty() ? "'" + key + "'" : ", '" + key + "'";
      }
      Add(at, "an expression object has exactly one key; '" + special + "' is beside " + others);
      return expression;
    }
    const json& body = value.begin().value();
    if (special == kGetKey) return ParseGet(body, at);
    if (special == kJoinKey) return ParseJoin(body, at, depth);
    if (special == kJsonGetKey) return ParseJsonGet(body, at, depth);
    Add(at, "unknown function '" + special + "'; expected Std:Join or Std:JsonGet");
    return expression;
  }

 private:
  void Add(const FieldPath& field, std::string message) {
    issues_->push_back({field, std::move(message)});
  }

  Expression ParseGet(const json& body, const FieldPath& at) {
    Expression expression;
    expression.field = at;
    if (!body.is_string()) {
      Add(at.Key(kGetKey), "Get takes a string such as \"Parameters.X\", got " +
                               DescribeValue(body));
      return expression;
    }
    Result<Reference> reference = ParseReference(body.get<std::string>());
    if (!reference.ok()) {
      Add(at, std::string(reference.status().message()));
      return expression;
    }
    expression.kind = Expression::Kind::kGet;
    expression.reference = std::move(reference).value();
    return expression;
  }

  bool CheckFields(const json& body, const FieldPath& at, std::string_view function,
                   std::initializer_list<std::string_view> allowed) {
    if (!body.is_object()) {
      Add(at, std::string(function) + " takes an object, got " + DescribeValue(body));
      return false;
    }
    bool ok = true;
    for (const auto& [key, unused] : body.items()) {
      bool known = false;
      for (std::string_view name : allowed) known = known || key == name;
      if (!known) {
        std::vector<std::string_view> names(allowed);
        Add(at.Key(key), "unknown field of " + std::string(function) + "; expected " +
                             JoinNames(names));
        ok = false;
      }
    }
    for (std::string_view name : allowed) {
      if (!body.contains(name)) {
        Add(at.Key(name), std::string(function) + " needs " + std::string(name));
        ok = false;
      }
    }
    return ok;
  }

  Expression ParseJoin(const json& body, const FieldPath& at, size_t depth) {
    Expression expression;
    expression.field = at;
    const FieldPath inner = at.Key(kJoinKey);
    if (!CheckFields(body, inner, kJoinKey, {"On", "Values"})) return expression;
    const json& on = body["On"];
    const json& values = body["Values"];
    if (!on.is_string()) {
      Add(inner.Key("On"), "On must be a string, got " + DescribeValue(on));
      return expression;
    }
    const size_t issues_before = issues_->size();
    Expression parsed = Parse(values, inner.Key("Values"), depth + 1);
    if (parsed.kind != Expression::Kind::kList && parsed.kind != Expression::Kind::kGet &&
        parsed.kind != Expression::Kind::kJoin && parsed.kind != Expression::Kind::kJsonGet) {
      if (issues_->size() == issues_before) {
        Add(inner.Key("Values"), "Values must be a list, got " + DescribeValue(values));
      }
      return expression;
    }
    expression.kind = Expression::Kind::kJoin;
    expression.separator = on.get<std::string>();
    expression.items.push_back(std::move(parsed));
    return expression;
  }

  Expression ParseJsonGet(const json& body, const FieldPath& at, size_t depth) {
    Expression expression;
    expression.field = at;
    const FieldPath inner = at.Key(kJsonGetKey);
    if (!CheckFields(body, inner, kJsonGetKey, {"PropertyFile", "Path"})) return expression;
    const size_t issues_before = issues_->size();
    Expression file = Parse(body["PropertyFile"], inner.Key("PropertyFile"), depth + 1);
    if (file.kind != Expression::Kind::kGet || !file.reference.IsPropertyFile()) {
      if (issues_->size() == issues_before) {
        Add(inner.Key("PropertyFile"),
            "PropertyFile must be {\"Get\": \"Steps.<step>.PropertyFiles.<name>\"}, got " +
                DescribeValue(body["PropertyFile"]));
      }
      return expression;
    }
    Expression path = Parse(body["Path"], inner.Key("Path"), depth + 1);
    if (path.kind == Expression::Kind::kLiteral) {
      if (!path.literal.is_string()) {
        Add(inner.Key("Path"), "Path must be a string, got " + DescribeValue(path.literal));
        return expression;
      }
      Result<PropertyPath> parsed = ParsePropertyPath(path.literal.get<std::string>());
      if (!parsed.ok()) {
        Add(inner.Key("Path"), std::string(parsed.status().message()));
        return expression;
      }
    } else if (path.kind == Expression::Kind::kList || path.kind == Expression::Kind::kObject) {
      Add(inner.Key("Path"), "Path must be a string, got " + DescribeValue(body["Path"]));
      return expression;
    }
    expression.kind = Expression::Kind::kJsonGet;
    expression.items.push_back(std::move(file));
    expression.items.push_back(std::move(path));
    return expression;
  }

  std::vector<Issue>* issues_;
};

Result<json> EvaluateJsonGet(const Expression& expression, const Resolver& resolver) {
  if (expression.items.size() != 2 || expression.items[0].kind != Expression::Kind::kGet ||
      !expression.items[0].reference.IsPropertyFile()) {
    return InvalidArgumentError("Std:JsonGet: malformed expression");
  }
  const Reference& file = expression.items[0].reference;
  const std::string where = "Std:JsonGet: property file '" + file.PropertyFileName() +
                            "' of step '" + file.name + "'";
  Result<json> document = resolver.Resolve(file);
  if (!document.ok()) return document.status().WithContext(where);
  ASSIGN_OR_RETURN(json path_value, Evaluate(expression.items[1], resolver));
  if (!path_value.is_string()) {
    return InvalidArgumentError("Std:JsonGet: Path must be a string, got " +
                                DescribeValue(path_value));
  }
  Result<PropertyPath> path = ParsePropertyPath(path_value.get<std::string>());
  if (!path.ok()) return path.status().WithContext("Std:JsonGet");
  Result<json> value = GetAtPath(*document, *path);
  if (!value.ok()) return value.status().WithContext(where);
  return value;
}

void CheckTypes(const Expression& expression, const ReferenceTypeFn& reference_type,
                std::vector<Issue>* issues) {
  switch (expression.kind) {
    case Expression::Kind::kJoin: {
      const Expression& values = expression.items[0];
      if (values.kind == Expression::Kind::kList) {
        for (const Expression& item : values.items) {
          const ValueType type = InferType(item, reference_type);
          if (!IsScalar(type)) {
            issues->push_back({item.field, "Std:Join joins scalars; this is " +
                                               WithArticle(ValueTypeName(type))});
          }
        }
      } else {
        const ValueType type = InferType(values, reference_type);
        if (type != ValueType::kList && type != ValueType::kUnknown) {
          issues->push_back({values.field, "Std:Join needs a list of values; this is " +
                                               WithArticle(ValueTypeName(type))});
        }
      }
      break;
    }
    case Expression::Kind::kJsonGet: {
      const ValueType type = InferType(expression.items[1], reference_type);
      if (type != ValueType::kString && type != ValueType::kUnknown) {
        issues->push_back({expression.items[1].field,
                           "Path must be a String; this is " + WithArticle(ValueTypeName(type))});
      }
      break;
    }
    default:
      break;
  }
  for (const Expression& item : expression.items) CheckTypes(item, reference_type, issues);
}

}  // namespace

std::string Reference::ToString() const {
  switch (kind) {
    case ReferenceKind::kParameter:
      return "Parameters." + name;
    case ReferenceKind::kExecution:
      return "Execution." + name;
    case ReferenceKind::kItem:
      return "Item";
    case ReferenceKind::kItemIndex:
      return "ItemIndex";
    case ReferenceKind::kStep: {
      std::string path = FormatPropertyPath(property);
      return "Steps." + name + (StartsWith(path, "[") ? "" : ".") + path;
    }
  }
  return name;
}

bool Reference::IsPropertyFile() const {
  return kind == ReferenceKind::kStep && property.size() == 2 &&
         property[0].kind == PathSegment::Kind::kKey && property[0].key == "PropertyFiles" &&
         property[1].kind == PathSegment::Kind::kKey;
}

const std::vector<std::string_view>& ExecutionVariableNames() {
  static const std::vector<std::string_view> kNames = {
      "PipelineExecutionId", "PipelineExecutionArn", "PipelineName",    "PipelineArn",
      "StartDateTime",       "CurrentDateTime",      "TrainingJobName", "ProcessingJobName"};
  return kNames;
}

Result<Reference> ParseReference(std::string_view text) {
  Reference reference;
  if (text == "Item") {
    reference.kind = ReferenceKind::kItem;
    return reference;
  }
  if (text == "ItemIndex") {
    reference.kind = ReferenceKind::kItemIndex;
    return reference;
  }
  if (StartsWith(text, "Parameters.")) {
    reference.kind = ReferenceKind::kParameter;
    reference.name = std::string(text.substr(11));
    if (!IsValidName(reference.name, 256)) {
      return InvalidArgumentError("malformed reference '" + std::string(text) +
                                  "'; expected 'Parameters.<name>'");
    }
    return reference;
  }
  if (StartsWith(text, "Execution.")) {
    reference.kind = ReferenceKind::kExecution;
    reference.name = std::string(text.substr(10));
    for (std::string_view name : ExecutionVariableNames()) {
      if (name == reference.name) return reference;
    }
    return InvalidArgumentError("unknown execution variable '" + reference.name +
                                "'; expected one of " + JoinNames(ExecutionVariableNames()));
  }
  if (StartsWith(text, "Steps.")) {
    reference.kind = ReferenceKind::kStep;
    const std::string_view rest = text.substr(6);
    const size_t end = rest.find_first_of(".[");
    reference.name = std::string(rest.substr(0, end));
    if (reference.name.empty() || end == std::string_view::npos || end + 1 >= rest.size()) {
      return InvalidArgumentError("malformed reference '" + std::string(text) +
                                  "'; expected 'Steps.<step>.<property>'");
    }
    const std::string_view path_text = rest.substr(rest[end] == '.' ? end + 1 : end);
    Result<PropertyPath> path = ParsePropertyPath(path_text);
    if (!path.ok()) {
      return InvalidArgumentError("in reference '" + std::string(text) + "': " +
                                  std::string(path.status().message()));
    }
    reference.property = std::move(path).value();
    return reference;
  }
  return InvalidArgumentError("unknown reference '" + std::string(text) +
                              "'; a Get names Parameters.<name>, Execution.<name>, "
                              "Steps.<step>.<property>, Item or ItemIndex");
}

Expression ParseExpression(const json& value, const FieldPath& at, std::vector<Issue>* issues) {
  ExpressionParser parser(issues);
  return parser.Parse(value, at, 0);
}

Result<Expression> ParseExpression(const json& value) {
  std::vector<Issue> issues;
  Expression expression = ParseExpression(value, FieldPath(), &issues);
  if (!issues.empty()) {
    const std::string field = issues.front().field.ToString();
    return InvalidArgumentError((field.empty() ? "" : "field '" + field + "': ") +
                                issues.front().message);
  }
  return expression;
}

void CollectReferences(const Expression& expression, std::vector<LocatedReference>* out) {
  if (expression.kind == Expression::Kind::kGet) {
    out->push_back({expression.reference, expression.field});
  }
  for (const Expression& item : expression.items) CollectReferences(item, out);
}

std::vector<LocatedReference> CollectReferences(const Expression& expression) {
  std::vector<LocatedReference> out;
  CollectReferences(expression, &out);
  return out;
}

void MapResolver::Set(std::string reference_text, json value) {
  values_.insert_or_assign(std::move(reference_text), std::move(value));
}

Result<json> MapResolver::Resolve(const Reference& reference) const {
  auto it = values_.find(reference.ToString());
  if (it == values_.end()) return NotFoundError("no value for " + reference.ToString());
  return it->second;
}

Result<json> Evaluate(const Expression& expression, const Resolver& resolver) {
  switch (expression.kind) {
    case Expression::Kind::kLiteral:
      return expression.literal;
    case Expression::Kind::kGet: {
      Result<json> value = resolver.Resolve(expression.reference);
      if (!value.ok()) return value.status().WithContext("Get " + expression.reference.ToString());
      return value;
    }
    case Expression::Kind::kList: {
      json out = json::array();
      for (const Expression& item : expression.items) {
        ASSIGN_OR_RETURN(json value, Evaluate(item, resolver));
        out.push_back(std::move(value));
      }
      return out;
    }
    case Expression::Kind::kObject: {
      json out = json::object();
      for (size_t index = 0; index < expression.items.size(); ++index) {
        ASSIGN_OR_RETURN(json value, Evaluate(expression.items[index], resolver));
        out[expression.keys[index]] = std::move(value);
      }
      return out;
    }
    case Expression::Kind::kJoin: {
      if (expression.items.size() != 1) return InvalidArgumentError("Std:Join: malformed");
      ASSIGN_OR_RETURN(json values, Evaluate(expression.items[0], resolver));
      if (!values.is_array()) {
        return InvalidArgumentError("Std:Join: Values must be a list, got " +
                                    DescribeValue(values));
      }
      std::string out;
      for (size_t index = 0; index < values.size(); ++index) {
        if (index > 0) out += expression.separator;
        out += ValueToText(values[index]);
      }
      return json(std::move(out));
    }
    case Expression::Kind::kJsonGet:
      return EvaluateJsonGet(expression, resolver);
  }
  return InternalError("unknown expression kind");
}

Result<json> EvaluateJson(const json& value, const Resolver& resolver) {
  ASSIGN_OR_RETURN(Expression expression, ParseExpression(value));
  return Evaluate(expression, resolver);
}

std::string ValueToText(const json& value) {
  switch (value.type()) {
    case json::value_t::string:
      return value.get<std::string>();
    case json::value_t::null:
      return "";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
      return std::to_string(value.get<int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(value.get<uint64_t>());
    case json::value_t::number_float: {
      char buffer[64];
      auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value.get<double>());
      if (error != std::errc()) return SafeDump(value);
      return std::string(buffer, end);
    }
    default:
      return SafeDump(value);
  }
}

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kUnknown:
      return "unknown";
    case ValueType::kNull:
      return "null";
    case ValueType::kString:
      return "String";
    case ValueType::kInteger:
      return "Integer";
    case ValueType::kFloat:
      return "Float";
    case ValueType::kBoolean:
      return "Boolean";
    case ValueType::kList:
      return "List";
    case ValueType::kObject:
      return "Object";
  }
  return "unknown";
}

ValueType ValueTypeOf(const json& value) {
  switch (value.type()) {
    case json::value_t::string:
      return ValueType::kString;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return ValueType::kInteger;
    case json::value_t::number_float:
      return ValueType::kFloat;
    case json::value_t::boolean:
      return ValueType::kBoolean;
    case json::value_t::array:
      return ValueType::kList;
    case json::value_t::object:
      return ValueType::kObject;
    default:
      return ValueType::kNull;
  }
}

ValueType ValueTypeOf(ParameterType type) {
  switch (type) {
    case ParameterType::kString:
      return ValueType::kString;
    case ParameterType::kInteger:
      return ValueType::kInteger;
    case ParameterType::kFloat:
      return ValueType::kFloat;
    case ParameterType::kBoolean:
      return ValueType::kBoolean;
  }
  return ValueType::kUnknown;
}

ValueType InferType(const Expression& expression, const ReferenceTypeFn& reference_type) {
  switch (expression.kind) {
    case Expression::Kind::kLiteral:
      return ValueTypeOf(expression.literal);
    case Expression::Kind::kGet:
      return reference_type ? reference_type(expression.reference) : ValueType::kUnknown;
    case Expression::Kind::kJoin:
      return ValueType::kString;
    case Expression::Kind::kJsonGet:
      return ValueType::kUnknown;
    case Expression::Kind::kList:
      return ValueType::kList;
    case Expression::Kind::kObject:
      return ValueType::kObject;
  }
  return ValueType::kUnknown;
}

void CheckExpressionTypes(const Expression& expression, const ReferenceTypeFn& reference_type,
                          std::vector<Issue>* issues) {
  CheckTypes(expression, reference_type, issues);
}

}  // namespace raypipe::pipeline
