#include "pipeline/step_types.h"

#include <utility>

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

// Walks `value` along `pattern` from segment `index`, replacing plain YAML scalars at the end.
void ReplaceAlongPattern(const PropertyPath& pattern, size_t index, const std::string& pointer,
                         const SourceMap& positions, json* value) {
  if (index == pattern.size()) {
    if (value->is_string() || value->is_array() || value->is_object()) return;
    if (const std::string* text = positions.PlainText(pointer)) *value = *text;
    return;
  }
  const PathSegment& segment = pattern[index];
  switch (segment.kind) {
    case PathSegment::Kind::kKey:
      if (value->is_object() && value->contains(segment.key)) {
        ReplaceAlongPattern(pattern, index + 1, pointer + "/" + EscapePointerToken(segment.key),
                            positions, &(*value)[segment.key]);
      }
      break;
    case PathSegment::Kind::kAnyKey:
      if (value->is_object()) {
        for (auto& [key, item] : value->items()) {
          ReplaceAlongPattern(pattern, index + 1, pointer + "/" + EscapePointerToken(key),
                              positions, &item);
        }
      }
      break;
    case PathSegment::Kind::kIndex:
      if (value->is_array() && segment.index < value->size()) {
        ReplaceAlongPattern(pattern, index + 1, pointer + "/" + std::to_string(segment.index),
                            positions, &(*value)[segment.index]);
      }
      break;
    case PathSegment::Kind::kAnyIndex:
      if (value->is_array()) {
        for (size_t item = 0; item < value->size(); ++item) {
          ReplaceAlongPattern(pattern, index + 1, pointer + "/" + std::to_string(item), positions,
                              &(*value)[item]);
        }
      }
      break;
  }
}

Result<ValueType> NoProperties(const StepDefinition& step, const PropertyPath& path) {
  return InvalidArgumentError("has no property '" + FormatPropertyPath(path) + "'; " +
                              step.type + " steps expose none");
}

}  // namespace

void ArgumentsContext::Error(const FieldPath& field, std::string message) const {
  issues->push_back({at.Append(field), std::move(message)});
}

void ArgumentsContext::StepError(const FieldPath& field, std::string message) const {
  issues->push_back({field, std::move(message)});
}

ValueType ArgumentsContext::TypeOf(const json& value) const {
  // A malformed expression is reported where it is parsed; its type is not known.
  std::vector<Issue> issues;
  const Expression expression = ParseExpression(value, FieldPath(), &issues);
  return issues.empty() ? InferType(expression, reference_type) : ValueType::kUnknown;
}

void ArgumentsContext::ValidateTemplate(std::string_view type, const json& template_arguments,
                                        const FieldPath& field) const {
  const StepTypeSpec* spec = types.Find(type);
  if (spec == nullptr || !spec->validate_arguments) return;
  ArgumentsContext nested{pipeline,  step,  template_arguments, at.Append(field),
                          true,      types, reference_type,     issues};
  spec->validate_arguments(nested);
}

void StepTypeRegistry::Register(StepTypeSpec spec) {
  std::string type = spec.type;
  specs_.insert_or_assign(std::move(type), std::move(spec));
}

const StepTypeSpec* StepTypeRegistry::Find(std::string_view type) const {
  auto it = specs_.find(type);
  return it == specs_.end() ? nullptr : &it->second;
}

std::vector<std::string> StepTypeRegistry::TypeNames() const {
  std::vector<std::string> names;
  for (const auto& [name, unused] : specs_) names.push_back(name);
  return names;
}

PropertyTypeFn PropertyTable(std::vector<PropertyPattern> patterns) {
  struct Compiled {
    PropertyPath pattern;
    std::string text;
    ValueType type;
  };
  std::vector<Compiled> compiled;
  for (PropertyPattern& pattern : patterns) {
    Result<PropertyPath> path = ParsePropertyPath(pattern.pattern, /*allow_wildcards=*/true);
    // The tables are written in this file and by engines; a malformed one is a programmer
    // error, and is skipped rather than crashing.
    if (!path.ok()) continue;
    compiled.push_back({std::move(path).value(), std::move(pattern.pattern), pattern.type});
  }
  return [compiled = std::move(compiled)](const StepDefinition& step,
                                          const PropertyPath& path) -> Result<ValueType> {
    for (const Compiled& entry : compiled) {
      if (MatchesPattern(path, entry.pattern)) return entry.type;
    }
    std::string known;
    for (const Compiled& entry : compiled) known += (known.empty() ? "" : ", ") + entry.text;
    return InvalidArgumentError("has no property '" + FormatPropertyPath(path) + "'; " +
                                step.type + " steps expose " + known);
  };
}

void KeepStringFieldsAsWritten(const StepTypeRegistry& types, const StepTypeSpec& spec,
                               const std::string& arguments_pointer, const SourceMap& positions,
                               json* arguments) {
  for (const std::string& field : spec.string_fields) {
    Result<PropertyPath> pattern = ParsePropertyPath(field, /*allow_wildcards=*/true);
    if (!pattern.ok()) continue;
    ReplaceAlongPattern(*pattern, 0, arguments_pointer, positions, arguments);
  }
  if (spec.template_field.empty() || !arguments->is_object()) return;
  auto template_it = arguments->find(spec.template_field);
  if (template_it == arguments->end() || !template_it->is_object()) return;
  auto type_it = template_it->find("Type");
  auto arguments_it = template_it->find("Arguments");
  if (type_it == template_it->end() || !type_it->is_string() ||
      arguments_it == template_it->end()) {
    return;
  }
  const StepTypeSpec* template_spec = types.Find(type_it->get<std::string>());
  // A template of the template's own type would recurse without end; templates of templates
  // are rejected by validation anyway.
  if (template_spec == nullptr || !template_spec->template_field.empty()) return;
  KeepStringFieldsAsWritten(types, *template_spec,
                            arguments_pointer + "/" + EscapePointerToken(spec.template_field) +
                                "/Arguments",
                            positions, &*arguments_it);
}

StepTypeRegistry BuiltinStepTypes() {
  StepTypeRegistry registry;
  auto spec = [](std::string type, PropertyTypeFn property_type) {
    StepTypeSpec out;
    out.type = std::move(type);
    out.property_type = std::move(property_type);
    return out;
  };
  const PropertyPattern outputs{"Outputs.*", ValueType::kString};
  const PropertyPattern metrics{"Metrics.*", ValueType::kFloat};
  const PropertyPattern exit_code{"ExitCode", ValueType::kInteger};

  registry.Register(spec("FeatureStoreIngest",
                         PropertyTable({outputs,
                                        metrics,
                                        {"FeatureGroupName", ValueType::kString},
                                        {"RecordCount", ValueType::kInteger}})));
  registry.Register(spec("Processing", PropertyTable({outputs,
                                                      metrics,
                                                      exit_code,
                                                      {"ProcessingJobName", ValueType::kString}})));
  registry.Register(
      spec("Training", PropertyTable({outputs,
                                      metrics,
                                      {"TrainingJobName", ValueType::kString},
                                      {"ModelArtifacts.S3ModelArtifacts", ValueType::kString},
                                      {"FinalMetricDataList.*.Value", ValueType::kFloat},
                                      {"FinalMetricDataList[*].Value", ValueType::kFloat},
                                      {"FinalMetricDataList[*].MetricName", ValueType::kString}})));
  registry.Register(spec(
      "Tuning",
      PropertyTable({outputs,
                     metrics,
                     {"HyperParameterTuningJobName", ValueType::kString},
                     {"BestTrainingJob.TrainingJobName", ValueType::kString},
                     {"BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value",
                      ValueType::kFloat},
                     {"TrainingJobSummaries[*].TrainingJobName", ValueType::kString}})));
  registry.Register(spec("RegisterModel",
                         PropertyTable({{"ModelPackageArn", ValueType::kString},
                                        {"ModelPackageGroupName", ValueType::kString},
                                        {"ModelPackageVersion", ValueType::kInteger},
                                        {"ModelApprovalStatus", ValueType::kString}})));
  registry.Register(spec("Deploy", PropertyTable({{"EndpointName", ValueType::kString},
                                                  {"EndpointUrl", ValueType::kString}})));

  StepTypeSpec condition = spec("Condition", PropertyTable({{"Outcome", ValueType::kBoolean}}));
  condition.validate_arguments = ValidateConditionArguments;
  condition.string_fields = {"IfSteps[*]", "ElseSteps[*]"};
  condition.allowed_in_foreach = false;
  condition.cacheable = false;
  condition.retryable = false;
  registry.Register(std::move(condition));

  StepTypeSpec fail = spec("Fail", NoProperties);
  fail.validate_arguments = ValidateFailArguments;
  fail.string_fields = {"ErrorMessage"};
  fail.allowed_in_foreach = false;
  fail.cacheable = false;
  fail.retryable = false;
  registry.Register(std::move(fail));

  StepTypeSpec command = spec("Command", CommandPropertyType);
  command.validate_arguments = ValidateCommandArguments;
  command.string_fields = {"Command[*]",          "WorkingDirectory",
                           "Environment.*",       "Inputs[*].InputName",
                           "Inputs[*].Source",    "Outputs[*].OutputName",
                           "MetricDefinitions[*].Name", "MetricDefinitions[*].Regex"};
  registry.Register(std::move(command));

  StepTypeSpec for_each = spec("ForEach", ForEachPropertyType);
  for_each.validate_arguments = ValidateForEachArguments;
  for_each.template_field = "Step";
  for_each.allowed_in_foreach = false;
  registry.Register(std::move(for_each));
  return registry;
}

}  // namespace raypipe::pipeline
