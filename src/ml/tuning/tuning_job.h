#pragma once

// Hyperparameter tuning jobs (SageMaker's HyperParameterTuningJob): a strategy proposes
// hyperparameters, each proposal is a training job run on a compute::Executor (at
// most max_parallel_jobs at once, max_jobs in all), and the results come back sorted best
// first with the best training job singled out.
//
// A training job is one of two kinds:
//   - XGBoost (MakeXGBoostTrial): an actor of class "raypipe.ml.TuningTrial" (trial_actor.h)
//     created from a serializable spec, with the training and evaluation tables Put once per
//     tuning job and shared by every trial as one ObjectRef. The driver advances each trial a
//     few boosting rounds per call, gets those rounds' metrics back, applies the early
//     stopping between calls and finally asks for the model. Every value has a codec, so the
//     same path runs on the LocalExecutor (values in memory) and on Ray (Ray's workers).
//   - Scripted (a TrialFunction: tests and benchmarks of the tuner): a task
//     ("raypipe.ml.ScriptedTrial") whose argument holds the C++ function, so it runs on the
//     LocalExecutor only; on an executor that serializes values (Ray) submitting one fails
//     with Unimplemented saying so (RegisterTuningCodecs).
// Early stopping: TrainingJobEarlyStoppingType Auto applies the median rule (from round 10,
// judged every 5 rounds for XGBoost trials, every round for scripted ones), and the Hyperband
// strategy stops trials by asynchronous successive halving at its rungs between MinResource
// and MaxResource rounds.
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
#include "ml/tuning/trial_actor.h"

namespace raypipe::ml::tuning {

// The task kernel that runs one scripted training job.
inline constexpr std::string_view kScriptedTrialTask = "raypipe.ml.ScriptedTrial";
// Registers the XGBoost trial actor (kTuningTrialActor) and kScriptedTrialTask. AlreadyExists
// when registered twice.
Status RegisterTuningKernels(compute::KernelRegistry& registry);
// Registers the codec of TrialData (the tables XGBoost trials share) and the scripted trial's
// argument codec, which refuses to encode (see above), so that a serializing executor reports
// why instead of "no codec".
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

// What the caller of RunTuningJob hears and says while the job runs (both optional).
struct TuningJobHooks {
  // Polled by the driver (at least every 200 ms); once true, no more training jobs start and
  // the running ones are cancelled (they end Failed with Cancelled).
  std::function<bool()> stop;
  // Called on the driver's thread as each training job is launched (name, index and tuned
  // hyperparameters set) and as it ends, before the tuning job's result is built.
  std::function<void(const TrainingJobSummary&)> on_job_started;
  std::function<void(const TrainingJobSummary&)> on_job_done;
};

// XGBoost training jobs: `options.hyperparameters` are the static hyperparameters, overridden
// by the tuned ones; the objective is `objective_metric` of the evaluation sets (e.g.
// "validation:rmse"), its final value (at the best round under early_stopping_rounds).
// options.nthread <= 0 means floor(cpus_per_job) threads (at least 1); callbacks in `options`
// are not used. For Hyperband the job's MaxResource is the number of rounds.
struct XGBoostTrial {
  std::shared_ptr<const TrialData> data;
  TrainOptions options;
  std::string objective_metric;
};

// The tables are kept as they are (their buffers are shared, not copied); an evaluation set
// that is a copy of `train` is evaluated on the training DMatrix itself.
XGBoostTrial MakeXGBoostTrial(data::Table train,
                              std::vector<std::pair<std::string, data::Table>> evals,
                              TrainOptions options, std::string objective_metric);

// Runs the job. InvalidArgument for bad configuration (naming the field); FailedPrecondition
// (with the first failure) when every training job failed; the executor's error when a trial
// cannot be started (e.g. cpus_per_job above its capacity).
Result<TuningJobResult> RunTuningJob(compute::Executor& executor, const TuningJobConfig& config,
                                     const XGBoostTrial& trial, const TuningJobHooks& hooks = {});
// The same with a scripted objective (LocalExecutor only).
Result<TuningJobResult> RunTuningJob(compute::Executor& executor, const TuningJobConfig& config,
                                     TrialFunction trial, const TuningJobHooks& hooks = {});

}  // namespace raypipe::ml::tuning
