#pragma once

// The engine's records in the metadata store (component "pipeline"): pipelines, executions,
// step runs and lineage edges. Every state change is one transaction, so a killed
// orchestrator leaves the last committed state and a restarted one (or the CLI, or the
// studio) reads the same truth.
//
// Statuses are SageMaker's: executions Executing / Stopping / Stopped / Failed / Succeeded,
// step runs Starting / Executing / Stopping / Stopped / Failed / Succeeded.
//
// Thread-safe (the MetadataStore is). Not owning: the MetadataStore must outlive it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/metadata_store.h"

namespace raypipe::pipeline {

struct PipelineRecord {
  std::string name;
  std::string source_name;      // the file as it was given
  std::string pipeline_dir;     // absolute directory of the file
  std::string definition_text;  // the file's text
  std::string created_time;     // ISO
  std::string updated_time;
};

struct ExecutionRecord {
  std::string id;
  std::string pipeline_name;
  std::string status;           // Executing, Stopping, Stopped, Failed, Succeeded
  std::string failure_reason;
  std::string source_name;
  std::string pipeline_dir;
  std::string definition_text;
  nlohmann::json parameters = nlohmann::json::object();  // resolved values
  std::string from_execution;   // selective execution: the source execution, else ""
  std::vector<std::string> selected_steps;
  std::string start_time;
  std::string end_time;
  std::string last_modified_time;
  bool stop_requested = false;
  int64_t orchestrator_pid = 0;
  std::string heartbeat_time;
};

struct StepRunRecord {
  std::string execution_id;
  std::string step_name;        // "<Step>[<i>]" for a ForEach iteration
  std::string step_type;
  std::string status;
  int64_t attempt_count = 0;
  std::string failure_reason;
  // CacheHitResult.SourcePipelineExecutionArn, or "".
  std::string cache_hit_source;
  // SelectiveExecutionResult.SourcePipelineExecutionArn, or "".
  std::string selective_source;
  nlohmann::json properties = nlohmann::json::object();
  std::string cache_key;        // "" when caching is off or the key was never computed
  nlohmann::json cache_explain = nlohmann::json::object();
  std::string start_time;
  std::string end_time;
  std::string log_path;
};

struct LineageRecord {
  std::string execution_id;
  std::string step_name;
  std::string direction;        // "Input" | "Output"
  std::string name;             // InputName / OutputName, or "" for extra lineage
  std::string artifact_type;    // "DataSet", "Code", "Model", "FeatureGroup", ...
  std::string uri;
  std::string digest;
};

bool IsTerminalExecutionStatus(std::string_view status);

// Whether a process with this id exists on this machine (orchestrators record their pid).
bool IsProcessAlive(int64_t pid);

class ExecutionStore {
 public:
  // Migrates the "pipeline" component's tables.
  static Result<std::unique_ptr<ExecutionStore>> Open(store::MetadataStore* metadata);

  store::MetadataStore* metadata() const { return metadata_; }

  // Pipelines (upsert replaces the text; delete refuses while an execution is running).
  Status UpsertPipeline(const PipelineRecord& record, std::string_view now);
  Result<PipelineRecord> GetPipeline(std::string_view name);
  Result<std::vector<PipelineRecord>> ListPipelines();
  Status DeletePipeline(std::string_view name);

  // Executions.
  Status CreateExecution(const ExecutionRecord& record);
  Result<ExecutionRecord> GetExecution(std::string_view id);
  // Newest first; all pipelines when `pipeline_name` is empty.
  Result<std::vector<ExecutionRecord>> ListExecutions(std::string_view pipeline_name,
                                                      int64_t limit = 1000);
  Status SetExecutionStatus(std::string_view id, std::string_view status,
                            std::string_view failure_reason, std::string_view now,
                            bool terminal);
  // Claims the execution for this orchestrator: status Executing, pid, heartbeat, stop flag
  // cleared. FailedPrecondition when another live orchestrator holds it.
  Status ClaimExecution(std::string_view id, int64_t pid, std::string_view now);
  Status Heartbeat(std::string_view id, std::string_view now);
  // Sets the stop flag (and status Stopping) of an Executing execution.
  Status RequestStop(std::string_view id, std::string_view now);
  Result<bool> StopRequested(std::string_view id);
  // Marks an execution whose orchestrator is gone Stopped, and its unfinished step runs too.
  Status MarkAbandonedStopped(std::string_view id, std::string_view now);

  // Step runs.
  Status PutStepRun(const StepRunRecord& record);  // insert or replace
  Result<std::optional<StepRunRecord>> GetStepRun(std::string_view execution_id,
                                                  std::string_view step_name);
  // In start order.
  Result<std::vector<StepRunRecord>> ListStepRuns(std::string_view execution_id);
  Status DeleteStepRun(std::string_view execution_id, std::string_view step_name);
  // The newest Succeeded run with this key in another execution (or a cached re-use of one),
  // ended at or after `not_before` (ISO; "" for no limit).
  Result<std::optional<StepRunRecord>> FindCached(std::string_view cache_key,
                                                  std::string_view exclude_execution,
                                                  std::string_view not_before);

  // Lineage of one step run (replaced as a whole) and of an execution.
  Status ReplaceLineage(std::string_view execution_id, std::string_view step_name,
                        const std::vector<LineageRecord>& records);
  Result<std::vector<LineageRecord>> ListLineage(std::string_view execution_id);

  // A step run and its lineage in one transaction (the commit point of a step).
  Status CommitStepRun(const StepRunRecord& record, const std::vector<LineageRecord>& lineage);

 private:
  explicit ExecutionStore(store::MetadataStore* metadata) : metadata_(metadata) {}
  store::MetadataStore* const metadata_;
};

}  // namespace raypipe::pipeline
