#include "pipeline/engine/execution_store.h"

#include <signal.h>

#include <cerrno>
#include <utility>

namespace raypipe::pipeline {
namespace {

using store::Row;
using store::SqlSession;
using store::SqlValue;

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "pipelines, executions, step runs, lineage",
       "CREATE TABLE pipeline_pipelines (name TEXT PRIMARY KEY, source_name TEXT NOT NULL,"
       " pipeline_dir TEXT NOT NULL, definition_text TEXT NOT NULL, created_time TEXT NOT NULL,"
       " updated_time TEXT NOT NULL);"
       "CREATE TABLE pipeline_executions (id TEXT PRIMARY KEY, pipeline_name TEXT NOT NULL,"
       " status TEXT NOT NULL, failure_reason TEXT NOT NULL DEFAULT '',"
       " source_name TEXT NOT NULL, pipeline_dir TEXT NOT NULL, definition_text TEXT NOT NULL,"
       " parameters TEXT NOT NULL, from_execution TEXT NOT NULL DEFAULT '',"
       " selected_steps TEXT NOT NULL DEFAULT '[]', start_time TEXT NOT NULL,"
       " end_time TEXT NOT NULL DEFAULT '', last_modified_time TEXT NOT NULL,"
       " stop_requested INTEGER NOT NULL DEFAULT 0, orchestrator_pid INTEGER NOT NULL DEFAULT 0,"
       " heartbeat_time TEXT NOT NULL DEFAULT '');"
       "CREATE INDEX pipeline_executions_by_pipeline ON pipeline_executions (pipeline_name,"
       " start_time);"
       "CREATE TABLE pipeline_step_runs (execution_id TEXT NOT NULL, step_name TEXT NOT NULL,"
       " step_type TEXT NOT NULL, status TEXT NOT NULL, attempt_count INTEGER NOT NULL,"
       " failure_reason TEXT NOT NULL, cache_hit_source TEXT NOT NULL,"
       " selective_source TEXT NOT NULL, properties TEXT NOT NULL, cache_key TEXT NOT NULL,"
       " cache_explain TEXT NOT NULL, start_time TEXT NOT NULL, end_time TEXT NOT NULL,"
       " log_path TEXT NOT NULL, seq INTEGER NOT NULL,"
       " PRIMARY KEY (execution_id, step_name));"
       "CREATE INDEX pipeline_step_runs_by_key ON pipeline_step_runs (cache_key, status,"
       " end_time);"
       "CREATE TABLE pipeline_lineage (execution_id TEXT NOT NULL, step_name TEXT NOT NULL,"
       " direction TEXT NOT NULL, name TEXT NOT NULL, artifact_type TEXT NOT NULL,"
       " uri TEXT NOT NULL, digest TEXT NOT NULL, seq INTEGER NOT NULL);"
       "CREATE INDEX pipeline_lineage_by_execution ON pipeline_lineage (execution_id, step_name);"},
  };
  return kMigrations;
}

Result<PipelineRecord> PipelineFromRow(const Row& row) {
  PipelineRecord r;
  ASSIGN_OR_RETURN(r.name, row.GetString("name"));
  ASSIGN_OR_RETURN(r.source_name, row.GetString("source_name"));
  ASSIGN_OR_RETURN(r.pipeline_dir, row.GetString("pipeline_dir"));
  ASSIGN_OR_RETURN(r.definition_text, row.GetString("definition_text"));
  ASSIGN_OR_RETURN(r.created_time, row.GetString("created_time"));
  ASSIGN_OR_RETURN(r.updated_time, row.GetString("updated_time"));
  return r;
}

Result<ExecutionRecord> ExecutionFromRow(const Row& row) {
  ExecutionRecord r;
  ASSIGN_OR_RETURN(r.id, row.GetString("id"));
  ASSIGN_OR_RETURN(r.pipeline_name, row.GetString("pipeline_name"));
  ASSIGN_OR_RETURN(r.status, row.GetString("status"));
  ASSIGN_OR_RETURN(r.failure_reason, row.GetString("failure_reason"));
  ASSIGN_OR_RETURN(r.source_name, row.GetString("source_name"));
  ASSIGN_OR_RETURN(r.pipeline_dir, row.GetString("pipeline_dir"));
  ASSIGN_OR_RETURN(r.definition_text, row.GetString("definition_text"));
  ASSIGN_OR_RETURN(r.parameters, store::GetJsonCell(row, "parameters"));
  ASSIGN_OR_RETURN(r.from_execution, row.GetString("from_execution"));
  ASSIGN_OR_RETURN(nlohmann::json selected, store::GetJsonCell(row, "selected_steps"));
  for (const auto& step : selected) {
    if (step.is_string()) r.selected_steps.push_back(step.get<std::string>());
  }
  ASSIGN_OR_RETURN(r.start_time, row.GetString("start_time"));
  ASSIGN_OR_RETURN(r.end_time, row.GetString("end_time"));
  ASSIGN_OR_RETURN(r.last_modified_time, row.GetString("last_modified_time"));
  ASSIGN_OR_RETURN(int64_t stop, row.GetInt64("stop_requested"));
  r.stop_requested = stop != 0;
  ASSIGN_OR_RETURN(r.orchestrator_pid, row.GetInt64("orchestrator_pid"));
  ASSIGN_OR_RETURN(r.heartbeat_time, row.GetString("heartbeat_time"));
  return r;
}

Result<StepRunRecord> StepRunFromRow(const Row& row) {
  StepRunRecord r;
  ASSIGN_OR_RETURN(r.execution_id, row.GetString("execution_id"));
  ASSIGN_OR_RETURN(r.step_name, row.GetString("step_name"));
  ASSIGN_OR_RETURN(r.step_type, row.GetString("step_type"));
  ASSIGN_OR_RETURN(r.status, row.GetString("status"));
  ASSIGN_OR_RETURN(r.attempt_count, row.GetInt64("attempt_count"));
  ASSIGN_OR_RETURN(r.failure_reason, row.GetString("failure_reason"));
  ASSIGN_OR_RETURN(r.cache_hit_source, row.GetString("cache_hit_source"));
  ASSIGN_OR_RETURN(r.selective_source, row.GetString("selective_source"));
  ASSIGN_OR_RETURN(r.properties, store::GetJsonCell(row, "properties"));
  ASSIGN_OR_RETURN(r.cache_key, row.GetString("cache_key"));
  ASSIGN_OR_RETURN(r.cache_explain, store::GetJsonCell(row, "cache_explain"));
  ASSIGN_OR_RETURN(r.start_time, row.GetString("start_time"));
  ASSIGN_OR_RETURN(r.end_time, row.GetString("end_time"));
  ASSIGN_OR_RETURN(r.log_path, row.GetString("log_path"));
  return r;
}

template <typename T, typename F>
Result<std::vector<T>> MapRows(const std::vector<Row>& rows, F from_row) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(T record, from_row(row));
    out.push_back(std::move(record));
  }
  return out;
}

Status PutStepRunIn(SqlSession& session, const StepRunRecord& r) {
  // Keeps the original start order (seq) when the row is replaced.
  ASSIGN_OR_RETURN(auto seq_rows,
                   session.Query("SELECT COALESCE((SELECT seq FROM pipeline_step_runs WHERE"
                                 " execution_id = ? AND step_name = ?),"
                                 " (SELECT COALESCE(MAX(seq), 0) + 1 FROM pipeline_step_runs"
                                 " WHERE execution_id = ?)) AS seq",
                                 {r.execution_id, r.step_name, r.execution_id}));
  ASSIGN_OR_RETURN(int64_t seq, seq_rows[0].GetInt64("seq"));
  return session
      .Execute("INSERT OR REPLACE INTO pipeline_step_runs (execution_id, step_name, step_type,"
               " status, attempt_count, failure_reason, cache_hit_source, selective_source,"
               " properties, cache_key, cache_explain, start_time, end_time, log_path, seq)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               {r.execution_id, r.step_name, r.step_type, r.status, r.attempt_count,
                r.failure_reason, r.cache_hit_source, r.selective_source, r.properties.dump(),
                r.cache_key, r.cache_explain.dump(), r.start_time, r.end_time, r.log_path, seq})
      .status();
}

Status ReplaceLineageIn(SqlSession& session, std::string_view execution_id,
                        std::string_view step_name, const std::vector<LineageRecord>& records) {
  RETURN_IF_ERROR(session
                      .Execute("DELETE FROM pipeline_lineage WHERE execution_id = ? AND"
                               " step_name = ?",
                               {std::string(execution_id), std::string(step_name)})
                      .status());
  int64_t seq = 0;
  for (const LineageRecord& r : records) {
    RETURN_IF_ERROR(session
                        .Execute("INSERT INTO pipeline_lineage VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 {std::string(execution_id), std::string(step_name), r.direction,
                                  r.name, r.artifact_type, r.uri, r.digest, ++seq})
                        .status());
  }
  return Status::Ok();
}

}  // namespace

bool IsProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;
}

bool IsTerminalExecutionStatus(std::string_view status) {
  return status == "Succeeded" || status == "Failed" || status == "Stopped";
}

Result<std::unique_ptr<ExecutionStore>> ExecutionStore::Open(store::MetadataStore* metadata) {
  if (metadata == nullptr) return InvalidArgumentError("ExecutionStore needs a metadata store");
  RETURN_IF_ERROR(metadata->Migrate("pipeline", Migrations()));
  return std::unique_ptr<ExecutionStore>(new ExecutionStore(metadata));
}

Status ExecutionStore::UpsertPipeline(const PipelineRecord& r, std::string_view now) {
  return metadata_
      ->Execute("INSERT INTO pipeline_pipelines VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO"
                " UPDATE SET source_name = excluded.source_name, pipeline_dir ="
                " excluded.pipeline_dir, definition_text = excluded.definition_text,"
                " updated_time = excluded.updated_time",
                {r.name, r.source_name, r.pipeline_dir, r.definition_text, std::string(now),
                 std::string(now)})
      .status();
}

Result<PipelineRecord> ExecutionStore::GetPipeline(std::string_view name) {
  ASSIGN_OR_RETURN(auto rows, metadata_->Query("SELECT * FROM pipeline_pipelines WHERE name = ?",
                                               {std::string(name)}));
  if (rows.empty()) return NotFoundError("no pipeline named '" + std::string(name) + "'");
  return PipelineFromRow(rows[0]);
}

Result<std::vector<PipelineRecord>> ExecutionStore::ListPipelines() {
  ASSIGN_OR_RETURN(auto rows, metadata_->Query("SELECT * FROM pipeline_pipelines ORDER BY name"));
  return MapRows<PipelineRecord>(rows, PipelineFromRow);
}

Status ExecutionStore::DeletePipeline(std::string_view name) {
  return metadata_->Transaction([&](SqlSession& session) -> Status {
    ASSIGN_OR_RETURN(auto running,
                     session.Query("SELECT id FROM pipeline_executions WHERE pipeline_name = ? AND"
                                   " status IN ('Executing', 'Stopping')",
                                   {std::string(name)}));
    if (!running.empty()) {
      ASSIGN_OR_RETURN(std::string id, running[0].GetString("id"));
      return FailedPreconditionError("pipeline '" + std::string(name) +
                                     "' has a running execution " + id + "; stop it first");
    }
    ASSIGN_OR_RETURN(auto result, session.Execute("DELETE FROM pipeline_pipelines WHERE name = ?",
                                                  {std::string(name)}));
    if (result.changes == 0) return NotFoundError("no pipeline named '" + std::string(name) + "'");
    return Status::Ok();
  });
}

Status ExecutionStore::CreateExecution(const ExecutionRecord& r) {
  return metadata_
      ->Execute("INSERT INTO pipeline_executions (id, pipeline_name, status, failure_reason,"
                " source_name, pipeline_dir, definition_text, parameters, from_execution,"
                " selected_steps, start_time, end_time, last_modified_time, stop_requested,"
                " orchestrator_pid, heartbeat_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, 0, ?, ?)",
                {r.id, r.pipeline_name, r.status, r.failure_reason, r.source_name,
                 r.pipeline_dir, r.definition_text, r.parameters.dump(), r.from_execution,
                 nlohmann::json(r.selected_steps).dump(), r.start_time, r.end_time,
                 r.start_time, r.orchestrator_pid, r.heartbeat_time})
      .status();
}

Result<ExecutionRecord> ExecutionStore::GetExecution(std::string_view id) {
  ASSIGN_OR_RETURN(auto rows, metadata_->Query("SELECT * FROM pipeline_executions WHERE id = ?",
                                               {std::string(id)}));
  if (rows.empty()) return NotFoundError("no pipeline execution '" + std::string(id) + "'");
  return ExecutionFromRow(rows[0]);
}

Result<std::vector<ExecutionRecord>> ExecutionStore::ListExecutions(
    std::string_view pipeline_name, int64_t limit) {
  std::vector<Row> rows;
  if (pipeline_name.empty()) {
    ASSIGN_OR_RETURN(rows, metadata_->Query("SELECT * FROM pipeline_executions ORDER BY"
                                            " start_time DESC, id DESC LIMIT ?",
                                            {limit}));
  } else {
    ASSIGN_OR_RETURN(rows, metadata_->Query("SELECT * FROM pipeline_executions WHERE"
                                            " pipeline_name = ? ORDER BY start_time DESC,"
                                            " id DESC LIMIT ?",
                                            {std::string(pipeline_name), limit}));
  }
  return MapRows<ExecutionRecord>(rows, ExecutionFromRow);
}

Status ExecutionStore::SetExecutionStatus(std::string_view id, std::string_view status,
                                          std::string_view failure_reason, std::string_view now,
                                          bool terminal) {
  return metadata_
      ->Execute("UPDATE pipeline_executions SET status = ?, failure_reason = ?,"
                " last_modified_time = ?, end_time = ?,"
                " orchestrator_pid = CASE WHEN ? THEN 0 ELSE orchestrator_pid END WHERE id = ?",
                {std::string(status), std::string(failure_reason), std::string(now),
                 terminal ? std::string(now) : std::string(), int64_t{terminal ? 1 : 0},
                 std::string(id)})
      .status();
}

Status ExecutionStore::ClaimExecution(std::string_view id, int64_t pid, std::string_view now) {
  return metadata_->Transaction([&](SqlSession& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT orchestrator_pid FROM pipeline_executions"
                                              " WHERE id = ?",
                                              {std::string(id)}));
    if (rows.empty()) return NotFoundError("no pipeline execution '" + std::string(id) + "'");
    ASSIGN_OR_RETURN(int64_t holder, rows[0].GetInt64("orchestrator_pid"));
    if (holder != 0 && holder != pid && IsProcessAlive(holder)) {
      return FailedPreconditionError("execution " + std::string(id) +
                                     " is being run by process " + std::to_string(holder));
    }
    return session
        // A stop requested before this claim (between StartExecution and RunExecution, say)
        // stands: only a finished execution's old request is cleared.
        .Execute("UPDATE pipeline_executions SET"
                 " stop_requested = CASE WHEN status = 'Stopping' THEN 1 ELSE 0 END,"
                 " status = CASE WHEN status = 'Stopping' THEN 'Stopping' ELSE 'Executing' END,"
                 " failure_reason = '', end_time = '', orchestrator_pid = ?, heartbeat_time = ?,"
                 " last_modified_time = ? WHERE id = ?",
                 {pid, std::string(now), std::string(now), std::string(id)})
        .status();
  });
}

Status ExecutionStore::Heartbeat(std::string_view id, std::string_view now) {
  return metadata_
      ->Execute("UPDATE pipeline_executions SET heartbeat_time = ? WHERE id = ?",
                {std::string(now), std::string(id)})
      .status();
}

Status ExecutionStore::RequestStop(std::string_view id, std::string_view now) {
  return metadata_->Transaction([&](SqlSession& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT status FROM pipeline_executions WHERE"
                                              " id = ?",
                                              {std::string(id)}));
    if (rows.empty()) return NotFoundError("no pipeline execution '" + std::string(id) + "'");
    ASSIGN_OR_RETURN(std::string status, rows[0].GetString("status"));
    if (IsTerminalExecutionStatus(status)) {
      return FailedPreconditionError("execution " + std::string(id) + " is already " + status);
    }
    return session
        .Execute("UPDATE pipeline_executions SET stop_requested = 1, status = 'Stopping',"
                 " last_modified_time = ? WHERE id = ?",
                 {std::string(now), std::string(id)})
        .status();
  });
}

Result<bool> ExecutionStore::StopRequested(std::string_view id) {
  ASSIGN_OR_RETURN(auto rows, metadata_->Query("SELECT stop_requested FROM pipeline_executions"
                                               " WHERE id = ?",
                                               {std::string(id)}));
  if (rows.empty()) return NotFoundError("no pipeline execution '" + std::string(id) + "'");
  ASSIGN_OR_RETURN(int64_t stop, rows[0].GetInt64("stop_requested"));
  return stop != 0;
}

Status ExecutionStore::MarkAbandonedStopped(std::string_view id, std::string_view now) {
  return metadata_->Transaction([&](SqlSession& session) -> Status {
    RETURN_IF_ERROR(session
                        .Execute("UPDATE pipeline_step_runs SET status = 'Stopped', end_time = ?,"
                                 " failure_reason = 'the orchestrator was gone' WHERE"
                                 " execution_id = ? AND status NOT IN ('Succeeded', 'Failed',"
                                 " 'Stopped')",
                                 {std::string(now), std::string(id)})
                        .status());
    return session
        .Execute("UPDATE pipeline_executions SET status = 'Stopped', end_time = ?,"
                 " last_modified_time = ?, orchestrator_pid = 0 WHERE id = ?",
                 {std::string(now), std::string(now), std::string(id)})
        .status();
  });
}

Status ExecutionStore::PutStepRun(const StepRunRecord& record) {
  return metadata_->Transaction(
      [&](SqlSession& session) -> Status { return PutStepRunIn(session, record); });
}

Result<std::optional<StepRunRecord>> ExecutionStore::GetStepRun(std::string_view execution_id,
                                                                std::string_view step_name) {
  ASSIGN_OR_RETURN(auto rows, metadata_->Query("SELECT * FROM pipeline_step_runs WHERE"
                                               " execution_id = ? AND step_name = ?",
                                               {std::string(execution_id),
                                                std::string(step_name)}));
  if (rows.empty()) return std::optional<StepRunRecord>();
  ASSIGN_OR_RETURN(StepRunRecord record, StepRunFromRow(rows[0]));
  return std::optional<StepRunRecord>(std::move(record));
}

Result<std::vector<StepRunRecord>> ExecutionStore::ListStepRuns(std::string_view execution_id) {
  ASSIGN_OR_RETURN(auto rows, metadata_->Query("SELECT * FROM pipeline_step_runs WHERE"
                                               " execution_id = ? ORDER BY seq",
                                               {std::string(execution_id)}));
  return MapRows<StepRunRecord>(rows, StepRunFromRow);
}

Status ExecutionStore::DeleteStepRun(std::string_view execution_id, std::string_view step_name) {
  return metadata_->Transaction([&](SqlSession& session) -> Status {
    RETURN_IF_ERROR(ReplaceLineageIn(session, execution_id, step_name, {}));
    return session
        .Execute("DELETE FROM pipeline_step_runs WHERE execution_id = ? AND step_name = ?",
                 {std::string(execution_id), std::string(step_name)})
        .status();
  });
}

Result<std::optional<StepRunRecord>> ExecutionStore::FindCached(
    std::string_view cache_key, std::string_view exclude_execution, std::string_view not_before) {
  ASSIGN_OR_RETURN(auto rows,
                   metadata_->Query("SELECT * FROM pipeline_step_runs WHERE cache_key = ? AND"
                                    " status = 'Succeeded' AND execution_id != ? AND"
                                    " end_time >= ? ORDER BY end_time DESC LIMIT 1",
                                    {std::string(cache_key), std::string(exclude_execution),
                                     std::string(not_before)}));
  if (rows.empty()) return std::optional<StepRunRecord>();
  ASSIGN_OR_RETURN(StepRunRecord record, StepRunFromRow(rows[0]));
  return std::optional<StepRunRecord>(std::move(record));
}

Status ExecutionStore::ReplaceLineage(std::string_view execution_id, std::string_view step_name,
                                      const std::vector<LineageRecord>& records) {
  return metadata_->Transaction([&](SqlSession& session) -> Status {
    return ReplaceLineageIn(session, execution_id, step_name, records);
  });
}

Result<std::vector<LineageRecord>> ExecutionStore::ListLineage(std::string_view execution_id) {
  ASSIGN_OR_RETURN(auto rows,
                   metadata_->Query("SELECT l.* FROM pipeline_lineage l LEFT JOIN"
                                    " pipeline_step_runs s ON s.execution_id = l.execution_id AND"
                                    " s.step_name = l.step_name WHERE l.execution_id = ?"
                                    " ORDER BY s.seq, l.seq",
                                    {std::string(execution_id)}));
  return MapRows<LineageRecord>(rows, [](const Row& row) -> Result<LineageRecord> {
    LineageRecord r;
    ASSIGN_OR_RETURN(r.execution_id, row.GetString("execution_id"));
    ASSIGN_OR_RETURN(r.step_name, row.GetString("step_name"));
    ASSIGN_OR_RETURN(r.direction, row.GetString("direction"));
    ASSIGN_OR_RETURN(r.name, row.GetString("name"));
    ASSIGN_OR_RETURN(r.artifact_type, row.GetString("artifact_type"));
    ASSIGN_OR_RETURN(r.uri, row.GetString("uri"));
    ASSIGN_OR_RETURN(r.digest, row.GetString("digest"));
    return r;
  });
}

Status ExecutionStore::CommitStepRun(const StepRunRecord& record,
                                     const std::vector<LineageRecord>& lineage) {
  return metadata_->Transaction([&](SqlSession& session) -> Status {
    RETURN_IF_ERROR(PutStepRunIn(session, record));
    return ReplaceLineageIn(session, record.execution_id, record.step_name, lineage);
  });
}

}  // namespace raypipe::pipeline
