#include "cli/model_commands.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/context.h"
#include "cli/suggest.h"
#include "core/json.h"
#include "registry/model_registry.h"
#include "serving/endpoint_store.h"
#include "store/artifact_store.h"
#include "store/home.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::cli {

namespace {

using nlohmann::json;
using registry::ApprovalStatus;
using registry::ModelPackage;
using registry::ModelRegistry;

constexpr std::string_view kBundleMetadata = "raypipe-model.json";
constexpr std::string_view kBundleBooster = "xgboost-model.json";
constexpr std::string_view kBundleFormat = "raypipe.model.v1";

// The stores under RAYPIPE_HOME that model commands use.
struct Stores {
  std::unique_ptr<store::SqliteMetadataStore> metadata;
  std::unique_ptr<ModelRegistry> registry;
};

Result<Stores> OpenStores(const CommandContext& context) {
  Stores stores;
  const std::filesystem::path& home = context.options().home;
  ASSIGN_OR_RETURN(stores.metadata, store::OpenHomeMetadata(home));
  ASSIGN_OR_RETURN(stores.registry, ModelRegistry::Open(stores.metadata.get()));
  return stores;
}

// Adds "did you mean" to a NotFound about a group when a group name is close.
Status WithGroupSuggestion(const Status& status, const ModelRegistry& models,
                           std::string_view group) {
  if (status.code() != StatusCode::kNotFound) return status;
  Result<std::vector<registry::ModelPackageGroup>> groups = models.ListGroups();
  if (!groups.ok()) return status;
  std::vector<std::string> names;
  for (const auto& found : *groups) names.push_back(found.name);
  if (std::find(names.begin(), names.end(), group) != names.end()) return status;
  const std::string nearest = NearestName(group, names);
  if (nearest.empty()) return status;
  return NotFoundError(std::string(status.message()) + "; did you mean '" + nearest + "'?");
}

// The VERSION argument: a version number 1, 2, ...; InvalidArgument (a usage error) otherwise.
Result<int64_t> VersionArg(const ParsedArgs& args) {
  const std::string text = args.GetArg("VERSION");
  std::optional<int64_t> version = ParseInt64(text);
  if (!version || *version < 1) {
    return InvalidArgumentError("VERSION: expected a version number (1, 2, ...), found '" +
                                text + "'");
  }
  return *version;
}

std::string Short(const std::string& digest) {
  constexpr size_t kShown = 7 + 12;  // "sha256:" and 12 hex digits
  return digest.size() > kShown ? digest.substr(0, kShown) : digest;
}

// The headline metric of a package's evaluation report, if it has the regression layout.
json HeadlineRmse(const ModelPackage& package) {
  const json& metrics = package.model_metrics;
  if (metrics.contains("regression_metrics") && metrics["regression_metrics"].is_object() &&
      metrics["regression_metrics"].contains("rmse") &&
      metrics["regression_metrics"]["rmse"].is_object() &&
      metrics["regression_metrics"]["rmse"].contains("value")) {
    return metrics["regression_metrics"]["rmse"]["value"];
  }
  return nullptr;
}

int RunGroups(CommandContext& context, const ParsedArgs&) {
  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  Result<std::vector<registry::ModelPackageGroup>> groups = stores->registry->ListGroups();
  if (!groups.ok()) return context.Fail(groups.status());
  if (context.json()) {
    json records = json::array();
    for (const auto& group : *groups) records.push_back(group.ToJson());
    context.PrintRecords(records);
    return kExitSuccess;
  }
  std::vector<Row> rows;
  for (const auto& group : *groups) {
    rows.push_back({group.name, group.version_count, group.latest_version,
                    group.latest_approved_version ? json(*group.latest_approved_version)
                                                  : json(nullptr),
                    group.created_at, group.description});
  }
  context.PrintTable({"group", "versions", "latest", "latest_approved", "created", "description"},
                     rows);
  return kExitSuccess;
}

int RunVersions(CommandContext& context, const ParsedArgs& args) {
  const std::string group = args.GetArg("GROUP");
  std::optional<ApprovalStatus> filter;
  if (args.Has("status")) {
    Result<ApprovalStatus> parsed = registry::ParseApprovalStatus(args.GetString("status"));
    if (!parsed.ok()) return context.UsageError(parsed.status().message());
    filter = *parsed;
  }
  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  Result<std::vector<ModelPackage>> versions = stores->registry->ListVersions(group, filter);
  if (!versions.ok()) {
    return context.Fail(WithGroupSuggestion(versions.status(), *stores->registry, group));
  }
  if (context.json()) {
    json records = json::array();
    for (const ModelPackage& package : *versions) records.push_back(package.ToJson());
    context.PrintRecords(records);
    return kExitSuccess;
  }
  std::vector<Row> rows;
  for (const ModelPackage& package : *versions) {
    rows.push_back({package.version, std::string(registry::ApprovalStatusName(package.status)),
                    HeadlineRmse(package), package.created_at, Short(package.model_artifact),
                    package.approval_description});
  }
  context.PrintTable({"version", "status", "rmse", "created", "model", "approval_description"},
                     rows);
  return kExitSuccess;
}

int RunDescribe(CommandContext& context, const ParsedArgs& args) {
  const std::string group = args.GetArg("GROUP");
  Result<int64_t> version = VersionArg(args);
  if (!version.ok()) return context.UsageError(version.status().message());
  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  Result<ModelPackage> package = stores->registry->Describe(group, *version);
  if (!package.ok()) {
    return context.Fail(WithGroupSuggestion(package.status(), *stores->registry, group));
  }
  context.PrintObject(package->ToJson());
  return kExitSuccess;
}

Handler SetStatus(ApprovalStatus status) {
  return [status](CommandContext& context, const ParsedArgs& args) {
    const std::string group = args.GetArg("GROUP");
    Result<int64_t> version = VersionArg(args);
    if (!version.ok()) return context.UsageError(version.status().message());
    Result<Stores> stores = OpenStores(context);
    if (!stores.ok()) return context.Fail(stores.status());
    Result<ModelPackage> before = stores->registry->Describe(group, *version);
    if (!before.ok()) {
      return context.Fail(WithGroupSuggestion(before.status(), *stores->registry, group));
    }
    Result<ModelPackage> after = stores->registry->UpdateApprovalStatus(
        group, *version, status, args.GetString("description"));
    if (!after.ok()) return context.Fail(after.status());
    if (context.json()) {
      context.PrintObject(after->ToJson());
    } else {
      context.PrintLine(after->arn + ": " +
                        std::string(registry::ApprovalStatusName(before->status)) + " -> " +
                        std::string(registry::ApprovalStatusName(after->status)));
    }
    return kExitSuccess;
  };
}

int RunDeleteGroup(CommandContext& context, const ParsedArgs& args) {
  const std::string group = args.GetArg("GROUP");
  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  // Refuse while an endpoint serves a version of the group.
  Result<std::unique_ptr<serving::EndpointStore>> endpoints =
      serving::EndpointStore::Open(stores->metadata.get());
  if (!endpoints.ok()) return context.Fail(endpoints.status());
  serving::EndpointStore* endpoint_store = endpoints->get();
  stores->registry->SetDeleteGuard(
      [endpoint_store](std::string_view name, const std::vector<ModelPackage>&) -> Status {
        ASSIGN_OR_RETURN(std::vector<serving::EndpointConfig> all, endpoint_store->List());
        for (const serving::EndpointConfig& endpoint : all) {
          for (const serving::VariantConfig& variant : endpoint.variants) {
            if (variant.group == name) {
              return FailedPreconditionError(
                  "version " + std::to_string(variant.version) + " is deployed on endpoint '" +
                  endpoint.name + "' (delete it with 'raypipe endpoint delete " + endpoint.name +
                  "')");
            }
          }
        }
        return Status::Ok();
      });
  Result<int64_t> deleted = stores->registry->DeleteGroup(group, args.GetBool("force"));
  stores->registry->SetDeleteGuard(nullptr);
  if (!deleted.ok()) {
    Status status = deleted.status();
    if (status.code() == StatusCode::kFailedPrecondition &&
        status.message().find("Approved version") != std::string_view::npos) {
      status = FailedPreconditionError(std::string(status.message()) +
                                       ": use 'raypipe model reject " + group +
                                       " VERSION' or --force");
    }
    return context.Fail(WithGroupSuggestion(status, *stores->registry, group));
  }
  if (context.json()) {
    context.PrintObject({{"ModelPackageGroupName", group}, {"DeletedVersions", *deleted}});
  } else {
    context.PrintLine("deleted model package group " + group + " (" + std::to_string(*deleted) +
                      " version(s); their model artifacts stay in the artifact store)");
  }
  return kExitSuccess;
}

// A light check that `dir` holds a model bundle; the full load is ml::LoadModelBundle's job.
Status CheckBundle(const std::filesystem::path& dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return InvalidArgumentError("--model-dir " + dir.string() + ": not a directory");
  }
  const std::filesystem::path metadata_path = dir / kBundleMetadata;
  ASSIGN_OR_RETURN(json metadata, core::ReadJsonFile(metadata_path.string()));
  const std::string where = metadata_path.string();
  if (!metadata.is_object()) return InvalidArgumentError(where + ": expected a JSON object");
  ASSIGN_OR_RETURN(std::string format, core::GetString(metadata, "format", where));
  if (format != kBundleFormat) {
    return InvalidArgumentError(where + ": format: expected \"" + std::string(kBundleFormat) +
                                "\", found \"" + format + "\"");
  }
  ASSIGN_OR_RETURN(const json* features, core::GetArray(metadata, "features", where));
  if (features->empty()) return InvalidArgumentError(where + ": features: empty");
  if (!std::filesystem::is_regular_file(dir / kBundleBooster, error)) {
    return InvalidArgumentError("--model-dir " + dir.string() + ": no " +
                                std::string(kBundleBooster));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> preprocessing,
                   core::GetOptionalString(metadata, "preprocessing", where));
  if (preprocessing && !std::filesystem::is_regular_file(dir / *preprocessing, error)) {
    return InvalidArgumentError(where + ": preprocessing names " + *preprocessing +
                                ", which is not in the bundle");
  }
  return Status::Ok();
}

int RunRegister(CommandContext& context, const ParsedArgs& args) {
  registry::RegisterRequest request;
  request.group = args.GetArg("GROUP");
  if (Status valid = ModelRegistry::ValidateGroupName(request.group); !valid.ok()) {
    return context.UsageError(valid.message());
  }
  Result<ApprovalStatus> status = registry::ParseApprovalStatus(args.GetString("approval-status"));
  if (!status.ok()) return context.UsageError(status.status().message());
  request.status = *status;
  request.description = args.GetString("description");
  request.approval_description = args.GetString("approval-description");
  request.lineage.training_run_id = args.GetString("training-run");
  request.lineage.data_artifacts = args.GetAll("data-artifact");
  for (const std::string& digest : request.lineage.data_artifacts) {
    if (Result<std::string> hex = store::ParseArtifactDigest(digest); !hex.ok()) {
      return context.UsageError("--data-artifact: " + std::string(hex.status().message()));
    }
  }
  std::vector<std::string> content_types = args.GetAll("content-type");
  if (!content_types.empty()) {
    request.inference_specification = {{"SupportedContentTypes", content_types},
                                       {"SupportedResponseMIMETypes", content_types}};
  }
  const std::filesystem::path dir = args.GetString("model-dir");
  if (Status bundle = CheckBundle(dir); !bundle.ok()) return context.Fail(bundle);
  if (args.Has("metrics")) {
    Result<json> metrics = core::ReadJsonFile(args.GetString("metrics"));
    if (!metrics.ok()) return context.Fail(metrics.status().WithContext("--metrics"));
    if (!metrics->is_object()) {
      return context.Fail(InvalidArgumentError("--metrics " + args.GetString("metrics") +
                                               ": expected a JSON object"));
    }
    request.model_metrics = std::move(*metrics);
  }

  Result<Stores> stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  Result<std::unique_ptr<store::ArtifactStore>> artifacts =
      store::OpenHomeArtifacts(context.options().home);
  if (!artifacts.ok()) return context.Fail(artifacts.status());
  Result<store::ArtifactRef> model = (*artifacts)->PutFile(dir.string());
  if (!model.ok()) return context.Fail(model.status().WithContext("--model-dir " + dir.string()));
  request.model_artifact = model->digest;
  Result<ModelPackage> package = stores->registry->RegisterVersion(request);
  if (!package.ok()) return context.Fail(package.status());
  if (context.json()) {
    context.PrintObject(package->ToJson());
  } else {
    context.PrintLine("registered " + package->arn + " (" +
                      std::string(registry::ApprovalStatusName(package->status)) + ", model " +
                      package->model_artifact + ")");
  }
  return kExitSuccess;
}

CommandSpec VersionCommand(std::string path, std::string summary) {
  CommandSpec spec;
  spec.path = std::move(path);
  spec.summary = std::move(summary);
  spec.args.push_back(ArgSpec::Required("GROUP", "The model package group"));
  spec.args.push_back(ArgSpec::Required("VERSION", "The version number (1, 2, ...)"));
  return spec;
}

}  // namespace

Status RegisterModelCommands(CommandRegistry& registry) {
  RETURN_IF_ERROR(registry.AddGroup("model", "The model registry: groups, versions, approval"));

  CommandSpec groups;
  groups.path = "model groups";
  groups.summary = "List the model package groups";
  groups.examples = {"raypipe model groups --output json"};
  groups.handler = RunGroups;
  RETURN_IF_ERROR(registry.Add(std::move(groups)));

  CommandSpec versions;
  versions.path = "model versions";
  versions.summary = "List the versions of a model package group";
  versions.args.push_back(ArgSpec::Required("GROUP", "The model package group"));
  versions.flags.push_back(
      FlagSpec::Value("status", FlagType::kString, "STATUS", "Only versions in this status")
          .OneOf({"PendingManualApproval", "Approved", "Rejected"}));
  versions.examples = {"raypipe model versions synthetic-housing-models-ray",
                       "raypipe model versions synthetic-housing-models-ray --status Approved"};
  versions.handler = RunVersions;
  RETURN_IF_ERROR(registry.Add(std::move(versions)));

  CommandSpec describe = VersionCommand("model describe", "Show one model package version");
  describe.description =
      "Every field of the version: approval status and description, the model artifact digest, "
      "ModelMetrics (the evaluation report), InferenceSpecification, times and lineage.";
  describe.examples = {"raypipe model describe synthetic-housing-models-ray 1"};
  describe.handler = RunDescribe;
  RETURN_IF_ERROR(registry.Add(std::move(describe)));

  const std::string transitions =
      "Allowed: PendingManualApproval -> Approved or Rejected, and Approved <-> Rejected. "
      "Endpoints serve the newest Approved version of a group.";
  CommandSpec approve = VersionCommand("model approve", "Approve a model package version");
  approve.description = transitions;
  approve.flags.push_back(FlagSpec::Value("description", FlagType::kString, "TEXT",
                                          "The ApprovalDescription to record"));
  approve.examples = {
      "raypipe model approve synthetic-housing-models-ray 1 --description 'rmse ok'"};
  approve.handler = SetStatus(ApprovalStatus::kApproved);
  RETURN_IF_ERROR(registry.Add(std::move(approve)));

  CommandSpec reject = VersionCommand("model reject", "Reject a model package version");
  reject.description = transitions;
  reject.flags.push_back(FlagSpec::Value("description", FlagType::kString, "TEXT",
                                         "The ApprovalDescription to record"));
  reject.examples = {"raypipe model reject synthetic-housing-models-ray 2 --description drift"};
  reject.handler = SetStatus(ApprovalStatus::kRejected);
  RETURN_IF_ERROR(registry.Add(std::move(reject)));

  CommandSpec delete_group;
  delete_group.path = "model delete-group";
  delete_group.summary = "Delete a model package group and all its versions";
  delete_group.description =
      "Refused while an endpoint serves one of the group's versions, and while a version is "
      "Approved unless --force is given. The model artifacts stay in the artifact store.";
  delete_group.args.push_back(ArgSpec::Required("GROUP", "The model package group"));
  delete_group.flags.push_back(FlagSpec::Bool("force", "Delete even if versions are Approved"));
  delete_group.examples = {"raypipe model delete-group old-models"};
  delete_group.handler = RunDeleteGroup;
  RETURN_IF_ERROR(registry.Add(std::move(delete_group)));

  CommandSpec register_model;
  register_model.path = "model register";
  register_model.summary = "Register a model bundle directory as a group's next version";
  register_model.description =
      "Copies the model bundle (xgboost-model.json, raypipe-model.json and optionally "
      "preprocessing.json) into the artifact store and registers it as the next version of "
      "GROUP, creating the group if needed.";
  register_model.args.push_back(ArgSpec::Required("GROUP", "The model package group"));
  register_model.flags.push_back(
      FlagSpec::Value("model-dir", FlagType::kString, "DIR", "The model bundle directory")
          .Required());
  register_model.flags.push_back(FlagSpec::Value(
      "metrics", FlagType::kString, "FILE", "The evaluation report (JSON) to store as ModelMetrics"));
  register_model.flags.push_back(
      FlagSpec::Value("description", FlagType::kString, "TEXT", "ModelPackageDescription"));
  register_model.flags.push_back(
      FlagSpec::Value("approval-status", FlagType::kString, "STATUS", "The initial status")
          .Default("PendingManualApproval")
          .OneOf({"PendingManualApproval", "Approved", "Rejected"}));
  register_model.flags.push_back(FlagSpec::Value("approval-description", FlagType::kString,
                                                 "TEXT", "ApprovalDescription"));
  register_model.flags.push_back(
      FlagSpec::Value("content-type", FlagType::kString, "TYPE",
                      "A supported content type (default text/csv and application/json)")
          .Repeated());
  register_model.flags.push_back(FlagSpec::Value("training-run", FlagType::kString, "RUN",
                                                 "Lineage: the training run id"));
  register_model.flags.push_back(
      FlagSpec::Value("data-artifact", FlagType::kString, "DIGEST",
                      "Lineage: a data artifact digest (sha256:...)")
          .Repeated());
  register_model.examples = {
      "raypipe model register housing-models --model-dir model/ --metrics evaluation.json"};
  register_model.handler = RunRegister;
  return registry.Add(std::move(register_model));
}

}  // namespace raypipe::cli
