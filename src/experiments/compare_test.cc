#include "experiments/compare.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "store/sqlite_metadata_store.h"

namespace raypipe::experiments {
namespace {

TEST(GoalOfTest, ReadsTheDirectionFromTheName) {
  for (const char* name : {"validation:rmse", "train-mae", "MSE", "logloss", "error",
                           "validation:merror", "val_loss", "mape"}) {
    EXPECT_EQ(GoalOf(name), MetricGoal::kMinimize) << name;
  }
  for (const char* name : {"validation:auc", "accuracy", "r2", "aucpr", "f1", "ndcg@5", "map"}) {
    EXPECT_EQ(GoalOf(name), MetricGoal::kMaximize) << name;
  }
  for (const char* name : {"seconds", "rounds", ""}) {
    EXPECT_EQ(GoalOf(name), MetricGoal::kUnknown) << name;
  }
}

TEST(BestIndexTest, SkipsAbsentAndNaNAndKeepsTheFirstOnTies) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::optional<double>> values = {std::nullopt, 3.0, nan, 1.0, 1.0, 5.0};
  EXPECT_EQ(BestIndex(values, MetricGoal::kMinimize), 3u);
  EXPECT_EQ(BestIndex(values, MetricGoal::kMaximize), 5u);
  EXPECT_EQ(BestIndex(values, MetricGoal::kUnknown), std::nullopt);
  EXPECT_EQ(BestIndex({std::nullopt, nan}, MetricGoal::kMinimize), std::nullopt);
}

TEST(CompareRunsTest, MarksTheBestFinalValuePerMetric) {
  auto metadata = store::SqliteMetadataStore::Open({.path = ":memory:"});
  ASSERT_TRUE(metadata.ok());
  auto experiments = ExperimentStore::Open(metadata->get());
  ASSERT_TRUE(experiments.ok());
  ExperimentStore& store = **experiments;
  std::vector<std::string> ids;
  // Run 0 ends with rmse 4 (though it dipped to 1 earlier), run 1 ends with 3; auc: 0.7 vs 0.9.
  const std::vector<std::vector<MetricPoint>> logs = {
      {{"validation:rmse", 0, 1.0, ""}, {"validation:rmse", 5, 4.0, ""}, {"auc", 0, 0.7, ""},
       {"seconds", 0, 1.0, ""}},
      {{"validation:rmse", 0, 9.0, ""}, {"validation:rmse", 5, 3.0, ""}, {"auc", 0, 0.9, ""}},
  };
  for (size_t i = 0; i < logs.size(); ++i) {
    CreateRunRequest request;
    request.experiment = "e";
    request.parameters = {{"eta", 0.1 * double(i + 1)}};
    if (i == 1) request.parameters["max_depth"] = 3;
    Result<RunRecord> run = store.CreateRun(request);
    ASSERT_TRUE(run.ok());
    ASSERT_TRUE(store.LogMetrics(run->run_id, logs[i]).ok());
    ids.push_back(run->run_id);
  }
  Result<RunComparison> comparison = CompareRuns(store, ids);
  ASSERT_TRUE(comparison.ok()) << comparison.status();
  ASSERT_EQ(comparison->metrics.size(), 3u);
  const MetricComparison& auc = comparison->metrics[0];
  EXPECT_EQ(auc.name, "auc");
  EXPECT_EQ(auc.best, 1u);
  const MetricComparison& seconds = comparison->metrics[1];
  EXPECT_EQ(seconds.name, "seconds");
  EXPECT_EQ(seconds.best, std::nullopt);
  EXPECT_EQ(seconds.values[1], std::nullopt);
  const MetricComparison& rmse = comparison->metrics[2];
  EXPECT_EQ(rmse.name, "validation:rmse");
  EXPECT_EQ(rmse.values[0], 4.0);
  EXPECT_EQ(rmse.best, 1u);
  EXPECT_EQ(comparison->parameter_names, (std::vector<std::string>{"eta", "max_depth"}));

  nlohmann::json json = comparison->ToJson();
  EXPECT_EQ(json["metrics"][2]["best"], ids[1]);
  EXPECT_EQ(json["metrics"][2]["goal"], "minimize");
  EXPECT_EQ(json["metrics"][1]["best"], nullptr);
  EXPECT_EQ(json["parameters"][1]["values"][ids[0]], nullptr);
  EXPECT_EQ(json["parameters"][1]["values"][ids[1]], 3);

  EXPECT_EQ(CompareRuns(store, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CompareRuns(store, {ids[0], ids[0]}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CompareRuns(store, {ids[0], "run-nope"}).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace raypipe::experiments
