#include "ml/tuning/tuning_job.h"

#include <algorithm>
#include <atomic>
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

}  // namespace

Status RegisterTuningKernels(compute::KernelRegistry& registry) {
  return registry.RegisterTask(std::string(kTuningTrialTask), RunTrial);
}

Status RegisterTuningCodecs(compute::CodecRegistry& codecs) {
  return codecs.Register<TrialJob>(
      "raypipe.ml.TuningTrial",
      [](const TrialJob&) -> Result<std::string> {
        return UnimplementedError(
            "tuning trials hold a C++ trial function and shared early-stopping state: they run "
            "on the local executor only (--executor local)");
      },
      [](std::string_view) -> Result<TrialJob> {
        return DataLossError("tuning trials are never serialized");
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

Result<TuningJobResult> RunTuningJob(compute::Executor& executor, const TuningJobConfig& config,
                                     TrialFunction trial) {
  RETURN_IF_ERROR(Validate(config));
  if (!trial) return InvalidArgumentError("tuning job '" + config.name + "': no trial function");
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
    compute::ObjectRef ref;
    Point point;
    TrainingJobSummary summary;
  };
  std::vector<Running> running;
  TuningJobResult result;
  int launched = 0;
  bool exhausted = false;
  Status first_failure;
  while (true) {
    while (!exhausted && launched < config.max_jobs &&
           static_cast<int>(running.size()) < config.max_parallel_jobs) {
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
      TrialJob job;
      job.function = trial;
      job.hyperparameters = summary.hyperparameters;
      if (config.strategy == StrategyType::kHyperband &&
          !job.hyperparameters.contains("num_round")) {
        job.hyperparameters["num_round"] = std::to_string(config.max_resource);
      }
      job.stopper = stopper;
      job.index = launched;
      job.sign = sign;
      job.cpus = config.cpus_per_job;
      compute::TaskOptions options;
      options.resources.cpus = config.cpus_per_job;
      options.name = summary.name;
      ASSIGN_OR_RETURN(compute::ObjectRef ref,
                       executor.Submit(kTuningTrialTask, {compute::Value::Of(std::move(job))},
                                       options));
      running.push_back({std::move(ref), *point, std::move(summary)});
    }
    if (running.empty()) break;

    std::vector<compute::ObjectRef> refs;
    for (const Running& trial_run : running) refs.push_back(trial_run.ref);
    ASSIGN_OR_RETURN(std::vector<compute::ObjectRef> ready, executor.Wait(refs, 1));
    for (const compute::ObjectRef& done : ready) {
      auto found = std::find_if(running.begin(), running.end(),
                                [&](const Running& trial_run) { return trial_run.ref == done; });
      if (found == running.end()) continue;
      TrainingJobSummary summary = std::move(found->summary);
      Point point = std::move(found->point);
      running.erase(found);
      auto report = executor.GetAs<TrialReport>(done);
      if (!report.ok()) {
        summary.status = TrainingJobStatus::kFailed;
        summary.failure_reason = report.status().ToString();
        if (first_failure.ok()) first_failure = report.status();
        ++result.failed;
      } else {
        summary.objective_value = (*report)->outcome.objective;
        summary.model = (*report)->outcome.model;
        summary.status =
            (*report)->stopped ? TrainingJobStatus::kStopped : TrainingJobStatus::kCompleted;
        ++((*report)->stopped ? result.stopped : result.completed);
        observations.push_back({point, sign * *summary.objective_value});
      }
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

TrialFunction MakeXGBoostTrial(data::Table train,
                               std::vector<std::pair<std::string, data::Table>> evals,
                               TrainOptions base, std::string objective_metric) {
  auto shared_train = std::make_shared<const data::Table>(std::move(train));
  auto shared_evals =
      std::make_shared<const std::vector<std::pair<std::string, data::Table>>>(std::move(evals));
  return [shared_train, shared_evals, base = std::move(base),
          objective_metric = std::move(objective_metric)](
             const Hyperparameters& hyperparameters, TrialHooks& hooks) -> Result<TrialOutcome> {
    TrainOptions options = base;
    for (const auto& [name, value] : hyperparameters) options.hyperparameters[name] = value;
    if (options.nthread <= 0) {
      options.nthread = std::max(1, static_cast<int>(std::floor(hooks.cpus)));
    }
    options.on_round = [&](int round, const RoundMetrics& metrics) {
      auto found = metrics.find(objective_metric);
      return found == metrics.end() || !hooks.report || hooks.report(round, found->second);
    };
    options.cancelled = hooks.cancelled;
    std::vector<EvalSet> eval_sets;
    for (const auto& [name, table] : *shared_evals) eval_sets.push_back({name, &table});
    ASSIGN_OR_RETURN(TrainResult trained, Train(*shared_train, eval_sets, options));
    auto objective = trained.final_metrics.find(objective_metric);
    if (objective == trained.final_metrics.end()) {
      std::string available;
      for (const auto& [name, value] : trained.final_metrics) {
        available += (available.empty() ? "" : ", ") + name;
      }
      return NotFoundError("objective metric '" + objective_metric +
                           "' is not among the training job's metrics (" +
                           (available.empty() ? std::string("none") : available) + ")");
    }
    TrialOutcome outcome;
    outcome.objective = objective->second;
    outcome.model = std::make_shared<const TrainResult>(std::move(trained));
    return outcome;
  };
}

}  // namespace raypipe::ml::tuning
