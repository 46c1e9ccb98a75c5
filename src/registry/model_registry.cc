#include "registry/model_registry.h"

#include <algorithm>
#include <utility>

#include "core/ids.h"
#include "core/json.h"
#include "store/artifact_store.h"

namespace raypipe::registry {

namespace {

constexpr std::string_view kComponent = "registry";
constexpr size_t kMaxGroupNameLength = 63;

constexpr std::string_view kPackageColumns =
    "group_name, version, status, approval_description, model_artifact, model_metrics, "
    "inference_specification, description, created_at, updated_at, training_run_id, "
    "execution_id, data_artifacts, step_name, customer_metadata_properties";

std::string Arn(std::string_view group, int64_t version) {
  return "model-package/" + std::string(group) + "/" + std::to_string(version);
}

Result<ModelPackage> PackageFromRow(const store::Row& row) {
  ModelPackage package;
  ASSIGN_OR_RETURN(package.group, row.GetString("group_name"));
  ASSIGN_OR_RETURN(package.version, row.GetInt64("version"));
  ASSIGN_OR_RETURN(std::string status, row.GetString("status"));
  ASSIGN_OR_RETURN(package.status, ParseApprovalStatus(status));
  ASSIGN_OR_RETURN(package.approval_description, row.GetString("approval_description"));
  ASSIGN_OR_RETURN(package.model_artifact, row.GetString("model_artifact"));
  ASSIGN_OR_RETURN(package.model_metrics, store::GetJsonCell(row, "model_metrics"));
  ASSIGN_OR_RETURN(package.inference_specification,
                   store::GetJsonCell(row, "inference_specification"));
  ASSIGN_OR_RETURN(package.description, row.GetString("description"));
  ASSIGN_OR_RETURN(package.created_at, row.GetString("created_at"));
  ASSIGN_OR_RETURN(package.updated_at, row.GetString("updated_at"));
  ASSIGN_OR_RETURN(package.lineage.training_run_id, row.GetString("training_run_id"));
  ASSIGN_OR_RETURN(package.lineage.execution_id, row.GetString("execution_id"));
  ASSIGN_OR_RETURN(nlohmann::json data, store::GetJsonCell(row, "data_artifacts"));
  if (!data.is_array()) return DataLossError("registry_packages.data_artifacts: not an array");
  for (const nlohmann::json& digest : data) {
    if (!digest.is_string()) {
      return DataLossError("registry_packages.data_artifacts: holds a non-string");
    }
    package.lineage.data_artifacts.push_back(digest.get<std::string>());
  }
  ASSIGN_OR_RETURN(package.lineage.step_name, row.GetString("step_name"));
  ASSIGN_OR_RETURN(package.customer_metadata_properties,
                   store::GetJsonCell(row, "customer_metadata_properties"));
  if (!package.customer_metadata_properties.is_object()) {
    return DataLossError("registry_packages.customer_metadata_properties: not an object");
  }
  package.arn = Arn(package.group, package.version);
  return package;
}

constexpr size_t kMaxCustomerProperties = 50;
constexpr size_t kMaxCustomerKeyLength = 128;
constexpr size_t kMaxCustomerValueLength = 256;

Status CheckCustomerProperties(const std::string& group, const nlohmann::json& properties) {
  const std::string where =
      "model package for group '" + group + "': CustomerMetadataProperties";
  if (!properties.is_object()) {
    return InvalidArgumentError(where + " must be a JSON object, found " +
                                std::string(core::JsonTypeName(properties)));
  }
  if (properties.size() > kMaxCustomerProperties) {
    return InvalidArgumentError(where + " has " + std::to_string(properties.size()) +
                                " entries, at most " + std::to_string(kMaxCustomerProperties) +
                                " are allowed");
  }
  for (const auto& [key, value] : properties.items()) {
    if (key.empty() || key.size() > kMaxCustomerKeyLength) {
      return InvalidArgumentError(where + ": key '" + key + "' must have 1 to " +
                                  std::to_string(kMaxCustomerKeyLength) + " characters");
    }
    if (!value.is_string()) {
      return InvalidArgumentError(where + "." + key + " must be a string, found " +
                                  std::string(core::JsonTypeName(value)));
    }
    if (value.get_ref<const std::string&>().size() > kMaxCustomerValueLength) {
      return InvalidArgumentError(where + "." + key + " is longer than " +
                                  std::to_string(kMaxCustomerValueLength) + " characters");
    }
  }
  return Status::Ok();
}

bool TransitionAllowed(ApprovalStatus from, ApprovalStatus to) {
  if (from == to) return true;
  return to != ApprovalStatus::kPendingManualApproval;
}

}  // namespace

const std::vector<store::Migration>& RegistryMigrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "model package groups and versions",
       "CREATE TABLE registry_groups ("
       "  name TEXT PRIMARY KEY,"
       "  description TEXT NOT NULL,"
       "  created_at TEXT NOT NULL);"
       "CREATE TABLE registry_packages ("
       "  group_name TEXT NOT NULL REFERENCES registry_groups(name) ON DELETE CASCADE,"
       "  version INTEGER NOT NULL CHECK (version >= 1),"
       "  status TEXT NOT NULL CHECK (status IN"
       "    ('PendingManualApproval', 'Approved', 'Rejected')),"
       "  approval_description TEXT NOT NULL,"
       "  model_artifact TEXT NOT NULL,"
       "  model_metrics TEXT NOT NULL,"
       "  inference_specification TEXT NOT NULL,"
       "  description TEXT NOT NULL,"
       "  created_at TEXT NOT NULL,"
       "  updated_at TEXT NOT NULL,"
       "  training_run_id TEXT NOT NULL,"
       "  execution_id TEXT NOT NULL,"
       "  data_artifacts TEXT NOT NULL,"
       "  PRIMARY KEY (group_name, version));"
       "CREATE INDEX registry_packages_by_status ON registry_packages (group_name, status);"},
      // Defaults keep the rows of schema 1 valid: no step name, no customer properties.
      {2, "the registering step's name and CustomerMetadataProperties",
       "ALTER TABLE registry_packages ADD COLUMN step_name TEXT NOT NULL DEFAULT '';"
       "ALTER TABLE registry_packages ADD COLUMN customer_metadata_properties TEXT NOT NULL"
       "  DEFAULT '{}';"},
  };
  return kMigrations;
}

std::string_view ApprovalStatusName(ApprovalStatus status) {
  switch (status) {
    case ApprovalStatus::kPendingManualApproval:
      return "PendingManualApproval";
    case ApprovalStatus::kApproved:
      return "Approved";
    case ApprovalStatus::kRejected:
      return "Rejected";
  }
  return "PendingManualApproval";
}

Result<ApprovalStatus> ParseApprovalStatus(std::string_view name) {
  for (ApprovalStatus status : {ApprovalStatus::kPendingManualApproval, ApprovalStatus::kApproved,
                                ApprovalStatus::kRejected}) {
    if (name == ApprovalStatusName(status)) return status;
  }
  return InvalidArgumentError("unknown model approval status '" + std::string(name) +
                              "': expected PendingManualApproval, Approved or Rejected");
}

nlohmann::json DefaultInferenceSpecification() {
  return {{"SupportedContentTypes", {"text/csv", "application/json"}},
          {"SupportedResponseMIMETypes", {"text/csv", "application/json"}}};
}

nlohmann::json ModelPackage::ToJson() const {
  return {{"ModelPackageGroupName", group},
          {"ModelPackageVersion", version},
          {"ModelPackageArn", arn},
          {"ModelApprovalStatus", ApprovalStatusName(status)},
          {"ApprovalDescription", approval_description},
          {"ModelArtifact", model_artifact},
          {"ModelMetrics", model_metrics},
          {"InferenceSpecification", inference_specification},
          {"CustomerMetadataProperties", customer_metadata_properties},
          {"ModelPackageDescription", description},
          {"CreationTime", created_at},
          {"LastModifiedTime", updated_at},
          {"Lineage",
           {{"TrainingRunId", lineage.training_run_id},
            {"ExecutionId", lineage.execution_id},
            {"StepName", lineage.step_name},
            {"DataArtifacts", lineage.data_artifacts}}}};
}

nlohmann::json ModelPackageGroup::ToJson() const {
  nlohmann::json json = {{"ModelPackageGroupName", name},
                         {"ModelPackageGroupArn", arn},
                         {"ModelPackageGroupDescription", description},
                         {"CreationTime", created_at},
                         {"VersionCount", version_count},
                         {"LatestVersion", latest_version},
                         {"LatestApprovedVersion", nullptr}};
  if (latest_approved_version) json["LatestApprovedVersion"] = *latest_approved_version;
  return json;
}

ModelRegistry::ModelRegistry(store::MetadataStore* metadata, const core::Clock* clock)
    : metadata_(metadata), clock_(clock != nullptr ? clock : &system_clock_) {}

Result<std::unique_ptr<ModelRegistry>> ModelRegistry::Open(store::MetadataStore* metadata,
                                                           const core::Clock* clock) {
  if (metadata == nullptr) return InvalidArgumentError("ModelRegistry::Open: no metadata store");
  RETURN_IF_ERROR(metadata->Migrate(kComponent, RegistryMigrations()));
  return std::unique_ptr<ModelRegistry>(new ModelRegistry(metadata, clock));
}

std::string ModelRegistry::Now() const { return core::FormatIsoTime(clock_->Now()); }

Status ModelRegistry::ValidateGroupName(std::string_view group) {
  RETURN_IF_ERROR(core::CheckName("model package group name", group, kMaxGroupNameLength, "-"));
  if (group.front() == '-' || group.back() == '-') {
    return InvalidArgumentError("invalid model package group name '" + std::string(group) +
                                "': it must start and end with a letter or digit");
  }
  return Status::Ok();
}

Status ModelRegistry::GroupNotFound(std::string_view group) const {
  return store::NotFoundAmong(*metadata_,
                              "model package group '" + std::string(group) + "' does not exist",
                              "SELECT name FROM registry_groups ORDER BY name", "groups");
}

Result<ModelPackageGroup> ModelRegistry::CreateGroup(std::string_view group,
                                                     std::string_view description) {
  RETURN_IF_ERROR(ValidateGroupName(group));
  Result<store::ExecResult> inserted =
      metadata_->Execute("INSERT INTO registry_groups (name, description, created_at)"
                         " VALUES (?, ?, ?)",
                         {std::string(group), std::string(description), Now()});
  if (!inserted.ok()) {
    if (inserted.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("model package group '" + std::string(group) +
                                "' already exists");
    }
    return inserted.status();
  }
  return DescribeGroup(group);
}

Result<ModelPackageGroup> ModelRegistry::DescribeGroup(std::string_view group) const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query(
                       "SELECT g.name AS name, g.description AS description,"
                       " g.created_at AS created_at,"
                       " (SELECT COUNT(*) FROM registry_packages p WHERE p.group_name = g.name)"
                       "   AS version_count,"
                       " (SELECT COALESCE(MAX(version), 0) FROM registry_packages p"
                       "   WHERE p.group_name = g.name) AS latest_version,"
                       " (SELECT MAX(version) FROM registry_packages p WHERE p.group_name = g.name"
                       "   AND p.status = 'Approved') AS latest_approved"
                       " FROM registry_groups g WHERE g.name = ?",
                       {std::string(group)}));
  if (rows.empty()) return GroupNotFound(group);
  const store::Row& row = rows[0];
  ModelPackageGroup result;
  ASSIGN_OR_RETURN(result.name, row.GetString("name"));
  ASSIGN_OR_RETURN(result.description, row.GetString("description"));
  ASSIGN_OR_RETURN(result.created_at, row.GetString("created_at"));
  ASSIGN_OR_RETURN(result.version_count, row.GetInt64("version_count"));
  ASSIGN_OR_RETURN(result.latest_version, row.GetInt64("latest_version"));
  ASSIGN_OR_RETURN(result.latest_approved_version, row.GetOptionalInt64("latest_approved"));
  result.arn = "model-package-group/" + result.name;
  return result;
}

Result<std::vector<ModelPackageGroup>> ModelRegistry::ListGroups() const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT name FROM registry_groups ORDER BY name"));
  std::vector<ModelPackageGroup> groups;
  for (const store::Row& row : rows) {
    ASSIGN_OR_RETURN(std::string name, row.GetString("name"));
    Result<ModelPackageGroup> group = DescribeGroup(name);
    if (!group.ok() && group.status().code() == StatusCode::kNotFound) continue;  // deleted since
    if (!group.ok()) return group.status();
    groups.push_back(std::move(*group));
  }
  return groups;
}

Result<ModelPackage> ModelRegistry::RegisterVersion(const RegisterRequest& request) {
  RETURN_IF_ERROR(ValidateGroupName(request.group));
  if (Result<std::string> hex = store::ParseArtifactDigest(request.model_artifact); !hex.ok()) {
    return InvalidArgumentError("model package for group '" + request.group +
                                "': bad model artifact: " + std::string(hex.status().message()));
  }
  for (const std::string& digest : request.lineage.data_artifacts) {
    if (Result<std::string> hex = store::ParseArtifactDigest(digest); !hex.ok()) {
      return InvalidArgumentError("model package for group '" + request.group +
                                  "': bad data artifact in lineage: " +
                                  std::string(hex.status().message()));
    }
  }
  if (!request.model_metrics.is_object()) {
    return InvalidArgumentError("model package for group '" + request.group +
                                "': ModelMetrics must be a JSON object, found " +
                                std::string(core::JsonTypeName(request.model_metrics)));
  }
  if (!request.inference_specification.is_object()) {
    return InvalidArgumentError("model package for group '" + request.group +
                                "': InferenceSpecification must be a JSON object, found " +
                                std::string(core::JsonTypeName(request.inference_specification)));
  }
  RETURN_IF_ERROR(CheckCustomerProperties(request.group, request.customer_metadata_properties));
  const nlohmann::json specification = request.inference_specification.empty()
                                           ? DefaultInferenceSpecification()
                                           : request.inference_specification;
  const std::string metrics_text = core::CanonicalJson(request.model_metrics);
  const std::string specification_text = core::CanonicalJson(specification);
  const std::string data_text = core::CanonicalJson(nlohmann::json(request.lineage.data_artifacts));
  const std::string customer_text = core::CanonicalJson(request.customer_metadata_properties);

  int64_t version = 0;
  bool group_missing = false;
  Status status = metadata_->Transaction([&](store::SqlSession& tx) -> Status {
    group_missing = false;
    const std::string now = Now();
    ASSIGN_OR_RETURN(std::vector<store::Row> groups,
                     tx.Query("SELECT name FROM registry_groups WHERE name = ?", {request.group}));
    if (groups.empty()) {
      if (!request.create_group) {
        group_missing = true;
        return NotFoundError("group");
      }
      RETURN_IF_ERROR(tx.Execute(
          "INSERT INTO registry_groups (name, description, created_at) VALUES (?, '', ?)",
          {request.group, now}));
    }
    ASSIGN_OR_RETURN(std::vector<store::Row> latest,
                     tx.Query("SELECT COALESCE(MAX(version), 0) AS v FROM registry_packages"
                              " WHERE group_name = ?",
                              {request.group}));
    ASSIGN_OR_RETURN(int64_t latest_version, latest[0].GetInt64("v"));
    version = latest_version + 1;
    return tx
        .Execute("INSERT INTO registry_packages (" + std::string(kPackageColumns) +
                     ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 {request.group, version, std::string(ApprovalStatusName(request.status)),
                  request.approval_description, request.model_artifact, metrics_text,
                  specification_text, request.description, now, now,
                  request.lineage.training_run_id, request.lineage.execution_id, data_text,
                  request.lineage.step_name, customer_text})
        .status();
  });
  if (group_missing) return GroupNotFound(request.group);
  if (!status.ok()) {
    return status.WithContext("cannot register a version in model package group '" +
                              request.group + "'");
  }
  return Describe(request.group, version);
}

Result<ModelPackage> ModelRegistry::Describe(std::string_view group, int64_t version) const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT " + std::string(kPackageColumns) +
                                        " FROM registry_packages WHERE group_name = ? AND"
                                        " version = ?",
                                    {std::string(group), version}));
  if (!rows.empty()) return PackageFromRow(rows[0]);
  ASSIGN_OR_RETURN(ModelPackageGroup found, DescribeGroup(group));  // NotFound names the groups
  std::string message = "model package group '" + std::string(group) + "' has no version " +
                        std::to_string(version);
  if (found.version_count == 0) {
    message += " (it has no versions)";
  } else {
    ASSIGN_OR_RETURN(std::vector<store::Row> versions,
                     metadata_->Query("SELECT version FROM registry_packages WHERE group_name = ?"
                                      " ORDER BY version",
                                      {std::string(group)}));
    std::vector<std::string> names;
    for (const store::Row& row : versions) {
      ASSIGN_OR_RETURN(int64_t v, row.GetInt64("version"));
      names.push_back(std::to_string(v));
    }
    message += " (versions: " + store::JoinNames(names) + ")";
  }
  return NotFoundError(std::move(message));
}

Result<ModelPackage> ModelRegistry::LatestApproved(std::string_view group) const {
  ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                   metadata_->Query("SELECT " + std::string(kPackageColumns) +
                                        " FROM registry_packages WHERE group_name = ? AND"
                                        " status = 'Approved' ORDER BY version DESC LIMIT 1",
                                    {std::string(group)}));
  if (!rows.empty()) return PackageFromRow(rows[0]);
  ASSIGN_OR_RETURN(ModelPackageGroup found, DescribeGroup(group));
  return NotFoundError("model package group '" + std::string(group) +
                       "' has no Approved version (" + std::to_string(found.version_count) +
                       " version(s); approve one with 'raypipe model approve " +
                       std::string(group) + " VERSION')");
}

Result<std::vector<ModelPackage>> ModelRegistry::ListVersions(
    std::string_view group, std::optional<ApprovalStatus> status) const {
  ASSIGN_OR_RETURN(ModelPackageGroup found, DescribeGroup(group));
  (void)found;
  std::string sql = "SELECT " + std::string(kPackageColumns) +
                    " FROM registry_packages WHERE group_name = ?";
  std::vector<store::SqlValue> params;
  params.emplace_back(std::in_place_type<std::string>, group);
  if (status) {
    sql += " AND status = ?";
    params.emplace_back(std::in_place_type<std::string>, ApprovalStatusName(*status));
  }
  sql += " ORDER BY version";
  ASSIGN_OR_RETURN(std::vector<store::Row> rows, metadata_->Query(sql, params));
  std::vector<ModelPackage> packages;
  packages.reserve(rows.size());
  for (const store::Row& row : rows) {
    ASSIGN_OR_RETURN(ModelPackage package, PackageFromRow(row));
    packages.push_back(std::move(package));
  }
  return packages;
}

Result<ModelPackage> ModelRegistry::UpdateApprovalStatus(std::string_view group, int64_t version,
                                                         ApprovalStatus status,
                                                         std::string_view description) {
  std::optional<ApprovalStatus> refused_from;
  bool missing = false;
  Status result = metadata_->Transaction([&](store::SqlSession& tx) -> Status {
    refused_from.reset();
    missing = false;
    ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                     tx.Query("SELECT status FROM registry_packages WHERE group_name = ? AND"
                              " version = ?",
                              {std::string(group), version}));
    if (rows.empty()) {
      missing = true;
      return NotFoundError("version");
    }
    ASSIGN_OR_RETURN(std::string current_name, rows[0].GetString("status"));
    ASSIGN_OR_RETURN(ApprovalStatus current, ParseApprovalStatus(current_name));
    if (!TransitionAllowed(current, status)) {
      refused_from = current;
      return FailedPreconditionError("transition");
    }
    return tx
        .Execute("UPDATE registry_packages SET status = ?, approval_description = ?,"
                 " updated_at = ? WHERE group_name = ? AND version = ?",
                 {std::string(ApprovalStatusName(status)), std::string(description), Now(),
                  std::string(group), version})
        .status();
  });
  if (missing) return Describe(group, version).status();
  if (refused_from) {
    return FailedPreconditionError(
        "model package " + Arn(group, version) + " cannot go from " +
        std::string(ApprovalStatusName(*refused_from)) + " to " +
        std::string(ApprovalStatusName(status)) +
        " (allowed: PendingManualApproval -> Approved or Rejected, Approved <-> Rejected)");
  }
  RETURN_IF_ERROR(result);
  return Describe(group, version);
}

void ModelRegistry::SetDeleteGuard(DeleteGuard guard) {
  std::lock_guard<std::mutex> lock(guard_mutex_);
  delete_guard_ = std::move(guard);
}

Result<int64_t> ModelRegistry::DeleteGroup(std::string_view group, bool force) {
  ASSIGN_OR_RETURN(std::vector<ModelPackage> versions, ListVersions(group));
  DeleteGuard guard;
  {
    std::lock_guard<std::mutex> lock(guard_mutex_);
    guard = delete_guard_;
  }
  if (guard) {
    if (Status refused = guard(group, versions); !refused.ok()) {
      return FailedPreconditionError("cannot delete model package group '" + std::string(group) +
                                     "': " + std::string(refused.message()));
    }
  }
  if (!force) {
    std::vector<std::string> approved;
    for (const ModelPackage& package : versions) {
      if (package.status == ApprovalStatus::kApproved) {
        approved.push_back(std::to_string(package.version));
      }
    }
    if (!approved.empty()) {
      return FailedPreconditionError(
          "cannot delete model package group '" + std::string(group) +
          "': it has Approved version(s) " + store::JoinNames(approved) +
          " (reject them first, or force the delete)");
    }
  }
  int64_t deleted = 0;
  bool missing = false;
  RETURN_IF_ERROR(metadata_->Transaction([&](store::SqlSession& tx) -> Status {
    missing = false;
    ASSIGN_OR_RETURN(store::ExecResult packages,
                     tx.Execute("DELETE FROM registry_packages WHERE group_name = ?",
                                {std::string(group)}));
    ASSIGN_OR_RETURN(store::ExecResult groups,
                     tx.Execute("DELETE FROM registry_groups WHERE name = ?",
                                {std::string(group)}));
    missing = groups.changes == 0;
    deleted = packages.changes;
    return Status::Ok();
  }));
  if (missing) return GroupNotFound(group);
  return deleted;
}

}  // namespace raypipe::registry
