#include "ml/tuning/tuning_job.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "compute/value.h"
#include "core/hash.h"
#include "core/logging.h"

namespace raypipe::ml::tuning {

namespace {

constexpr int kHyperbandEta = 3;
// The median rule judges a trial only after this many rounds (early rounds say little).
constexpr int kMedianRuleMinRounds = 10;
// ... and only against at least this many other trials.
constexpr size_t kMedianRuleMinPeers = 3;
// XGBoost trials: the median rule is judged every this many rounds after the first check.
constexpr int kMedianCheckEvery = 5;
// XGBoost trials: at most this many rounds per actor call.
constexpr int kMaxRoundsPerCall = 25;
// How often the driver polls TuningJobHooks::stop while it waits.
constexpr std::chrono::milliseconds kStopPollInterval{200};

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// Early stopping across the trials of one tuning job, on losses (lower is better).
// Thread-safe: trials report from executor threads.
class EarlyStopper {
 public:
  enum class Mode { kNone, kMedian, kSuccessiveHalving };
  EarlyStopper(Mode mode, int min_resource, int max_resource)
      : mode_(mode), min_resource_(std::max(1, min_resource)), max_resource_(max_resource) {}

  // The round count at which an XGBoost trial that has done `rounds_done` rounds should next
  // report: the median rule's next check or Hyperband's next rung, at most
  // kMaxRoundsPerCall away (so that a stop request is seen within that many rounds).
  int NextCheck(int rounds_done) const {
    int next = rounds_done + kMaxRoundsPerCall;
    if (mode_ == Mode::kMedian) {
      next = std::min(next, rounds_done < kMedianRuleMinRounds ? kMedianRuleMinRounds
                                                               : rounds_done + kMedianCheckEvery);
    } else if (mode_ == Mode::kSuccessiveHalving) {
      for (int64_t rung = min_resource_; rung < max_resource_; rung *= kHyperbandEta) {
        if (rung > rounds_done) {
          next = std::min<int64_t>(next, rung);
          break;
        }
      }
    }
    return next;
  }

  // Records trial `trial`'s loss after round `round` (from 0); false = stop it.
  bool Report(int trial, int round, double loss) {
    if (mode_ == Mode::kNone || !std::isfinite(loss)) return true;
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<double>& best = best_so_far_[trial];
    if (static_cast<size_t>(round) != best.size()) return true;  // out of order: ignore
    best.push_back(best.empty() ? loss : std::min(best.back(), loss));
    int rounds_done = round + 1;
    if (mode_ == Mode::kMedian) {
      if (rounds_done < kMedianRuleMinRounds) return true;
      std::vector<double> peers;
      for (const auto& [other, values] : best_so_far_) {
        if (other != trial && values.size() > static_cast<size_t>(round)) {
          peers.push_back(values[static_cast<size_t>(round)]);
        }
      }
      if (peers.size() < kMedianRuleMinPeers) return true;
      std::sort(peers.begin(), peers.end());
      size_t half = peers.size() / 2;
      double median = peers.size() % 2 == 1 ? peers[half] : (peers[half - 1] + peers[half]) / 2;
      return best.back() <= median;
    }
    // Asynchronous successive halving: at each rung (min_resource * eta^k rounds, below
    // max_resource) a trial goes on only when it is in the top 1/eta of those that reached
    // the rung so far (the first one always goes on).
    for (int64_t rung = min_resource_; rung < max_resource_; rung *= kHyperbandEta) {
      if (rung != rounds_done) continue;
      std::vector<double>& reached = rungs_[rung];
      reached.push_back(best.back());
      size_t better = 0;
      for (double other : reached) better += other < best.back() ? 1 : 0;
      size_t keep = std::max<size_t>(1, reached.size() / kHyperbandEta);
      return better < keep;
    }
    return true;
  }

 private:
  const Mode mode_;
  const int min_resource_;
  const int max_resource_;
  std::mutex mutex_;  // guards best_so_far_ and rungs_
  std::map<int, std::vector<double>> best_so_far_;
  std::map<int64_t, std::vector<double>> rungs_;
};

// The trial task's argument.
struct TrialJob {
  TrialFunction function;
  Hyperparameters hyperparameters;  // tuned + those the job adds (Hyperband's num_round)
  std::shared_ptr<EarlyStopper> stopper;
  int index = 0;
  double sign = 1.0;  // loss = sign * objective
  double cpus = 1.0;
};

struct TrialReport {
  TrialOutcome outcome;
  bool stopped = false;
};

Result<compute::Value> RunTrial(compute::TaskContext& ctx, std::span<const compute::Value> args) {
  RETURN_IF_ERROR(compute::ExpectArgCount(args, 1));
  ASSIGN_OR_RETURN(const TrialJob* job, compute::ArgAs<TrialJob>(args, 0));
  std::atomic<bool> stopped{false};
  TrialHooks hooks;
  hooks.cpus = job->cpus;
  hooks.cancelled = [&ctx] { return ctx.cancelled(); };
  hooks.report = [&](int round, double objective) {
    bool go_on = job->stopper->Report(job->index, round, job->sign * objective);
    if (!go_on) stopped = true;
    return go_on;
  };
  ASSIGN_OR_RETURN(TrialOutcome outcome, job->function(job->hyperparameters, hooks));
  if (!std::isfinite(outcome.objective)) {
    return InvalidArgumentError("the objective value is not finite");
  }
  return compute::Value::Of(TrialReport{std::move(outcome), stopped.load()});
}

std::string JobName(const std::string& tuning_job, int index, const Hyperparameters& values) {
  std::string canonical;
  for (const auto& [name, value] : values) canonical += name + "=" + value + ";";
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "-%03d-%08" PRIx32, index,
                static_cast<uint32_t>(core::FastHash64(canonical)));
  return tuning_job + suffix;
}

Status Validate(const TuningJobConfig& config) {
  if (config.name.empty()) return InvalidArgumentError("tuning job: name is empty");
  if (config.max_jobs < 1) {
    return InvalidArgumentError("tuning job '" + config.name +
                                "': MaxNumberOfTrainingJobs must be at least 1");
  }
  if (config.max_parallel_jobs < 1) {
    return InvalidArgumentError("tuning job '" + config.name +
                                "': MaxParallelTrainingJobs must be at least 1");
  }
  if (config.space.dimensions() == 0) {
    return InvalidArgumentError("tuning job '" + config.name + "': no parameter ranges");
  }
  if (config.objective_metric.empty()) {
    return InvalidArgumentError("tuning job '" + config.name + "': the objective MetricName is empty");
  }
  if (!(config.cpus_per_job > 0)) {
    return InvalidArgumentError("tuning job '" + config.name + "': cpus_per_job must be positive");
  }
  if (config.strategy == StrategyType::kHyperband &&
      (config.min_resource < 1 || config.max_resource < config.min_resource)) {
    return InvalidArgumentError("tuning job '" + config.name +
                                "': Hyperband needs 1 <= MinResource <= MaxResource");
  }
  return Status::Ok();
}

// One running training job: the executor call it waits on, and what to do when it is ready.
class RunningTrial {
 public:
  struct Finished {
    TrialOutcome outcome;
    bool stopped = false;
  };
  virtual ~RunningTrial() = default;
  const compute::ObjectRef& pending() const { return pending_; }
  // pending() is ready: the finished job, or nullopt once the next call is pending. `stopping`:
  // the tuning job is being stopped. An error fails the job.
  virtual Result<std::optional<Finished>> OnReady(bool stopping) = 0;

 protected:
  compute::ObjectRef pending_;
};

// A scripted trial: one task.
class ScriptedTrial final : public RunningTrial {
 public:
  ScriptedTrial(compute::Executor& executor, compute::ObjectRef ref) : executor_(executor) {
    pending_ = std::move(ref);
  }
  Result<std::optional<Finished>> OnReady(bool) override {
    ASSIGN_OR_RETURN(auto report, executor_.GetAs<TrialReport>(pending_));
    return Finished{report->outcome, report->stopped};
  }

 private:
  compute::Executor& executor_;
};

// An XGBoost trial: an actor advanced a few rounds per call (trial_actor.h), the early stopping
// applied between calls.
class ActorTrial final : public RunningTrial {
 public:
  // `idle` (may be null) receives the actor once its job has finished, for the next job.
  ActorTrial(compute::Executor& executor, compute::ActorHandle actor,
             std::shared_ptr<EarlyStopper> stopper, int index, double sign,
             std::string objective_metric, std::vector<compute::ActorHandle>* idle)
      : executor_(executor),
        actor_(std::move(actor)),
        stopper_(std::move(stopper)),
        index_(index),
        sign_(sign),
        objective_metric_(std::move(objective_metric)),
        idle_(idle) {}

  Status Start() { return AdvanceTo(stopper_->NextCheck(0)); }

  Result<std::optional<Finished>> OnReady(bool stopping) override {
    ASSIGN_OR_RETURN(compute::Value value, executor_.Get(pending_));
    if (finishing_) {
      ASSIGN_OR_RETURN(std::shared_ptr<const TrainResult> model, value.GetShared<TrainResult>());
      auto objective = model->final_metrics.find(objective_metric_);
      if (objective == model->final_metrics.end()) {
        return NotFoundError("objective metric '" + objective_metric_ +
                             "' is not among the training job's metrics");
      }
      if (idle_ != nullptr) idle_->push_back(std::move(actor_));
      return Finished{TrialOutcome{objective->second, std::move(model)}, stopped_};
    }
    ASSIGN_OR_RETURN(const nlohmann::json* report, value.Get<nlohmann::json>());
    int rounds = 0;
    bool done = false;
    std::vector<double> values;
    try {
      rounds = report->at("rounds").get<int>();
      done = report->at("done").get<bool>();
      const nlohmann::json& metrics = report->at("metrics");
      if (auto found = metrics.find(objective_metric_); found != metrics.end()) {
        values = found->get<std::vector<double>>();
      }
    } catch (const nlohmann::json::exception& error) {
      return InternalError(std::string("malformed tuning trial report: ") + error.what());
    }
    if (stopping) return CancelledError("the tuning job is stopping");
    bool go_on = true;
    const int first = rounds - static_cast<int>(values.size());
    for (size_t offset = 0; offset < values.size(); ++offset) {
      go_on = stopper_->Report(index_, first + static_cast<int>(offset), sign_ * values[offset]);
    }
    if (done || !go_on) {
      stopped_ = !go_on;
      finishing_ = true;
      ASSIGN_OR_RETURN(pending_, executor_.CallActor(actor_, "Finish", {}));
      return std::optional<Finished>();
    }
    RETURN_IF_ERROR(AdvanceTo(stopper_->NextCheck(rounds)));
    return std::optional<Finished>();
  }

 private:
  Status AdvanceTo(int rounds) {
    ASSIGN_OR_RETURN(pending_, executor_.CallActor(actor_, "Advance",
                                                   {compute::Value::Of<int64_t>(rounds)}));
    return Status::Ok();
  }

  compute::Executor& executor_;
  compute::ActorHandle actor_;
  std::shared_ptr<EarlyStopper> stopper_;
  const int index_;
  const double sign_;
  const std::string objective_metric_;
  std::vector<compute::ActorHandle>* const idle_;
  bool finishing_ = false;
  bool stopped_ = false;
};

// Starts the training job `summary` with `hyperparameters` (the tuned ones plus those the job
// adds), reporting to `stopper`.
using Launcher = std::function<Result<std::unique_ptr<RunningTrial>>(
    const TrainingJobSummary& summary, const Hyperparameters& hyperparameters,
    const std::shared_ptr<EarlyStopper>& stopper)>;

// Runs the tuning job, at most min(MaxParallelTrainingJobs, `max_running`) training jobs at
// once; `after_launches` (may be empty) is called each time the driver is done launching jobs
// for the moment.
Result<TuningJobResult> RunTrials(compute::Executor& executor, const TuningJobConfig& config,
                                  const Launcher& launch, const TuningJobHooks& hooks,
                                  int max_running, const std::function<void()>& after_launches);

}  // namespace

Status RegisterTuningKernels(compute::KernelRegistry& registry) {
  RETURN_IF_ERROR(RegisterTrialActor(registry));
  return registry.RegisterTask(std::string(kScriptedTrialTask), RunTrial);
}

Status RegisterTuningCodecs(compute::CodecRegistry& codecs) {
  RETURN_IF_ERROR(RegisterTrialCodecs(codecs));
  return codecs.Register<TrialJob>(
      "raypipe.ml.ScriptedTrial",
      [](const TrialJob&) -> Result<std::string> {
        return UnimplementedError(
            "a scripted tuning trial holds a C++ function: it runs on the local executor only "
            "(--executor local); XGBoost trials run on any executor");
      },
      [](std::string_view) -> Result<TrialJob> {
        return DataLossError("scripted tuning trials are never serialized");
      });
}

Result<ObjectiveType> ParseObjectiveType(std::string_view text) {
  std::string lower = Lower(text);
  if (lower == "minimize") return ObjectiveType::kMinimize;
  if (lower == "maximize") return ObjectiveType::kMaximize;
  return InvalidArgumentError("unknown objective Type '" + std::string(text) +
                              "' (expected Minimize or Maximize)");
}

Result<EarlyStoppingType> ParseEarlyStoppingType(std::string_view text) {
  std::string lower = Lower(text);
  if (lower == "off") return EarlyStoppingType::kOff;
  if (lower == "auto") return EarlyStoppingType::kAuto;
  return InvalidArgumentError("unknown TrainingJobEarlyStoppingType '" + std::string(text) +
                              "' (expected Off or Auto)");
}

std::string_view TrainingJobStatusName(TrainingJobStatus status) {
  switch (status) {
    case TrainingJobStatus::kCompleted: return "Completed";
    case TrainingJobStatus::kStopped: return "Stopped";
    case TrainingJobStatus::kFailed: return "Failed";
  }
  return "Failed";
}

Result<const TrainingJobSummary*> TuningJobResult::BestTrainingJob() const {
  if (summaries.empty() || !summaries.front().objective_value.has_value()) {
    return NotFoundError("the tuning job has no training job with an objective value");
  }
  return &summaries.front();
}

namespace {

Result<TuningJobResult> RunTrials(compute::Executor& executor, const TuningJobConfig& config,
                                  const Launcher& launch, const TuningJobHooks& hooks,
                                  int max_running, const std::function<void()>& after_launches) {
  RETURN_IF_ERROR(Validate(config));
  const int parallel = std::max(1, std::min(config.max_parallel_jobs, max_running));
  double sign = config.objective_type == ObjectiveType::kMinimize ? 1.0 : -1.0;

  EarlyStopper::Mode mode = EarlyStopper::Mode::kNone;
  if (config.strategy == StrategyType::kHyperband) {
    mode = EarlyStopper::Mode::kSuccessiveHalving;
  } else if (config.early_stopping == EarlyStoppingType::kAuto) {
    mode = EarlyStopper::Mode::kMedian;
  }
  auto stopper = std::make_shared<EarlyStopper>(mode, config.min_resource, config.max_resource);
  std::unique_ptr<Strategy> strategy =
      MakeStrategy(config.strategy, config.space, config.random_seed,
                   static_cast<size_t>(config.max_jobs), config.bayesian);

  std::vector<Observation> observations;
  for (const TrainingJobSummary& earlier : config.warm_start) {
    if (!earlier.objective_value.has_value() || !std::isfinite(*earlier.objective_value)) continue;
    auto point = config.space.Encode(earlier.hyperparameters);
    if (!point.ok()) {
      RAYPIPE_LOG(Warning) << "tuning job '" << config.name << "': warm-start job '"
                           << earlier.name << "' skipped: " << point.status();
      continue;
    }
    observations.push_back({config.space.Snap(*point), sign * *earlier.objective_value});
  }

  struct Running {
    std::unique_ptr<RunningTrial> trial;
    Point point;
    TrainingJobSummary summary;
  };
  std::vector<Running> running;
  TuningJobResult result;
  int launched = 0;
  bool exhausted = false;
  bool stopping = false;
  Status first_failure;
  while (true) {
    if (!stopping && hooks.stop && hooks.stop()) {
      stopping = true;
      for (const Running& trial_run : running) {
        executor.Cancel(trial_run.trial->pending()).IgnoreError();
      }
    }
    while (!stopping && !exhausted && launched < config.max_jobs &&
           static_cast<int>(running.size()) < parallel) {
      std::vector<Point> pending;
      for (const Running& trial_run : running) pending.push_back(trial_run.point);
      std::optional<Point> point = strategy->Next(observations, pending);
      if (!point.has_value()) {
        exhausted = true;
        break;
      }
      ++launched;
      TrainingJobSummary summary;
      summary.index = launched;
      summary.hyperparameters = config.space.Decode(*point);
      summary.name = JobName(config.name, launched, summary.hyperparameters);
      Hyperparameters hyperparameters = summary.hyperparameters;
      if (config.strategy == StrategyType::kHyperband && !hyperparameters.contains("num_round")) {
        hyperparameters["num_round"] = std::to_string(config.max_resource);
      }
      if (hooks.on_job_started) hooks.on_job_started(summary);
      ASSIGN_OR_RETURN(std::unique_ptr<RunningTrial> trial,
                       launch(summary, hyperparameters, stopper));
      running.push_back({std::move(trial), *point, std::move(summary)});
    }
    if (after_launches) after_launches();
    if (running.empty()) break;

    std::vector<compute::ObjectRef> refs;
    for (const Running& trial_run : running) refs.push_back(trial_run.trial->pending());
    compute::Timeout timeout = std::nullopt;
    if (hooks.stop && !stopping) timeout = kStopPollInterval;
    ASSIGN_OR_RETURN(std::vector<compute::ObjectRef> ready, executor.Wait(refs, 1, timeout));
    for (const compute::ObjectRef& done : ready) {
      auto found = std::find_if(running.begin(), running.end(), [&](const Running& trial_run) {
        return trial_run.trial->pending() == done;
      });
      if (found == running.end()) continue;
      Result<std::optional<RunningTrial::Finished>> step = found->trial->OnReady(stopping);
      if (step.ok() && !step->has_value()) continue;  // the next call is pending
      TrainingJobSummary summary = std::move(found->summary);
      Point point = std::move(found->point);
      running.erase(found);
      if (!step.ok()) {
        summary.status = TrainingJobStatus::kFailed;
        summary.failure_reason = step.status().ToString();
        if (first_failure.ok()) first_failure = step.status();
        ++result.failed;
      } else {
        RunningTrial::Finished& finished = **step;
        if (!std::isfinite(finished.outcome.objective)) {
          summary.status = TrainingJobStatus::kFailed;
          summary.failure_reason = "the objective value is not finite";
          if (first_failure.ok()) first_failure = InvalidArgumentError(summary.failure_reason);
          ++result.failed;
        } else {
          summary.objective_value = finished.outcome.objective;
          summary.model = std::move(finished.outcome.model);
          summary.status =
              finished.stopped ? TrainingJobStatus::kStopped : TrainingJobStatus::kCompleted;
          ++(finished.stopped ? result.stopped : result.completed);
          observations.push_back({point, sign * *summary.objective_value});
        }
      }
      if (hooks.on_job_done) hooks.on_job_done(summary);
      result.summaries.push_back(std::move(summary));
    }
  }

  if (result.completed + result.stopped == 0 && result.failed > 0) {
    return FailedPreconditionError("tuning job '" + config.name + "': all " +
                                   std::to_string(result.failed) +
                                   " training jobs failed; the first: " +
                                   first_failure.ToString());
  }
  std::stable_sort(result.summaries.begin(), result.summaries.end(),
                   [sign](const TrainingJobSummary& a, const TrainingJobSummary& b) {
                     if (a.objective_value.has_value() != b.objective_value.has_value()) {
                       return a.objective_value.has_value();
                     }
                     if (!a.objective_value.has_value()) return a.index < b.index;
                     double loss_a = sign * *a.objective_value;
                     double loss_b = sign * *b.objective_value;
                     if (loss_a != loss_b) return loss_a < loss_b;
                     return a.index < b.index;
                   });
  return result;
}

}  // namespace

Result<TuningJobResult> RunTuningJob(compute::Executor& executor, const TuningJobConfig& config,
                                     TrialFunction trial, const TuningJobHooks& hooks) {
  if (!trial) return InvalidArgumentError("tuning job '" + config.name + "': no trial function");
  const double sign = config.objective_type == ObjectiveType::kMinimize ? 1.0 : -1.0;
  Launcher launch = [&](const TrainingJobSummary& summary, const Hyperparameters& hyperparameters,
                        const std::shared_ptr<EarlyStopper>& stopper)
      -> Result<std::unique_ptr<RunningTrial>> {
    TrialJob job;
    job.function = trial;
    job.hyperparameters = hyperparameters;
    job.stopper = stopper;
    job.index = summary.index;
    job.sign = sign;
    job.cpus = config.cpus_per_job;
    compute::TaskOptions options;
    options.resources.cpus = config.cpus_per_job;
    options.name = summary.name;
    ASSIGN_OR_RETURN(compute::ObjectRef ref,
                     executor.Submit(kScriptedTrialTask, {compute::Value::Of(std::move(job))},
                                     options));
    return std::unique_ptr<RunningTrial>(std::make_unique<ScriptedTrial>(executor, std::move(ref)));
  };
  return RunTrials(executor, config, launch, hooks, config.max_parallel_jobs, {});
}

XGBoostTrial MakeXGBoostTrial(data::Table train,
                              std::vector<std::pair<std::string, data::Table>> evals,
                              TrainOptions options, std::string objective_metric) {
  XGBoostTrial trial;
  trial.data = std::make_shared<const TrialData>(MakeTrialData(std::move(train), std::move(evals)));
  trial.options = std::move(options);
  trial.objective_metric = std::move(objective_metric);
  return trial;
}

Result<TuningJobResult> RunTuningJob(compute::Executor& executor, const TuningJobConfig& config,
                                     const XGBoostTrial& trial, const TuningJobHooks& hooks) {
  if (trial.data == nullptr) {
    return InvalidArgumentError("tuning job '" + config.name + "': no training data");
  }
  RETURN_IF_ERROR(Validate(config));
  const double sign = config.objective_type == ObjectiveType::kMinimize ? 1.0 : -1.0;
  // One Put for the whole job: every trial's actor gets the same object.
  ASSIGN_OR_RETURN(compute::ObjectRef data, executor.Put(compute::Value::Share(trial.data)));
  // A job's actor trains the next job launched after it finished (Begin), keeping its
  // DMatrices and, on Ray, its worker process. So that a launched job never waits for CPUs
  // another job's idle actor holds, no more jobs run at once than the executor has CPUs for,
  // and actors no job took right away are released.
  const int fit = static_cast<int>(std::floor(executor.Capacity().cpus / config.cpus_per_job));
  std::vector<compute::ActorHandle> idle;
  Launcher launch = [&](const TrainingJobSummary& summary, const Hyperparameters& hyperparameters,
                        const std::shared_ptr<EarlyStopper>& stopper)
      -> Result<std::unique_ptr<RunningTrial>> {
    TrainOptions options = trial.options;
    for (const auto& [name, value] : hyperparameters) options.hyperparameters[name] = value;
    if (options.nthread <= 0) {
      options.nthread = std::max(1, static_cast<int>(std::floor(config.cpus_per_job)));
    }
    compute::Value spec = compute::Value::Of(TrialSpecToJson(options, trial.objective_metric));
    compute::ActorHandle actor;
    if (!idle.empty()) {
      actor = std::move(idle.back());
      idle.pop_back();
      // A failed Begin fails the job's first Advance too, which reports it.
      RETURN_IF_ERROR(executor.CallActor(actor, "Begin", {std::move(spec)}).status());
    } else {
      compute::ActorOptions actor_options;
      actor_options.resources.cpus = config.cpus_per_job;
      actor_options.name = summary.name;
      ASSIGN_OR_RETURN(actor, executor.CreateActor(kTuningTrialActor, {data, std::move(spec)},
                                                   actor_options));
    }
    auto running = std::make_unique<ActorTrial>(executor, std::move(actor), stopper,
                                                summary.index, sign, trial.objective_metric,
                                                &idle);
    RETURN_IF_ERROR(running->Start());
    return std::unique_ptr<RunningTrial>(std::move(running));
  };
  return RunTrials(executor, config, launch, hooks, fit, [&idle] { idle.clear(); });
}

}  // namespace raypipe::ml::tuning
