#pragma once

// The pipeline engine: runs executions of pipeline definitions (DESIGN.md section 4).
//
//   Engine engine(...);
//   ASSIGN_OR_RETURN(std::string id, engine->StartExecution(request));  // record only
//   ASSIGN_OR_RETURN(ExecutionRecord done, engine->RunExecution(id));    // drives it to the end
//
// Everything an execution is lives in the metadata store (ExecutionStore): the definition text,
// the parameters, each step run with its status, attempts, properties, cache key and lineage.
// RunExecution schedules the DAG (DependsOn + references + condition branches), up to
// MaxParallelExecutionSteps steps at a time, each in its own thread; a step commits its outputs
// and its record in one go after it succeeded, so killing the orchestrator loses nothing
// committed. PrepareRetry + RunExecution resume an execution under the same id: succeeded steps
// are kept, the rest run again. RequestStop (from any process) sets a flag in the store that
// the orchestrator polls every poll_interval.
//
// Steps: Condition, Fail and ForEach are handled here; every other type goes to the
// StepRunner registered for it (see pipeline/step_runner.h).
//
// Thread-safety: the methods may be called from several threads; RunExecution blocks.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "pipeline/definition.h"
#include "pipeline/engine/execution_store.h"
#include "pipeline/step_runner.h"

namespace raypipe::pipeline {

// A step changed status (live progress). `step_name` is "<Step>[<i>]" for a ForEach iteration.
struct StepEvent {
  std::string execution_id;
  std::string step_name;
  std::string status;  // Executing, Succeeded, Failed, Stopped
  int64_t attempt = 0;
  bool cache_hit = false;
  std::string failure_reason;
  double seconds = 0;  // since the step started (terminal statuses)
};

struct EngineOptions {
  std::string home;                          // RAYPIPE_HOME (logs go under home/logs)
  store::MetadataStore* metadata = nullptr;  // not owned; required
  store::ArtifactStore* artifacts = nullptr;  // not owned; required
  compute::Executor* executor = nullptr;     // not owned; handed to runners
  const StepRunnerRegistry* runners = nullptr;  // not owned; required
  const core::Clock* clock = nullptr;        // not owned; null: the system clock
  // How often the orchestrator looks for a stop request.
  std::chrono::milliseconds poll_interval{200};
  // Multiplies RetryPolicies' IntervalSeconds (tests shorten the waits).
  double retry_interval_scale = 1.0;
  // Called from step threads, one call at a time.
  std::function<void(const StepEvent&)> on_event;
};

struct StartRequest {
  std::string definition_text;
  std::string source_name;   // as messages name the file
  std::string pipeline_dir;  // where relative paths start; made absolute
  std::map<std::string, std::string> parameters;  // --param NAME=VALUE
  // Selective execution: reuse the succeeded runs of `from_execution` for every step not in
  // `steps`, and run `steps`.
  std::string from_execution;
  std::vector<std::string> steps;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Create(EngineOptions options);
  ~Engine();

  ExecutionStore& store() { return *store_; }

  // Parses and validates a definition against the registered step types. InvalidArgument
  // listing every problem (file:line: step 'S', field 'F': message).
  Result<PipelineDefinition> Load(std::string_view text, std::string_view source_name) const;

  // Validates, resolves the parameters and records a new execution (status Executing, not yet
  // claimed by an orchestrator). Returns its id.
  Result<std::string> StartExecution(const StartRequest& request);

  // Runs the execution in this thread until it is Succeeded, Failed or Stopped, and returns
  // the final record. FailedPrecondition when another live process is running it.
  Result<ExecutionRecord> RunExecution(std::string_view execution_id);

  // Readies a Failed or Stopped execution, or one whose orchestrator died, for RunExecution:
  // forgets its step runs that did not succeed. FailedPrecondition for a Succeeded one, or
  // one that a live orchestrator is running.
  Status PrepareRetry(std::string_view execution_id);

  // Asks the orchestrator of a running execution to stop.
  Status RequestStop(std::string_view execution_id);

  const EngineOptions& options() const { return options_; }
  std::string Now() const;

 private:
  Engine(EngineOptions options, std::unique_ptr<ExecutionStore> store);

  EngineOptions options_;
  std::unique_ptr<ExecutionStore> store_;
  std::unique_ptr<core::SystemClock> owned_clock_;
};

}  // namespace raypipe::pipeline
