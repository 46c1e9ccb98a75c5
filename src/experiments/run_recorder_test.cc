#include "experiments/run_recorder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "store/sqlite_metadata_store.h"

namespace raypipe::experiments {
namespace {

class RunRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto metadata = store::SqliteMetadataStore::Open({.path = ":memory:"});
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    metadata_ = std::move(*metadata);
    auto experiments = ExperimentStore::Open(metadata_.get(), &clock_);
    ASSERT_TRUE(experiments.ok()) << experiments.status();
    experiments_ = std::move(*experiments);
  }

  size_t Points(const std::string& run_id, const std::string& metric) {
    Result<std::vector<MetricPoint>> series = experiments_->MetricSeries(run_id, metric);
    EXPECT_TRUE(series.ok()) << series.status();
    return series.ok() ? series->size() : 0;
  }

  core::ManualClock clock_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<ExperimentStore> experiments_;
};

TEST_F(RunRecorderTest, BuffersMetricsUntilFlushOrFinish) {
  CreateRunRequest request;
  request.experiment = "housing";
  auto recorder = RunRecorder::Start(experiments_.get(), request, {.flush_every = 4});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  RunRecorder& run = **recorder;
  ASSERT_TRUE(run.LogParameter("max_depth", 5).ok());
  for (int step = 0; step < 3; ++step) ASSERT_TRUE(run.LogMetric("rmse", step, 10.0 - step).ok());
  EXPECT_EQ(Points(run.run_id(), "rmse"), 0u);  // still buffered
  ASSERT_TRUE(run.LogMetric("rmse", 3, 7.0).ok());
  EXPECT_EQ(Points(run.run_id(), "rmse"), 4u);  // the fourth point filled the buffer
  ASSERT_TRUE(run.LogMetric("rmse", 4, 6.0).ok());
  ASSERT_TRUE(run.Flush().ok());
  EXPECT_EQ(Points(run.run_id(), "rmse"), 5u);
  ASSERT_TRUE(run.LogMetric("mae", 0, 1.0).ok());
  ASSERT_TRUE(run.Finish().ok());
  EXPECT_EQ(Points(run.run_id(), "mae"), 1u);
  EXPECT_EQ(experiments_->DescribeRun(run.run_id())->status, RunStatus::kCompleted);
  EXPECT_EQ(experiments_->DescribeRun(run.run_id())->parameters["max_depth"], 5);

  EXPECT_EQ(run.LogMetric("rmse", 9, 1.0).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(run.LogParameter("x", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(run.Finish().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(run.LogMetric("", 0, 1.0).code(), StatusCode::kInvalidArgument);
}

TEST_F(RunRecorderTest, DestroyedBeforeFinishMarksTheRunFailed) {
  CreateRunRequest request;
  request.experiment = "housing";
  std::string run_id;
  {
    auto recorder = RunRecorder::Start(experiments_.get(), request);
    ASSERT_TRUE(recorder.ok());
    run_id = (*recorder)->run_id();
    ASSERT_TRUE((*recorder)->LogMetric("rmse", 0, 1.0).ok());
  }
  Result<RunRecord> run = experiments_->DescribeRun(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kFailed);
  EXPECT_EQ(run->failure_reason, "the recorder was destroyed before Finish");
  EXPECT_EQ(Points(run_id, "rmse"), 1u);
}

TEST_F(RunRecorderTest, RefusesBadStarts) {
  CreateRunRequest request;
  request.experiment = "housing";
  EXPECT_EQ(RunRecorder::Start(nullptr, request).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunRecorder::Start(experiments_.get(), request, {.flush_every = 0}).status().code(),
            StatusCode::kInvalidArgument);
  request.experiment = "";
  EXPECT_EQ(RunRecorder::Start(experiments_.get(), request).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RunRecorderTest, SeveralThreadsLogIntoOneRun) {
  CreateRunRequest request;
  request.experiment = "housing";
  auto recorder = RunRecorder::Start(experiments_.get(), request, {.flush_every = 16});
  ASSERT_TRUE(recorder.ok());
  constexpr int kThreads = 4;
  constexpr int kSteps = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int step = 0; step < kSteps; ++step) {
        EXPECT_TRUE((*recorder)->LogMetric("worker-" + std::to_string(t) + ":rmse", step, step).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE((*recorder)->Finish().ok());
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(Points((*recorder)->run_id(), "worker-" + std::to_string(t) + ":rmse"),
              size_t{kSteps});
  }
}

}  // namespace
}  // namespace raypipe::experiments
