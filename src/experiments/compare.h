#pragma once

// Comparing runs: each metric's final value (the value at its highest step) per run, with the
// best run marked. Which way is better is read from the metric's name:
//   lower is better when the name contains rmse, mse, mae, mape, error, logloss or loss;
//   else higher is better when it contains auc, accuracy, r2, precision, recall, f1, ndcg or map;
//   else the metric has no best (kUnknown).
// Matching is case-insensitive on the whole name ("validation:rmse", "train-auc").

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "experiments/experiment_store.h"

namespace raypipe::experiments {

enum class MetricGoal { kMinimize, kMaximize, kUnknown };

MetricGoal GoalOf(std::string_view metric_name);
std::string_view MetricGoalName(MetricGoal goal);  // "minimize", "maximize", "unknown"

struct MetricComparison {
  std::string name;
  MetricGoal goal = MetricGoal::kUnknown;
  std::vector<std::optional<double>> values;  // per run, in the order compared; nullopt: absent
  std::optional<size_t> best;                 // index of the best run (first one on ties)
};

struct RunComparison {
  std::vector<RunRecord> runs;
  std::vector<MetricComparison> metrics;  // sorted by name
  std::vector<std::string> parameter_names;  // the union, sorted

  // {"runs": [...], "metrics": [{"name", "goal", "values": {run_id: v|null}, "best": run_id|null}],
  //  "parameters": [{"name", "values": {run_id: v|null}}]}
  nlohmann::json ToJson() const;
};

// The index of the best among `values` for `goal` (NaN and absent values never win); nullopt
// for kUnknown or when no value is present.
std::optional<size_t> BestIndex(const std::vector<std::optional<double>>& values,
                                MetricGoal goal);

// NotFound naming the first unknown run; InvalidArgument for no runs or a repeated run.
Result<RunComparison> CompareRuns(const ExperimentStore& store,
                                  const std::vector<std::string>& run_ids);

}  // namespace raypipe::experiments
