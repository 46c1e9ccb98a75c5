#pragma once

// Hyperparameter tuning jobs (SageMaker's HyperParameterTuningJob): a strategy proposes
// hyperparameters, each proposal is a training job run as a task on a compute::Executor (at
// most max_parallel_jobs at once, max_jobs in all), and the results come back sorted best
// first with the best training job singled out.
//
// The work of one training job is a TrialFunction, so the same machinery tunes XGBoost
// (MakeXGBoostTrial) or a scripted objective (tests, benchmarks). A trial reports its
// objective each round through TrialHooks::report; the job's early stopping uses those
// reports: TrainingJobEarlyStoppingType Auto applies the median rule, and the Hyperband
// strategy stops trials by asynchronous successive halving between MinResource and
// MaxResource rounds.
//
// The trial task's argument holds C++ closures and shared stopping state: it runs on the
// LocalExecutor (values handed over in memory), not on a backend that serializes values; on
// such a backend (Ray) submitting a trial fails with Unimplemented saying so
// (RegisterTuningCodecs).
//
// Thread-safety: RunTuningJob may run concurrently with itself; a TrialFunction runs on
// executor threads, several at once, and must be thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compute/codec.h"
#include "compute/executor.h"
#include "compute/kernel.h"
#include "core/status.h"
#include "data/table.h"
#include "ml/train.h"
#include "ml/tuning/search_space.h"
#include "ml/tuning/strategy.h"

namespace raypipe::ml::tuning {

// The task kernel that runs one training job.
inline constexpr std::string_view kTuningTrialTask = "raypipe.ml.TuningTrial";
// Registers kTuningTrialTask. AlreadyExists when registered twice.
Status RegisterTuningKernels(compute::KernelRegistry& registry);
// Registers the trial argument's codec, which refuses to encode (see above), so that a
// serializing executor reports why instead of "no codec".
Status RegisterTuningCodecs(compute::CodecRegistry& codecs);

enum class ObjectiveType { kMinimize, kMaximize };
// "Minimize" / "Maximize" (case-insensitive).
Result<ObjectiveType> ParseObjectiveType(std::string_view text);

enum class EarlyStoppingType { kOff, kAuto };
Result<EarlyStoppingType> ParseEarlyStoppingType(std::string_view text);

enum class TrainingJobStatus { kCompleted, kStopped, kFailed };
std::string_view TrainingJobStatusName(TrainingJobStatus status);

// What one training job reports back.
struct TrialOutcome {
  // The objective metric's final value.
  double objective = 0.0;
  // The trained model and its metric histories (null for scripted objectives).
  std::shared_ptr<const TrainResult> model;
};

struct TrialHooks {
  // Call after each round (from 0) with the objective so far; false means the job's early
  // stopping wants the trial to stop now (finish and return the outcome so far).
  std::function<bool(int round, double objective)> report;
  // True once the tuning job is cancelled or shutting down.
  std::function<bool()> cancelled;
  // CPUs granted to the trial.
  double cpus = 1.0;
};

using TrialFunction =
    std::function<Result<TrialOutcome>(const Hyperparameters& hyperparameters, TrialHooks& hooks)>;

struct TrainingJobSummary {
  std::string name;    // "<tuning job>-<NNN>-<8 hex digits>"
  int index = 0;       // launch order, from 1
  Hyperparameters hyperparameters;  // the tuned ones only
  TrainingJobStatus status = TrainingJobStatus::kCompleted;
  std::optional<double> objective_value;  // Completed and Stopped jobs
  std::string failure_reason;             // Failed jobs
  std::shared_ptr<const TrainResult> model;
};

struct TuningJobConfig {
  std::string name = "tuning-job";
  StrategyType strategy = StrategyType::kBayesian;
  ObjectiveType objective_type = ObjectiveType::kMinimize;
  std::string objective_metric = "validation:rmse";
  SearchSpace space;
  // MaxNumberOfTrainingJobs and MaxParallelTrainingJobs; both >= 1.
  int max_jobs = 10;
  int max_parallel_jobs = 1;
  uint64_t random_seed = 0;
  EarlyStoppingType early_stopping = EarlyStoppingType::kOff;
  // Hyperband: rounds at the first rung and at most (MinResource, MaxResource); eta = 3.
  int min_resource = 1;
  int max_resource = 100;
  // CPUs each training job's task holds.
  double cpus_per_job = 1.0;
  // Finished jobs of earlier tuning jobs over the same parameters (warm start): they seed the
  // strategy's observations; those that do not fit the space are skipped.
  std::vector<TrainingJobSummary> warm_start;
  BayesianOptions bayesian;
};

struct TuningJobResult {
  // Best first: jobs with an objective value by that value, then failed jobs by index.
  std::vector<TrainingJobSummary> summaries;
  int completed = 0;
  int stopped = 0;
  int failed = 0;

  // The best job with an objective value; NotFound when none.
  Result<const TrainingJobSummary*> BestTrainingJob() const;
};

// Runs the job. InvalidArgument for bad configuration (naming the field); FailedPrecondition
// (with the first failure) when every training job failed.
Result<TuningJobResult> RunTuningJob(compute::Executor& executor, const TuningJobConfig& config,
                                     TrialFunction trial);

// XGBoost training jobs: `base.hyperparameters` are the static hyperparameters, overridden by
// the tuned ones; the objective is `objective_metric` of the evaluation sets (e.g.
// "validation:rmse"), its final value (at the best round under early stopping). The tables
// are captured (their buffers are shared, not copied). For Hyperband the job's MaxResource is
// the number of rounds.
TrialFunction MakeXGBoostTrial(data::Table train, std::vector<std::pair<std::string, data::Table>> evals,
                               TrainOptions base, std::string objective_metric);

}  // namespace raypipe::ml::tuning
