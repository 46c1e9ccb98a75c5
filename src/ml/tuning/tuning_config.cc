#include "ml/tuning/tuning_config.h"

#include <charconv>
#include <cmath>
#include <initializer_list>
#include <optional>

#include "core/json.h"

namespace raypipe::ml::tuning {

namespace {

using nlohmann::json;

std::string Field(std::string_view where, std::string_view key) {
  return core::JoinFieldPath(where, key);
}

Status Error(std::string_view field, std::string_view message) {
  return InvalidArgumentError(std::string(field) + ": " + std::string(message));
}

std::string Describe(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

Status RequireObject(const json& value, std::string_view where) {
  if (!value.is_object()) return Error(where, "expected an object, found " + Describe(value));
  return Status::Ok();
}

Status RejectUnknown(const json& object, std::string_view where,
                     std::initializer_list<std::string_view> known) {
  for (const auto& [key, unused] : object.items()) {
    bool found = false;
    for (std::string_view name : known) found = found || key == name;
    if (found) continue;
    std::string list;
    for (std::string_view name : known) list += (list.empty() ? "" : ", ") + std::string(name);
    return Error(Field(where, key), "unknown field (known: " + list + ")");
  }
  return Status::Ok();
}

const json* Member(const json& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

Result<std::optional<std::string>> OptionalString(const json& object, std::string_view key,
                                                  std::string_view where) {
  const json* value = Member(object, key);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) {
    return Error(Field(where, key), "expected a String, found " + Describe(*value));
  }
  return std::optional<std::string>(value->get<std::string>());
}

// An integer as a JSON integer, an integral float or a string holding one.
Result<std::optional<int64_t>> OptionalInteger(const json& object, std::string_view key,
                                               std::string_view where) {
  const json* value = Member(object, key);
  if (value == nullptr) return std::optional<int64_t>();
  if (value->is_number_integer()) return std::optional<int64_t>(value->get<int64_t>());
  if (value->is_number_float()) {
    double number = value->get<double>();
    if (std::isfinite(number) && number == std::floor(number) && std::abs(number) < 9.0e15) {
      return std::optional<int64_t>(static_cast<int64_t>(number));
    }
  }
  if (value->is_string()) {
    const std::string text = value->get<std::string>();
    int64_t parsed = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
      return std::optional<int64_t>(parsed);
    }
  }
  return Error(Field(where, key), "expected an Integer, found " + Describe(*value));
}

Result<int> BoundedInteger(const json& object, std::string_view key, std::string_view where,
                           int fallback, int64_t min, int64_t max) {
  ASSIGN_OR_RETURN(std::optional<int64_t> value, OptionalInteger(object, key, where));
  if (!value.has_value()) return fallback;
  if (*value < min || *value > max) {
    return Error(Field(where, key), "must be between " + std::to_string(min) + " and " +
                                        std::to_string(max) + ", found " +
                                        std::to_string(*value));
  }
  return static_cast<int>(*value);
}

Status ParseObjective(const json& objective, std::string_view where, TuningJobConfig* config) {
  RETURN_IF_ERROR(RequireObject(objective, where));
  RETURN_IF_ERROR(RejectUnknown(objective, where, {"Type", "MetricName"}));
  ASSIGN_OR_RETURN(std::optional<std::string> type, OptionalString(objective, "Type", where));
  if (type.has_value()) {
    Result<ObjectiveType> parsed = ParseObjectiveType(*type);
    if (!parsed.ok()) return Error(Field(where, "Type"), parsed.status().message());
    config->objective_type = *parsed;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> metric,
                   OptionalString(objective, "MetricName", where));
  if (!metric.has_value() || metric->empty()) {
    return Error(Field(where, "MetricName"), "required, the metric to optimize "
                                             "(e.g. validation:rmse)");
  }
  config->objective_metric = *metric;
  return Status::Ok();
}

Status ParseResourceLimits(const json& limits, std::string_view where, TuningJobConfig* config) {
  RETURN_IF_ERROR(RequireObject(limits, where));
  RETURN_IF_ERROR(RejectUnknown(limits, where,
                                {"MaxNumberOfTrainingJobs", "MaxParallelTrainingJobs",
                                 "MaxRuntimeInSeconds"}));
  ASSIGN_OR_RETURN(config->max_jobs, BoundedInteger(limits, "MaxNumberOfTrainingJobs", where,
                                                    config->max_jobs, 1, 100000));
  ASSIGN_OR_RETURN(config->max_parallel_jobs,
                   BoundedInteger(limits, "MaxParallelTrainingJobs", where,
                                  config->max_parallel_jobs, 1, 10000));
  if (Member(limits, "MaxRuntimeInSeconds") != nullptr) {
    return Error(Field(where, "MaxRuntimeInSeconds"), "not supported");
  }
  return Status::Ok();
}

Status ParseStrategyConfig(const json& strategy_config, std::string_view where,
                           TuningJobConfig* config) {
  RETURN_IF_ERROR(RequireObject(strategy_config, where));
  RETURN_IF_ERROR(RejectUnknown(strategy_config, where, {"HyperbandStrategyConfig"}));
  const json* hyperband = Member(strategy_config, "HyperbandStrategyConfig");
  if (hyperband == nullptr) return Status::Ok();
  const std::string hyperband_where = Field(where, "HyperbandStrategyConfig");
  RETURN_IF_ERROR(RequireObject(*hyperband, hyperband_where));
  RETURN_IF_ERROR(RejectUnknown(*hyperband, hyperband_where, {"MinResource", "MaxResource"}));
  ASSIGN_OR_RETURN(config->min_resource, BoundedInteger(*hyperband, "MinResource",
                                                        hyperband_where, config->min_resource,
                                                        1, 1000000));
  ASSIGN_OR_RETURN(config->max_resource, BoundedInteger(*hyperband, "MaxResource",
                                                        hyperband_where, config->max_resource,
                                                        1, 1000000));
  if (config->max_resource < config->min_resource) {
    return Error(Field(hyperband_where, "MaxResource"),
                 "must be at least MinResource (" + std::to_string(config->min_resource) +
                     "), found " + std::to_string(config->max_resource));
  }
  return Status::Ok();
}

}  // namespace

Result<TuningJobConfig> ParseHyperParameterTuningJobConfig(const json& config,
                                                           std::string_view where) {
  RETURN_IF_ERROR(RequireObject(config, where));
  RETURN_IF_ERROR(RejectUnknown(
      config, where,
      {"Strategy", "HyperParameterTuningJobObjective", "ResourceLimits", "ParameterRanges",
       "TrainingJobEarlyStoppingType", "RandomSeed", "StrategyConfig"}));
  TuningJobConfig out;
  ASSIGN_OR_RETURN(std::optional<std::string> strategy, OptionalString(config, "Strategy", where));
  if (strategy.has_value()) {
    Result<StrategyType> parsed = ParseStrategyType(*strategy);
    if (!parsed.ok()) return Error(Field(where, "Strategy"), parsed.status().message());
    out.strategy = *parsed;
  }
  const json* objective = Member(config, "HyperParameterTuningJobObjective");
  if (objective == nullptr) {
    return Error(Field(where, "HyperParameterTuningJobObjective"),
                 "required, {Type: Minimize | Maximize, MetricName: ...}");
  }
  RETURN_IF_ERROR(
      ParseObjective(*objective, Field(where, "HyperParameterTuningJobObjective"), &out));
  if (const json* limits = Member(config, "ResourceLimits")) {
    RETURN_IF_ERROR(ParseResourceLimits(*limits, Field(where, "ResourceLimits"), &out));
  }
  const json* ranges = Member(config, "ParameterRanges");
  if (ranges == nullptr) {
    return Error(Field(where, "ParameterRanges"),
                 "required, with IntegerParameterRanges, ContinuousParameterRanges or "
                 "CategoricalParameterRanges");
  }
  Result<SearchSpace> space = SearchSpace::FromJson(*ranges);
  if (!space.ok()) {
    // SearchSpace names its fields from "ParameterRanges" down.
    return InvalidArgumentError(std::string(where) + "." + std::string(space.status().message()));
  }
  out.space = std::move(*space);
  ASSIGN_OR_RETURN(std::optional<std::string> early_stopping,
                   OptionalString(config, "TrainingJobEarlyStoppingType", where));
  if (early_stopping.has_value()) {
    Result<EarlyStoppingType> parsed = ParseEarlyStoppingType(*early_stopping);
    if (!parsed.ok()) {
      return Error(Field(where, "TrainingJobEarlyStoppingType"), parsed.status().message());
    }
    out.early_stopping = *parsed;
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> seed, OptionalInteger(config, "RandomSeed", where));
  if (seed.has_value()) {
    if (*seed < 0) {
      return Error(Field(where, "RandomSeed"), "must not be negative, found " +
                                                   std::to_string(*seed));
    }
    out.random_seed = static_cast<uint64_t>(*seed);
  }
  if (const json* strategy_config = Member(config, "StrategyConfig")) {
    RETURN_IF_ERROR(ParseStrategyConfig(*strategy_config, Field(where, "StrategyConfig"), &out));
  }
  return out;
}

Result<WarmStartConfig> ParseWarmStartConfig(const json& config, std::string_view where) {
  RETURN_IF_ERROR(RequireObject(config, where));
  RETURN_IF_ERROR(
      RejectUnknown(config, where, {"ParentHyperParameterTuningJobs", "WarmStartType"}));
  WarmStartConfig out;
  const std::string parents_where = Field(where, "ParentHyperParameterTuningJobs");
  const json* parents = Member(config, "ParentHyperParameterTuningJobs");
  if (parents == nullptr || !parents->is_array() || parents->empty()) {
    return Error(parents_where, "required, a non-empty list of tuning job names");
  }
  for (size_t index = 0; index < parents->size(); ++index) {
    const json& parent = (*parents)[index];
    const std::string item_where = core::JoinFieldPath(parents_where, index);
    if (parent.is_string() && !parent.get<std::string>().empty()) {
      out.parent_jobs.push_back(parent.get<std::string>());
      continue;
    }
    if (parent.is_object()) {
      RETURN_IF_ERROR(RejectUnknown(parent, item_where, {"HyperParameterTuningJobName"}));
      ASSIGN_OR_RETURN(std::optional<std::string> name,
                       OptionalString(parent, "HyperParameterTuningJobName", item_where));
      if (name.has_value() && !name->empty()) {
        out.parent_jobs.push_back(*name);
        continue;
      }
    }
    return Error(item_where, "expected a tuning job name, found " + Describe(parent));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> type,
                   OptionalString(config, "WarmStartType", where));
  if (type.has_value()) {
    if (*type != "IdenticalDataAndAlgorithm" && *type != "TransferLearning") {
      return Error(Field(where, "WarmStartType"),
                   "expected IdenticalDataAndAlgorithm or TransferLearning, found \"" + *type +
                       "\"");
    }
    out.type = *type;
  }
  return out;
}

}  // namespace raypipe::ml::tuning
