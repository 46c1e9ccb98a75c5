#include "experiments/experiment_store.h"

#include <cmath>
#include <limits>
#include <utility>

#include "core/ids.h"
#include "core/json.h"

namespace raypipe::experiments {

namespace {

constexpr std::string_view kComponent = "experiments";
constexpr size_t kMaxNameLength = 120;

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "experiments, runs, parameters and metric series",
       "CREATE TABLE experiments_experiments ("
       "  name TEXT PRIMARY KEY,"
       "  description TEXT NOT NULL,"
       "  created_at TEXT NOT NULL);"
       "CREATE TABLE experiments_runs ("
       "  run_id TEXT PRIMARY KEY,"
       "  experiment_name TEXT NOT NULL"
       "    REFERENCES experiments_experiments(name) ON DELETE CASCADE,"
       "  name TEXT NOT NULL,"
       "  status TEXT NOT NULL CHECK (status IN ('Running', 'Completed', 'Failed', 'Stopped')),"
       "  source_kind TEXT NOT NULL,"
       "  execution_id TEXT NOT NULL,"
       "  step_name TEXT NOT NULL,"
       "  created_at TEXT NOT NULL,"
       "  ended_at TEXT NOT NULL,"
       "  failure_reason TEXT NOT NULL);"
       "CREATE INDEX experiments_runs_by_experiment"
       "  ON experiments_runs (experiment_name, created_at);"
       "CREATE TABLE experiments_parameters ("
       "  run_id TEXT NOT NULL REFERENCES experiments_runs(run_id) ON DELETE CASCADE,"
       "  name TEXT NOT NULL,"
       "  value TEXT NOT NULL,"
       "  PRIMARY KEY (run_id, name)) WITHOUT ROWID;"
       "CREATE TABLE experiments_metrics ("
       "  run_id TEXT NOT NULL REFERENCES experiments_runs(run_id) ON DELETE CASCADE,"
       "  name TEXT NOT NULL,"
       "  step INTEGER NOT NULL,"
       "  value REAL,"  // NULL holds NaN
       "  time TEXT NOT NULL,"
       "  PRIMARY KEY (run_id, name, step)) WITHOUT ROWID;"},
  };
  return kMigrations;
}

constexpr std::string_view kRunColumns =
    "run_id, experiment_name, name, status, source_kind, execution_id, step_name, created_at, "
    "ended_at, failure_reason";

Result<RunRecord> RunFromRow(const store::Row& row) {
  RunRecord run;
  ASSIGN_OR_RETURN(run.run_id, row.GetString("run_id"));
  ASSIGN_OR_RETURN(run.experiment, row.GetString("experiment_name"));
  ASSIGN_OR_RETURN(run.name, row.GetString("name"));
  ASSIGN_OR_RETURN(std::string status, row.GetString("status"));
  ASSIGN_OR_RETURN(run.status, ParseRunStatus(status));
  ASSIGN_OR_RETURN(run.source.kind, row.GetString("source_kind"));
  ASSIGN_OR_RETURN(run.source.execution_id, row.GetString("execution_id"));
  ASSIGN_OR_RETURN(run.source.step_name, row.GetString("step_name"));
  ASSIGN_OR_RETURN(run.created_at, row.GetString("created_at"));
  ASSIGN_OR_RETURN(run.ended_at, row.GetString("ended_at"));
  ASSIGN_OR_RETURN(run.failure_reason, row.GetString("failure_reason"));
  return run;
}

store::SqlValue MetricValue(double value) {
  if (std::isnan(value)) return store::SqlValue(nullptr);
  return store::SqlValue(value);
}

Status ValidateParameters(const nlohmann::json& parameters, std::string_view run_id) {
  if (!parameters.is_object()) {
    return InvalidArgumentError("parameters of run '" + std::string(run_id) +
                                "' must be a JSON object, found " +
                                std::string(core::JsonTypeName(parameters)));
  }
  for (const auto& [name, value] : parameters.items()) {
    if (name.empty()) {
      return InvalidArgumentError("run '" + std::string(run_id) + "': empty parameter name");
    }
  }
  return Status::Ok();
}

Status InsertParameters(store::SqlSession& session, std::string_view run_id,
                        const nlohmann::json& parameters) {
  for (const auto& [name, value] : parameters.items()) {
    RETURN_IF_ERROR(session.Execute(
        "INSERT INTO experiments_parameters (run_id, name, value) VALUES (?, ?, ?)"
        " ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value",
        {std::string(run_id), name, core::CanonicalJson(value)}));
  }
  return Status::Ok();
}

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "Running";
    case RunStatus::kCompleted:
      return "Completed";
    case RunStatus::kFailed:
      return "Failed";
    case RunStatus::kStopped:
      return "Stopped";
  }
  return "Running";
}

Result<RunStatus> ParseRunStatus(std::string_view name) {
  for (RunStatus status :
       {RunStatus::kRunning, RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kStopped}) {
    if (name == RunStatusName(status)) return status;
  }
  return InvalidArgumentError("unknown run status '" + std::string(name) +
                              "': expected Running, Completed, Failed or Stopped");
}

nlohmann::json Experiment::ToJson() const {
  return {{"ExperimentName", name},
          {"Description", description},
          {"CreationTime", created_at},
          {"RunCount", run_count}};
}

nlohmann::json RunRecord::ToJson() const {
  return {{"RunId", run_id},
          {"ExperimentName", experiment},
          {"RunName", name},
          {"Status", RunStatusName(status)},
          {"Source",
           {{"Kind", source.kind}, {"ExecutionId", source.execution_id},
            {"StepName", source.step_name}}},
          {"CreationTime", created_at},
          {"EndTime", ended_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(ended_at)},
          {"FailureReason", failure_reason},
          {"Parameters", parameters}};
}

ExperimentStore::ExperimentStore(store::MetadataStore* metadata, const core::Clock* clock)
    : metadata_(metadata), clock_(clock != nullptr ? clock : &system_clock_) {}

Result<std::unique_ptr<ExperimentStore>> ExperimentStore::Open(store::MetadataStore* metadata,
                                                               const core::Clock* clock) {
  if (metadata == nullptr) return InvalidArgumentError("ExperimentStore::Open: no metadata store");
  RETURN_IF_ERROR(metadata->Migrate(kComponent, Migrations()));
  return std::unique_ptr<ExperimentStore>(new ExperimentStore(metadata, clock));
}

std::string ExperimentStore::Now() const { return core::FormatIsoTime(clock_->Now()); }

Status ExperimentStore::ValidateExperimentName(std::string_view name) {
  return core::CheckName("experiment name", name, kMaxNameLength, "-_.:/");
}

Status ExperimentStore::ExperimentNotFound(std::string_view name) const {
  return store::NotFoundAmong(*metadata_, "experiment '" + std::string(name) + "' does not exist",
                              "SELECT name FROM experiments_experiments ORDER BY name",
                              "experiments");
}

Result<Experiment> ExperimentStore::CreateExperiment(std::string_view name,
                                                     std::string_view description) {
  RETURN_IF_ERROR(ValidateExperimentName(name));
  Result<store::ExecResult> inserted = metadata_->Execute(
      "INSERT INTO experiments_experiments (name, description, created_at) VALUES (?, ?, ?)",
      {std::string(name), std::string(description), Now()});
  if (!inserted.ok() && inserted.status().code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("experiment '" + std::string(name) + "' already exists");
  }
  RETURN_IF_ERROR(inserted);
  return DescribeExperiment(name);
}

Result<Experiment> ExperimentStore::DescribeExperiment(std::string_view name) const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT e.name AS name, e.description AS description,"
                                    " e.created_at AS created_at,"
                                    " (SELECT COUNT(*) FROM experiments_runs r"
                                    "   WHERE r.experiment_name = e.name) AS run_count"
                                    " FROM experiments_experiments e WHERE e.name = ?",
                                    {std::string(name)}));
  if (rows.empty()) return ExperimentNotFound(name);
  Experiment experiment;
  ASSIGN_OR_RETURN(experiment.name, rows[0].GetString("name"));
  ASSIGN_OR_RETURN(experiment.description, rows[0].GetString("description"));
  ASSIGN_OR_RETURN(experiment.created_at, rows[0].GetString("created_at"));
  ASSIGN_OR_RETURN(experiment.run_count, rows[0].GetInt64("run_count"));
  return experiment;
}

Result<std::vector<Experiment>> ExperimentStore::ListExperiments() const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT e.name AS name, e.description AS description,"
                                    " e.created_at AS created_at,"
                                    " (SELECT COUNT(*) FROM experiments_runs r"
                                    "   WHERE r.experiment_name = e.name) AS run_count"
                                    " FROM experiments_experiments e ORDER BY e.name"));
  std::vector<Experiment> experiments;
  for (const store::Row& row : rows) {
    Experiment experiment;
    ASSIGN_OR_RETURN(experiment.name, row.GetString("name"));
    ASSIGN_OR_RETURN(experiment.description, row.GetString("description"));
    ASSIGN_OR_RETURN(experiment.created_at, row.GetString("created_at"));
    ASSIGN_OR_RETURN(experiment.run_count, row.GetInt64("run_count"));
    experiments.push_back(std::move(experiment));
  }
  return experiments;
}

Result<RunRecord> ExperimentStore::CreateRun(const CreateRunRequest& request) {
  RETURN_IF_ERROR(ValidateExperimentName(request.experiment));
  const std::string run_id = core::NewId("run");
  RETURN_IF_ERROR(ValidateParameters(request.parameters, run_id));
  const std::string name = request.name.empty() ? run_id : request.name;
  RETURN_IF_ERROR(metadata_->Transaction([&](store::SqlSession& tx) -> Status {
    const std::string now = Now();
    RETURN_IF_ERROR(tx.Execute(
        "INSERT INTO experiments_experiments (name, description, created_at) VALUES (?, '', ?)"
        " ON CONFLICT (name) DO NOTHING",
        {request.experiment, now}));
    RETURN_IF_ERROR(tx.Execute("INSERT INTO experiments_runs (" + std::string(kRunColumns) +
                                   ") VALUES (?, ?, ?, 'Running', ?, ?, ?, ?, '', '')",
                               {run_id, request.experiment, name, request.source.kind,
                                request.source.execution_id, request.source.step_name, now}));
    return InsertParameters(tx, run_id, request.parameters);
  }));
  return DescribeRun(run_id);
}

Result<RunRecord> ExperimentStore::DescribeRun(std::string_view run_id) const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT " + std::string(kRunColumns) +
                                        " FROM experiments_runs WHERE run_id = ?",
                                    {std::string(run_id)}));
  if (rows.empty()) {
    return NotFoundError("run '" + std::string(run_id) +
                         "' does not exist (list runs with 'raypipe experiments runs "
                         "EXPERIMENT')");
  }
  ASSIGN_OR_RETURN(RunRecord run, RunFromRow(rows[0]));
  ASSIGN_OR_RETURN(std::vector<store::Row> parameters,
                   metadata_->Query("SELECT name, value FROM experiments_parameters"
                                    " WHERE run_id = ? ORDER BY name",
                                    {std::string(run_id)}));
  for (const store::Row& row : parameters) {
    ASSIGN_OR_RETURN(std::string name, row.GetString("name"));
    Result<nlohmann::json> value = store::GetJsonCell(row, "value");
    if (!value.ok()) return value.status().WithContext("run parameter '" + name + "'");
    run.parameters[name] = std::move(*value);
  }
  return run;
}

Result<std::vector<RunRecord>> ExperimentStore::ListRuns(std::string_view experiment) const {
  ASSIGN_OR_RETURN(Experiment found, DescribeExperiment(experiment));
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT run_id FROM experiments_runs"
                                    " WHERE experiment_name = ? ORDER BY created_at, run_id",
                                    {found.name}));
  std::vector<RunRecord> runs;
  runs.reserve(rows.size());
  for (const store::Row& row : rows) {
    ASSIGN_OR_RETURN(std::string run_id, row.GetString("run_id"));
    ASSIGN_OR_RETURN(RunRecord run, DescribeRun(run_id));
    runs.push_back(std::move(run));
  }
  return runs;
}

Status ExperimentStore::RequireRunning(store::SqlSession& session,
                                       std::string_view run_id) const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   session.Query("SELECT status FROM experiments_runs WHERE run_id = ?",
                                 {std::string(run_id)}));
  if (rows.empty()) return NotFoundError("run '" + std::string(run_id) + "' does not exist");
  ASSIGN_OR_RETURN(std::string status, rows[0].GetString("status"));
  if (status != RunStatusName(RunStatus::kRunning)) {
    return FailedPreconditionError("run '" + std::string(run_id) + "' has already ended (" +
                                   status + ")");
  }
  return Status::Ok();
}

Status ExperimentStore::LogParameters(std::string_view run_id, const nlohmann::json& parameters) {
  RETURN_IF_ERROR(ValidateParameters(parameters, run_id));
  return metadata_->Transaction([&](store::SqlSession& tx) -> Status {
    RETURN_IF_ERROR(RequireRunning(tx, run_id));
    return InsertParameters(tx, run_id, parameters);
  });
}

Status ExperimentStore::LogMetrics(std::string_view run_id, std::span<const MetricPoint> points) {
  for (const MetricPoint& point : points) {
    if (point.name.empty()) {
      return InvalidArgumentError("run '" + std::string(run_id) + "': empty metric name");
    }
  }
  if (points.empty()) return Status::Ok();
  return metadata_->Transaction([&](store::SqlSession& tx) -> Status {
    RETURN_IF_ERROR(RequireRunning(tx, run_id));
    const std::string now = Now();
    for (const MetricPoint& point : points) {
      RETURN_IF_ERROR(tx.Execute(
          "INSERT INTO experiments_metrics (run_id, name, step, value, time)"
          " VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, name, step) DO UPDATE SET"
          " value = excluded.value, time = excluded.time",
          {std::string(run_id), point.name, point.step, MetricValue(point.value),
           point.time.empty() ? now : point.time}));
    }
    return Status::Ok();
  });
}

Status ExperimentStore::FinishRun(std::string_view run_id, RunStatus status,
                                  std::string_view failure_reason) {
  if (status == RunStatus::kRunning) {
    return InvalidArgumentError("run '" + std::string(run_id) +
                                "': finish with Completed, Failed or Stopped, not Running");
  }
  return metadata_->Transaction([&](store::SqlSession& tx) -> Status {
    RETURN_IF_ERROR(RequireRunning(tx, run_id));
    return tx
        .Execute("UPDATE experiments_runs SET status = ?, ended_at = ?, failure_reason = ?"
                 " WHERE run_id = ?",
                 {std::string(RunStatusName(status)), Now(), std::string(failure_reason),
                  std::string(run_id)})
        .status();
  });
}

Result<std::vector<MetricPoint>> ExperimentStore::MetricSeries(std::string_view run_id,
                                                               std::string_view metric) const {
  ASSIGN_OR_RETURN(RunRecord run, DescribeRun(run_id));  // NotFound for an unknown run
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT step, value, time FROM experiments_metrics"
                                    " WHERE run_id = ? AND name = ? ORDER BY step, time",
                                    {run.run_id, std::string(metric)}));
  std::vector<MetricPoint> points;
  points.reserve(rows.size());
  for (const store::Row& row : rows) {
    MetricPoint point;
    point.name = std::string(metric);
    ASSIGN_OR_RETURN(point.step, row.GetInt64("step"));
    ASSIGN_OR_RETURN(std::optional<double> value, row.GetOptionalDouble("value"));
    point.value = value.value_or(std::numeric_limits<double>::quiet_NaN());
    ASSIGN_OR_RETURN(point.time, row.GetString("time"));
    points.push_back(std::move(point));
  }
  return points;
}

Result<std::vector<MetricSummary>> ExperimentStore::MetricSummaries(
    std::string_view run_id) const {
  ASSIGN_OR_RETURN(RunRecord run, DescribeRun(run_id));
  ASSIGN_OR_RETURN(
      std::vector<store::Row> rows,
      metadata_->Query(
          "SELECT m.name AS name, COUNT(*) AS count, MAX(m.step) AS last_step,"
          " MIN(m.value) AS min_value, MAX(m.value) AS max_value,"
          " (SELECT l.value FROM experiments_metrics l WHERE l.run_id = m.run_id"
          "   AND l.name = m.name ORDER BY l.step DESC LIMIT 1) AS last_value"
          " FROM experiments_metrics m WHERE m.run_id = ? GROUP BY m.name ORDER BY m.name",
          {run.run_id}));
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::vector<MetricSummary> summaries;
  for (const store::Row& row : rows) {
    MetricSummary summary;
    ASSIGN_OR_RETURN(summary.name, row.GetString("name"));
    ASSIGN_OR_RETURN(summary.count, row.GetInt64("count"));
    ASSIGN_OR_RETURN(summary.last_step, row.GetInt64("last_step"));
    ASSIGN_OR_RETURN(std::optional<double> min_value, row.GetOptionalDouble("min_value"));
    ASSIGN_OR_RETURN(std::optional<double> max_value, row.GetOptionalDouble("max_value"));
    ASSIGN_OR_RETURN(std::optional<double> last_value, row.GetOptionalDouble("last_value"));
    summary.min = min_value.value_or(kNaN);
    summary.max = max_value.value_or(kNaN);
    summary.last = last_value.value_or(kNaN);
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

}  // namespace raypipe::experiments
