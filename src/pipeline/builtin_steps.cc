// In-depth argument checks of the Command, ForEach, Fail and Condition steps (DESIGN.md
// section 3 fixes their shapes), and the properties of Command and ForEach steps.

#include <cctype>
#include <map>
// GCC 12 with the sanitizers warns inside <regex> itself (a false -Wmaybe-uninitialized in
// std::function moves of NFA states).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <set>
#include <string>

#include "pipeline/condition.h"
#include "pipeline/step_types.h"

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

std::string Join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// Reports the keys of `object` (at `field`) that are not in `allowed`. False when `object`
// is not an object at all (also reported).
bool CheckFields(const ArgumentsContext& context, const json& object, const FieldPath& field,
                 std::string_view what, std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) {
    context.Error(field, std::string(what) + " must be an object, got " + DescribeValue(object));
    return false;
  }
  for (const auto& [key, unused] : object.items()) {
    bool known = false;
    for (std::string_view name : allowed) known = known || key == name;
    if (!known) {
      context.Error(field.Key(key),
                    "unknown field of " + std::string(what) + "; expected " + Join(allowed));
    }
  }
  return true;
}

bool IsEnvironmentName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// A value that ends up as text (a command-line argument, an environment value): any scalar or
// an expression of a scalar type.
void CheckTextValue(const ArgumentsContext& context, const json& value, const FieldPath& field,
                    std::string_view what) {
  const ValueType type = context.TypeOf(value);
  if (type == ValueType::kList || type == ValueType::kObject || type == ValueType::kNull) {
    context.Error(field, std::string(what) + " must be a String, Integer, Float or Boolean; " +
                             "this is " + std::string(ValueTypeName(type)) +
                             (type == ValueType::kList ? " (Std:Join makes one String of a list)"
                                                       : ""));
  }
}

// Names of inputs or outputs: well formed, and distinct after the mapping to environment
// variable names. Returns the names seen.
std::set<std::string> CheckNamedEntries(const ArgumentsContext& context, const json& arguments,
                                        std::string_view list_key, std::string_view name_key,
                                        std::initializer_list<std::string_view> fields,
                                        std::string_view env_prefix) {
  std::set<std::string> names;
  auto list_it = arguments.find(list_key);
  if (list_it == arguments.end()) return names;
  const FieldPath list_field = FieldPath(list_key);
  if (!list_it->is_array()) {
    context.Error(list_field, std::string(list_key) + " must be a list, got " +
                                  DescribeValue(*list_it));
    return names;
  }
  std::map<std::string, std::string> by_env_name;
  for (size_t index = 0; index < list_it->size(); ++index) {
    const json& entry = (*list_it)[index];
    const FieldPath field = list_field.Index(index);
    if (!CheckFields(context, entry, field, std::string("an entry of ") + std::string(list_key),
                     fields)) {
      continue;
    }
    auto name_it = entry.find(name_key);
    if (name_it == entry.end()) {
      context.Error(field.Key(name_key), "missing " + std::string(name_key));
      continue;
    }
    if (!name_it->is_string() || !IsValidName(name_it->get<std::string>())) {
      context.Error(field.Key(name_key), std::string(name_key) + " " + DescribeValue(*name_it) +
                                             " must match ^[A-Za-z0-9\\-_]{1,64}$");
      continue;
    }
    const std::string name = name_it->get<std::string>();
    const std::string env_name = EnvironmentNameOf(name);
    auto [it, inserted] = by_env_name.emplace(env_name, name);
    if (!inserted) {
      context.Error(field.Key(name_key),
                    it->second == name
                        ? "duplicate " + std::string(name_key) + " '" + name + "'"
                        : std::string(name_key) + " '" + name + "' and '" + it->second +
                              "' both become " + std::string(env_prefix) + env_name);
      continue;
    }
    names.insert(name);
  }
  return names;
}

// A regex the engine can compile quickly: bounded length, nesting and repetition counts (a
// nested {n} multiplies the compiled automaton), then compiled once to find syntax errors.
std::optional<std::string> RegexProblem(const std::string& pattern) {
  constexpr size_t kMaxLength = 512;
  constexpr int kMaxDepth = 16;
  constexpr double kMaxRepetition = 1000;
  if (pattern.empty()) return "Regex is empty";
  if (pattern.size() > kMaxLength) {
    return "Regex is longer than " + std::to_string(kMaxLength) + " characters";
  }
  int depth = 0;
  double repetition = 1;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '(') {
      if (++depth > kMaxDepth) return "Regex nests groups deeper than 16";
    } else if (c == ')') {
      --depth;
    } else if (c == '{') {
      // {n}, {n,} and {n,m} copy the repeated atom up to the largest bound.
      size_t j = i + 1;
      double count = 0;
      double largest = 1;
      while (j < pattern.size() && (std::isdigit(static_cast<unsigned char>(pattern[j])) ||
                                    pattern[j] == ',')) {
        if (pattern[j] == ',') {
          count = 0;
        } else {
          count = count * 10 + (pattern[j] - '0');
          largest = std::max(largest, count);
        }
        ++j;
      }
      repetition *= largest;
      if (repetition > kMaxRepetition) return "Regex repetition counts are too large";
    }
  }
  try {
    std::regex compiled(pattern, std::regex::ECMAScript);
    if (compiled.mark_count() < 1) return "Regex needs a capture group around the value";
  } catch (const std::regex_error& error) {
    return std::string("invalid Regex: ") + error.what();
  }
  return std::nullopt;
}

void CheckMetricDefinitions(const ArgumentsContext& context, const json& arguments) {
  auto list_it = arguments.find("MetricDefinitions");
  if (list_it == arguments.end()) return;
  const FieldPath list_field("MetricDefinitions");
  if (!list_it->is_array()) {
    context.Error(list_field, "MetricDefinitions must be a list, got " + DescribeValue(*list_it));
    return;
  }
  std::set<std::string> names;
  for (size_t index = 0; index < list_it->size(); ++index) {
    const json& entry = (*list_it)[index];
    const FieldPath field = list_field.Index(index);
    if (!CheckFields(context, entry, field, "a metric definition", {"Name", "Regex"})) continue;
    auto name_it = entry.find("Name");
    if (name_it == entry.end() || !name_it->is_string() || name_it->get<std::string>().empty()) {
      context.Error(field.Key("Name"), "a metric definition needs a non-empty Name");
    } else if (!names.insert(name_it->get<std::string>()).second) {
      context.Error(field.Key("Name"), "duplicate metric '" + name_it->get<std::string>() + "'");
    }
    auto regex_it = entry.find("Regex");
    if (regex_it == entry.end() || !regex_it->is_string()) {
      context.Error(field.Key("Regex"), "a metric definition needs a Regex string");
    } else if (std::optional<std::string> problem = RegexProblem(regex_it->get<std::string>())) {
      context.Error(field.Key("Regex"), *problem);
    }
  }
}

void CheckBranchList(const ArgumentsContext& context, Branch branch,
                     std::map<std::string, Branch>* seen) {
  const std::string key(BranchFieldName(branch));
  auto list_it = context.arguments.find(key);
  if (list_it == context.arguments.end()) return;
  const FieldPath list_field(key);
  if (!list_it->is_array()) {
    context.Error(list_field, key + " must be a list of steps or step names, got " +
                                  DescribeValue(*list_it));
    return;
  }
  for (size_t index = 0; index < list_it->size(); ++index) {
    const json& entry = (*list_it)[index];
    if (entry.is_object()) continue;  // an inline definition the parser could not take
    const FieldPath field = list_field.Index(index);
    if (!entry.is_string()) {
      context.Error(field, "an entry of " + key +
                               " must be a step name or a step definition, got " +
                               DescribeValue(entry));
      continue;
    }
    const std::string name = entry.get<std::string>();
    if (name == context.step.name) {
      context.Error(field, "a Condition step cannot list itself in " + key);
      continue;
    }
    if (context.pipeline.FindStep(name) == nullptr) {
      context.Error(field, "unknown step '" + name + "' in " + key);
      continue;
    }
    auto [it, inserted] = seen->emplace(name, branch);
    if (!inserted) {
      context.Error(field, it->second == branch
                               ? "step '" + name + "' is listed twice in " + key
                               : "step '" + name + "' is in both IfSteps and ElseSteps");
    }
  }
}

}  // namespace

std::string EnvironmentNameOf(std::string_view name) {
  std::string out;
  for (char c : name) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

void ValidateCommandArguments(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!CheckFields(context, arguments, FieldPath(), "the arguments of a Command step",
                   {"Command", "WorkingDirectory", "Environment", "Inputs", "Outputs",
                    "MetricDefinitions"})) {
    return;
  }
  auto command_it = arguments.find("Command");
  if (command_it == arguments.end()) {
    context.Error(FieldPath("Command"),
                  "a Command step needs Command, a list such as [\"python3\", \"train.py\"]");
  } else if (!command_it->is_array() || command_it->empty()) {
    context.Error(FieldPath("Command"),
                  "Command must be a non-empty list, got " + DescribeValue(*command_it));
  } else {
    for (size_t index = 0; index < command_it->size(); ++index) {
      CheckTextValue(context, (*command_it)[index], FieldPath("Command").Index(index),
                     "a command-line argument");
    }
    const json& program = (*command_it)[0];
    if (program.is_string() && program.get<std::string>().empty()) {
      context.Error(FieldPath("Command").Index(0), "the program name is empty");
    }
  }
  if (auto it = arguments.find("WorkingDirectory"); it != arguments.end()) {
    const ValueType type = context.TypeOf(*it);
    if (type != ValueType::kString && type != ValueType::kUnknown) {
      context.Error(FieldPath("WorkingDirectory"),
                    "WorkingDirectory must be a String, got " + DescribeValue(*it));
    }
  }
  if (auto it = arguments.find("Environment"); it != arguments.end()) {
    if (!it->is_object()) {
      context.Error(FieldPath("Environment"),
                    "Environment must be an object of NAME: value, got " + DescribeValue(*it));
    } else {
      for (const auto& [name, value] : it->items()) {
        const FieldPath field = FieldPath("Environment").Key(name);
        if (!IsEnvironmentName(name)) {
          context.Error(field, "'" + name + "' is not an environment variable name "
                                            "([A-Za-z_][A-Za-z0-9_]*)");
        } else if (name.rfind("RAYPIPE_", 0) == 0) {
          context.Error(field, "names starting with RAYPIPE_ are set by raypipe");
        }
        CheckTextValue(context, value, field, "an environment value");
      }
    }
  }
  CheckNamedEntries(context, arguments, "Inputs", "InputName", {"InputName", "Source"},
                    "RAYPIPE_INPUT_");
  if (auto it = arguments.find("Inputs"); it != arguments.end() && it->is_array()) {
    for (size_t index = 0; index < it->size(); ++index) {
      const json& entry = (*it)[index];
      if (!entry.is_object()) continue;
      const FieldPath field = FieldPath("Inputs").Index(index).Key("Source");
      auto source_it = entry.find("Source");
      if (source_it == entry.end()) {
        context.Error(field, "an input needs a Source: a path or {\"Get\": "
                             "\"Steps.<step>.Outputs.<name>\"}");
        continue;
      }
      const ValueType type = context.TypeOf(*source_it);
      if (type != ValueType::kString && type != ValueType::kUnknown) {
        context.Error(field, "Source must be a path or an artifact, got " +
                                 std::string(ValueTypeName(type)));
      } else if (source_it->is_string() && source_it->get<std::string>().empty()) {
        context.Error(field, "Source is empty");
      }
    }
  }
  const std::set<std::string> outputs = CheckNamedEntries(
      context, arguments, "Outputs", "OutputName", {"OutputName"}, "RAYPIPE_OUTPUT_");
  CheckMetricDefinitions(context, arguments);
  if (context.in_foreach_template) return;
  for (size_t index = 0; index < context.step.property_files.size(); ++index) {
    const PropertyFile& file = context.step.property_files[index];
    if (!file.output_name.empty() && outputs.count(file.output_name) == 0) {
      context.StepError(FieldPath("PropertyFiles").Index(index).Key("OutputName"),
                        "the step has no output '" + file.output_name + "' in its Outputs");
    }
  }
}

void ValidateForEachArguments(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!CheckFields(context, arguments, FieldPath(), "the arguments of a ForEach step",
                   {"Items", "MaxConcurrency", "Step"})) {
    return;
  }
  if (!context.step.property_files.empty()) {
    context.StepError(FieldPath("PropertyFiles"),
                      "ForEach steps have no PropertyFiles; read their outputs downstream");
  }
  auto items_it = arguments.find("Items");
  if (items_it == arguments.end()) {
    context.Error(FieldPath("Items"), "a ForEach step needs Items: a list, a String parameter "
                                      "holding a JSON list, or a step's list output");
  } else if (items_it->is_string()) {
    const json parsed = json::parse(items_it->get<std::string>(), nullptr,
                                    /*allow_exceptions=*/false);
    if (!parsed.is_array()) {
      context.Error(FieldPath("Items"), "Items " + DescribeValue(*items_it) +
                                            " is a String that does not hold a JSON list");
    }
  } else {
    const ValueType type = context.TypeOf(*items_it);
    if (type != ValueType::kList && type != ValueType::kString && type != ValueType::kUnknown) {
      context.Error(FieldPath("Items"), "Items must be a list, a String holding a JSON list, or "
                                        "a step's list output; this is " +
                                            std::string(ValueTypeName(type)));
    }
  }
  if (auto it = arguments.find("MaxConcurrency"); it != arguments.end()) {
    const ValueType type = context.TypeOf(*it);
    if (it->is_number_integer()) {
      if (it->is_number_unsigned() ? it->get<uint64_t>() < 1 : it->get<int64_t>() < 1) {
        context.Error(FieldPath("MaxConcurrency"), "MaxConcurrency must be at least 1, got " +
                                                       DescribeValue(*it));
      }
    } else if (type != ValueType::kInteger && type != ValueType::kUnknown) {
      context.Error(FieldPath("MaxConcurrency"),
                    "MaxConcurrency must be a positive Integer, got " + DescribeValue(*it));
    }
  }
  auto step_it = arguments.find("Step");
  const FieldPath step_field("Step");
  if (step_it == arguments.end()) {
    context.Error(step_field, "a ForEach step needs Step, the template {Type, Arguments} run "
                              "for each item");
    return;
  }
  if (!CheckFields(context, *step_it, step_field, "a ForEach template", {"Type", "Arguments"})) {
    return;
  }
  auto type_it = step_it->find("Type");
  if (type_it == step_it->end() || !type_it->is_string()) {
    context.Error(step_field.Key("Type"), "the template needs a Type");
    return;
  }
  const std::string type = type_it->get<std::string>();
  const StepTypeSpec* spec = context.types.Find(type);
  if (spec == nullptr) {
    std::string known;
    for (const std::string& name : context.types.TypeNames()) {
      known += (known.empty() ? "" : ", ") + name;
    }
    context.Error(step_field.Key("Type"),
                  "unknown step type '" + type + "'; expected one of " + known);
    return;
  }
  if (!spec->allowed_in_foreach) {
    context.Error(step_field.Key("Type"),
                  WithArticle(type) + " step cannot be a ForEach template");
    return;
  }
  auto template_arguments = step_it->find("Arguments");
  if (template_arguments == step_it->end()) {
    context.ValidateTemplate(type, json::object(), step_field.Key("Arguments"));
  } else if (!template_arguments->is_object()) {
    context.Error(step_field.Key("Arguments"),
                  "Arguments must be an object, got " + DescribeValue(*template_arguments));
  } else {
    context.ValidateTemplate(type, *template_arguments, step_field.Key("Arguments"));
  }
}

void ValidateFailArguments(const ArgumentsContext& context) {
  if (!CheckFields(context, context.arguments, FieldPath(), "the arguments of a Fail step",
                   {"ErrorMessage"})) {
    return;
  }
  if (auto it = context.arguments.find("ErrorMessage"); it != context.arguments.end()) {
    CheckTextValue(context, *it, FieldPath("ErrorMessage"), "ErrorMessage");
  }
}

void ValidateConditionArguments(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!CheckFields(context, arguments, FieldPath(), "the arguments of a Condition step",
                   {"Conditions", "IfSteps", "ElseSteps"})) {
    return;
  }
  auto conditions_it = arguments.find("Conditions");
  if (conditions_it == arguments.end()) {
    context.Error(FieldPath("Conditions"), "a Condition step needs Conditions");
  } else {
    std::vector<Condition> conditions =
        ParseConditionList(*conditions_it, context.at.Key("Conditions"), context.issues);
    for (const Condition& condition : conditions) {
      CheckConditionTypes(condition, context.reference_type, context.issues);
    }
  }
  std::map<std::string, Branch> seen;
  CheckBranchList(context, Branch::kIf, &seen);
  CheckBranchList(context, Branch::kElse, &seen);
}

Result<ValueType> CommandPropertyType(const StepDefinition& step, const PropertyPath& path) {
  const std::string text = FormatPropertyPath(path);
  if (path.size() == 1 && path[0].kind == PathSegment::Kind::kKey && path[0].key == "ExitCode") {
    return ValueType::kInteger;
  }
  const bool named = path.size() == 2 && path[0].kind == PathSegment::Kind::kKey &&
                     path[1].kind == PathSegment::Kind::kKey;
  if (named && (path[0].key == "Outputs" || path[0].key == "Metrics")) {
    const bool outputs = path[0].key == "Outputs";
    const char* list_key = outputs ? "Outputs" : "MetricDefinitions";
    const char* name_key = outputs ? "OutputName" : "Name";
    std::string declared;
    auto list_it = step.arguments.find(list_key);
    if (list_it != step.arguments.end() && list_it->is_array()) {
      for (const json& entry : *list_it) {
        if (!entry.is_object()) continue;
        auto name_it = entry.find(name_key);
        if (name_it == entry.end() || !name_it->is_string()) continue;
        if (name_it->get<std::string>() == path[1].key) {
          return outputs ? ValueType::kString : ValueType::kFloat;
        }
        declared += (declared.empty() ? "" : ", ") + name_it->get<std::string>();
      }
    }
    return InvalidArgumentError("has no " + std::string(outputs ? "output" : "metric") + " '" +
                                path[1].key + "'; it declares " +
                                (declared.empty() ? "none" : declared) + " in " + list_key);
  }
  return InvalidArgumentError("has no property '" + text +
                              "'; Command steps expose Outputs.<name>, Metrics.<name>, ExitCode");
}

Result<ValueType> ForEachPropertyType(const StepDefinition& step, const PropertyPath& path) {
  const bool named = path.size() == 2 && path[0].kind == PathSegment::Kind::kKey &&
                     path[1].kind == PathSegment::Kind::kKey;
  if (!named || (path[0].key != "Outputs" && path[0].key != "Metrics")) {
    return InvalidArgumentError("has no property '" + FormatPropertyPath(path) +
                                "'; ForEach steps expose Outputs.<name> and Metrics.<name>, "
                                "lists in item order");
  }
  // When the template is a Command step, its declarations say which names exist.
  auto step_it = step.arguments.find("Step");
  if (step_it != step.arguments.end() && step_it->is_object() &&
      step_it->value("Type", json()) == "Command") {
    StepDefinition template_step;
    template_step.type = "Command";
    template_step.arguments = step_it->value("Arguments", json::object());
    Result<ValueType> inner = CommandPropertyType(template_step, path);
    if (!inner.ok()) return inner.status();
  }
  return ValueType::kList;
}

}  // namespace raypipe::pipeline
