#include "pipeline/engine/execution_run.h"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>
#include <utility>

#include "pipeline/property_path.h"

namespace raypipe::pipeline {
namespace {

constexpr auto kHeartbeatInterval = std::chrono::seconds(5);

}  // namespace

Result<nlohmann::json> ExecutionResolver::Resolve(const Reference& reference) const {
  const ExecutionRecord& record = run_->record();
  switch (reference.kind) {
    case ReferenceKind::kParameter: {
      auto it = record.parameters.find(reference.name);
      if (it == record.parameters.end()) {
        return NotFoundError("no value for parameter '" + reference.name + "'");
      }
      return *it;
    }
    case ReferenceKind::kExecution: {
      const std::string& name = reference.name;
      const std::string pipeline_arn = "arn:raypipe:pipeline/" + record.pipeline_name;
      if (name == "PipelineExecutionId") return nlohmann::json(record.id);
      if (name == "PipelineExecutionArn") {
        return nlohmann::json(pipeline_arn + "/execution/" + record.id);
      }
      if (name == "PipelineName") return nlohmann::json(record.pipeline_name);
      if (name == "PipelineArn") return nlohmann::json(pipeline_arn);
      if (name == "StartDateTime") return nlohmann::json(record.start_time);
      if (name == "CurrentDateTime") return nlohmann::json(run_->engine()->Now());
      if (name == "TrainingJobName" || name == "ProcessingJobName") {
        return nlohmann::json(record.pipeline_name + "-" + record.id);
      }
      return NotFoundError("unknown execution variable 'Execution." + name + "'");
    }
    case ReferenceKind::kStep: {
      ASSIGN_OR_RETURN(nlohmann::json properties, run_->StepProperties(reference.name));
      Result<nlohmann::json> value = GetAtPath(properties, reference.property);
      if (!value.ok()) {
        return Status(value.status().code(),
                      std::string(value.status().message()) + " (resolving " +
                          reference.ToString() + ")");
      }
      return value;
    }
    case ReferenceKind::kItem:
      if (!has_item_) return InvalidArgumentError("{\"Get\": \"Item\"} outside a ForEach step");
      return item_;
    case ReferenceKind::kItemIndex:
      if (!has_item_) {
        return InvalidArgumentError("{\"Get\": \"ItemIndex\"} outside a ForEach step");
      }
      return nlohmann::json(item_index_);
  }
  return InternalError("unknown reference kind");
}

ExecutionRun::ExecutionRun(Engine* engine, ExecutionRecord record, PipelineDefinition definition)
    : engine_(engine),
      store_(&engine->store()),
      record_(std::move(record)),
      definition_(std::move(definition)),
      dag_(Dag::Build(definition_)),
      states_(definition_.steps.size(), State::kPending) {}

Result<nlohmann::json> ExecutionRun::StepProperties(const std::string& step) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = properties_.find(step);
  if (it == properties_.end()) {
    return NotFoundError("step '" + step + "' has not succeeded in this execution");
  }
  return it->second;
}

bool ExecutionRun::ShouldSkip(size_t index) const {
  for (size_t up : dag_.Upstream(index)) {
    if (states_[up] == State::kSkipped) return true;
  }
  for (const BranchGuard& guard : definition_.steps[index].guards) {
    std::optional<size_t> condition = dag_.Find(guard.condition_step);
    if (!condition.has_value() || states_[*condition] != State::kSucceeded) continue;
    auto it = properties_.find(guard.condition_step);
    if (it == properties_.end()) continue;
    bool outcome = it->second.value("Outcome", false);
    if (outcome != (guard.branch == Branch::kIf)) return true;
  }
  if (!record_.from_execution.empty() && states_[index] == State::kPending) {
    const auto& selected = record_.selected_steps;
    if (std::find(selected.begin(), selected.end(), definition_.steps[index].name) ==
        selected.end()) {
      return true;  // not selected and not reused from the source execution
    }
  }
  return false;
}

bool ExecutionRun::IsReady(size_t index) const {
  for (size_t up : dag_.Upstream(index)) {
    if (states_[up] != State::kSucceeded) return false;
  }
  return true;
}

Result<ExecutionRecord> ExecutionRun::Run() {
  const int64_t pid = static_cast<int64_t>(getpid());
  RETURN_IF_ERROR(store_->ClaimExecution(record_.id, pid, engine_->Now()));

  // What earlier orchestrations of this execution committed.
  ASSIGN_OR_RETURN(std::vector<StepRunRecord> runs, store_->ListStepRuns(record_.id));
  for (const StepRunRecord& run : runs) {
    std::optional<size_t> index = dag_.Find(run.step_name);
    if (!index.has_value() || run.status != "Succeeded") continue;
    states_[*index] = State::kSucceeded;
    properties_[run.step_name] = run.properties;
  }

  const size_t max_parallel =
      definition_.max_parallel_execution_steps.has_value()
          ? static_cast<size_t>(std::max<int64_t>(1, *definition_.max_parallel_execution_steps))
          : definition_.steps.size() + 1;
  std::vector<std::thread> threads;
  size_t running = 0;
  std::string first_failure;
  std::string fail_step_message;
  bool any_failed = false;
  auto last_poll = std::chrono::steady_clock::now() - engine_->options().poll_interval;
  auto last_heartbeat = std::chrono::steady_clock::now();

  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (!stop_ && now - last_poll >= engine_->options().poll_interval) {
      last_poll = now;
      lock.unlock();
      Result<bool> stop = store_->StopRequested(record_.id);
      if (now - last_heartbeat >= kHeartbeatInterval) {
        last_heartbeat = now;
        (void)store_->Heartbeat(record_.id, engine_->Now());
      }
      lock.lock();
      if (stop.ok() && *stop) stop_ = true;
    }
    // Results of finished steps.
    for (auto& [index, result] : done_) {
      --running;
      if (result.status == "Succeeded") {
        states_[index] = State::kSucceeded;
        properties_[definition_.steps[index].name] = result.properties;
      } else if (result.status == "Stopped") {
        states_[index] = State::kStopped;
      } else {
        states_[index] = State::kFailed;
        if (!any_failed) {
          first_failure = "Step '" + definition_.steps[index].name + "' failed: " +
                          result.failure_reason;
          if (definition_.steps[index].type == "Fail") fail_step_message = result.failure_reason;
        }
        any_failed = true;
      }
    }
    done_.clear();
    // Skips propagate in step order, which is topological enough after a fixpoint.
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < states_.size(); ++i) {
        if (states_[i] == State::kPending && ShouldSkip(i)) {
          states_[i] = State::kSkipped;
          changed = true;
        }
      }
    }
    if (!stop_ && !any_failed) {
      for (size_t i = 0; i < states_.size() && running < max_parallel; ++i) {
        if (states_[i] != State::kPending || !IsReady(i)) continue;
        states_[i] = State::kRunning;
        ++running;
        threads.emplace_back([this, i] {
          StepResult result = RunStep(definition_.steps[i]);
          std::lock_guard<std::mutex> guard(mutex_);
          done_.emplace_back(i, std::move(result));
          done_cv_.notify_all();
        });
      }
    }
    if (running == 0 && done_.empty()) break;
    done_cv_.wait_for(lock, engine_->options().poll_interval, [&] { return !done_.empty(); });
  }
  lock.unlock();
  for (std::thread& thread : threads) thread.join();

  std::string status = "Succeeded";
  std::string reason;
  if (any_failed) {
    status = "Failed";
    reason = fail_step_message.empty() ? first_failure : fail_step_message;
  } else if (stop_) {
    bool unfinished = false;
    for (State state : states_) unfinished |= state != State::kSucceeded && state != State::kSkipped;
    if (unfinished) status = "Stopped";
  }
  RETURN_IF_ERROR(store_->SetExecutionStatus(record_.id, status, reason, engine_->Now(),
                                             /*terminal=*/true));
  return store_->GetExecution(record_.id);
}

void ExecutionRun::Emit(const std::string& step_name, const std::string& status, int64_t attempt,
                        bool cache_hit, const std::string& failure_reason,
                        std::chrono::steady_clock::time_point started) {
  const auto& on_event = engine_->options().on_event;
  if (!on_event) return;
  StepEvent event;
  event.execution_id = record_.id;
  event.step_name = step_name;
  event.status = status;
  event.attempt = attempt;
  event.cache_hit = cache_hit;
  event.failure_reason = failure_reason;
  event.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::lock_guard<std::mutex> lock(event_mutex_);
  on_event(event);
}

bool ExecutionRun::SleepUnlessStopped(std::chrono::milliseconds duration) {
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stop_) return false;
    auto left = deadline - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        left, std::chrono::milliseconds(50)));
  }
  return !stop_;
}

}  // namespace raypipe::pipeline
