#pragma once

// Internal to the engine: one orchestration of one execution (Engine::RunExecution). The
// scheduler (execution_run.cc) walks the DAG and starts ready steps in threads; the step
// bodies (step_execution.cc) run Condition, Fail, ForEach and runner steps and commit them.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "pipeline/dag.h"
#include "pipeline/definition.h"
#include "pipeline/engine/engine.h"
#include "pipeline/engine/execution_store.h"
#include "pipeline/expression.h"

namespace raypipe::pipeline {

class ExecutionRun;

// Resolves references for one step (or one ForEach iteration) of a run.
class ExecutionResolver final : public Resolver {
 public:
  explicit ExecutionResolver(const ExecutionRun* run) : run_(run) {}
  ExecutionResolver(const ExecutionRun* run, nlohmann::json item, int64_t item_index)
      : run_(run), item_(std::move(item)), item_index_(item_index), has_item_(true) {}
  Result<nlohmann::json> Resolve(const Reference& reference) const override;

 private:
  const ExecutionRun* run_;
  nlohmann::json item_;
  int64_t item_index_ = 0;
  bool has_item_ = false;
};

// How a step ended.
struct StepResult {
  std::string status;  // Succeeded, Failed, Stopped
  std::string failure_reason;
  nlohmann::json properties = nlohmann::json::object();
  bool cache_hit = false;
};

class ExecutionRun {
 public:
  ExecutionRun(Engine* engine, ExecutionRecord record, PipelineDefinition definition);

  // Schedules every step; returns the terminal execution record.
  Result<ExecutionRecord> Run();

  // For the resolver: the properties of a succeeded step; NotFound otherwise.
  Result<nlohmann::json> StepProperties(const std::string& step) const;
  const ExecutionRecord& record() const { return record_; }
  Engine* engine() const { return engine_; }

 private:
  enum class State { kPending, kRunning, kSucceeded, kFailed, kStopped, kSkipped };

  // Step bodies (step_execution.cc). Each records its step run(s) in the store.
  StepResult RunStep(const StepDefinition& step);
  StepResult RunCondition(const StepDefinition& step);
  StepResult RunFail(const StepDefinition& step);
  StepResult RunForEach(const StepDefinition& step);
  // A step of a registered runner type: `record_name` is the step name or "<Step>[<i>]".
  StepResult RunRunnerStep(const StepDefinition& step, const std::string& type,
                           const nlohmann::json& raw_arguments, const std::string& record_name,
                           const Resolver& resolver);
  // Records a step that needs no runner (Condition, Fail, ForEach's summary).
  StepResult Finish(const StepDefinition& step, const std::string& record_name,
                    const std::string& start_time, StepResult result, int64_t attempts = 1);
  void Emit(const std::string& step_name, const std::string& status, int64_t attempt,
            bool cache_hit, const std::string& failure_reason,
            std::chrono::steady_clock::time_point started);
  // Sleeps up to `duration`, waking early when the run is stopped. False when stopped.
  bool SleepUnlessStopped(std::chrono::milliseconds duration);

  // Scheduler helpers (execution_run.cc); REQUIRES mutex_ held.
  bool ShouldSkip(size_t index) const;
  bool IsReady(size_t index) const;

  Engine* const engine_;
  ExecutionStore* const store_;
  ExecutionRecord record_;
  const PipelineDefinition definition_;
  const Dag dag_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mutex_;  // guards states_, properties_, done_
  std::condition_variable done_cv_;
  std::vector<State> states_;
  std::map<std::string, nlohmann::json> properties_;  // succeeded steps
  std::vector<std::pair<size_t, StepResult>> done_;

  std::mutex event_mutex_;  // serializes on_event calls
};

}  // namespace raypipe::pipeline
