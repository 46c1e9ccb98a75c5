#include "pipeline/steps/training_step.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/json.h"
#include "data/csv.h"
#include "experiments/run_recorder.h"
#include "ml/distributed.h"
#include "ml/model_bundle.h"
#include "pipeline/steps/step_inputs.h"
#include "store/artifact_store.h"

namespace raypipe::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace training {
namespace {

constexpr std::string_view kTrainingFields[] = {
    "Channels",   "Preprocessing", "TargetColumn",  "HyperParameters", "StaticHyperParameters",
    "NumWorkers", "CpusPerWorker", "ExperimentName"};

std::string Describe(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// Hyperparameter values arrive as JSON scalars; XGBoost takes text.
Result<std::string> HyperparameterText(const StepArguments& object, const std::string& name,
                                       const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.17g", value.get<double>());
    // The shortest text that reads back as the same double.
    for (int digits = 1; digits <= 17; ++digits) {
      char shorter[32];
      std::snprintf(shorter, sizeof(shorter), "%.*g", digits, value.get<double>());
      if (std::strtod(shorter, nullptr) == value.get<double>()) return std::string(shorter);
    }
    return std::string(buffer);
  }
  if (value.is_boolean()) return std::string(value.get<bool>() ? "true" : "false");
  return object.Error(name, "expected a String or a number, found " + Describe(value));
}

Status ReadHyperparameters(const StepArguments& args, std::string_view field,
                           ml::Hyperparameters* out) {
  ASSIGN_OR_RETURN(StepArguments object, args.Object(field, /*required=*/false));
  for (const auto& [name, value] : object.arguments().items()) {
    if (value.is_null()) continue;
    ASSIGN_OR_RETURN((*out)[name], HyperparameterText(object, name, value));
  }
  return Status::Ok();
}

Result<data::Table> ReadChannel(const StepContext& context, const std::string& field,
                                const std::string& value) {
  ASSIGN_OR_RETURN(std::string path, ResolveInputPath(context, field, value));
  return ReadTableInput(path, "Arguments." + field);  // columnar: mapped, not copied
}

Result<data::StandardScaler> ReadScaler(const StepContext& context, const std::string& field,
                                        const std::string& value) {
  ASSIGN_OR_RETURN(std::string path, ResolveInputPath(context, field, value));
  std::error_code error;
  if (fs::is_directory(path, error)) path = (fs::path(path) / ml::kPreprocessingFileName).string();
  Result<json> text = core::ReadJsonFile(path);
  if (!text.ok()) return text.status().WithContext("Arguments." + field);
  Result<data::StandardScaler> scaler = data::StandardScaler::FromJson(*text);
  if (!scaler.ok()) return scaler.status().WithContext("Arguments." + field + " (" + path + ")");
  return scaler;
}

Status LogTrainResult(experiments::RunRecorder& recorder, const ml::TrainResult& result) {
  for (const ml::MetricSeries& series : result.history) {
    for (size_t round = 0; round < series.values.size(); ++round) {
      RETURN_IF_ERROR(recorder.LogMetric(series.name, static_cast<int64_t>(round),
                                         series.values[round]));
    }
  }
  const int64_t final_round =
      result.best_iteration >= 0 ? result.best_iteration : std::max(0, result.rounds - 1);
  for (const auto& [name, value] : result.final_metrics) {
    RETURN_IF_ERROR(recorder.LogMetric("final:" + name, final_round, value));
  }
  return Status::Ok();
}

bool IsExpressionObject(const json& value) {
  return value.is_object() && value.size() == 1 &&
         (value.contains("Get") || value.contains("Std:Join") || value.contains("Std:JsonGet"));
}

enum class Want { kString, kInteger, kNumber };

// A scalar field: the literal's type (or the expression's static type) must fit; literal
// numbers (or strings holding one) are checked against `min`.
void CheckScalar(const ArgumentsContext& context, const json& value, const FieldPath& field,
                 Want want, double min = -HUGE_VAL) {
  const ValueType type = context.TypeOf(value);
  if (type == ValueType::kUnknown) return;
  const char* wanted = want == Want::kString    ? "a String"
                       : want == Want::kInteger ? "an Integer"
                                                : "a number";
  if (type != ValueType::kString && !IsNumber(type)) {
    context.Error(field, std::string("expected ") + wanted + ", found " + Describe(value));
    return;
  }
  if (want == Want::kString || !(value.is_number() || value.is_string())) return;
  std::optional<double> number;
  if (value.is_number()) number = value.get<double>();
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    char* end = nullptr;
    const double parsed = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) number = parsed;
  }
  if (!number.has_value() || (want == Want::kInteger && *number != std::floor(*number))) {
    context.Error(field, std::string("expected ") + wanted + ", found " + Describe(value));
  } else if (*number < min) {
    context.Error(field, "must be at least " + json(min).dump() + ", found " + Describe(value));
  }
}

void CheckHyperparameterObject(const ArgumentsContext& context, const json& value,
                               const FieldPath& field) {
  if (IsExpressionObject(value)) return;
  if (!value.is_object()) {
    context.Error(field, "expected an object of name: value, found " + Describe(value));
    return;
  }
  for (const auto& [name, item] : value.items()) {
    const ValueType type = context.TypeOf(item);
    if (type == ValueType::kList || type == ValueType::kObject || type == ValueType::kNull) {
      context.Error(field.Key(name), "a hyperparameter must be a String or a number, found " +
                                         Describe(item));
    }
  }
}

}  // namespace

std::string JobName(std::string_view step_name, std::string_view execution_id) {
  std::string name;
  for (char c : std::string(step_name) + "-" + std::string(execution_id)) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (keep) {
      name += c;
    } else if (!name.empty() && name.back() != '-') {
      name += '-';
    }
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name.empty() ? std::string("training-job") : name;
}

json FinalMetricDataList(const ml::RoundMetrics& metrics) {
  json list = json::array();
  for (const auto& [name, value] : metrics) list.push_back({{"MetricName", name}, {"Value", value}});
  return list;
}

Result<JobDefinition> ReadJobDefinition(const StepArguments& args, const StepContext& context,
                                        bool with_hyperparameters) {
  std::vector<std::string_view> known;
  for (std::string_view field : kTrainingFields) {
    if (field != "HyperParameters" || with_hyperparameters) known.push_back(field);
  }
  RETURN_IF_ERROR(args.RejectUnknown(known));
  JobDefinition definition;
  ASSIGN_OR_RETURN(StepArguments channels, args.Object("Channels"));
  RETURN_IF_ERROR(channels.RejectUnknown({"train", "validation"}));
  ASSIGN_OR_RETURN(definition.train, channels.String("train"));
  ASSIGN_OR_RETURN(definition.validation, channels.String("validation", ""));
  ASSIGN_OR_RETURN(definition.preprocessing, args.String("Preprocessing", ""));
  ASSIGN_OR_RETURN(definition.target, args.String("TargetColumn"));
  if (definition.target.empty()) return args.Error("TargetColumn", "empty");
  RETURN_IF_ERROR(ReadHyperparameters(args, "StaticHyperParameters", &definition.hyperparameters));
  if (with_hyperparameters) {
    RETURN_IF_ERROR(ReadHyperparameters(args, "HyperParameters", &definition.hyperparameters));
  }
  ASSIGN_OR_RETURN(int64_t workers, args.Integer("NumWorkers", 1));
  if (workers < 1 || workers > 1024) {
    return args.Error("NumWorkers", "must be between 1 and 1024, found " + std::to_string(workers));
  }
  definition.num_workers = static_cast<int>(workers);
  ASSIGN_OR_RETURN(definition.cpus_per_worker, args.Float("CpusPerWorker", 1.0));
  if (!(definition.cpus_per_worker > 0) || definition.cpus_per_worker > 1024) {
    return args.Error("CpusPerWorker", "must be above 0 and at most 1024, found " +
                                           args.Raw("CpusPerWorker").dump());
  }
  const bool named = args.Has("ExperimentName");
  ASSIGN_OR_RETURN(definition.experiment, args.String("ExperimentName", context.pipeline_name));
  if (Status valid = experiments::ExperimentStore::ValidateExperimentName(definition.experiment);
      !valid.ok()) {
    return args.Error("ExperimentName",
                      std::string(valid.message()) +
                          (named ? "" : " (the pipeline name is the default; set ExperimentName)"));
  }
  return definition;
}

Result<JobData> LoadJobData(const JobDefinition& definition, const StepContext& context,
                            std::string_view prefix) {
  const std::string at(prefix);
  JobData data;
  ASSIGN_OR_RETURN(data.train, ReadChannel(context, at + "Channels.train", definition.train));
  if (data.train.num_rows() == 0) {
    return InvalidArgumentError("Arguments." + at + "Channels.train: the table has no rows");
  }
  if (!definition.validation.empty()) {
    ASSIGN_OR_RETURN(data.validation,
                     ReadChannel(context, at + "Channels.validation", definition.validation));
  }
  if (!definition.preprocessing.empty()) {
    ASSIGN_OR_RETURN(data.preprocessing,
                     ReadScaler(context, at + "Preprocessing", definition.preprocessing));
  }
  ml::TrainOptions options;
  options.target = definition.target;
  Result<std::vector<std::string>> features = ml::ResolveFeatures(data.train, options);
  if (!features.ok()) return features.status().WithContext("Arguments." + at + "TargetColumn");
  data.features = std::move(*features);
  return data;
}

void DeclarePathInputs(const json& object, std::string_view prefix,
                       std::vector<InputDeclaration>* inputs) {
  if (!object.is_object()) return;
  auto declare = [&](const std::string& name, const json& value) {
    if (!value.is_string() || value.get<std::string>().empty()) return;
    if (IsArtifactUri(value.get<std::string>())) return;
    for (const InputDeclaration& input : *inputs) {
      if (input.name == name) return;
    }
    inputs->push_back({name, value.get<std::string>(), InputDeclaration::Kind::kArtifact});
  };
  const std::string at(prefix);
  if (auto channels = object.find("Channels"); channels != object.end() && channels->is_object()) {
    for (const char* channel : {"train", "validation"}) {
      if (auto value = channels->find(channel); value != channels->end()) {
        declare(at + "Channels." + channel, *value);
      }
    }
  }
  if (auto value = object.find("Preprocessing"); value != object.end()) {
    declare(at + "Preprocessing", *value);
  }
}

void ValidateJobDefinition(const ArgumentsContext& context, const json& object,
                           const FieldPath& at, bool with_hyperparameters) {
  if (IsExpressionObject(object)) return;
  if (!object.is_object()) {
    context.Error(at, "expected an object, found " + Describe(object));
    return;
  }
  std::string known;
  for (std::string_view field : kTrainingFields) {
    if (field == "HyperParameters" && !with_hyperparameters) continue;
    known += (known.empty() ? "" : ", ") + std::string(field);
  }
  for (const auto& [key, value] : object.items()) {
    const FieldPath field = at.Key(key);
    if (key == "Channels") {
      if (IsExpressionObject(value)) continue;
      if (!value.is_object()) {
        context.Error(field, "expected {train: ..., validation: ...}, found " + Describe(value));
        continue;
      }
      for (const auto& [channel, source] : value.items()) {
        if (channel != "train" && channel != "validation") {
          context.Error(field.Key(channel), "unknown channel (known: train, validation)");
        } else {
          CheckScalar(context, source, field.Key(channel), Want::kString);
        }
      }
      if (!value.contains("train")) {
        context.Error(field.Key("train"), "required, the training data (a CSV file or artifact)");
      }
    } else if (key == "Preprocessing" || key == "TargetColumn" || key == "ExperimentName") {
      CheckScalar(context, value, field, Want::kString);
      if (key == "ExperimentName" && value.is_string()) {
        Status valid =
            experiments::ExperimentStore::ValidateExperimentName(value.get<std::string>());
        if (!valid.ok()) context.Error(field, std::string(valid.message()));
      }
    } else if (key == "StaticHyperParameters" || (key == "HyperParameters" && with_hyperparameters)) {
      CheckHyperparameterObject(context, value, field);
    } else if (key == "NumWorkers") {
      CheckScalar(context, value, field, Want::kInteger, 1);
    } else if (key == "CpusPerWorker") {
      CheckScalar(context, value, field, Want::kNumber, 0.01);
    } else {
      context.Error(field, "unknown field (known: " + known + ")");
    }
  }
  if (!object.contains("Channels")) {
    context.Error(at.Key("Channels"), "required, {train: ..., validation: ...}");
  }
  if (!object.contains("TargetColumn")) {
    context.Error(at.Key("TargetColumn"), "required, the label column");
  }
}

Status FinishRun(experiments::RunRecorder& run, const ml::TrainResult* result,
                 experiments::RunStatus status, std::string_view failure_reason) {
  if (result != nullptr) RETURN_IF_ERROR(LogTrainResult(run, *result));
  return run.Finish(status, failure_reason);
}

Result<std::string> ArtifactUriOf(const StepContext& context, const std::string& path) {
  if (context.artifacts == nullptr) return std::string();
  ASSIGN_OR_RETURN(store::ArtifactRef ref, context.artifacts->PutFile(path));
  return "artifact://" + ref.digest;
}

}  // namespace training

Result<std::vector<InputDeclaration>> TrainingStepRunner::DeclareInputs(
    const json& arguments, const std::string& pipeline_dir) const {
  ASSIGN_OR_RETURN(std::vector<InputDeclaration> inputs,
                   StepRunner::DeclareInputs(arguments, pipeline_dir));
  training::DeclarePathInputs(arguments, "", &inputs);
  return inputs;
}

std::optional<StepTypeSpec> TrainingStepRunner::TypeSpec() const {
  StepTypeSpec spec;
  spec.type = "Training";
  spec.validate_arguments = [](const ArgumentsContext& context) {
    training::ValidateJobDefinition(context, context.arguments, FieldPath(),
                                    /*with_hyperparameters=*/true);
  };
  spec.property_type = PropertyTable({{"Outputs.*", ValueType::kString},
                                      {"Metrics.*", ValueType::kFloat},
                                      {"TrainingJobName", ValueType::kString},
                                      {"TrainingRunId", ValueType::kString},
                                      {"ModelArtifacts.S3ModelArtifacts", ValueType::kString},
                                      {"FinalMetricDataList", ValueType::kList},
                                      {"FinalMetricDataList[*].MetricName", ValueType::kString},
                                      {"FinalMetricDataList[*].Value", ValueType::kFloat}});
  spec.string_fields = {"Channels.*", "Preprocessing", "TargetColumn", "ExperimentName"};
  return spec;
}

Result<StepOutcome> TrainingStepRunner::Run(StepContext& context) {
  StepArguments args(context.arguments);
  ASSIGN_OR_RETURN(training::JobDefinition definition,
                   training::ReadJobDefinition(args, context, /*with_hyperparameters=*/true));
  ASSIGN_OR_RETURN(training::JobData data, training::LoadJobData(definition, context, ""));
  if (definition.num_workers > 1 &&
      static_cast<size_t>(definition.num_workers) > data.train.num_rows()) {
    return args.Error("NumWorkers", "more workers (" + std::to_string(definition.num_workers) +
                                        ") than training rows (" +
                                        std::to_string(data.train.num_rows()) + ")");
  }
  if (context.metadata == nullptr) return FailedPreconditionError("Training: no metadata store");
  ASSIGN_OR_RETURN(auto experiments, experiments::ExperimentStore::Open(context.metadata));

  const std::string job_name = training::JobName(context.step_name, context.execution_id);
  context.Log("training job " + job_name + ": " + std::to_string(data.train.num_rows()) +
              " rows, " + std::to_string(data.features.size()) + " features" +
              (data.validation ? ", validation " + std::to_string(data.validation->num_rows()) +
                                     " rows"
                               : std::string()) +
              ", " + std::to_string(definition.num_workers) + " worker(s)");

  experiments::CreateRunRequest request;
  request.experiment = definition.experiment;
  request.name = job_name;
  request.source = {"pipeline", context.execution_id, context.step_name};
  for (const auto& [name, value] : definition.hyperparameters) request.parameters[name] = value;
  request.parameters["NumWorkers"] = definition.num_workers;
  request.parameters["CpusPerWorker"] = definition.cpus_per_worker;
  ASSIGN_OR_RETURN(std::unique_ptr<experiments::RunRecorder> recorder,
                   experiments::RunRecorder::Start(experiments.get(), request));

  ml::TrainOptions options;
  options.target = definition.target;
  options.features = data.features;
  options.hyperparameters = definition.hyperparameters;
  std::vector<ml::EvalSet> evals = {{"train", &data.train}};
  if (data.validation.has_value()) evals.push_back({"validation", &*data.validation});

  const auto start = std::chrono::steady_clock::now();
  Result<ml::TrainResult> trained = InternalError("not run");
  if (context.StopRequested()) {
    trained = CancelledError("stopped before training started");
  } else if (definition.num_workers > 1) {
    ml::DistributedOptions distributed;
    distributed.num_workers = definition.num_workers;
    distributed.cpus_per_worker = definition.cpus_per_worker;
    trained = ml::TrainDistributed(*context.executor, data.train, evals, options, distributed);
    if (trained.ok() && context.StopRequested()) trained = CancelledError("stopped");
  } else {
    options.nthread = std::max(1, static_cast<int>(std::floor(definition.cpus_per_worker)));
    options.cancelled = [&context] { return context.StopRequested(); };
    options.on_round = [&context](int round, const ml::RoundMetrics& metrics) {
      if ((round + 1) % 10 == 0) {
        std::string line = "round " + std::to_string(round + 1);
        for (const auto& [name, value] : metrics) {
          char text[64];
          std::snprintf(text, sizeof(text), " %s=%.6g", name.c_str(), value);
          line += text;
        }
        context.Log(line);
      }
      return true;
    };
    trained = ml::Train(data.train, evals, options);
  }
  if (!trained.ok()) {
    const bool stopped = trained.status().code() == StatusCode::kCancelled;
    Status finished = recorder->Finish(
        stopped ? experiments::RunStatus::kStopped : experiments::RunStatus::kFailed,
        trained.status().message());
    (void)finished;  // the training error is the one to report
    return trained.status().WithContext("training job " + job_name);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  RETURN_IF_ERROR(training::LogTrainResult(*recorder, *trained));
  const std::string model_dir = (fs::path(context.staging_dir) / "model").string();
  RETURN_IF_ERROR(ml::WriteModelBundle(
      model_dir, *trained->booster, trained->features, definition.target,
      data.preprocessing.has_value() ? &*data.preprocessing : nullptr));
  ASSIGN_OR_RETURN(std::string model_uri, training::ArtifactUriOf(context, model_dir));
  RETURN_IF_ERROR(recorder->Finish(experiments::RunStatus::kCompleted));

  char line[160];
  std::snprintf(line, sizeof(line), "trained %d rounds%s in %.2f s", trained->rounds,
                trained->stopped_early ? " (stopped early)" : "", seconds);
  std::string summary = line;
  for (const auto& [name, value] : trained->final_metrics) {
    std::snprintf(line, sizeof(line), " %s=%.6g", name.c_str(), value);
    summary += line;
  }
  context.Log(summary);

  StepOutcome outcome;
  outcome.properties["TrainingJobName"] = job_name;
  outcome.properties["ModelArtifacts"] = {{"S3ModelArtifacts", model_uri}};
  outcome.properties["FinalMetricDataList"] = training::FinalMetricDataList(trained->final_metrics);
  outcome.properties["TrainingRunId"] = recorder->run_id();
  outcome.metrics = trained->final_metrics;
  return outcome;
}

}  // namespace raypipe::pipeline
