#include "cli/experiments_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/registry.h"
#include "core/ids.h"
#include "experiments/experiment_store.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

class ExperimentsCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / core::NewId("experiments_commands_test");
    home_ = dir_ / "home";
    std::filesystem::create_directories(home_);
    auto metadata = store::SqliteMetadataStore::Open({.path = (home_ / "metadata.db").string()});
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    auto experiments = experiments::ExperimentStore::Open(metadata->get());
    ASSERT_TRUE(experiments.ok()) << experiments.status();
    // Two finished runs: the second has the better rmse and the better auc.
    const std::vector<std::vector<experiments::MetricPoint>> logs = {
        {{"validation:rmse", 0, 10.0, ""}, {"validation:rmse", 1, 6.0, ""}, {"auc", 1, 0.7, ""}},
        {{"validation:rmse", 0, 9.0, ""}, {"validation:rmse", 1, 4.0, ""}, {"auc", 1, 0.8, ""}},
    };
    for (size_t i = 0; i < logs.size(); ++i) {
      experiments::CreateRunRequest request;
      request.experiment = "housing";
      request.name = "trial-" + std::to_string(i);
      request.source = {"pipeline", "exec-1", "HPTuning"};
      request.parameters = {{"max_depth", 3 + int(i)}};
      Result<experiments::RunRecord> run = (*experiments)->CreateRun(request);
      ASSERT_TRUE(run.ok()) << run.status();
      ASSERT_TRUE((*experiments)->LogMetrics(run->run_id, logs[i]).ok());
      ASSERT_TRUE(
          (*experiments)->FinishRun(run->run_id, experiments::RunStatus::kCompleted, "").ok());
      run_ids_.push_back(run->run_id);
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Outcome Run(std::vector<std::string> args) {
    CommandRegistry registry;
    EXPECT_TRUE(RegisterExperimentsCommands(registry).ok());
    args.push_back("--home");
    args.push_back(home_.string());
    std::ostringstream out, err;
    RunEnvironment env{out, err, [](const std::string&) { return std::nullopt; }, dir_};
    int exit_code = RunCommandLine(registry, AppInfo(), args, env);
    return {exit_code, out.str(), err.str()};
  }

  std::filesystem::path dir_, home_;
  std::vector<std::string> run_ids_;
};

TEST_F(ExperimentsCommandsTest, ListAndRuns) {
  Outcome list = Run({"experiments", "list", "--output", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  nlohmann::json experiments = nlohmann::json::parse(list.out);
  ASSERT_EQ(experiments.size(), 1u);
  EXPECT_EQ(experiments[0]["ExperimentName"], "housing");
  EXPECT_EQ(experiments[0]["RunCount"], 2);

  Outcome runs = Run({"experiments", "runs", "housing", "--metric", "validation:rmse"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_THAT(runs.out, StartsWith("run "));
  EXPECT_THAT(runs.out, HasSubstr("pipeline exec-1/HPTuning"));
  EXPECT_THAT(runs.out, HasSubstr("trial-1"));
  Outcome runs_json = Run({"experiments", "runs", "housing", "--metric", "validation:rmse",
                           "--output", "json"});
  ASSERT_EQ(runs_json.exit_code, 0);
  nlohmann::json records = nlohmann::json::parse(runs_json.out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["RunId"], run_ids_[0]);
  EXPECT_EQ(records[1]["FinalMetric"]["value"], 4.0);

  Outcome missing = Run({"experiments", "runs", "housng"});
  EXPECT_EQ(missing.exit_code, kExitFailure);
  EXPECT_THAT(missing.err, HasSubstr("experiment 'housng' does not exist (experiments: housing)"));
}

TEST_F(ExperimentsCommandsTest, ShowRunWithSeries) {
  Outcome show = Run({"experiments", "show", run_ids_[0], "--metric", "validation:rmse"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("max_depth"));
  EXPECT_THAT(show.out, HasSubstr("metric"));
  const size_t step0 = show.out.find("\n0     10");
  const size_t step1 = show.out.find("\n1     6");
  ASSERT_NE(step0, std::string::npos) << show.out;
  ASSERT_NE(step1, std::string::npos) << show.out;
  EXPECT_LT(step0, step1);

  Outcome json = Run({"experiments", "show", run_ids_[1], "--metric", "validation:rmse",
                      "--output", "json"});
  ASSERT_EQ(json.exit_code, 0);
  nlohmann::json run = nlohmann::json::parse(json.out);
  EXPECT_EQ(run["Status"], "Completed");
  EXPECT_EQ(run["Series"]["points"][1]["value"], 4.0);
  EXPECT_EQ(run["Metrics"][1]["name"], "validation:rmse");
  EXPECT_EQ(run["Metrics"][1]["goal"], "minimize");

  Outcome no_metric = Run({"experiments", "show", run_ids_[0], "--metric", "rsme"});
  EXPECT_EQ(no_metric.exit_code, kExitFailure);
  EXPECT_THAT(no_metric.err, HasSubstr("has no metric 'rsme' (metrics: auc, validation:rmse)"));
  Outcome no_run = Run({"experiments", "show", "run-nope"});
  EXPECT_EQ(no_run.exit_code, kExitFailure);
  EXPECT_THAT(no_run.err, HasSubstr("run 'run-nope' does not exist"));
}

TEST_F(ExperimentsCommandsTest, CompareMarksTheBest) {
  Outcome table = Run({"experiments", "compare", run_ids_[0], run_ids_[1]});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("4 *"));
  EXPECT_THAT(table.out, HasSubstr("0.8 *"));
  EXPECT_THAT(table.out, ::testing::Not(HasSubstr("6 *")));
  EXPECT_THAT(table.out, HasSubstr("lower is better for rmse"));

  Outcome json = Run({"experiments", "compare", run_ids_[0], run_ids_[1], "--output", "json"});
  ASSERT_EQ(json.exit_code, 0);
  nlohmann::json comparison = nlohmann::json::parse(json.out);
  ASSERT_EQ(comparison["metrics"].size(), 2u);
  EXPECT_EQ(comparison["metrics"][0]["name"], "auc");
  EXPECT_EQ(comparison["metrics"][0]["best"], run_ids_[1]);
  EXPECT_EQ(comparison["metrics"][1]["best"], run_ids_[1]);
  EXPECT_EQ(comparison["parameters"][0]["values"][run_ids_[0]], 3);

  EXPECT_EQ(Run({"experiments", "compare", run_ids_[0], run_ids_[0]}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"experiments", "compare"}).exit_code, kExitUsage);
  Outcome unknown = Run({"experiments", "compare", run_ids_[0], "run-nope"});
  EXPECT_EQ(unknown.exit_code, kExitFailure);
  EXPECT_THAT(unknown.err, HasSubstr("run-nope"));
}

}  // namespace
}  // namespace raypipe::cli
