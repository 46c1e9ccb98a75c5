#include "pipeline/validate.h"

#include <gtest/gtest.h>

#include "pipeline/parser.h"

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

std::vector<std::string> Errors(const ValidationReport& report) {
  std::vector<std::string> lines;
  for (const Diagnostic& error : report.errors) lines.push_back(error.ToString());
  return lines;
}

std::vector<std::string> Validated(std::string_view text) {
  Result<PipelineDefinition> definition = ParseDefinition(text, "v.yaml");
  EXPECT_TRUE(definition.ok()) << definition.status();
  if (!definition.ok()) return {};
  return Errors(Validate(*definition));
}

TEST(ValidateTest, AValidPipelineHasNoErrors) {
  EXPECT_TRUE(Validated(R"(
Parameters: [{Name: Rows, Type: Integer, DefaultValue: 5}]
Steps:
  - Name: Prepare
    Type: Command
    Arguments:
      Command: [python3, prepare.py, --rows, {Get: Parameters.Rows}]
      Outputs: [{OutputName: prepared}]
  - Name: Train
    Type: Command
    Arguments:
      Command: [python3, train.py]
      Inputs: [{InputName: data, Source: {Get: Steps.Prepare.Outputs.prepared}}]
)").empty());
}

TEST(ValidateTest, ReportsEveryErrorAtOnceInLineOrder) {
  const std::vector<std::string> errors = Validated(R"(
Steps:
  - Name: A
    Type: Command
    Arguments: {Command: [run, {Get: Parameters.Missing}]}
  - Name: A
    Type: Nope
  - Name: B
    Type: Fail
    DependsOn: [Ghost]
)");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "v.yaml:5: step 'A', field 'Arguments.Command[1]': unknown parameter "
                        "'Missing'; the pipeline declares none",
                        "v.yaml:6: step 'A', field 'Name': duplicate step name 'A'; first "
                        "defined at line 3",
                        "v.yaml:7: step 'A', field 'Type': unknown step type 'Nope'; expected one "
                        "of Command, Condition, Deploy, Fail, FeatureStoreIngest, ForEach, "
                        "Processing, RegisterModel, Training, Tuning",
                        "v.yaml:10: step 'B', field 'DependsOn[0]': unknown step 'Ghost'"}));
}

TEST(ValidateTest, ToStatusCountsTheErrors) {
  Result<PipelineDefinition> definition =
      ParseDefinition("Steps: [{Name: A, Type: Nope}, {Name: B, Type: Nope}]", "s.yaml");
  ASSERT_TRUE(definition.ok());
  const Status status = Validate(*definition).ToStatus();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()).rfind("2 errors in s.yaml:\ns.yaml:1: step 'A'", 0), 0u)
      << status;
  EXPECT_TRUE(ValidationReport().ToStatus().ok());
}

TEST(ValidateTest, StepsNeedingBothBranchesCanNeverRun) {
  const std::vector<std::string> errors = Validated(R"(
Steps:
  - Name: Check
    Type: Condition
    Arguments:
      Conditions: [{Type: Equals, LeftValue: 1, RightValue: 1}]
      IfSteps: [{Name: Yes, Type: Command, Arguments: {Command: [y]}}]
      ElseSteps: [{Name: No, Type: Command, Arguments: {Command: [n]}}]
  - {Name: AfterYes, Type: Fail, DependsOn: [Yes]}
  - {Name: Merge, Type: Fail, DependsOn: [AfterYes, No]}
  - {Name: AfterMerge, Type: Fail, DependsOn: [Merge]}
)");
  EXPECT_EQ(errors, std::vector<std::string>{
                        "v.yaml:10: step 'Merge', field 'DependsOn[1]': can never run: it needs "
                        "both branches of condition 'Check': it waits for 'AfterYes' (IfSteps) "
                        "and it waits for 'No' (ElseSteps)"});
}

TEST(ValidateTest, ProgrammaticDefinitionsAreCheckedToo) {
  PipelineDefinition definition;
  definition.source_name = "built";
  definition.name = "built";
  StepDefinition step;
  step.name = "bad name";
  step.type = "Command";
  step.arguments = json::parse(R"({"Command": []})");
  step.retry_policies.push_back(RetryPolicy{});
  definition.steps.push_back(step);
  ParameterDefinition parameter;
  parameter.name = "P";
  parameter.type = ParameterType::kInteger;
  parameter.default_value = json("1");
  definition.parameters.push_back(parameter);
  EXPECT_EQ(Errors(Validate(definition)),
            (std::vector<std::string>{
                "built: field 'Parameters[0].DefaultValue': DefaultValue \"1\" is not an Integer "
                "(got String)",
                "built: step 'bad name', field 'Name': step name 'bad name' must match "
                "^[A-Za-z0-9\\-_]{1,64}$",
                "built: step 'bad name', field 'RetryPolicies[0]': a retry policy needs "
                "MaxAttempts (1-20) or ExpireAfterMin (0-14400 minutes)",
                "built: step 'bad name', field 'Arguments.Command': Command must be a non-empty "
                "list, got List []"}));
}

TEST(ValidateTest, EnginesAddArgumentChecksAndPropertiesThroughTheRegistry) {
  StepTypeRegistry types = BuiltinStepTypes();
  StepTypeSpec training;
  training.type = "Training";
  training.validate_arguments = [](const ArgumentsContext& context) {
    if (!context.arguments.contains("Algorithm")) {
      context.Error(FieldPath("Algorithm"), "a Training step needs an Algorithm");
    }
  };
  training.property_type = PropertyTable({{"Model", ValueType::kString}});
  types.Register(training);
  const char* text = R"(
Steps:
  - {Name: Train, Type: Training, Arguments: {}}
  - Name: Use
    Type: Command
    Arguments:
      Command: [run, {Get: Steps.Train.Model}, {Get: Steps.Train.ModelArtifacts.S3ModelArtifacts}]
)";
  Result<PipelineDefinition> definition = ParseDefinition(text, "e.yaml", types);
  ASSERT_TRUE(definition.ok());
  EXPECT_EQ(Errors(Validate(*definition, types)),
            (std::vector<std::string>{
                "e.yaml:3: step 'Train', field 'Arguments.Algorithm': a Training step needs an "
                "Algorithm",
                "e.yaml:7: step 'Use', field 'Arguments.Command[2]': reference "
                "'Steps.Train.ModelArtifacts.S3ModelArtifacts': step 'Train' has no property "
                "'ModelArtifacts.S3ModelArtifacts'; Training steps expose Model"}));
  // The built-in table knows the SageMaker property instead.
  EXPECT_EQ(Errors(Validate(*definition)).size(), 1u);
}

TEST(ValidateTest, KnowsTheRetryExceptionTypes) {
  EXPECT_EQ(RetryExceptionTypes().size(), 5u);
  EXPECT_TRUE(Validated(R"(
Steps:
  - Name: A
    Type: Processing
    RetryPolicies:
      - {ExceptionType: [Step.SERVICE_FAULT, Step.THROTTLING], MaxAttempts: 20,
         IntervalSeconds: 43200}
      - {ExceptionType: [SageMaker.JOB_INTERNAL_ERROR, SageMaker.CAPACITY_ERROR,
                         SageMaker.RESOURCE_LIMIT], ExpireAfterMin: 0, BackoffRate: 0}
)").empty());
}

}  // namespace
}  // namespace raypipe::pipeline
