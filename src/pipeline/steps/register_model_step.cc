#include "pipeline/steps/register_model_step.h"

#include <algorithm>
#include <filesystem>
#include <iterator>

#include "core/json.h"
#include "ml/model_bundle.h"
#include "pipeline/engine/execution_store.h"
#include "pipeline/steps/step_arguments.h"
#include "registry/model_registry.h"
#include "store/artifact_store.h"

namespace raypipe::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kFields[] = {"ModelPackageGroupName", "Model",
                                        "ModelApprovalStatus",   "ApprovalDescription",
                                        "ModelMetrics",          "Description",
                                        "CustomerMetadataProperties"};
constexpr std::string_view kArtifactScheme = "artifact://";
constexpr std::string_view kEvaluationFileName = "evaluation.json";

std::string Describe(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

bool IsExpressionObject(const json& value) {
  return value.is_object() && value.size() == 1 &&
         (value.contains("Get") || value.contains("Std:Join") || value.contains("Std:JsonGet"));
}

void CheckString(const ArgumentsContext& context, const json& value, const FieldPath& field) {
  const ValueType type = context.TypeOf(value);
  if (type != ValueType::kUnknown && type != ValueType::kString && !IsNumber(type)) {
    context.Error(field, "expected a String, found " + Describe(value));
  }
}

void ValidateRegisterModelArguments(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!arguments.is_object()) {
    context.Error(FieldPath(), "the arguments of a RegisterModel step must be an object");
    return;
  }
  std::string known;
  for (std::string_view field : kFields) known += (known.empty() ? "" : ", ") + std::string(field);
  for (const auto& [key, value] : arguments.items()) {
    const FieldPath field(key);
    if (key == "CustomerMetadataProperties") {
      if (IsExpressionObject(value)) continue;
      if (!value.is_object()) {
        context.Error(field, "expected an object of key: \"value\", found " + Describe(value));
        continue;
      }
      for (const auto& [name, item] : value.items()) CheckString(context, item, field.Key(name));
      continue;
    }
    bool is_known = false;
    for (std::string_view name : kFields) is_known = is_known || key == name;
    if (!is_known) {
      context.Error(field, "unknown field (known: " + known + ")");
      continue;
    }
    CheckString(context, value, field);
    if (!value.is_string()) continue;
    const std::string text = value.get<std::string>();
    if (key == "ModelPackageGroupName") {
      if (Status valid = registry::ModelRegistry::ValidateGroupName(text); !valid.ok()) {
        context.Error(field, std::string(valid.message()));
      }
    } else if (key == "ModelApprovalStatus") {
      if (Result<registry::ApprovalStatus> status = registry::ParseApprovalStatus(text);
          !status.ok()) {
        context.Error(field, std::string(status.status().message()));
      }
    }
  }
  for (std::string_view required : {"ModelPackageGroupName", "Model"}) {
    if (!arguments.contains(required)) context.Error(FieldPath(required), "required");
  }
}

struct ResolvedModel {
  std::string path;    // read-only bundle directory
  std::string digest;  // "sha256:<hex>"
};

// The input's path and digest: the engine's resolved input, an artifact already stored, or a
// path relative to the pipeline (copied into the ArtifactStore when `store_path`).
Result<ResolvedModel> Resolve(const StepContext& context, const StepArguments& args,
                              std::string_view field, const std::string& value, bool store_path) {
  if (auto resolved = context.inputs.find(std::string(field)); resolved != context.inputs.end()) {
    return ResolvedModel{resolved->second.path, resolved->second.digest};
  }
  if (IsArtifactUri(value)) {
    if (context.artifacts == nullptr) return args.Error(field, "no artifact store to read " + value);
    const std::string digest = value.substr(kArtifactScheme.size());
    Result<std::string> path = context.artifacts->PathOf(digest);
    if (!path.ok()) return args.Error(field, path.status().message());
    return ResolvedModel{*path, digest};
  }
  fs::path path(value);
  if (path.is_relative() && !context.pipeline_dir.empty()) path = fs::path(context.pipeline_dir) / path;
  std::error_code error;
  if (!fs::exists(path, error)) return args.Error(field, "no such file or directory: " + path.string());
  ResolvedModel out{path.string(), ""};
  if (store_path) {
    if (context.artifacts == nullptr) return args.Error(field, "no artifact store to copy it into");
    Result<store::ArtifactRef> ref = context.artifacts->PutFile(out.path);
    if (!ref.ok()) return args.Error(field, ref.status().message());
    out.digest = ref->digest;
  }
  return out;
}

// Where the model came from, as the execution's own records tell: the step that output the
// artifact `model_digest` (a Training or Tuning step), that step's inputs (its data channels and
// preprocessing) and the experiments run of its training job (Training's TrainingRunId,
// Tuning's BestTrainingJob.TrainingRunId). Left empty for a model from outside the execution.
Status AddModelLineage(const StepContext& context, const std::string& model_digest,
                       registry::Lineage* lineage) {
  ASSIGN_OR_RETURN(auto executions, ExecutionStore::Open(context.metadata));
  ASSIGN_OR_RETURN(std::vector<LineageRecord> records,
                   executions->ListLineage(context.execution_id));
  std::string producer;
  for (const LineageRecord& record : records) {
    if (record.direction == "Output" && record.digest == model_digest) producer = record.step_name;
  }
  if (producer.empty()) return Status::Ok();
  for (const LineageRecord& record : records) {
    if (record.step_name != producer || record.direction != "Input" || record.digest.empty()) {
      continue;
    }
    std::vector<std::string>& data = lineage->data_artifacts;
    if (std::find(data.begin(), data.end(), record.digest) == data.end()) {
      data.push_back(record.digest);
    }
  }
  ASSIGN_OR_RETURN(std::vector<StepRunRecord> runs,
                   executions->ListStepRuns(context.execution_id));
  for (const StepRunRecord& run : runs) {
    if (run.step_name != producer) continue;
    const json& properties = run.properties;
    const json* run_id = nullptr;
    if (auto found = properties.find("TrainingRunId"); found != properties.end()) {
      run_id = &*found;
    } else if (auto best = properties.find("BestTrainingJob");
               best != properties.end() && best->is_object() && best->contains("TrainingRunId")) {
      run_id = &best->at("TrainingRunId");
    }
    if (run_id != nullptr && run_id->is_string()) lineage->training_run_id = *run_id;
  }
  return Status::Ok();
}

Result<json> ReadModelMetrics(const StepContext& context, const StepArguments& args,
                              const std::string& value) {
  ASSIGN_OR_RETURN(ResolvedModel metrics, Resolve(context, args, "ModelMetrics", value, false));
  std::string path = metrics.path;
  std::error_code error;
  if (fs::is_directory(path, error)) path = (fs::path(path) / kEvaluationFileName).string();
  Result<json> report = core::ReadJsonFile(path);
  if (!report.ok()) return args.Error("ModelMetrics", report.status().message());
  if (!report->is_object()) {
    return args.Error("ModelMetrics", path + ": expected a JSON object, found " +
                                          std::string(core::JsonTypeName(*report)));
  }
  return report;
}

}  // namespace

Result<std::vector<InputDeclaration>> RegisterModelStepRunner::DeclareInputs(
    const json& arguments, const std::string& pipeline_dir) const {
  ASSIGN_OR_RETURN(std::vector<InputDeclaration> inputs,
                   StepRunner::DeclareInputs(arguments, pipeline_dir));
  if (!arguments.is_object()) return inputs;
  for (const char* field : {"Model", "ModelMetrics"}) {
    auto value = arguments.find(field);
    if (value == arguments.end() || !value->is_string() || value->get<std::string>().empty() ||
        IsArtifactUri(value->get<std::string>())) {
      continue;
    }
    inputs.push_back({field, value->get<std::string>(), InputDeclaration::Kind::kArtifact});
  }
  return inputs;
}

std::optional<StepTypeSpec> RegisterModelStepRunner::TypeSpec() const {
  StepTypeSpec spec;
  spec.type = "RegisterModel";
  spec.validate_arguments = ValidateRegisterModelArguments;
  spec.property_type = PropertyTable({{"ModelPackageArn", ValueType::kString},
                                      {"ModelPackageGroupName", ValueType::kString},
                                      {"ModelPackageVersion", ValueType::kInteger},
                                      {"ModelApprovalStatus", ValueType::kString},
                                      {"CustomerMetadataProperties.*", ValueType::kString}});
  spec.string_fields = {"ModelPackageGroupName", "ModelApprovalStatus", "ApprovalDescription",
                        "Description", "CustomerMetadataProperties.*"};
  return spec;
}

Result<StepOutcome> RegisterModelStepRunner::Run(StepContext& context) {
  StepArguments args(context.arguments);
  RETURN_IF_ERROR(args.RejectUnknown(std::vector<std::string_view>(std::begin(kFields),
                                                                   std::end(kFields))));
  registry::RegisterRequest request;
  ASSIGN_OR_RETURN(request.group, args.String("ModelPackageGroupName"));
  if (Status valid = registry::ModelRegistry::ValidateGroupName(request.group); !valid.ok()) {
    return args.Error("ModelPackageGroupName", valid.message());
  }
  ASSIGN_OR_RETURN(std::string model, args.String("Model"));
  ASSIGN_OR_RETURN(std::string status_text,
                   args.String("ModelApprovalStatus", "PendingManualApproval"));
  Result<registry::ApprovalStatus> status = registry::ParseApprovalStatus(status_text);
  if (!status.ok()) return args.Error("ModelApprovalStatus", status.status().message());
  request.status = *status;
  ASSIGN_OR_RETURN(request.approval_description, args.String("ApprovalDescription", ""));
  ASSIGN_OR_RETURN(request.description, args.String("Description", ""));
  ASSIGN_OR_RETURN(StepArguments customer,
                   args.Object("CustomerMetadataProperties", /*required=*/false));
  json customer_properties = json::object();
  for (const auto& [key, unused] : customer.arguments().items()) {
    ASSIGN_OR_RETURN(std::string text, customer.String(key));
    customer_properties[key] = text;
  }
  ASSIGN_OR_RETURN(std::string metrics_source, args.String("ModelMetrics", ""));
  if (!metrics_source.empty()) {
    ASSIGN_OR_RETURN(request.model_metrics, ReadModelMetrics(context, args, metrics_source));
  }

  ASSIGN_OR_RETURN(ResolvedModel bundle, Resolve(context, args, "Model", model, true));
  if (Result<ml::ModelBundle> loaded = ml::LoadModelBundle(bundle.path); !loaded.ok()) {
    return args.Error("Model", "not a model bundle: " + std::string(loaded.status().message()));
  }
  request.model_artifact = bundle.digest;
  request.lineage.execution_id = context.execution_id;
  request.lineage.step_name = context.step_name;
  if (context.metadata == nullptr) return FailedPreconditionError("RegisterModel: no metadata store");
  RETURN_IF_ERROR(AddModelLineage(context, request.model_artifact, &request.lineage));
  request.customer_metadata_properties = customer_properties;

  ASSIGN_OR_RETURN(auto models, registry::ModelRegistry::Open(context.metadata));
  // A retry (or a rerun after a crash) finds the version this step of this execution
  // registered. Versions registered before the registry stored step names (an empty name) are
  // matched by execution and model digest instead.
  std::optional<registry::ModelPackage> package;
  Result<std::vector<registry::ModelPackage>> versions = models->ListVersions(request.group);
  if (versions.ok()) {
    for (registry::ModelPackage& version : *versions) {
      if (version.lineage.execution_id != context.execution_id) continue;
      const bool same_step = version.lineage.step_name.empty()
                                 ? version.model_artifact == request.model_artifact
                                 : version.lineage.step_name == context.step_name;
      if (same_step) {
        package = std::move(version);
        context.Log("already registered by this execution: " + package->arn);
        break;
      }
    }
  } else if (versions.status().code() != StatusCode::kNotFound) {
    return versions.status();
  }
  if (!package.has_value()) {
    ASSIGN_OR_RETURN(package, models->RegisterVersion(request));
    context.Log("registered " + package->arn + " (" +
                std::string(registry::ApprovalStatusName(package->status)) + ", model " +
                package->model_artifact + ")");
  }

  StepOutcome outcome;
  outcome.properties["ModelPackageArn"] = package->arn;
  outcome.properties["ModelPackageVersion"] = package->version;
  outcome.properties["ModelPackageGroupName"] = package->group;
  outcome.properties["ModelApprovalStatus"] =
      std::string(registry::ApprovalStatusName(package->status));
  if (!customer_properties.empty()) {
    outcome.properties["CustomerMetadataProperties"] = customer_properties;
  }
  outcome.lineage.push_back({StepOutcome::LineageEntry::Direction::kOutput, "ModelPackage",
                             "model-package://" + package->group + "/" +
                                 std::to_string(package->version),
                             ""});
  return outcome;
}

}  // namespace raypipe::pipeline
