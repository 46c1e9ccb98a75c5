#include "experiments/experiment_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "store/sqlite_metadata_store.h"

namespace raypipe::experiments {
namespace {

using ::testing::HasSubstr;

class ExperimentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(core::TimePoint(std::chrono::seconds(1'800'000'000)));
    auto metadata = store::SqliteMetadataStore::Open({.path = ":memory:"});
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    metadata_ = std::move(*metadata);
    auto experiments = ExperimentStore::Open(metadata_.get(), &clock_);
    ASSERT_TRUE(experiments.ok()) << experiments.status();
    experiments_ = std::move(*experiments);
  }

  RunRecord CreateRunOrDie(const std::string& experiment, nlohmann::json parameters = {}) {
    CreateRunRequest request;
    request.experiment = experiment;
    if (!parameters.is_null()) request.parameters = std::move(parameters);
    Result<RunRecord> run = experiments_->CreateRun(request);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : RunRecord();
  }

  core::ManualClock clock_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<ExperimentStore> experiments_;
};

TEST_F(ExperimentStoreTest, RunsRecordSourceParametersAndStatus) {
  CreateRunRequest request;
  request.experiment = "housing";
  request.name = "HPTuning-1";
  request.source = {"pipeline", "exec-1", "HPTuning"};
  request.parameters = {{"max_depth", 5}, {"eta", 0.3}, {"objective", "reg:squarederror"}};
  Result<RunRecord> run = experiments_->CreateRun(request);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->run_id.starts_with("run-"));
  EXPECT_EQ(run->experiment, "housing");
  EXPECT_EQ(run->name, "HPTuning-1");
  EXPECT_EQ(run->status, RunStatus::kRunning);
  EXPECT_EQ(run->source.execution_id, "exec-1");
  EXPECT_EQ(run->source.step_name, "HPTuning");
  EXPECT_EQ(run->created_at, "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(run->ended_at, "");
  EXPECT_EQ(run->parameters["max_depth"], 5);
  EXPECT_EQ(run->parameters["objective"], "reg:squarederror");

  ASSERT_TRUE(experiments_->LogParameters(run->run_id, {{"max_depth", 6}, {"seed", 47}}).ok());
  clock_.Advance(std::chrono::seconds(3));
  ASSERT_TRUE(experiments_->FinishRun(run->run_id, RunStatus::kCompleted, "").ok());
  Result<RunRecord> finished = experiments_->DescribeRun(run->run_id);
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(finished->status, RunStatus::kCompleted);
  EXPECT_EQ(finished->ended_at, "2027-01-15T08:00:03.000Z");
  EXPECT_EQ(finished->parameters["max_depth"], 6);
  EXPECT_EQ(finished->parameters["seed"], 47);
  EXPECT_EQ(finished->parameters["eta"], 0.3);

  // An ended run takes nothing more.
  EXPECT_EQ(experiments_->FinishRun(run->run_id, RunStatus::kFailed, "x").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(experiments_->LogParameters(run->run_id, {{"a", 1}}).code(),
            StatusCode::kFailedPrecondition);
  MetricPoint point{"rmse", 0, 1.0, ""};
  EXPECT_THAT(experiments_->LogMetrics(run->run_id, {&point, 1}).message(),
              HasSubstr("has already ended (Completed)"));

  Result<Experiment> experiment = experiments_->DescribeExperiment("housing");
  ASSERT_TRUE(experiment.ok());
  EXPECT_EQ(experiment->run_count, 1);
}

TEST_F(ExperimentStoreTest, RefusesBadInputAndNamesWhatExists) {
  CreateRunRequest request;
  request.experiment = "bad name";
  EXPECT_EQ(experiments_->CreateRun(request).status().code(), StatusCode::kInvalidArgument);
  request.experiment = "ok";
  request.parameters = nlohmann::json::array();
  EXPECT_THAT(experiments_->CreateRun(request).status().message(),
              HasSubstr("must be a JSON object, found array"));
  EXPECT_TRUE(experiments_->ListExperiments()->empty());

  ASSERT_TRUE(experiments_->CreateExperiment("alpha", "first").ok());
  EXPECT_EQ(experiments_->CreateExperiment("alpha", "").status().code(),
            StatusCode::kAlreadyExists);
  CreateRunOrDie("beta");
  Result<std::vector<RunRecord>> missing = experiments_->ListRuns("alpah");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("experiment 'alpah' does not exist (experiments: alpha, beta)"));
  EXPECT_EQ(experiments_->DescribeRun("run-nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(experiments_->MetricSeries("run-nope", "rmse").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(experiments_->FinishRun("run-nope", RunStatus::kCompleted, "").code(),
            StatusCode::kNotFound);

  RunRecord run = CreateRunOrDie("beta");
  EXPECT_EQ(experiments_->FinishRun(run.run_id, RunStatus::kRunning, "").code(),
            StatusCode::kInvalidArgument);
  MetricPoint unnamed{"", 0, 1.0, ""};
  EXPECT_EQ(experiments_->LogMetrics(run.run_id, {&unnamed, 1}).code(),
            StatusCode::kInvalidArgument);

  Result<std::vector<Experiment>> all = experiments_->ListExperiments();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "alpha");
  EXPECT_EQ((*all)[0].run_count, 0);
  EXPECT_EQ((*all)[1].run_count, 2);
}

TEST_F(ExperimentStoreTest, MetricSeriesComeBackOrderedByStep) {
  RunRecord run = CreateRunOrDie("housing");
  // Logged out of order, with a repeated step (the later value wins) and a NaN.
  std::vector<MetricPoint> points = {{"validation:rmse", 2, 3.0, ""},
                                     {"validation:rmse", 0, 9.0, ""},
                                     {"train:rmse", 0, 8.0, ""},
                                     {"validation:rmse", 1, 5.0, ""},
                                     {"validation:rmse", 10, 2.5, ""}};
  ASSERT_TRUE(experiments_->LogMetrics(run.run_id, points).ok());
  clock_.Advance(std::chrono::seconds(1));
  std::vector<MetricPoint> more = {{"validation:rmse", 1, 4.0, ""},
                                   {"train:rmse", 1, std::numeric_limits<double>::quiet_NaN(), ""}};
  ASSERT_TRUE(experiments_->LogMetrics(run.run_id, more).ok());

  Result<std::vector<MetricPoint>> series = experiments_->MetricSeries(run.run_id, "validation:rmse");
  ASSERT_TRUE(series.ok()) << series.status();
  std::vector<int64_t> steps;
  std::vector<double> values;
  for (const MetricPoint& point : *series) {
    steps.push_back(point.step);
    values.push_back(point.value);
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 1, 2, 10}));
  EXPECT_EQ(values, (std::vector<double>{9.0, 4.0, 3.0, 2.5}));
  EXPECT_EQ((*series)[1].time, "2027-01-15T08:00:01.000Z");
  EXPECT_EQ((*series)[0].time, "2027-01-15T08:00:00.000Z");

  Result<std::vector<MetricPoint>> train = experiments_->MetricSeries(run.run_id, "train:rmse");
  ASSERT_EQ(train->size(), 2u);
  EXPECT_TRUE(std::isnan((*train)[1].value));
  EXPECT_TRUE(experiments_->MetricSeries(run.run_id, "absent")->empty());

  Result<std::vector<MetricSummary>> summaries = experiments_->MetricSummaries(run.run_id);
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_EQ(summaries->size(), 2u);
  EXPECT_EQ((*summaries)[0].name, "train:rmse");
  EXPECT_TRUE(std::isnan((*summaries)[0].last));
  EXPECT_EQ((*summaries)[0].min, 8.0);
  const MetricSummary& validation = (*summaries)[1];
  EXPECT_EQ(validation.name, "validation:rmse");
  EXPECT_EQ(validation.count, 4);
  EXPECT_EQ(validation.last_step, 10);
  EXPECT_EQ(validation.last, 2.5);
  EXPECT_EQ(validation.min, 2.5);
  EXPECT_EQ(validation.max, 9.0);
}

TEST_F(ExperimentStoreTest, ListRunsIsOldestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(CreateRunOrDie("e").run_id);
    clock_.Advance(std::chrono::seconds(1));
  }
  Result<std::vector<RunRecord>> runs = experiments_->ListRuns("e");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 3u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ((*runs)[i].run_id, ids[i]);
}

TEST(RunStatusTest, NamesRoundTrip) {
  for (RunStatus status :
       {RunStatus::kRunning, RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kStopped}) {
    EXPECT_EQ(*ParseRunStatus(RunStatusName(status)), status);
  }
  EXPECT_EQ(ParseRunStatus("done").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::experiments
