#pragma once

// RunRecorder: what training code calls to record one run (a training job, a tuning trial).
//
//   ASSIGN_OR_RETURN(auto recorder, RunRecorder::Start(&experiments, {.experiment = "housing"}));
//   RETURN_IF_ERROR(recorder->LogParameters({{"max_depth", 5}, {"eta", 0.3}}));
//   for (int round = 0; round < rounds; ++round) {
//     RETURN_IF_ERROR(recorder->LogMetric("validation:rmse", round, rmse));  // buffered
//   }
//   RETURN_IF_ERROR(recorder->Finish(RunStatus::kCompleted));
//
// Metric points are stamped with the store's clock when logged and written in batches (one
// transaction per `flush_every` points, and at Flush / Finish), so logging every boosting round
// costs a vector append. A recorder destroyed before Finish flushes and marks the run Failed
// ("the recorder was destroyed before Finish"), so a crashed job never stays Running.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "experiments/experiment_store.h"

namespace raypipe::experiments {

struct RecorderOptions {
  size_t flush_every = 512;  // buffered points that trigger a write; >= 1
};

// Thread-safe: several threads (e.g. workers) may log into one recorder.
class RunRecorder {
 public:
  // Creates the run (state Running). `store` is not owned and must outlive the recorder.
  static Result<std::unique_ptr<RunRecorder>> Start(ExperimentStore* store,
                                                    const CreateRunRequest& request,
                                                    RecorderOptions options = {});
  ~RunRecorder();
  RunRecorder(const RunRecorder&) = delete;
  RunRecorder& operator=(const RunRecorder&) = delete;

  const std::string& run_id() const { return run_id_; }

  // Written at once. FailedPrecondition after Finish.
  Status LogParameters(const nlohmann::json& parameters);
  Status LogParameter(std::string_view name, const nlohmann::json& value);

  // Buffered; may write when the buffer is full. InvalidArgument for an empty name;
  // FailedPrecondition after Finish.
  Status LogMetric(std::string_view name, int64_t step, double value);

  // Writes the buffered points.
  Status Flush();

  // Flushes, then ends the run with `status` (not Running). A second Finish is
  // FailedPrecondition.
  Status Finish(RunStatus status = RunStatus::kCompleted, std::string_view failure_reason = "");

 private:
  RunRecorder(ExperimentStore* store, std::string run_id, RecorderOptions options);
  Status FlushLocked();

  ExperimentStore* const store_;
  const std::string run_id_;
  const RecorderOptions options_;
  std::mutex mutex_;  // guards buffer_ and finished_
  std::vector<MetricPoint> buffer_;
  bool finished_ = false;
};

}  // namespace raypipe::experiments
