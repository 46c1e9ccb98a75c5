#include "pipeline/steps/tuning_step.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "experiments/experiment_store.h"
#include "ml/model_bundle.h"
#include "ml/tuning/tuning_config.h"
#include "ml/tuning/tuning_job.h"
#include "pipeline/steps/step_arguments.h"
#include "pipeline/steps/training_step.h"

namespace raypipe::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;
namespace tuning = ml::tuning;

namespace {

constexpr std::string_view kConfigField = "HyperParameterTuningJobConfig";
constexpr std::string_view kDefinitionField = "TrainingJobDefinition";
constexpr std::string_view kWarmStartField = "WarmStartConfig";

bool HasExpression(const json& value) {
  if (value.is_object()) {
    if (value.contains("Get") || value.contains("Std:Join") || value.contains("Std:JsonGet")) {
      return true;
    }
    for (const auto& [key, item] : value.items()) {
      if (HasExpression(item)) return true;
    }
  } else if (value.is_array()) {
    for (const json& item : value) {
      if (HasExpression(item)) return true;
    }
  }
  return false;
}

// "A.B[2].C" -> the FieldPath; nullopt when the text is not such a path.
std::optional<FieldPath> PathFromText(std::string_view text) {
  FieldPath path;
  bool first = true;
  size_t position = 0;
  while (position < text.size()) {
    if (text[position] == '[') {
      const size_t close = text.find(']', position);
      if (close == std::string_view::npos || close == position + 1) return std::nullopt;
      size_t index = 0;
      for (size_t digit = position + 1; digit < close; ++digit) {
        if (!std::isdigit(static_cast<unsigned char>(text[digit]))) return std::nullopt;
        index = index * 10 + static_cast<size_t>(text[digit] - '0');
      }
      path = path.Index(index);
      position = close + 1;
      continue;
    }
    if (!first) {
      if (text[position] != '.') return std::nullopt;
      ++position;
    }
    size_t end = position;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                                 text[end] == '_')) {
      ++end;
    }
    if (end == position) return std::nullopt;
    const std::string_view key = text.substr(position, end - position);
    path = first ? FieldPath(key) : path.Key(key);
    first = false;
    position = end;
  }
  if (first) return std::nullopt;
  return path;
}

// Reports a parser's "<field path>: message" at that field.
void ReportParseError(const ArgumentsContext& context, const Status& status,
                      std::string_view fallback_field) {
  const std::string message(status.message());
  const size_t colon = message.find(": ");
  if (colon != std::string::npos) {
    if (std::optional<FieldPath> path = PathFromText(std::string_view(message).substr(0, colon))) {
      context.Error(*path, message.substr(colon + 2));
      return;
    }
  }
  context.Error(FieldPath(fallback_field), message);
}

void ValidateTuningArguments(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!arguments.is_object()) {
    context.Error(FieldPath(), "the arguments of a Tuning step must be an object");
    return;
  }
  for (const auto& [key, value] : arguments.items()) {
    if (key == kConfigField) {
      if (HasExpression(value)) continue;  // checked when it runs
      Result<tuning::TuningJobConfig> parsed =
          tuning::ParseHyperParameterTuningJobConfig(value, kConfigField);
      if (!parsed.ok()) ReportParseError(context, parsed.status(), kConfigField);
    } else if (key == kDefinitionField) {
      training::ValidateJobDefinition(context, value, FieldPath(kDefinitionField),
                                      /*with_hyperparameters=*/false);
    } else if (key == kWarmStartField) {
      if (HasExpression(value)) continue;
      Result<tuning::WarmStartConfig> parsed = tuning::ParseWarmStartConfig(value, kWarmStartField);
      if (!parsed.ok()) ReportParseError(context, parsed.status(), kWarmStartField);
    } else {
      context.Error(FieldPath(key), "unknown field (known: HyperParameterTuningJobConfig, "
                                    "TrainingJobDefinition, WarmStartConfig)");
    }
  }
  for (std::string_view required : {kConfigField, kDefinitionField}) {
    if (!arguments.contains(required)) {
      context.Error(FieldPath(required), "required in a Tuning step");
    }
  }
}

std::string ParameterText(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// The finished training jobs of the parent tuning jobs, from their experiments runs.
Result<std::vector<tuning::TrainingJobSummary>> LoadWarmStart(
    const experiments::ExperimentStore& store, const tuning::WarmStartConfig& warm_start,
    const std::string& objective_metric) {
  std::vector<tuning::TrainingJobSummary> summaries;
  ASSIGN_OR_RETURN(std::vector<experiments::Experiment> all, store.ListExperiments());
  for (size_t index = 0; index < warm_start.parent_jobs.size(); ++index) {
    const std::string& parent = warm_start.parent_jobs[index];
    bool found = false;
    for (const experiments::Experiment& experiment : all) {
      ASSIGN_OR_RETURN(std::vector<experiments::RunRecord> runs, store.ListRuns(experiment.name));
      for (const experiments::RunRecord& run : runs) {
        if (run.source.kind != "tuning" || run.source.execution_id != parent) continue;
        found = true;
        if (run.status != experiments::RunStatus::kCompleted &&
            run.status != experiments::RunStatus::kStopped) {
          continue;
        }
        ASSIGN_OR_RETURN(std::vector<experiments::MetricSummary> metrics,
                         store.MetricSummaries(run.run_id));
        for (const experiments::MetricSummary& metric : metrics) {
          if (metric.name != "final:" + objective_metric || !std::isfinite(metric.last)) continue;
          tuning::TrainingJobSummary summary;
          summary.name = run.name;
          summary.objective_value = metric.last;
          for (const auto& [name, value] : run.parameters.items()) {
            summary.hyperparameters[name] = ParameterText(value);
          }
          summaries.push_back(std::move(summary));
        }
      }
    }
    if (!found) {
      return InvalidArgumentError("Arguments.WarmStartConfig.ParentHyperParameterTuningJobs[" +
                                  std::to_string(index) + "]: no tuning job named '" + parent +
                                  "' has runs in the experiments");
    }
  }
  return summaries;
}

json ObjectiveJson(const std::string& metric, double value) {
  return {{"MetricName", metric}, {"Value", value}};
}

json SummaryJson(const tuning::TrainingJobSummary& summary, const std::string& metric) {
  json out = {{"TrainingJobName", summary.name},
              {"TrainingJobStatus", std::string(tuning::TrainingJobStatusName(summary.status))},
              {"TunedHyperParameters", summary.hyperparameters}};
  if (summary.objective_value.has_value()) {
    out["FinalHyperParameterTuningJobObjectiveMetric"] =
        ObjectiveJson(metric, *summary.objective_value);
  }
  if (!summary.failure_reason.empty()) out["FailureReason"] = summary.failure_reason;
  return out;
}

experiments::RunStatus RunStatusOf(tuning::TrainingJobStatus status) {
  switch (status) {
    case tuning::TrainingJobStatus::kCompleted: return experiments::RunStatus::kCompleted;
    case tuning::TrainingJobStatus::kStopped: return experiments::RunStatus::kStopped;
    case tuning::TrainingJobStatus::kFailed: return experiments::RunStatus::kFailed;
  }
  return experiments::RunStatus::kFailed;
}

}  // namespace

Result<std::vector<InputDeclaration>> TuningStepRunner::DeclareInputs(
    const json& arguments, const std::string& pipeline_dir) const {
  ASSIGN_OR_RETURN(std::vector<InputDeclaration> inputs,
                   StepRunner::DeclareInputs(arguments, pipeline_dir));
  if (arguments.is_object()) {
    if (auto definition = arguments.find(kDefinitionField); definition != arguments.end()) {
      training::DeclarePathInputs(*definition, std::string(kDefinitionField) + ".", &inputs);
    }
  }
  return inputs;
}

std::optional<StepTypeSpec> TuningStepRunner::TypeSpec() const {
  StepTypeSpec spec;
  spec.type = "Tuning";
  spec.validate_arguments = ValidateTuningArguments;
  const std::string objective = "FinalHyperParameterTuningJobObjectiveMetric";
  spec.property_type = PropertyTable({
      {"Outputs.*", ValueType::kString},
      {"Metrics.*", ValueType::kFloat},
      {"HyperParameterTuningJobName", ValueType::kString},
      {"BestTrainingJob.TrainingJobName", ValueType::kString},
      {"BestTrainingJob.TunedHyperParameters.*", ValueType::kString},
      {"BestTrainingJob." + objective + ".MetricName", ValueType::kString},
      {"BestTrainingJob." + objective + ".Value", ValueType::kFloat},
      {"BestTrainingJob.ModelArtifacts.S3ModelArtifacts", ValueType::kString},
      {"BestTrainingJob.TrainingRunId", ValueType::kString},
      {"TrainingJobSummaries", ValueType::kList},
      {"TrainingJobSummaries[*].TrainingJobName", ValueType::kString},
      {"TrainingJobSummaries[*].TrainingJobStatus", ValueType::kString},
      {"TrainingJobSummaries[*].TunedHyperParameters.*", ValueType::kString},
      {"TrainingJobSummaries[*]." + objective + ".MetricName", ValueType::kString},
      {"TrainingJobSummaries[*]." + objective + ".Value", ValueType::kFloat},
      {"TrainingJobSummaries[*].FailureReason", ValueType::kString},
      {"TrainingJobStatusCounters.*", ValueType::kInteger},
  });
  return spec;
}

Result<StepOutcome> TuningStepRunner::Run(StepContext& context) {
  StepArguments args(context.arguments);
  RETURN_IF_ERROR(args.RejectUnknown({kConfigField, kDefinitionField, kWarmStartField}));
  if (!args.Has(kConfigField)) return args.Error(kConfigField, "required");
  ASSIGN_OR_RETURN(tuning::TuningJobConfig config,
                   tuning::ParseHyperParameterTuningJobConfig(args.Raw(kConfigField),
                                                              args.FieldName(kConfigField)));
  ASSIGN_OR_RETURN(StepArguments definition_args, args.Object(kDefinitionField));
  ASSIGN_OR_RETURN(training::JobDefinition definition,
                   training::ReadJobDefinition(definition_args, context,
                                               /*with_hyperparameters=*/false));
  config.name = training::JobName(context.step_name, context.execution_id);
  config.cpus_per_job = definition.cpus_per_worker * definition.num_workers;
  if (definition.num_workers > 1) {
    context.Log("each training job trains on one worker with " +
                std::to_string(config.cpus_per_job) +
                " CPUs (NumWorkers x CpusPerWorker): a tuning trial cannot run distributed");
  }
  if (context.metadata == nullptr) return FailedPreconditionError("Tuning: no metadata store");
  ASSIGN_OR_RETURN(auto experiments, experiments::ExperimentStore::Open(context.metadata));
  if (args.Has(kWarmStartField)) {
    ASSIGN_OR_RETURN(tuning::WarmStartConfig warm_start,
                     tuning::ParseWarmStartConfig(args.Raw(kWarmStartField),
                                                  args.FieldName(kWarmStartField)));
    ASSIGN_OR_RETURN(config.warm_start,
                     LoadWarmStart(*experiments, warm_start, config.objective_metric));
    context.Log("warm start from " + std::to_string(config.warm_start.size()) +
                " earlier training jobs");
  }

  ASSIGN_OR_RETURN(training::JobData data,
                   training::LoadJobData(definition, context, std::string(kDefinitionField) + "."));
  const bool on_validation = config.objective_metric.rfind("validation:", 0) == 0;
  if (on_validation && !data.validation.has_value()) {
    return InvalidArgumentError("Arguments.TrainingJobDefinition.Channels.validation: required "
                                "for the objective '" + config.objective_metric + "'");
  }
  std::vector<std::pair<std::string, data::Table>> evals = {{"train", data.train}};
  if (data.validation.has_value()) evals.emplace_back("validation", *data.validation);
  ml::TrainOptions base;
  base.target = definition.target;
  base.features = data.features;
  base.hyperparameters = definition.hyperparameters;
  tuning::XGBoostTrial trial =
      tuning::MakeXGBoostTrial(data.train, std::move(evals), base, config.objective_metric);

  // Trials also end when the execution is stopped: those not started at once, running ones
  // within a few boosting rounds.
  tuning::TuningJobHooks hooks;
  hooks.stop = [&context] { return context.StopRequested(); };
  StepLog* log = context.log;
  const std::string metric = config.objective_metric;
  // Every training job is a run from its launch to its end, stopped or not. A run whose job
  // never ends (the tuning job failed around it) is marked Failed as its recorder goes.
  std::map<std::string, std::unique_ptr<experiments::RunRecorder>> runs;  // by job name
  Status runs_status;  // the first failure to record a run
  hooks.on_job_started = [&](const tuning::TrainingJobSummary& summary) {
    if (!runs_status.ok()) return;
    experiments::CreateRunRequest request;
    request.experiment = definition.experiment;
    request.name = summary.name;
    request.source = {"tuning", config.name, context.step_name};
    ml::Hyperparameters parameters = definition.hyperparameters;
    for (const auto& [name, value] : summary.hyperparameters) parameters[name] = value;
    for (const auto& [name, value] : parameters) request.parameters[name] = value;
    Result<std::unique_ptr<experiments::RunRecorder>> run =
        experiments::RunRecorder::Start(experiments.get(), request);
    if (!run.ok()) {
      runs_status = run.status();
      return;
    }
    runs[summary.name] = std::move(run).value();
  };
  auto finish_run = [&](const tuning::TrainingJobSummary& summary) {
    auto run = runs.find(summary.name);
    if (run == runs.end()) return;
    Status finished = training::FinishRun(*run->second, summary.model.get(),
                                          RunStatusOf(summary.status), summary.failure_reason);
    if (runs_status.ok()) runs_status = finished;
  };
  hooks.on_job_done = [log, metric, &finish_run](const tuning::TrainingJobSummary& summary) {
    finish_run(summary);
    if (log == nullptr) return;
    std::string line = "training job";
    for (const auto& [name, value] : summary.hyperparameters) line += " " + name + "=" + value;
    if (summary.objective_value.has_value()) {
      char text[120];
      std::snprintf(text, sizeof(text), ": %s=%.6g (%s)", metric.c_str(), *summary.objective_value,
                    std::string(tuning::TrainingJobStatusName(summary.status)).c_str());
      line += text;
    } else {
      line += ": " + summary.failure_reason;
    }
    log->Line(line);
  };

  context.Log("tuning job " + config.name + ": " +
              std::string(tuning::StrategyTypeName(config.strategy)) + ", " +
              std::to_string(config.max_jobs) + " training jobs, " +
              std::to_string(config.max_parallel_jobs) + " in parallel, objective " +
              config.objective_metric);
  Result<tuning::TuningJobResult> result =
      tuning::RunTuningJob(*context.executor, config, trial, hooks);

  RETURN_IF_ERROR(runs_status);
  if (context.StopRequested()) return CancelledError("tuning job " + config.name + " stopped");
  if (!result.ok()) return result.status();
  ASSIGN_OR_RETURN(const tuning::TrainingJobSummary* best, result->BestTrainingJob());
  if (best->model == nullptr) {
    return InternalError("tuning job " + config.name + ": the best training job has no model");
  }

  const std::string model_dir = (fs::path(context.staging_dir) / "model").string();
  RETURN_IF_ERROR(ml::WriteModelBundle(
      model_dir, *best->model->booster, best->model->features, definition.target,
      data.preprocessing.has_value() ? &*data.preprocessing : nullptr));
  ASSIGN_OR_RETURN(std::string model_uri, training::ArtifactUriOf(context, model_dir));

  json summaries = json::array();
  for (const tuning::TrainingJobSummary& summary : result->summaries) {
    summaries.push_back(SummaryJson(summary, config.objective_metric));
  }
  json best_json = SummaryJson(*best, config.objective_metric);
  best_json.erase("TrainingJobStatus");
  best_json["ModelArtifacts"] = {{"S3ModelArtifacts", model_uri}};
  if (auto run = runs.find(best->name); run != runs.end()) {
    best_json["TrainingRunId"] = run->second->run_id();
  }

  char line[200];
  std::snprintf(line, sizeof(line), "best training job %s: %s=%.6g (%d completed, %d stopped, %d failed)",
                best->name.c_str(), config.objective_metric.c_str(), *best->objective_value,
                result->completed, result->stopped, result->failed);
  context.Log(line);

  StepOutcome outcome;
  outcome.properties["HyperParameterTuningJobName"] = config.name;
  outcome.properties["BestTrainingJob"] = std::move(best_json);
  outcome.properties["TrainingJobSummaries"] = std::move(summaries);
  outcome.properties["TrainingJobStatusCounters"] = {{"Completed", result->completed},
                                                      {"Stopped", result->stopped},
                                                      {"Failed", result->failed}};
  outcome.metrics[config.objective_metric] = *best->objective_value;
  return outcome;
}

}  // namespace raypipe::pipeline
