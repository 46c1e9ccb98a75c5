#include "pipeline/condition.h"

#include <utility>

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

constexpr size_t kMaxConditionDepth = 32;

constexpr ConditionKind kAllKinds[] = {
    ConditionKind::kEquals,   ConditionKind::kGreaterThan,
    ConditionKind::kGreaterThanOrEqualTo, ConditionKind::kLessThan,
    ConditionKind::kLessThanOrEqualTo,    ConditionKind::kIn,
    ConditionKind::kNot,      ConditionKind::kOr,
};

bool IsComparison(ConditionKind kind) {
  return kind != ConditionKind::kIn && kind != ConditionKind::kNot && kind != ConditionKind::kOr;
}

std::string KindList() {
  std::string out;
  for (ConditionKind kind : kAllKinds) {
    if (!out.empty()) out += ", ";
    out += ConditionKindName(kind);
  }
  return out;
}

class ConditionParser {
 public:
  explicit ConditionParser(std::vector<Issue>* issues) : issues_(issues) {}

  std::optional<Condition> Parse(const json& value, const FieldPath& at, size_t depth) {
    if (depth > kMaxConditionDepth) {
      Add(at, "conditions nested more than " + std::to_string(kMaxConditionDepth) +
                  " levels deep");
      return std::nullopt;
    }
    if (!value.is_object()) {
      Add(at, "a condition must be an object with a Type, got " + DescribeValue(value));
      return std::nullopt;
    }
    auto type_it = value.find("Type");
    if (type_it == value.end()) {
      Add(at.Key("Type"), "a condition needs a Type (" + KindList() + ")");
      return std::nullopt;
    }
    if (!type_it->is_string()) {
      Add(at.Key("Type"), "Type must be a string, got " + DescribeValue(*type_it));
      return std::nullopt;
    }
    const std::optional<ConditionKind> kind = ParseConditionKind(type_it->get<std::string>());
    if (!kind.has_value()) {
      Add(at.Key("Type"), "unknown condition type '" + type_it->get<std::string>() +
                              "'; expected one of " + KindList());
      return std::nullopt;
    }
    Condition condition;
    condition.kind = *kind;
    condition.field = at;
    if (IsComparison(*kind)) {
      if (!Fields(value, at, {"LeftValue", "RightValue"}, {})) return std::nullopt;
      condition.left = ParseExpression(value["LeftValue"], at.Key("LeftValue"), issues_);
      condition.right = ParseExpression(value["RightValue"], at.Key("RightValue"), issues_);
      return condition;
    }
    if (*kind == ConditionKind::kIn) {
      const bool old_form = value.contains("Value") || value.contains("In");
      const std::string query_key = old_form ? "Value" : "QueryValue";
      const std::string values_key = old_form ? "In" : "Values";
      if (!Fields(value, at, {query_key, values_key}, {})) return std::nullopt;
      condition.left = ParseExpression(value[query_key], at.Key(query_key), issues_);
      const size_t issues_before = issues_->size();
      condition.right = ParseExpression(value[values_key], at.Key(values_key), issues_);
      if (condition.right.kind == Expression::Kind::kLiteral ||
          condition.right.kind == Expression::Kind::kObject) {
        if (issues_->size() == issues_before) {
          Add(at.Key(values_key),
              values_key + " must be a list, got " + DescribeValue(value[values_key]));
        }
        return std::nullopt;
      }
      return condition;
    }
    if (*kind == ConditionKind::kNot) {
      const std::string key = value.contains("Expression") ? "Expression" : "Condition";
      if (!Fields(value, at, {key}, {})) return std::nullopt;
      std::optional<Condition> operand = Parse(value[key], at.Key(key), depth + 1);
      if (!operand.has_value()) return std::nullopt;
      condition.operands.push_back(std::move(*operand));
      return condition;
    }
    // Or
    if (!Fields(value, at, {"Conditions"}, {})) return std::nullopt;
    const json& list = value["Conditions"];
    if (!list.is_array() || list.empty()) {
      Add(at.Key("Conditions"), "Conditions must be a non-empty list, got " +
                                    DescribeValue(list));
      return std::nullopt;
    }
    bool ok = true;
    for (size_t index = 0; index < list.size(); ++index) {
      std::optional<Condition> operand =
          Parse(list[index], at.Key("Conditions").Index(index), depth + 1);
      if (operand.has_value()) {
        condition.operands.push_back(std::move(*operand));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return condition;
  }

 private:
  void Add(const FieldPath& field, std::string message) {
    issues_->push_back({field, std::move(message)});
  }

  // Checks that `value` holds each of `required`, and nothing but Type, `required` and
  // `optional`.
  bool Fields(const json& value, const FieldPath& at, const std::vector<std::string>& required,
              const std::vector<std::string>& optional) {
    bool ok = true;
    const std::string type = value["Type"].get<std::string>();
    for (const std::string& key : required) {
      if (!value.contains(key)) {
        Add(at.Key(key), WithArticle(type) + " condition needs " + key);
        ok = false;
      }
    }
    for (const auto& [key, unused] : value.items()) {
      bool known = key == "Type";
      for (const std::string& name : required) known = known || key == name;
      for (const std::string& name : optional) known = known || key == name;
      if (!known) {
        std::string expected = "Type";
        for (const std::string& name : required) expected += ", " + name;
        Add(at.Key(key), "unknown field of " + WithArticle(type) + " condition; expected " +
                             expected);
        ok = false;
      }
    }
    return ok;
  }

  std::vector<Issue>* issues_;
};

bool IsIntegral(const json& value) {
  return value.is_number_integer();  // true for signed and unsigned
}

// -1, 0, 1 as `left` is less than, equal to or greater than `right`. REQUIRES: both numbers.
int CompareNumbers(const json& left, const json& right) {
  if (IsIntegral(left) && IsIntegral(right)) {
    const bool left_unsigned = left.is_number_unsigned();
    const bool right_unsigned = right.is_number_unsigned();
    if (!left_unsigned && !right_unsigned) {
      const auto a = left.get<int64_t>(), b = right.get<int64_t>();
      return a < b ? -1 : (a > b ? 1 : 0);
    }
    if (!left_unsigned && left.get<int64_t>() < 0) return -1;
    if (!right_unsigned && right.get<int64_t>() < 0) return 1;
    const auto a = left.get<uint64_t>(), b = right.get<uint64_t>();
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  const double a = left.get<double>(), b = right.get<double>();
  return a < b ? -1 : (a > b ? 1 : 0);
}

Result<bool> Ordered(ConditionKind kind, int order) {
  switch (kind) {
    case ConditionKind::kEquals:
      return order == 0;
    case ConditionKind::kGreaterThan:
      return order > 0;
    case ConditionKind::kGreaterThanOrEqualTo:
      return order >= 0;
    case ConditionKind::kLessThan:
      return order < 0;
    case ConditionKind::kLessThanOrEqualTo:
      return order <= 0;
    default:
      return InternalError("not a comparison");
  }
}

bool TypesCompatible(ConditionKind kind, ValueType left, ValueType right) {
  if (left == ValueType::kUnknown || right == ValueType::kUnknown) return true;
  if (IsNumber(left) && IsNumber(right)) return true;
  if (left == ValueType::kString && right == ValueType::kString) return true;
  return (kind == ConditionKind::kEquals || kind == ConditionKind::kIn) && left == right &&
         left != ValueType::kNull;
}

}  // namespace

std::string_view ConditionKindName(ConditionKind kind) {
  switch (kind) {
    case ConditionKind::kEquals:
      return "Equals";
    case ConditionKind::kGreaterThan:
      return "GreaterThan";
    case ConditionKind::kGreaterThanOrEqualTo:
      return "GreaterThanOrEqualTo";
    case ConditionKind::kLessThan:
      return "LessThan";
    case ConditionKind::kLessThanOrEqualTo:
      return "LessThanOrEqualTo";
    case ConditionKind::kIn:
      return "In";
    case ConditionKind::kNot:
      return "Not";
    case ConditionKind::kOr:
      return "Or";
  }
  return "Equals";
}

std::optional<ConditionKind> ParseConditionKind(std::string_view name) {
  for (ConditionKind kind : kAllKinds) {
    if (ConditionKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

std::optional<Condition> ParseCondition(const json& value, const FieldPath& at,
                                        std::vector<Issue>* issues) {
  ConditionParser parser(issues);
  return parser.Parse(value, at, 0);
}

std::vector<Condition> ParseConditionList(const json& value, const FieldPath& at,
                                          std::vector<Issue>* issues) {
  std::vector<Condition> out;
  if (!value.is_array() || value.empty()) {
    issues->push_back({at, "Conditions must be a non-empty list of conditions, got " +
                               DescribeValue(value)});
    return out;
  }
  for (size_t index = 0; index < value.size(); ++index) {
    std::optional<Condition> condition = ParseCondition(value[index], at.Index(index), issues);
    if (condition.has_value()) out.push_back(std::move(*condition));
  }
  return out;
}

void CollectReferences(const Condition& condition, std::vector<LocatedReference>* out) {
  CollectReferences(condition.left, out);
  CollectReferences(condition.right, out);
  for (const Condition& operand : condition.operands) CollectReferences(operand, out);
}

void CheckConditionTypes(const Condition& condition, const ReferenceTypeFn& reference_type,
                         std::vector<Issue>* issues) {
  for (const Condition& operand : condition.operands) {
    CheckConditionTypes(operand, reference_type, issues);
  }
  if (condition.kind == ConditionKind::kNot || condition.kind == ConditionKind::kOr) return;
  CheckExpressionTypes(condition.left, reference_type, issues);
  CheckExpressionTypes(condition.right, reference_type, issues);
  const ValueType left = InferType(condition.left, reference_type);
  const std::string name(ConditionKindName(condition.kind));
  if (condition.kind == ConditionKind::kIn) {
    if (condition.right.kind != Expression::Kind::kList) {
      const ValueType type = InferType(condition.right, reference_type);
      if (type != ValueType::kList && type != ValueType::kUnknown) {
        issues->push_back({condition.right.field, "In needs a list of values; this is " +
                                                      WithArticle(ValueTypeName(type))});
      }
      return;
    }
    for (const Expression& item : condition.right.items) {
      const ValueType type = InferType(item, reference_type);
      if (!TypesCompatible(ConditionKind::kIn, left, type)) {
        issues->push_back({item.field, "In compares " + WithArticle(ValueTypeName(left)) +
                                           " query value with " +
                                           WithArticle(ValueTypeName(type))});
      }
    }
    return;
  }
  const ValueType right = InferType(condition.right, reference_type);
  if (TypesCompatible(condition.kind, left, right)) return;
  if (left == right && left != ValueType::kNull) {
    issues->push_back({condition.field, name + " needs numbers or strings; LeftValue and "
                                               "RightValue are " +
                                               std::string(ValueTypeName(left))});
  } else {
    issues->push_back({condition.field, name + " compares " +
                                            WithArticle(ValueTypeName(left)) + " with " +
                                            WithArticle(ValueTypeName(right))});
  }
}

Result<bool> CompareValues(ConditionKind kind, const json& left, const json& right) {
  if (kind == ConditionKind::kIn) {
    if (!right.is_array()) {
      return InvalidArgumentError("In needs a list of values, got " + DescribeValue(right));
    }
    for (const json& value : right) {
      ASSIGN_OR_RETURN(bool equal, CompareValues(ConditionKind::kEquals, left, value));
      if (equal) return true;
    }
    return false;
  }
  if (!IsComparison(kind)) return InvalidArgumentError("not a comparison");
  if (left.is_number() && right.is_number()) return Ordered(kind, CompareNumbers(left, right));
  if (left.is_string() && right.is_string()) {
    const int order = left.get_ref<const std::string&>().compare(
        right.get_ref<const std::string&>());
    return Ordered(kind, order < 0 ? -1 : (order > 0 ? 1 : 0));
  }
  const std::string name(ConditionKindName(kind));
  if (left.type() == right.type() && !left.is_null()) {
    if (kind == ConditionKind::kEquals) return left == right;
    return InvalidArgumentError(name + " needs numbers or strings, got " + DescribeValue(left) +
                                " and " + DescribeValue(right));
  }
  return InvalidArgumentError(name + " cannot compare " + std::string(JsonTypeName(left)) + " " +
                              DescribeValue(left) + " with " +
                              std::string(JsonTypeName(right)) + " " + DescribeValue(right));
}

Result<bool> EvaluateCondition(const Condition& condition, const Resolver& resolver) {
  switch (condition.kind) {
    case ConditionKind::kNot: {
      if (condition.operands.size() != 1) return InvalidArgumentError("Not: malformed");
      ASSIGN_OR_RETURN(bool value, EvaluateCondition(condition.operands[0], resolver));
      return !value;
    }
    case ConditionKind::kOr: {
      for (const Condition& operand : condition.operands) {
        ASSIGN_OR_RETURN(bool value, EvaluateCondition(operand, resolver));
        if (value) return true;
      }
      return false;
    }
    default:
      break;
  }
  ASSIGN_OR_RETURN(json left, Evaluate(condition.left, resolver));
  ASSIGN_OR_RETURN(json right, Evaluate(condition.right, resolver));
  Result<bool> result = CompareValues(condition.kind, left, right);
  if (!result.ok() && !condition.field.empty()) {
    return result.status().WithContext("condition at '" + condition.field.ToString() + "'");
  }
  return result;
}

Result<bool> EvaluateConditions(const std::vector<Condition>& conditions,
                                const Resolver& resolver) {
  for (const Condition& condition : conditions) {
    ASSIGN_OR_RETURN(bool value, EvaluateCondition(condition, resolver));
    if (!value) return false;
  }
  return true;
}

}  // namespace raypipe::pipeline
