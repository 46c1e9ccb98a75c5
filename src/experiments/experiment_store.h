#pragma once

// Experiments: named groups of runs (trials). A run records its parameters (hyperparameters and
// the like, as JSON values), metric series (name, step, value, time), its status, and where it
// came from (a pipeline execution and step, a tuning job, the CLI). Training code writes through
// RunRecorder (run_recorder.h), which batches metric points; readers (the CLI, the studio) use
// ExperimentStore.
//
// Tables (component "experiments", MetadataStore::Migrate): experiments_experiments,
// experiments_runs, experiments_parameters, experiments_metrics.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/time.h"
#include "store/metadata_store.h"

namespace raypipe::experiments {

enum class RunStatus { kRunning, kCompleted, kFailed, kStopped };

// "Running", "Completed", "Failed", "Stopped".
std::string_view RunStatusName(RunStatus status);
Result<RunStatus> ParseRunStatus(std::string_view name);

struct Experiment {
  std::string name;
  std::string description;
  std::string created_at;  // ISO-8601 UTC
  int64_t run_count = 0;

  nlohmann::json ToJson() const;
};

// Where a run came from. Every field may be empty.
struct RunSource {
  std::string kind;          // "pipeline", "tuning", "cli", ...
  std::string execution_id;  // the pipeline execution (or tuning job) id
  std::string step_name;     // the pipeline step
};

struct RunRecord {
  std::string run_id;  // "run-<ulid>"
  std::string experiment;
  std::string name;    // a display name; the run id when none was given
  RunStatus status = RunStatus::kRunning;
  RunSource source;
  std::string created_at;
  std::string ended_at;  // "" while running
  std::string failure_reason;
  nlohmann::json parameters = nlohmann::json::object();  // name -> JSON value

  nlohmann::json ToJson() const;
};

struct MetricPoint {
  std::string name;   // "validation:rmse", "train-mae", ...
  int64_t step = 0;   // boosting round, epoch, ...
  double value = 0;   // NaN is kept (stored as NULL)
  std::string time;   // ISO-8601 UTC; "" when logging: the store's clock stamps it
};

// One metric of one run, summed up.
struct MetricSummary {
  std::string name;
  int64_t count = 0;
  int64_t last_step = 0;
  double last = 0;  // the value at the highest step
  double min = 0;
  double max = 0;
};

struct CreateRunRequest {
  std::string experiment;  // created when it does not exist
  std::string name;        // optional
  RunSource source;
  nlohmann::json parameters = nlohmann::json::object();  // must be an object
};

// Thread-safe; several processes may use one database at once.
class ExperimentStore {
 public:
  // Migrates the tables. `metadata` and `clock` (when given) are not owned and must outlive the
  // store; `clock` stamps times (nullptr: the system clock).
  static Result<std::unique_ptr<ExperimentStore>> Open(store::MetadataStore* metadata,
                                                       const core::Clock* clock = nullptr);

  // Names: 1-120 characters of letters, digits, '-', '_', '.', ':' and '/'.
  static Status ValidateExperimentName(std::string_view name);

  // AlreadyExists when it exists.
  Result<Experiment> CreateExperiment(std::string_view name, std::string_view description);
  // NotFound naming the experiment and the existing ones.
  Result<Experiment> DescribeExperiment(std::string_view name) const;
  // Sorted by name.
  Result<std::vector<Experiment>> ListExperiments() const;

  // A new run in state Running (creating the experiment if needed).
  Result<RunRecord> CreateRun(const CreateRunRequest& request);
  // NotFound naming the run id.
  Result<RunRecord> DescribeRun(std::string_view run_id) const;
  // Oldest first; NotFound when the experiment does not exist.
  Result<std::vector<RunRecord>> ListRuns(std::string_view experiment) const;

  // Adds or replaces parameters (an object name -> value). FailedPrecondition once the run ended.
  Status LogParameters(std::string_view run_id, const nlohmann::json& parameters);
  // Adds points in one transaction; a point at an existing (name, step) replaces it.
  // Empty times are stamped with the clock. FailedPrecondition once the run ended.
  Status LogMetrics(std::string_view run_id, std::span<const MetricPoint> points);
  // Sets the final status (not Running) and ended_at. FailedPrecondition when already ended.
  Status FinishRun(std::string_view run_id, RunStatus status, std::string_view failure_reason);

  // One metric's points ordered by step (then time). Empty when the run never logged it.
  Result<std::vector<MetricPoint>> MetricSeries(std::string_view run_id,
                                                std::string_view metric) const;
  // Every metric of the run, sorted by name.
  Result<std::vector<MetricSummary>> MetricSummaries(std::string_view run_id) const;

  std::string Now() const;

 private:
  ExperimentStore(store::MetadataStore* metadata, const core::Clock* clock);
  Status RequireRunning(store::SqlSession& session, std::string_view run_id) const;
  Status ExperimentNotFound(std::string_view name) const;

  store::MetadataStore* const metadata_;
  const core::SystemClock system_clock_;
  const core::Clock* const clock_;
};

}  // namespace raypipe::experiments
