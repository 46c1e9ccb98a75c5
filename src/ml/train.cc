#include "ml/train.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace raypipe::ml {

namespace {

Result<int> ParseCount(const Hyperparameters& hyperparameters, const std::string& name,
                       int fallback, int minimum) {
  auto found = hyperparameters.find(name);
  if (found == hyperparameters.end()) return fallback;
  const std::string& text = found->second;
  int value = 0;
  // Integers may arrive as "100.0" from a tuner's continuous range or a JSON number.
  double as_double = 0.0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), as_double);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(as_double) ||
      as_double != std::floor(as_double) || as_double < minimum || as_double > 1e9) {
    return InvalidArgumentError("hyperparameter '" + name + "': expected an integer >= " +
                                std::to_string(minimum) + ", found '" + text + "'");
  }
  value = static_cast<int>(as_double);
  return value;
}

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = text.substr(start, comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) parts.emplace_back(part);
    start = comma + 1;
  }
  return parts;
}

// XGBoost's evaluation line's values in order: (series name, value). See ParseEvalLine.
Result<std::vector<std::pair<std::string, double>>> ParseEvalLineOrdered(
    std::string_view line, std::span<const std::string> set_names) {
  std::vector<std::pair<std::string, double>> values;
  size_t start = line.find('\t');
  while (start != std::string_view::npos) {
    ++start;
    size_t end = line.find('\t', start);
    std::string_view token = line.substr(start, end == std::string_view::npos ? end : end - start);
    start = end;
    if (token.empty()) continue;
    const std::string* set = nullptr;
    for (const std::string& name : set_names) {
      if (token.size() > name.size() + 1 && token.substr(0, name.size()) == name &&
          token[name.size()] == '-' && (set == nullptr || name.size() > set->size())) {
        set = &name;
      }
    }
    size_t colon = token.rfind(':');
    if (set == nullptr || colon == std::string_view::npos || colon <= set->size() + 1) {
      return InvalidArgumentError("unexpected XGBoost evaluation token '" + std::string(token) +
                                  "' in '" + std::string(line) + "'");
    }
    std::string_view metric = token.substr(set->size() + 1, colon - set->size() - 1);
    std::string_view number = token.substr(colon + 1);
    double value = 0.0;
    if (number == "nan" || number == "-nan") {
      value = std::nan("");
    } else {
      auto [end_ptr, error] = std::from_chars(number.data(), number.data() + number.size(), value);
      if (error != std::errc() || end_ptr != number.data() + number.size()) {
        return InvalidArgumentError("unexpected XGBoost metric value '" + std::string(number) +
                                    "' in '" + std::string(line) + "'");
      }
    }
    values.emplace_back(*set + ":" + std::string(metric), value);
  }
  return values;
}

// The boosting rounds and the early-stopping patience `options` ask for: num_round, else
// num_boost_round, else options.num_boost_round; early_stopping_rounds (0 = off). Integers may
// be written "100.0". InvalidArgument names a value that is not an integer in range.
struct RoundPlan {
  int rounds = 0;
  int patience = 0;
};
Result<RoundPlan> PlanRounds(const TrainOptions& options) {
  const Hyperparameters& hyperparameters = options.hyperparameters;
  int default_rounds = options.num_boost_round;
  if (hyperparameters.contains("num_boost_round")) {
    ASSIGN_OR_RETURN(default_rounds, ParseCount(hyperparameters, "num_boost_round", 0, 1));
  }
  RoundPlan plan;
  ASSIGN_OR_RETURN(plan.rounds, ParseCount(hyperparameters, "num_round", default_rounds, 1));
  ASSIGN_OR_RETURN(plan.patience, ParseCount(hyperparameters, "early_stopping_rounds", 0, 0));
  return plan;
}

// Sets `hyperparameters` on `booster` as Train does: "nthread" = `nthread` first when it is
// positive and not among them; eval_metric's comma-separated metrics one by one; raypipe's own
// keys (num_round, num_boost_round, early_stopping_rounds, names starting with '_') skipped.
// InvalidArgument names a hyperparameter XGBoost rejects.
Status ConfigureBooster(Booster& booster, const Hyperparameters& hyperparameters, int nthread) {
  if (nthread > 0 && !hyperparameters.contains("nthread")) {
    RETURN_IF_ERROR(booster.SetParam("nthread", std::to_string(nthread)));
  }
  for (const auto& [name, value] : hyperparameters) {
    if (name.empty() || name.front() == '_' || name == "num_round" ||
        name == "num_boost_round" || name == "early_stopping_rounds") {
      continue;
    }
    if (name == "eval_metric") {
      for (const std::string& metric : SplitComma(value)) {
        RETURN_IF_ERROR(booster.SetParam(name, metric));
      }
      continue;
    }
    Status status = booster.SetParam(name, value);
    if (!status.ok()) {
      return InvalidArgumentError("hyperparameter '" + name + "' = '" + value +
                                  "': " + std::string(status.message()));
    }
  }
  return Status::Ok();
}

}  // namespace

const MetricSeries* TrainResult::Series(std::string_view name) const {
  for (const MetricSeries& series : history) {
    if (series.name == name) return &series;
  }
  return nullptr;
}

bool MetricIsMaximized(std::string_view metric) {
  size_t colon = metric.rfind(':');
  if (colon != std::string_view::npos) metric = metric.substr(colon + 1);
  size_t at = metric.find('@');
  if (at != std::string_view::npos) metric = metric.substr(0, at);
  return metric == "auc" || metric == "aucpr" || metric == "map" || metric == "ndcg" ||
         metric == "pre";
}

Result<RoundMetrics> ParseEvalLine(std::string_view line, std::span<const std::string> set_names) {
  ASSIGN_OR_RETURN(auto ordered, ParseEvalLineOrdered(line, set_names));
  return RoundMetrics(ordered.begin(), ordered.end());
}

Result<std::vector<std::string>> ResolveFeatures(const data::Table& table,
                                                 const TrainOptions& options) {
  if (options.target.empty()) return InvalidArgumentError("training needs a target column");
  RETURN_IF_ERROR(table.ColumnByName(options.target).status());
  if (!options.features.empty()) {
    if (std::find(options.features.begin(), options.features.end(), options.target) !=
        options.features.end()) {
      return InvalidArgumentError("the target column '" + options.target +
                                  "' is also listed as a feature");
    }
    return options.features;
  }
  std::vector<std::string> features;
  for (const std::string& name : table.ColumnNames()) {
    if (name != options.target) features.push_back(name);
  }
  if (features.empty()) {
    return InvalidArgumentError("the table has no feature columns besides the target '" +
                                options.target + "'");
  }
  return features;
}

Result<std::unique_ptr<Trainer>> Trainer::Start(
    const DMatrix& train, std::span<const std::pair<std::string, const DMatrix*>> evals,
    const TrainOptions& options) {
  ASSIGN_OR_RETURN(const RoundPlan plan, PlanRounds(options));
  if (plan.patience > 0 && evals.empty()) {
    return InvalidArgumentError("early_stopping_rounds needs at least one evaluation set");
  }
  std::unique_ptr<Trainer> trainer(new Trainer());
  trainer->train_ = &train;
  trainer->total_rounds_ = plan.rounds;
  trainer->patience_ = plan.patience;
  trainer->stop_metric_ = options.early_stopping_metric;
  std::vector<const DMatrix*> cache = {&train};
  for (const auto& [name, matrix] : evals) {
    if (name.empty() || name.find_first_of(":\t") != std::string::npos) {
      return InvalidArgumentError("evaluation set name '" + name +
                                  "' must be non-empty without ':' or tabs");
    }
    if (std::find(trainer->set_names_.begin(), trainer->set_names_.end(), name) !=
        trainer->set_names_.end()) {
      return InvalidArgumentError("evaluation set '" + name + "' is given twice");
    }
    trainer->set_names_.push_back(name);
    trainer->evals_.emplace_back(name, matrix);
    if (matrix != &train) cache.push_back(matrix);
  }
  ASSIGN_OR_RETURN(trainer->booster_, Booster::Create(cache));
  if (options.initial_model != nullptr) {
    ASSIGN_OR_RETURN(std::string bytes,
                     options.initial_model->SaveModelToBuffer(ModelFormat::kUbjson));
    RETURN_IF_ERROR(trainer->booster_->LoadModelBytes(bytes));
    ASSIGN_OR_RETURN(trainer->start_round_, trainer->booster_->BoostedRounds());
  }
  RETURN_IF_ERROR(ConfigureBooster(*trainer->booster_, options.hyperparameters, options.nthread));
  return trainer;
}

Result<RoundMetrics> Trainer::Step() {
  if (booster_ == nullptr || done()) {
    return FailedPreconditionError("the training job has no rounds left");
  }
  const int round = start_round_ + rounds_done_;
  const int local_round = rounds_done_;
  RETURN_IF_ERROR(booster_->UpdateOneIter(round, *train_));
  ++rounds_done_;
  if (evals_.empty()) return RoundMetrics();
  ASSIGN_OR_RETURN(std::string line, booster_->EvalOneIter(round, evals_));
  ASSIGN_OR_RETURN(auto values, ParseEvalLineOrdered(line, set_names_));
  if (values.empty()) return InternalError("XGBoost reported no metrics: '" + line + "'");
  RoundMetrics metrics(values.begin(), values.end());
  if (local_round == 0) {
    for (const auto& [name, value] : values) history_.push_back({name, {}});
    if (stop_metric_.empty()) stop_metric_ = values.back().first;
    if (!metrics.contains(stop_metric_)) {
      return InvalidArgumentError("early-stopping metric '" + stop_metric_ +
                                  "' is not among the evaluated metrics ('" + line + "')");
    }
    maximize_ = MetricIsMaximized(stop_metric_);
  }
  for (MetricSeries& series : history_) {
    auto found = metrics.find(series.name);
    series.values.push_back(found == metrics.end() ? std::nan("") : found->second);
  }
  double score = metrics[stop_metric_];
  if (best_iteration_ < 0 || (maximize_ ? score > best_score_ : score < best_score_)) {
    best_iteration_ = local_round;
    best_score_ = score;
  }
  if (patience_ > 0 && local_round - best_iteration_ >= patience_) stopped_ = true;
  return metrics;
}

Result<TrainResult> Trainer::Finish() && {
  if (booster_ == nullptr) return FailedPreconditionError("the training job has already finished");
  std::unique_ptr<Booster> booster = std::move(booster_);
  TrainResult result;
  int final_round = rounds_done_ - 1;
  if (patience_ > 0 && best_iteration_ >= 0 && best_iteration_ < final_round) {
    ASSIGN_OR_RETURN(booster, booster->Slice(0, start_round_ + best_iteration_ + 1));
    final_round = best_iteration_;
  }
  if (final_round >= 0) {
    for (const MetricSeries& series : history_) {
      result.final_metrics[series.name] = series.values[static_cast<size_t>(final_round)];
    }
  }
  if (best_iteration_ >= 0) {
    RETURN_IF_ERROR(booster->SetAttr("best_iteration",
                                     std::to_string(start_round_ + best_iteration_)));
    char score[32];
    std::snprintf(score, sizeof(score), "%.17g", best_score_);
    RETURN_IF_ERROR(booster->SetAttr("best_score", score));
  }
  ASSIGN_OR_RETURN(result.rounds, booster->BoostedRounds());
  result.booster = std::move(booster);
  result.history = std::move(history_);
  if (best_iteration_ >= 0) result.best_metric = stop_metric_;
  result.best_iteration = best_iteration_;
  result.best_score = best_score_;
  // Fewer rounds than num_round: early_stopping_rounds, on_round or a tuning job stopped it.
  result.stopped_early = start_round_ + rounds_done_ < total_rounds_;
  return result;
}

Result<TrainResult> TrainOnMatrices(const DMatrix& train,
                                    std::span<const std::pair<std::string, const DMatrix*>> evals,
                                    const TrainOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer, Trainer::Start(train, evals, options));
  const bool checkpoints = options.checkpoint_every > 0 && options.on_checkpoint != nullptr;
  while (!trainer->done()) {
    const int round = trainer->start_round() + trainer->rounds_done();
    if (options.cancelled && options.cancelled()) {
      return CancelledError("training cancelled at round " + std::to_string(round));
    }
    ASSIGN_OR_RETURN(RoundMetrics metrics, trainer->Step());
    if (!metrics.empty() && options.on_round &&
        !options.on_round(trainer->rounds_done() - 1, metrics)) {
      trainer->Stop();
    }
    if (checkpoints && (trainer->stopped() || (round + 1) % options.checkpoint_every == 0)) {
      RETURN_IF_ERROR(options.on_checkpoint(round + 1, trainer->booster()));
    }
  }
  return std::move(*trainer).Finish();
}

Result<TrainResult> Train(const data::Table& train, std::span<const EvalSet> evals,
                          const TrainOptions& options) {
  ASSIGN_OR_RETURN(std::vector<std::string> features, ResolveFeatures(train, options));
  if (train.num_rows() == 0) return InvalidArgumentError("the training table has no rows");
  DMatrix::Options matrix_options;
  matrix_options.nthread = options.nthread;
  ASSIGN_OR_RETURN(std::unique_ptr<DMatrix> train_matrix,
                   DMatrix::FromTable(train, features, options.target, matrix_options));
  std::vector<std::unique_ptr<DMatrix>> eval_matrices;
  std::vector<std::pair<std::string, const DMatrix*>> eval_sets;
  for (const EvalSet& eval : evals) {
    if (eval.table == nullptr) {
      return InvalidArgumentError("evaluation set '" + eval.name + "' has no table");
    }
    if (eval.table == &train) {
      eval_sets.emplace_back(eval.name, train_matrix.get());
      continue;
    }
    auto matrix = DMatrix::FromTable(*eval.table, features, options.target, matrix_options);
    if (!matrix.ok()) return matrix.status().WithContext("evaluation set '" + eval.name + "'");
    eval_matrices.push_back(std::move(*matrix));
    eval_sets.emplace_back(eval.name, eval_matrices.back().get());
  }
  ASSIGN_OR_RETURN(TrainResult result, TrainOnMatrices(*train_matrix, eval_sets, options));
  result.features = std::move(features);
  result.target = options.target;
  return result;
}

}  // namespace raypipe::ml
