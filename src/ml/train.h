#pragma once

// XGBoost training as a plain library function: Tables and hyperparameters in, a booster and
// its per-iteration metric histories out (callable from a pipeline step, a tuning trial, a
// distributed worker or the CLI).
//
// Hyperparameters are strings, as SageMaker passes them. Most go to XGBoost unchanged
// ("max_depth", "eta", "objective", "subsample", "tree_method", "seed", ...), with these
// exceptions:
//   num_round / num_boost_round   boosting rounds (default TrainOptions::num_boost_round)
//   early_stopping_rounds         stop when the early-stopping metric has not improved for
//                                 that many rounds (default off)
//   eval_metric                   a comma-separated list ("mae,rmse"), each set in turn
//   names starting with "_"       ignored (SageMaker's own, e.g. _tuning_objective_metric)
//
// Metric series are named "<eval set>:<metric>", e.g. "validation:rmse" (SageMaker's names).
// Early stopping follows XGBoost: the last metric of the last evaluation set, maximized for
// auc / aucpr / map / ndcg / pre, unless TrainOptions::early_stopping_metric names one. When it
// stops early the returned booster is cut to the best round's trees, so its predictions and
// the reported metrics agree.
//
// Thread-safety: Train may run concurrently on different inputs (XGBoost boosters are
// independent); the tables must not change while it runs.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/table.h"
#include "ml/booster.h"
#include "ml/dmatrix.h"

namespace raypipe::ml {

using Hyperparameters = std::map<std::string, std::string>;

struct EvalSet {
  std::string name;            // "validation", "train", ...
  const data::Table* table;    // not owned; must outlive the call
};

// One evaluation round's values, by series name ("validation:rmse" -> 1234.5).
using RoundMetrics = std::map<std::string, double>;

struct TrainOptions {
  // Feature columns in order; empty = every column of the training table except the target.
  std::vector<std::string> features;
  // The label column (required).
  std::string target;
  Hyperparameters hyperparameters;
  // Default rounds when hyperparameters have no num_round.
  int num_boost_round = 100;
  // XGBoost threads ("nthread") unless the hyperparameters set it; 0 = XGBoost's default.
  int nthread = 0;
  // "validation:rmse" to choose the early-stopping metric; empty = XGBoost's rule.
  std::string early_stopping_metric;
  // Continue from this model (warm start, or resuming from a checkpoint): its rounds count
  // towards num_round. Not owned.
  const Booster* initial_model = nullptr;
  // Called after each evaluated round (0-based) with that round's metrics; returning false
  // stops training there (the median rule, Hyperband). May be empty.
  std::function<bool(int round, const RoundMetrics& metrics)> on_round;
  // Called every checkpoint_every rounds with the model so far (0 = never).
  int checkpoint_every = 0;
  std::function<Status(int rounds_done, const Booster& booster)> on_checkpoint;
  // Polled each round; true ends training with Cancelled.
  std::function<bool()> cancelled;
};

struct MetricSeries {
  std::string name;            // "validation:rmse"
  std::vector<double> values;  // one per round, from round 0 of this call
};

struct TrainResult {
  std::shared_ptr<const Booster> booster;
  std::vector<std::string> features;
  std::string target;
  std::vector<MetricSeries> history;
  // Rounds in the returned booster.
  int rounds = 0;
  // The early-stopping metric's name and best round (0-based, within this call's rounds) and
  // value; best_iteration is -1 without evaluation sets.
  std::string best_metric;
  int best_iteration = -1;
  double best_score = 0.0;
  bool stopped_early = false;
  // Every series' value at the best round (the last round without early stopping).
  RoundMetrics final_metrics;

  // The series named `name`, or nullptr.
  const MetricSeries* Series(std::string_view name) const;
};

// Trains on `train` (features and target per `options`) evaluating `evals` each round.
// InvalidArgument names a bad hyperparameter or missing target; NotFound a missing column;
// Internal carries XGBoost's message; Cancelled when options.cancelled said so.
Result<TrainResult> Train(const data::Table& train, std::span<const EvalSet> evals,
                          const TrainOptions& options);

// The same loop over matrices already built (distributed workers build theirs from shards).
// `evals` pairs names with matrices; the result's features/target are left empty.
Result<TrainResult> TrainOnMatrices(const DMatrix& train,
                                    std::span<const std::pair<std::string, const DMatrix*>> evals,
                                    const TrainOptions& options);

// The loop TrainOnMatrices runs, one round per Step, for callers that decide between rounds
// (a tuning trial advances a few rounds, then its driver applies the median rule or Hyperband's
// rungs). The same XGBoost calls in the same order as TrainOnMatrices, so the same booster.
// Holds pointers to the matrices, which must outlive it. Thread-compatible.
class Trainer {
 public:
  // Checks the evaluation sets' names and options' rounds, creates the booster over `train`
  // and `evals` (loading options.initial_model) and sets the hyperparameters. options.on_round,
  // checkpoints and cancelled are the caller's to apply; the other fields are used here.
  static Result<std::unique_ptr<Trainer>> Start(
      const DMatrix& train, std::span<const std::pair<std::string, const DMatrix*>> evals,
      const TrainOptions& options);

  // Trains the next round and evaluates it: that round's metrics (empty without evaluation
  // sets). The first round fixes the history's series and the early-stopping metric
  // (InvalidArgument when it is not evaluated). FailedPrecondition once done().
  Result<RoundMetrics> Step();
  // Ends training after the rounds so far (on_round said stop; a tuning job stopped it).
  void Stop() { stopped_ = true; }

  // num_round reached, early_stopping_rounds said stop, or Stop().
  bool done() const { return stopped_ || start_round_ + rounds_done_ >= total_rounds_; }
  // Stopped by early_stopping_rounds or Stop(), at whatever round.
  bool stopped() const { return stopped_; }
  // Rounds trained by this trainer (an initial model's are not counted).
  int rounds_done() const { return rounds_done_; }
  // The initial model's rounds (0 without one).
  int start_round() const { return start_round_; }
  const Booster& booster() const { return *booster_; }
  const std::vector<MetricSeries>& history() const { return history_; }

  // The result: the booster cut to the best round when early_stopping_rounds is set, its
  // best_iteration and best_score attributes, every series' value at that round. Features and
  // target are left empty. The trainer is spent afterwards.
  Result<TrainResult> Finish() &&;

 private:
  Trainer() = default;

  const DMatrix* train_ = nullptr;
  std::vector<std::pair<std::string, const DMatrix*>> evals_;
  std::vector<std::string> set_names_;
  std::unique_ptr<Booster> booster_;
  int start_round_ = 0;
  int total_rounds_ = 0;  // including the initial model's
  int patience_ = 0;
  int rounds_done_ = 0;
  bool stopped_ = false;
  std::vector<MetricSeries> history_;
  std::string stop_metric_;
  bool maximize_ = false;
  int best_iteration_ = -1;  // within this trainer's rounds
  double best_score_ = 0.0;
};

// The feature list Train would use for `table`.
Result<std::vector<std::string>> ResolveFeatures(const data::Table& table,
                                                 const TrainOptions& options);

// True for metrics where larger is better (auc, aucpr, map, ndcg, pre and their @ forms).
bool MetricIsMaximized(std::string_view metric);

// Parses XGBoost's evaluation line "[3]\ttrain-rmse:1.5\tvalidation-rmse:2.5" for the given
// set names into {"train:rmse": 1.5, "validation:rmse": 2.5}. InvalidArgument when malformed.
Result<RoundMetrics> ParseEvalLine(std::string_view line, std::span<const std::string> set_names);

}  // namespace raypipe::ml
