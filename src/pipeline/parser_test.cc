#include "pipeline/parser.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

PipelineDefinition Parse(std::string_view text, std::string_view name = "p.yaml") {
  Result<PipelineDefinition> definition = ParseDefinition(text, name);
  EXPECT_TRUE(definition.ok()) << definition.status();
  return definition.ok() ? std::move(definition).value() : PipelineDefinition();
}

TEST(ParserTest, ReadsTheSageMakerVocabulary) {
  const PipelineDefinition definition = Parse(R"(
Version: "2020-12-01"
Metadata: {Owner: ml-team}
Parameters:
  - {Name: Rows, Type: Integer, DefaultValue: 10}
PipelineExperimentConfig: {ExperimentName: exp, TrialName: {Get: Execution.PipelineExecutionId}}
ParallelismConfiguration: {MaxParallelExecutionSteps: 3}
Steps:
  - Name: Train
    Type: Training
    DisplayName: Train it
    Description: Trains.
    DependsOn: [Other]
    Arguments: {Rows: {Get: Parameters.Rows}}
    CacheConfig: {Enabled: true, ExpireAfter: PT2H}
    RetryPolicies: [{ExceptionType: [Step.THROTTLING], MaxAttempts: 3, BackoffRate: 1.5}]
    PropertyFiles: [{PropertyFileName: R, OutputName: out, FilePath: r.json}]
  - {Name: Other, Type: Fail}
)", "dir/my-pipeline.yaml");
  EXPECT_TRUE(definition.parse_diagnostics.empty());
  EXPECT_EQ(definition.name, "my-pipeline");
  EXPECT_EQ(definition.source_name, "dir/my-pipeline.yaml");
  EXPECT_EQ(definition.metadata["Owner"], json("ml-team"));
  ASSERT_EQ(definition.parameters.size(), 1u);
  EXPECT_EQ(definition.parameters[0].type, ParameterType::kInteger);
  EXPECT_EQ(definition.parameters[0].line, 5);
  ASSERT_TRUE(definition.experiment_config.has_value());
  EXPECT_EQ(definition.experiment_config->experiment_name, json("exp"));
  EXPECT_EQ(definition.max_parallel_execution_steps, 3);
  ASSERT_EQ(definition.steps.size(), 2u);
  const StepDefinition& train = definition.steps[0];
  EXPECT_EQ(train.name, "Train");
  EXPECT_EQ(train.type, "Training");
  EXPECT_EQ(train.display_name, "Train it");
  EXPECT_EQ(train.description, "Trains.");
  EXPECT_EQ(train.depends_on, std::vector<std::string>{"Other"});
  EXPECT_EQ(train.arguments, json::parse(R"({"Rows": {"Get": "Parameters.Rows"}})"));
  EXPECT_TRUE(train.cache_config.enabled);
  EXPECT_EQ(train.cache_config.expire_after, std::chrono::seconds(7200));
  ASSERT_EQ(train.retry_policies.size(), 1u);
  EXPECT_EQ(train.retry_policies[0].backoff_rate, 1.5);
  EXPECT_EQ(train.retry_policies[0].interval_seconds, 1);
  EXPECT_EQ(train.retry_policies[0].max_attempts, 3);
  EXPECT_FALSE(train.retry_policies[0].expire_after_min.has_value());
  ASSERT_NE(train.FindPropertyFile("R"), nullptr);
  EXPECT_EQ(train.FindPropertyFile("R")->file_path, "r.json");
  EXPECT_EQ(train.line, 9);
  EXPECT_EQ(train.source_pointer, "/Steps/0");
}

TEST(ParserTest, FlattensInlineBranchesAfterTheirCondition) {
  const PipelineDefinition definition = Parse(R"(
Steps:
  - Name: Check
    Type: Condition
    Arguments:
      Conditions: [{Type: Equals, LeftValue: 1, RightValue: 1}]
      IfSteps:
        - {Name: Yes, Type: Fail}
        - Named
      ElseSteps:
        - Name: Inner
          Type: Condition
          Arguments:
            Conditions: [{Type: Equals, LeftValue: 1, RightValue: 2}]
            ElseSteps: [{Name: Deep, Type: Fail}]
  - {Name: Named, Type: Fail}
)");
  ASSERT_EQ(definition.steps.size(), 5u);
  std::vector<std::string> names;
  for (const StepDefinition& step : definition.steps) names.push_back(step.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Check", "Yes", "Inner", "Deep", "Named"}));
  const StepDefinition& check = definition.steps[0];
  EXPECT_EQ(check.if_steps, (std::vector<std::string>{"Yes", "Named"}));
  EXPECT_EQ(check.else_steps, std::vector<std::string>{"Inner"});
  EXPECT_EQ(check.arguments["IfSteps"], json::parse(R"(["Yes", "Named"])"));
  EXPECT_EQ(check.arguments["ElseSteps"], json::parse(R"(["Inner"])"));
  EXPECT_TRUE(definition.steps[1].defined_inline);
  EXPECT_EQ(definition.steps[1].guards, (std::vector<BranchGuard>{{"Check", Branch::kIf}}));
  EXPECT_EQ(definition.steps[1].source_pointer, "/Steps/0/Arguments/IfSteps/0");
  EXPECT_EQ(definition.steps[1].line, 8);
  EXPECT_EQ(definition.steps[3].guards, (std::vector<BranchGuard>{{"Inner", Branch::kElse}}));
  EXPECT_FALSE(definition.steps[4].defined_inline);
  EXPECT_EQ(definition.steps[4].guards, (std::vector<BranchGuard>{{"Check", Branch::kIf}}));
}

TEST(ParserTest, ShapeProblemsAreCollectedNotFatal) {
  const PipelineDefinition definition = Parse(R"(
Steps:
  - Name: A
    Type: Command
    Arguments: [x]
    DependsOn: B
    Colour: red
  - Type: Fail
  - Name: C
    Type: Fail
)");
  ASSERT_EQ(definition.parse_diagnostics.size(), 4u);
  EXPECT_EQ(definition.parse_diagnostics[0].ToString(),
            "p.yaml:7: step 'A', field 'Colour': unknown field of a step; expected Name, Type, "
            "Arguments, DependsOn, DisplayName, Description, CacheConfig, RetryPolicies, "
            "PropertyFiles");
  EXPECT_EQ(definition.parse_diagnostics[1].ToString(),
            "p.yaml:5: step 'A', field 'Arguments': Arguments must be an object, got List [\"x\"]");
  EXPECT_EQ(definition.parse_diagnostics[3].ToString(),
            "p.yaml:8: field 'Steps[1].Name': missing Name");
  // The step without a name is left out; the others are kept.
  ASSERT_EQ(definition.steps.size(), 2u);
  EXPECT_EQ(definition.steps[1].name, "C");
}

TEST(ParserTest, SyntaxErrorsFail) {
  Result<PipelineDefinition> yaml = ParseDefinition("Steps: [", "p.yaml");
  ASSERT_FALSE(yaml.ok());
  EXPECT_EQ(yaml.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(yaml.status().message()).rfind("p.yaml:1:", 0), 0u) << yaml.status();
  EXPECT_FALSE(ParseDefinition("[1, 2]", "p.json").ok());
  EXPECT_FALSE(ParseDefinition("just a string", "p.yaml").ok());
}

TEST(ParserTest, JsonWithoutAnExtensionIsDetected) {
  Result<PipelineDefinition> definition =
      ParseDefinition(R"({"Steps": [{"Name": "A", "Type": "Fail"}]})", "inline");
  ASSERT_TRUE(definition.ok()) << definition.status();
  EXPECT_EQ(definition->name, "inline");
  EXPECT_EQ(definition->steps.size(), 1u);
}

TEST(ParserTest, LoadsFiles) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("raypipe_parser_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / "loaded.yaml";
  std::ofstream(file) << "Steps:\n  - {Name: A, Type: Fail}\n";
  Result<PipelineDefinition> definition = LoadDefinitionFile(file);
  ASSERT_TRUE(definition.ok()) << definition.status();
  EXPECT_EQ(definition->name, "loaded");
  EXPECT_EQ(definition->source_name, file.string());

  Result<PipelineDefinition> missing = LoadDefinitionFile(dir / "missing.yaml");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(ParserTest, NameFromSource) {
  EXPECT_EQ(PipelineNameFromSource("a/b/housing.pipeline.yaml"), "housing");
  EXPECT_EQ(PipelineNameFromSource("C:\\x\\p.json"), "p");
  EXPECT_EQ(PipelineNameFromSource("plain"), "plain");
}

}  // namespace
}  // namespace raypipe::pipeline
