#include "experiments/compare.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

namespace raypipe::experiments {

namespace {

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

MetricGoal GoalOf(std::string_view metric_name) {
  std::string lower(metric_name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view word : {"rmse", "mse", "mae", "mape", "error", "logloss", "loss"}) {
    if (Contains(lower, word)) return MetricGoal::kMinimize;
  }
  for (std::string_view word :
       {"auc", "accuracy", "r2", "precision", "recall", "f1", "ndcg", "map"}) {
    if (Contains(lower, word)) return MetricGoal::kMaximize;
  }
  return MetricGoal::kUnknown;
}

std::string_view MetricGoalName(MetricGoal goal) {
  switch (goal) {
    case MetricGoal::kMinimize:
      return "minimize";
    case MetricGoal::kMaximize:
      return "maximize";
    case MetricGoal::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<size_t> BestIndex(const std::vector<std::optional<double>>& values,
                                MetricGoal goal) {
  if (goal == MetricGoal::kUnknown) return std::nullopt;
  std::optional<size_t> best;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i] || std::isnan(*values[i])) continue;
    if (!best) {
      best = i;
      continue;
    }
    const double current = *values[*best];
    const bool better = goal == MetricGoal::kMinimize ? *values[i] < current : *values[i] > current;
    if (better) best = i;
  }
  return best;
}

Result<RunComparison> CompareRuns(const ExperimentStore& store,
                                  const std::vector<std::string>& run_ids) {
  if (run_ids.empty()) return InvalidArgumentError("compare: no runs given");
  std::set<std::string> seen;
  RunComparison comparison;
  std::map<std::string, std::vector<std::optional<double>>> values;  // metric -> per run
  std::set<std::string> parameters;
  for (size_t run_idx = 0; run_idx < run_ids.size(); ++run_idx) {
    const std::string& run_id = run_ids[run_idx];
    if (!seen.insert(run_id).second) {
      return InvalidArgumentError("compare: run '" + run_id + "' is given twice");
    }
    ASSIGN_OR_RETURN(RunRecord run, store.DescribeRun(run_id));
    ASSIGN_OR_RETURN(std::vector<MetricSummary> summaries, store.MetricSummaries(run_id));
    for (const MetricSummary& summary : summaries) {
      auto [it, inserted] = values.try_emplace(summary.name, run_ids.size());
      it->second[run_idx] = summary.last;
    }
    for (const auto& [name, value] : run.parameters.items()) parameters.insert(name);
    comparison.runs.push_back(std::move(run));
  }
  for (auto& [name, per_run] : values) {
    MetricComparison metric;
    metric.name = name;
    metric.goal = GoalOf(name);
    metric.values = std::move(per_run);
    metric.best = BestIndex(metric.values, metric.goal);
    comparison.metrics.push_back(std::move(metric));
  }
  comparison.parameter_names.assign(parameters.begin(), parameters.end());
  return comparison;
}

nlohmann::json RunComparison::ToJson() const {
  nlohmann::json json = {{"runs", nlohmann::json::array()},
                         {"metrics", nlohmann::json::array()},
                         {"parameters", nlohmann::json::array()}};
  for (const RunRecord& run : runs) json["runs"].push_back(run.ToJson());
  for (const MetricComparison& metric : metrics) {
    nlohmann::json per_run = nlohmann::json::object();
    for (size_t i = 0; i < runs.size(); ++i) {
      const std::optional<double>& value = metric.values[i];
      per_run[runs[i].run_id] =
          value && !std::isnan(*value) ? nlohmann::json(*value) : nlohmann::json(nullptr);
    }
    json["metrics"].push_back(
        {{"name", metric.name},
         {"goal", MetricGoalName(metric.goal)},
         {"values", per_run},
         {"best", metric.best ? nlohmann::json(runs[*metric.best].run_id)
                              : nlohmann::json(nullptr)}});
  }
  for (const std::string& name : parameter_names) {
    nlohmann::json per_run = nlohmann::json::object();
    for (const RunRecord& run : runs) {
      per_run[run.run_id] = run.parameters.contains(name) ? run.parameters[name] : nullptr;
    }
    json["parameters"].push_back({{"name", name}, {"values", per_run}});
  }
  return json;
}

}  // namespace raypipe::experiments
