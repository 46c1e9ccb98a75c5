#pragma once

// Step types: what the validator knows about each Type. A StepTypeSpec carries the per-type
// hooks: an in-depth check of Arguments, the properties the type exposes to
// {"Get": "Steps.S.<property>"} and their static types, and the Arguments fields whose YAML
// plain scalars must stay strings. The engines of later step types add their argument checks by
// registering (or replacing) a spec in the registry they pass to ParseDefinition / Validate.
//
// No global registry: BuiltinStepTypes() returns a fresh one each call.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "pipeline/definition.h"
#include "pipeline/expression.h"
#include "pipeline/property_path.h"

namespace raypipe::pipeline {

class StepTypeRegistry;

// What a validate_arguments hook sees. Problems go through Error(), with field paths relative
// to `at`; the validator turns them into Diagnostics naming the file, line, step and field.
struct ArgumentsContext {
  const PipelineDefinition& pipeline;
  // The step checked; for a ForEach template, the ForEach step that holds it.
  const StepDefinition& step;
  // The Arguments object being checked.
  const nlohmann::json& arguments;
  // Where `arguments` sits inside the step: "Arguments", or "Arguments.Step.Arguments".
  FieldPath at;
  // True inside a ForEach step's template, where {"Get": "Item"} is allowed.
  bool in_foreach_template = false;
  const StepTypeRegistry& types;
  // Static types of references (parameters, step properties, ...).
  ReferenceTypeFn reference_type;
  std::vector<Issue>* issues;

  void Error(const FieldPath& field, std::string message) const;
  // A problem with a field of the step outside Arguments ("PropertyFiles[0].OutputName").
  void StepError(const FieldPath& field, std::string message) const;
  // The static type of a value that may be an expression.
  ValueType TypeOf(const nlohmann::json& value) const;
  // Checks a nested step template (the Step of a ForEach) with its own type's hook.
  void ValidateTemplate(std::string_view type, const nlohmann::json& template_arguments,
                        const FieldPath& field) const;
};

using ValidateArgumentsFn = std::function<void(const ArgumentsContext&)>;

// The static type of property `path` of `step`, or InvalidArgument saying the type has no
// such property (and which it has). Steps.S.PropertyFiles.N is handled by the validator.
using PropertyTypeFn =
    std::function<Result<ValueType>(const StepDefinition& step, const PropertyPath& path)>;

struct StepTypeSpec {
  std::string type;
  // In-depth checks of Arguments; empty means any object is accepted.
  ValidateArgumentsFn validate_arguments;
  // The properties the type exposes; empty means none.
  PropertyTypeFn property_type;
  // Property-path patterns inside Arguments ("Command[*]", "Environment.*") whose YAML plain
  // scalars are kept as the text written, as the schema wants strings there.
  std::vector<std::string> string_fields;
  // A field of Arguments holding a step template {Type, Arguments} (ForEach: "Step").
  std::string template_field;
  // Whether the type may be the template of a ForEach step.
  bool allowed_in_foreach = true;
  // Whether CacheConfig / RetryPolicies mean anything for the type.
  bool cacheable = true;
  bool retryable = true;
};

class StepTypeRegistry {
 public:
  // Adds or replaces the spec of `spec.type`.
  void Register(StepTypeSpec spec);
  // The spec of `type`, or null when the type is unknown.
  const StepTypeSpec* Find(std::string_view type) const;
  // The registered type names, sorted.
  std::vector<std::string> TypeNames() const;

 private:
  std::map<std::string, StepTypeSpec, std::less<>> specs_;
};

// The ten step types of DESIGN.md section 3: FeatureStoreIngest, Processing, Training, Tuning,
// Condition, Fail, RegisterModel, Deploy, Command, ForEach. Command, ForEach, Fail and
// Condition check their Arguments in depth; the others only expose their properties.
StepTypeRegistry BuiltinStepTypes();

// A PropertyTypeFn over a table of patterns ("Outputs.*", "FinalMetricDataList[*].Value").
struct PropertyPattern {
  std::string pattern;
  ValueType type = ValueType::kUnknown;
};
PropertyTypeFn PropertyTable(std::vector<PropertyPattern> patterns);

// Replaces the YAML plain scalars at `spec.string_fields` inside `arguments` (and inside its
// template's Arguments, by that type's spec) with the text written. `arguments_pointer` is the
// JSON pointer of `arguments` in the document that `positions` describes.
void KeepStringFieldsAsWritten(const StepTypeRegistry& types, const StepTypeSpec& spec,
                               const std::string& arguments_pointer, const SourceMap& positions,
                               nlohmann::json* arguments);

// The four in-depth checks, exposed for engines that wrap them.
void ValidateCommandArguments(const ArgumentsContext& context);
void ValidateForEachArguments(const ArgumentsContext& context);
void ValidateFailArguments(const ArgumentsContext& context);
void ValidateConditionArguments(const ArgumentsContext& context);

// Properties of Command steps: Outputs.<declared output> (String), Metrics.<declared metric>
// (Float), ExitCode (Integer).
Result<ValueType> CommandPropertyType(const StepDefinition& step, const PropertyPath& path);
// Properties of ForEach steps: Outputs.<name> and Metrics.<name> of the template, each a List
// in item order.
Result<ValueType> ForEachPropertyType(const StepDefinition& step, const PropertyPath& path);

// The environment variable part of an input or output name: upper-cased, '-' as '_'.
std::string EnvironmentNameOf(std::string_view name);

}  // namespace raypipe::pipeline
