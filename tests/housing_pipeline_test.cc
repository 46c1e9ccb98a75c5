// The seed's workflow end to end through the `raypipe` binary: examples/housing/pipeline.yaml
// on 20,000 generated rows ingests, preprocesses, tunes, evaluates, passes the RMSE gate and
// registers version 1; a second run is served from the cache where CacheConfig says so; with
// RMSEThreshold=1 the execution ends Failed with the Fail step's message.

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <filesystem>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using nlohmann::json;

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr together
};

std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class HousingPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/housing_pipeline_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs raypipe with `args` (already quoted where needed) under this test's home.
  Output Raypipe(const std::string& args, bool json_output = false) {
    std::string command = Quote(std::string(RAYPIPE_BINARY_DIR) + "/bin/raypipe") + " --home " +
                          Quote(dir_ + "/home") + (json_output ? " --output json " : " ") + args +
                          " 2>&1";
    Output output;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return output;
    std::array<char, 4096> buffer;
    size_t got = 0;
    while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.text.append(buffer.data(), got);
    int status = pclose(pipe);
    output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return output;
  }

  json RunPipeline(const std::string& extra_params, int expected_exit) {
    Output run = Raypipe("pipeline run " + Quote(std::string(RAYPIPE_SOURCE_DIR) +
                                                 "/examples/housing/pipeline.yaml") +
                             " --param InputData=" + Quote(data_) + " " + extra_params,
                         /*json_output=*/true);
    EXPECT_EQ(run.exit_code, expected_exit) << run.text;
    json result = json::parse(run.text.substr(std::min(run.text.find('{'), run.text.size())),
                              nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(result.is_object()) << run.text;
    return result;
  }

  static std::map<std::string, json> StepsByName(const json& result) {
    std::map<std::string, json> steps;
    for (const json& step : result.value("Steps", json::array())) {
      steps[step.value("StepName", "")] = step;
    }
    return steps;
  }

  std::string dir_;
  std::string data_;
};

TEST_F(HousingPipelineTest, RunsGatesRegistersAndCaches) {
  data_ = dir_ + "/housing.csv";
  Output generate = Raypipe("datasets housing --rows 20000 --seed 42 --out " + Quote(data_));
  ASSERT_EQ(generate.exit_code, 0) << generate.text;

  // First run: every step but the Fail branch runs and succeeds; version 1 is registered.
  json first = RunPipeline("", 0);
  EXPECT_EQ(first.value("PipelineExecutionStatus", ""), "Succeeded") << first.dump(2);
  auto steps = StepsByName(first);
  for (const char* name : {"FeatureStoreIngestion", "PreprocessData", "HPTuning", "EvaluateModel",
                           "CheckEvaluation", "RegisterTrainedModel"}) {
    ASSERT_TRUE(steps.count(name)) << name << " missing in " << first.dump(2);
    EXPECT_EQ(steps[name].value("StepStatus", ""), "Succeeded") << name;
    EXPECT_FALSE(steps[name].value("CacheHit", true)) << name;
  }
  EXPECT_FALSE(steps.count("RMSEFail") && steps["RMSEFail"].value("StepStatus", "") == "Succeeded");

  Output version = Raypipe("model describe synthetic-housing-models-ray 1", true);
  ASSERT_EQ(version.exit_code, 0) << version.text;
  json described = json::parse(version.text, nullptr, false);
  ASSERT_TRUE(described.is_object()) << version.text;
  EXPECT_EQ(described.value("ModelApprovalStatus", ""), "PendingManualApproval") << version.text;
  const double rmse =
      described["ModelMetrics"]["regression_metrics"]["rmse"].value("value", -1.0);
  EXPECT_GT(rmse, 0.0) << version.text;
  EXPECT_LE(rmse, 15000.0) << version.text;
  // Its lineage: the best tuning job's run, and the tuning step's inputs (the train and
  // validation splits and the scaler).
  const json lineage = described.value("Lineage", json::object());
  const std::string run_id = lineage.value("TrainingRunId", "");
  ASSERT_FALSE(run_id.empty()) << version.text;
  Output run = Raypipe("experiments show " + run_id, true);
  ASSERT_EQ(run.exit_code, 0) << run.text;
  EXPECT_THAT(run.text, HasSubstr("HPTuning-")) << run.text;
  const json data = lineage.value("DataArtifacts", json::array());
  ASSERT_EQ(data.size(), 3u) << version.text;
  for (const json& digest : data) EXPECT_THAT(digest.get<std::string>(), HasSubstr("sha256:"));

  // The feature group holds every row once.
  Output group = Raypipe("featurestore describe fs-ray-synthetic-housing-data", true);
  ASSERT_EQ(group.exit_code, 0) << group.text;
  json described_group = json::parse(group.text, nullptr, false);
  EXPECT_EQ(described_group.value("OnlineRecords", -1), 20000) << group.text;
  EXPECT_EQ(described_group.value("OfflineRows", -1), 20000) << group.text;

  // Second run: the steps with CacheConfig come from the cache; a new version is registered.
  json second = RunPipeline("", 0);
  EXPECT_EQ(second.value("PipelineExecutionStatus", ""), "Succeeded") << second.dump(2);
  steps = StepsByName(second);
  for (const char* name : {"FeatureStoreIngestion", "PreprocessData", "HPTuning"}) {
    EXPECT_TRUE(steps[name].value("CacheHit", false)) << name << " " << second.dump(2);
  }
  EXPECT_FALSE(steps["EvaluateModel"].value("CacheHit", true));
  Output versions = Raypipe("model versions synthetic-housing-models-ray", true);
  ASSERT_EQ(versions.exit_code, 0) << versions.text;
  json list = json::parse(versions.text, nullptr, false);
  ASSERT_TRUE(list.is_array()) << versions.text;
  EXPECT_EQ(list.size(), 2u) << versions.text;
  // Version 2 holds the cached model: its lineage is that of the run that trained it.
  Output second_version = Raypipe("model describe synthetic-housing-models-ray 2", true);
  json described_second = json::parse(second_version.text, nullptr, false);
  ASSERT_TRUE(described_second.is_object()) << second_version.text;
  EXPECT_EQ(described_second["Lineage"].value("TrainingRunId", ""), run_id);
  EXPECT_EQ(described_second["Lineage"].value("DataArtifacts", json::array()), data);

  // A threshold no model meets: the Fail branch ends the execution Failed with its message,
  // and nothing new is registered.
  json failed = RunPipeline("--param RMSEThreshold=1", 1);
  EXPECT_EQ(failed.value("PipelineExecutionStatus", ""), "Failed") << failed.dump(2);
  EXPECT_THAT(failed.value("FailureReason", ""), HasSubstr("Execution failed due to RMSE > 1"))
      << failed.dump(2);
  steps = StepsByName(failed);
  EXPECT_EQ(steps["RMSEFail"].value("StepStatus", ""), "Failed") << failed.dump(2);
  EXPECT_FALSE(steps.count("RegisterTrainedModel") &&
               steps["RegisterTrainedModel"].value("StepStatus", "") == "Succeeded");
  versions = Raypipe("model versions synthetic-housing-models-ray", true);
  list = json::parse(versions.text, nullptr, false);
  EXPECT_EQ(list.size(), 2u) << versions.text;
}

}  // namespace
