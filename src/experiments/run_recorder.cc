#include "experiments/run_recorder.h"

#include <utility>

#include "core/logging.h"

namespace raypipe::experiments {

RunRecorder::RunRecorder(ExperimentStore* store, std::string run_id, RecorderOptions options)
    : store_(store), run_id_(std::move(run_id)), options_(options) {
  buffer_.reserve(options_.flush_every);
}

Result<std::unique_ptr<RunRecorder>> RunRecorder::Start(ExperimentStore* store,
                                                        const CreateRunRequest& request,
                                                        RecorderOptions options) {
  if (store == nullptr) return InvalidArgumentError("RunRecorder::Start: no experiment store");
  if (options.flush_every == 0) {
    return InvalidArgumentError("RunRecorder::Start: flush_every must be at least 1");
  }
  ASSIGN_OR_RETURN(RunRecord run, store->CreateRun(request));
  return std::unique_ptr<RunRecorder>(new RunRecorder(store, run.run_id, options));
}

RunRecorder::~RunRecorder() {
  bool finished = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished = finished_;
  }
  if (finished) return;
  Status status = Finish(RunStatus::kFailed, "the recorder was destroyed before Finish");
  if (!status.ok()) {
    RAYPIPE_LOG(Warning) << "run " << run_id_ << ": could not record its end: " << status;
  }
}

Status RunRecorder::LogParameters(const nlohmann::json& parameters) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) {
      return FailedPreconditionError("run '" + run_id_ + "' is finished: no more parameters");
    }
  }
  return store_->LogParameters(run_id_, parameters);
}

Status RunRecorder::LogParameter(std::string_view name, const nlohmann::json& value) {
  nlohmann::json parameters = nlohmann::json::object();
  parameters[std::string(name)] = value;
  return LogParameters(parameters);
}

Status RunRecorder::LogMetric(std::string_view name, int64_t step, double value) {
  if (name.empty()) return InvalidArgumentError("run '" + run_id_ + "': empty metric name");
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) {
    return FailedPreconditionError("run '" + run_id_ + "' is finished: no more metrics");
  }
  MetricPoint point;
  point.name = std::string(name);
  point.step = step;
  point.value = value;
  point.time = store_->Now();
  buffer_.push_back(std::move(point));
  if (buffer_.size() >= options_.flush_every) return FlushLocked();
  return Status::Ok();
}

Status RunRecorder::FlushLocked() {
  if (buffer_.empty()) return Status::Ok();
  RETURN_IF_ERROR(store_->LogMetrics(run_id_, buffer_));
  buffer_.clear();
  return Status::Ok();
}

Status RunRecorder::Flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  return FlushLocked();
}

Status RunRecorder::Finish(RunStatus status, std::string_view failure_reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return FailedPreconditionError("run '" + run_id_ + "' is already finished");
  if (status == RunStatus::kRunning) {
    return InvalidArgumentError("run '" + run_id_ + "': finish with Completed, Failed or Stopped");
  }
  RETURN_IF_ERROR(FlushLocked());
  RETURN_IF_ERROR(store_->FinishRun(run_id_, status, failure_reason));
  finished_ = true;
  return Status::Ok();
}

}  // namespace raypipe::experiments
