#include "cli/ml_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/context.h"
#include "cli/executor_options.h"
#include "compute/local_executor.h"
#include "core/json.h"
#include "data/csv.h"
#include "data/scaler.h"
#include "ml/distributed.h"
#include "ml/kernels.h"
#include "ml/model_bundle.h"
#include "ml/train.h"
#include "ml/tuning/tuning_config.h"
#include "ml/tuning/tuning_job.h"

namespace raypipe::cli {

namespace {

// "NAME=VALUE" -> (NAME, VALUE); InvalidArgument naming the flag.
Result<std::pair<std::string, std::string>> SplitAssignment(std::string_view flag,
                                                            const std::string& text) {
  size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    return InvalidArgumentError("--" + std::string(flag) + " " + text +
                                ": expected NAME=VALUE");
  }
  return std::pair{text.substr(0, equals), text.substr(equals + 1)};
}

std::vector<std::string> SplitList(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// The training options common to both commands.
Result<ml::TrainOptions> TrainOptionsFrom(const ParsedArgs& args) {
  ml::TrainOptions options;
  options.target = args.GetString("target");
  if (args.Has("features")) options.features = SplitList(args.GetString("features"), ',');
  for (const std::string& text : args.GetAll("hyperparameter")) {
    ASSIGN_OR_RETURN(auto assignment, SplitAssignment("hyperparameter", text));
    options.hyperparameters[assignment.first] = assignment.second;
  }
  if (args.Has("num-round")) {
    options.hyperparameters["num_round"] = std::to_string(args.GetInt64("num-round"));
  }
  if (args.Has("early-stopping-rounds")) {
    options.hyperparameters["early_stopping_rounds"] =
        std::to_string(args.GetInt64("early-stopping-rounds"));
  }
  options.nthread = static_cast<int>(args.GetInt64("threads"));
  return options;
}

struct Inputs {
  data::Table train;
  std::optional<data::Table> validation;
  std::optional<data::StandardScaler> scaler;
  std::vector<std::string> features;
};

// Reads the CSV files and, with --standardize, fits a StandardScaler on the training features
// and applies it to both tables.
Result<Inputs> ReadInputs(const ParsedArgs& args, const ml::TrainOptions& options) {
  Inputs inputs;
  std::string train_path = args.GetString("train");
  auto train = data::ReadCsvFile(train_path);
  if (!train.ok()) return train.status().WithContext("--train");
  inputs.train = std::move(*train);
  if (args.Has("validation")) {
    auto validation = data::ReadCsvFile(args.GetString("validation"));
    if (!validation.ok()) return validation.status().WithContext("--validation");
    inputs.validation = std::move(*validation);
  }
  ASSIGN_OR_RETURN(inputs.features, ml::ResolveFeatures(inputs.train, options));
  if (args.GetBool("standardize")) {
    data::StandardScaler scaler;
    RETURN_IF_ERROR(scaler.Fit(inputs.train, inputs.features));
    ASSIGN_OR_RETURN(inputs.train, scaler.Transform(inputs.train));
    if (inputs.validation.has_value()) {
      ASSIGN_OR_RETURN(inputs.validation, scaler.Transform(*inputs.validation));
    }
    inputs.scaler = std::move(scaler);
  }
  return inputs;
}

// The executor the global options ask for (cli/executor_options.h), serving the ml kernels. On
// Ray, distributed training workers and tuning trials run in Ray's workers.
Result<std::unique_ptr<compute::Executor>> OpenExecutor(CommandContext& context,
                                                        compute::KernelRegistry& kernels) {
  RETURN_IF_ERROR(ml::RegisterMlKernels(kernels));
  return OpenExecutorFor(context, kernels);
}

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

int RunTrain(CommandContext& context, const ParsedArgs& args) {
  auto options = TrainOptionsFrom(args);
  if (!options.ok()) return context.UsageError(options.status().message());
  auto inputs = ReadInputs(args, *options);
  if (!inputs.ok()) return context.Fail(inputs.status());
  options->features = inputs->features;
  std::vector<ml::EvalSet> evals;
  if (inputs->validation.has_value()) evals.push_back({"validation", &*inputs->validation});

  auto start = std::chrono::steady_clock::now();
  int workers = static_cast<int>(args.GetInt64("workers"));
  Result<ml::TrainResult> result = InternalError("not run");
  compute::KernelRegistry kernels;
  if (workers > 1) {
    auto executor = OpenExecutor(context, kernels);
    if (!executor.ok()) return context.Fail(executor.status());
    ml::DistributedOptions distributed;
    distributed.num_workers = workers;
    distributed.cpus_per_worker = args.GetDouble("cpus-per-worker");
    result = ml::TrainDistributed(**executor, inputs->train, evals, *options, distributed);
  } else {
    result = ml::Train(inputs->train, evals, *options);
  }
  if (!result.ok()) return context.Fail(result.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string out = args.GetString("out");
  Status written = ml::WriteModelBundle(out, *result->booster, result->features, result->target,
                                        inputs->scaler.has_value() ? &*inputs->scaler : nullptr);
  if (!written.ok()) return context.Fail(written.WithContext("cannot write --out " + out));

  if (context.json()) {
    nlohmann::json history = nlohmann::json::object();
    for (const ml::MetricSeries& series : result->history) history[series.name] = series.values;
    context.PrintObject({{"model", out},
                         {"rounds", result->rounds},
                         {"best_iteration", result->best_iteration},
                         {"stopped_early", result->stopped_early},
                         {"metrics", result->final_metrics},
                         {"history", history},
                         {"seconds", seconds}});
    return kExitSuccess;
  }
  std::vector<Row> rows;
  for (const auto& [name, value] : result->final_metrics) rows.push_back({name, FormatNumber(value)});
  if (!rows.empty()) context.PrintTable({"METRIC", "VALUE"}, rows);
  char line[256];
  std::snprintf(line, sizeof(line), "trained %d rounds%s on %zu rows in %.2f s; model bundle in %s",
                result->rounds, result->stopped_early ? " (stopped early)" : "",
                inputs->train.num_rows(), seconds, out.c_str());
  context.PrintLine(line);
  return kExitSuccess;
}

// --integer NAME=MIN:MAX[:SCALING], --continuous likewise, --categorical NAME=A,B,C.
Result<std::vector<ml::tuning::ParameterRange>> RangesFrom(const ParsedArgs& args) {
  std::vector<ml::tuning::ParameterRange> ranges;
  for (const char* flag : {"integer", "continuous"}) {
    for (const std::string& text : args.GetAll(flag)) {
      ASSIGN_OR_RETURN(auto assignment, SplitAssignment(flag, text));
      std::vector<std::string> parts = SplitList(assignment.second, ':');
      std::string where = "--" + std::string(flag) + " " + text;
      if (parts.size() < 2 || parts.size() > 3) {
        return InvalidArgumentError(where + ": expected NAME=MIN:MAX[:SCALING]");
      }
      double bounds[2];
      for (int index = 0; index < 2; ++index) {
        char* end = nullptr;
        bounds[index] = std::strtod(parts[static_cast<size_t>(index)].c_str(), &end);
        if (end == parts[static_cast<size_t>(index)].c_str() || *end != '\0') {
          return InvalidArgumentError(where + ": '" + parts[static_cast<size_t>(index)] +
                                      "' is not a number");
        }
      }
      ml::tuning::ScalingType scaling = ml::tuning::ScalingType::kAuto;
      if (parts.size() == 3) {
        auto parsed = ml::tuning::ParseScalingType(parts[2]);
        if (!parsed.ok()) return parsed.status().WithContext(where);
        scaling = *parsed;
      }
      ml::tuning::ParameterRange range;
      range.name = assignment.first;
      range.kind = std::string_view(flag) == "integer" ? ml::tuning::ParameterKind::kInteger
                                                       : ml::tuning::ParameterKind::kContinuous;
      range.min_value = bounds[0];
      range.max_value = bounds[1];
      range.scaling = scaling;
      ranges.push_back(std::move(range));
    }
  }
  for (const std::string& text : args.GetAll("categorical")) {
    ASSIGN_OR_RETURN(auto assignment, SplitAssignment("categorical", text));
    ranges.push_back(ml::tuning::ParameterRange::Categorical(
        assignment.first, SplitList(assignment.second, ',')));
  }
  return ranges;
}

// The tuning job from --config: a JSON file holding SageMaker's
// HyperParameterTuningJobConfig, or a CreateHyperParameterTuningJob request that has one.
Result<ml::tuning::TuningJobConfig> TuningConfigFromFile(const std::string& path) {
  ASSIGN_OR_RETURN(nlohmann::json json, core::ReadJsonFile(path));
  const bool request = json.is_object() && json.contains("HyperParameterTuningJobConfig");
  Result<ml::tuning::TuningJobConfig> config = ml::tuning::ParseHyperParameterTuningJobConfig(
      request ? json["HyperParameterTuningJobConfig"] : json, "HyperParameterTuningJobConfig");
  if (!config.ok()) return config.status().WithContext("--config " + path);
  return config;
}

// The tuning job from the strategy, objective, limit and range flags.
Result<ml::tuning::TuningJobConfig> TuningConfigFromFlags(const ParsedArgs& args) {
  ml::tuning::TuningJobConfig config;
  ASSIGN_OR_RETURN(config.strategy, ml::tuning::ParseStrategyType(args.GetString("strategy")));
  ASSIGN_OR_RETURN(config.objective_type,
                   ml::tuning::ParseObjectiveType(args.GetString("objective-type")));
  ASSIGN_OR_RETURN(config.early_stopping,
                   ml::tuning::ParseEarlyStoppingType(args.GetString("early-stopping")));
  config.objective_metric = args.GetString("objective");
  config.max_jobs = static_cast<int>(args.GetInt64("max-jobs"));
  config.max_parallel_jobs = static_cast<int>(args.GetInt64("max-parallel-jobs"));
  config.random_seed = args.GetUint64("seed");
  config.min_resource = static_cast<int>(args.GetInt64("min-resource"));
  config.max_resource = static_cast<int>(args.GetInt64("max-resource"));
  if (args.Has("ranges")) {
    ASSIGN_OR_RETURN(nlohmann::json json, core::ReadJsonFile(args.GetString("ranges")));
    ASSIGN_OR_RETURN(config.space, ml::tuning::SearchSpace::FromJson(json));
    return config;
  }
  ASSIGN_OR_RETURN(std::vector<ml::tuning::ParameterRange> ranges, RangesFrom(args));
  if (ranges.empty()) {
    return InvalidArgumentError(
        "give parameter ranges with --integer, --continuous, --categorical, --ranges or --config");
  }
  ASSIGN_OR_RETURN(config.space, ml::tuning::SearchSpace::Make(std::move(ranges)));
  return config;
}

int RunTune(CommandContext& context, const ParsedArgs& args) {
  auto options = TrainOptionsFrom(args);
  if (!options.ok()) return context.UsageError(options.status().message());
  Result<ml::tuning::TuningJobConfig> parsed = InvalidArgumentError("no tuning job");
  if (args.Has("config")) {
    if (args.Has("ranges") || !args.GetAll("integer").empty() ||
        !args.GetAll("continuous").empty() || !args.GetAll("categorical").empty()) {
      return context.UsageError("--config holds the ParameterRanges: give no range flags with it");
    }
    parsed = TuningConfigFromFile(args.GetString("config"));
    if (!parsed.ok() && parsed.status().code() != StatusCode::kInvalidArgument) {
      return context.Fail(parsed.status());
    }
  } else {
    parsed = TuningConfigFromFlags(args);
    if (!parsed.ok() && parsed.status().code() != StatusCode::kInvalidArgument) {
      return context.Fail(parsed.status());
    }
  }
  if (!parsed.ok()) return context.UsageError(parsed.status().message());
  ml::tuning::TuningJobConfig config = std::move(*parsed);
  config.name = args.GetString("name");
  config.cpus_per_job = args.GetDouble("cpus-per-job");

  auto inputs = ReadInputs(args, *options);
  if (!inputs.ok()) return context.Fail(inputs.status());
  if (!inputs->validation.has_value() && config.objective_metric.rfind("train:", 0) != 0) {
    return context.UsageError("--validation is required for the objective '" +
                              config.objective_metric + "'");
  }
  options->features = inputs->features;
  std::vector<std::pair<std::string, data::Table>> evals;
  if (inputs->validation.has_value()) evals.emplace_back("validation", *inputs->validation);
  evals.emplace_back("train", inputs->train);
  compute::KernelRegistry kernels;
  auto executor = OpenExecutor(context, kernels);
  if (!executor.ok()) return context.Fail(executor.status());
  auto start = std::chrono::steady_clock::now();
  ml::tuning::XGBoostTrial trial =
      ml::tuning::MakeXGBoostTrial(inputs->train, evals, *options, config.objective_metric);
  auto result = ml::tuning::RunTuningJob(**executor, config, trial);
  if (!result.ok()) return context.Fail(result.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string out = args.GetString("out");
  auto best = result->BestTrainingJob();
  if (!out.empty() && best.ok() && (*best)->model != nullptr) {
    Status written = ml::WriteModelBundle(
        out, *(*best)->model->booster, (*best)->model->features, (*best)->model->target,
        inputs->scaler.has_value() ? &*inputs->scaler : nullptr);
    if (!written.ok()) return context.Fail(written.WithContext("cannot write --out " + out));
  }

  nlohmann::json records = nlohmann::json::array();
  for (const ml::tuning::TrainingJobSummary& summary : result->summaries) {
    nlohmann::json record = {{"name", summary.name},
                             {"status", ml::tuning::TrainingJobStatusName(summary.status)},
                             {"objective", summary.objective_value.has_value()
                                               ? nlohmann::json(*summary.objective_value)
                                               : nlohmann::json(nullptr)},
                             {"hyperparameters", summary.hyperparameters}};
    if (!summary.failure_reason.empty()) record["failure_reason"] = summary.failure_reason;
    records.push_back(std::move(record));
  }
  if (context.json()) {
    context.PrintObject({{"tuning_job", config.name},
                         {"strategy", ml::tuning::StrategyTypeName(config.strategy)},
                         {"objective", config.objective_metric},
                         {"best_training_job", best.ok() ? nlohmann::json((*best)->name)
                                                         : nlohmann::json(nullptr)},
                         {"model", out.empty() ? nlohmann::json(nullptr) : nlohmann::json(out)},
                         {"training_jobs", records},
                         {"seconds", seconds}});
    return kExitSuccess;
  }
  std::vector<Row> rows;
  for (const nlohmann::json& record : records) {
    std::string values;
    for (const auto& [name, value] : record["hyperparameters"].items()) {
      values += (values.empty() ? "" : " ") + name + "=" + value.get<std::string>();
    }
    rows.push_back({record["name"], record["status"],
                    record["objective"].is_null() ? std::string("-")
                                                  : FormatNumber(record["objective"].get<double>()),
                    values});
  }
  context.PrintTable({"TRAINING JOB", "STATUS", config.objective_metric, "HYPERPARAMETERS"}, rows);
  char line[256];
  std::snprintf(line, sizeof(line), "%zu training jobs (%d completed, %d stopped, %d failed) in %.2f s",
                result->summaries.size(), result->completed, result->stopped, result->failed,
                seconds);
  context.PrintLine(line);
  if (!out.empty() && best.ok()) context.PrintLine("best model bundle in " + out);
  return kExitSuccess;
}

void AddTrainingFlags(CommandSpec& spec) {
  spec.flags.push_back(
      FlagSpec::Value("train", FlagType::kString, "FILE", "Training data (CSV with a header)")
          .Required());
  spec.flags.push_back(FlagSpec::Value("target", FlagType::kString, "COLUMN",
                                       "The label column")
                           .Required());
  spec.flags.push_back(FlagSpec::Value("features", FlagType::kString, "A,B,...",
                                       "Feature columns in order (default: all but the target)"));
  spec.flags.push_back(FlagSpec::Value("hyperparameter", FlagType::kString, "NAME=VALUE",
                                       "An XGBoost hyperparameter (max_depth=5, eta=0.3, "
                                       "eval_metric=mae,rmse, objective=..., seed=...)")
                           .Repeated());
  spec.flags.push_back(FlagSpec::Value("num-round", FlagType::kInt64, "N",
                                       "Boosting rounds (hyperparameter num_round; default 100)")
                           .Min(1)
                           .Max(1000000));
  spec.flags.push_back(FlagSpec::Value("early-stopping-rounds", FlagType::kInt64, "N",
                                       "Stop after N rounds without improvement on the "
                                       "validation set")
                           .Min(1)
                           .Max(1000000));
  spec.flags.push_back(FlagSpec::Bool(
      "standardize", "Fit a StandardScaler on the training features; it travels with the model"));
  spec.flags.push_back(FlagSpec::Value("threads", FlagType::kInt64, "N",
                                       "XGBoost threads per model (0: XGBoost's default)")
                           .Default("0")
                           .Min(0)
                           .Max(1024));
}

}  // namespace

Status RegisterMlCommands(CommandRegistry& registry) {
  CommandSpec train;
  train.path = "train";
  train.huge_pages = true;
  train.summary = "Train an XGBoost model on CSV data and write a model bundle";
  train.description =
      "Trains with XGBoost's C API, evaluating --validation each round (metric series named "
      "validation:<metric>), and writes a model bundle directory: xgboost-model.json, "
      "raypipe-model.json (features, target) and, with --standardize, preprocessing.json. "
      "With --workers W > 1 the rows are sharded over W worker actors joined by XGBoost's "
      "collective; a failed worker restarts the group from the last checkpoint. Training runs "
      "with malloc's transparent huge pages where the kernel offers them (10-16% faster at 1M "
      "rows); RAYPIPE_MALLOC_HUGE_PAGES=0 turns them off.";
  AddTrainingFlags(train);
  train.flags.push_back(FlagSpec::Value("validation", FlagType::kString, "FILE",
                                        "Validation data evaluated each round"));
  train.flags.push_back(FlagSpec::Value("out", FlagType::kString, "DIR",
                                        "The model bundle directory to write")
                            .Required());
  train.flags.push_back(FlagSpec::Value("workers", FlagType::kInt64, "W",
                                        "Distributed training workers")
                            .Default("1")
                            .Min(1)
                            .Max(256));
  train.flags.push_back(FlagSpec::Value("cpus-per-worker", FlagType::kDouble, "X",
                                        "CPUs each worker holds")
                            .Default("1")
                            .Min(0.01)
                            .Max(1024));
  train.examples = {
      "raypipe train --train train.csv --validation val.csv --target PRICE --standardize "
      "--hyperparameter max_depth=5 --hyperparameter eval_metric=mae,rmse --out model",
      "raypipe train --train train.csv --target PRICE --workers 4 --out model"};
  train.handler = RunTrain;
  RETURN_IF_ERROR(registry.Add(std::move(train)));

  CommandSpec tune;
  tune.path = "tune";
  tune.summary = "Tune XGBoost hyperparameters on CSV data (Bayesian, Random, Grid, Hyperband)";
  tune.description =
      "Runs a hyperparameter tuning job: --max-jobs training jobs, --max-parallel-jobs at a "
      "time on the executor (--executor local or ray), proposed by --strategy over the given ranges (or a "
      "SageMaker ParameterRanges JSON file with --ranges), and lists them best first by "
      "--objective. Ranges: --integer NAME=MIN:MAX[:SCALING], --continuous "
      "NAME=MIN:MAX[:SCALING] with SCALING Auto, Linear, Logarithmic or ReverseLogarithmic, "
      "--categorical NAME=A,B,C. --hyperparameter sets static hyperparameters. --out writes "
      "the best training job's model bundle.";
  AddTrainingFlags(tune);
  tune.flags.push_back(FlagSpec::Value("validation", FlagType::kString, "FILE",
                                       "Validation data (needed for validation:* objectives)"));
  tune.flags.push_back(FlagSpec::Value("integer", FlagType::kString, "NAME=MIN:MAX[:SCALING]",
                                       "An integer range")
                           .Repeated());
  tune.flags.push_back(FlagSpec::Value("continuous", FlagType::kString,
                                       "NAME=MIN:MAX[:SCALING]", "A continuous range")
                           .Repeated());
  tune.flags.push_back(FlagSpec::Value("categorical", FlagType::kString, "NAME=A,B,...",
                                       "A categorical range")
                           .Repeated());
  tune.flags.push_back(FlagSpec::Value("ranges", FlagType::kString, "FILE",
                                       "SageMaker ParameterRanges as JSON (instead of the "
                                       "range flags)"));
  tune.flags.push_back(FlagSpec::Value("config", FlagType::kString, "FILE",
                                       "SageMaker's HyperParameterTuningJobConfig as JSON (or a "
                                       "CreateHyperParameterTuningJob request holding one): "
                                       "replaces the strategy, objective, limit, early-stopping, "
                                       "seed, resource and range flags"));
  tune.flags.push_back(FlagSpec::Value("strategy", FlagType::kString, "NAME", "Search strategy")
                           .Default("Bayesian")
                           .OneOf({"Bayesian", "Random", "Grid", "Hyperband"}));
  tune.flags.push_back(FlagSpec::Value("objective", FlagType::kString, "METRIC",
                                       "The objective metric")
                           .Default("validation:rmse"));
  tune.flags.push_back(FlagSpec::Value("objective-type", FlagType::kString, "TYPE",
                                       "Minimize or Maximize the objective")
                           .Default("Minimize")
                           .OneOf({"Minimize", "Maximize"}));
  tune.flags.push_back(FlagSpec::Value("max-jobs", FlagType::kInt64, "N",
                                       "MaxNumberOfTrainingJobs")
                           .Default("10")
                           .Min(1)
                           .Max(10000));
  tune.flags.push_back(FlagSpec::Value("max-parallel-jobs", FlagType::kInt64, "N",
                                       "MaxParallelTrainingJobs")
                           .Default("1")
                           .Min(1)
                           .Max(1024));
  tune.flags.push_back(FlagSpec::Value("cpus-per-job", FlagType::kDouble, "X",
                                       "CPUs each training job holds")
                           .Default("1")
                           .Min(0.01)
                           .Max(1024));
  tune.flags.push_back(FlagSpec::Value("early-stopping", FlagType::kString, "TYPE",
                                       "TrainingJobEarlyStoppingType: Off, or Auto (median rule)")
                           .Default("Off")
                           .OneOf({"Off", "Auto"}));
  tune.flags.push_back(FlagSpec::Value("min-resource", FlagType::kInt64, "ROUNDS",
                                       "Hyperband: rounds at the first rung")
                           .Default("1")
                           .Min(1));
  tune.flags.push_back(FlagSpec::Value("max-resource", FlagType::kInt64, "ROUNDS",
                                       "Hyperband: rounds of a fully trained job")
                           .Default("100")
                           .Min(1));
  tune.flags.push_back(FlagSpec::Value("seed", FlagType::kUint64, "S", "RandomSeed")
                           .Default("0"));
  tune.flags.push_back(FlagSpec::Value("name", FlagType::kString, "NAME",
                                       "The tuning job's name (prefix of its training jobs)")
                           .Default("tuning-job"));
  tune.flags.push_back(FlagSpec::Value("out", FlagType::kString, "DIR",
                                       "Write the best training job's model bundle here"));
  tune.examples = {
      "raypipe tune --train train.csv --validation val.csv --target PRICE "
      "--integer max_depth=1:8 --continuous eta=0.2:1 --max-jobs 20 --max-parallel-jobs 4 "
      "--hyperparameter eval_metric=rmse --out best-model"};
  tune.handler = RunTune;
  return registry.Add(std::move(tune));
}

}  // namespace raypipe::cli
