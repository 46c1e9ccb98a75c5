#pragma once

// The model registry: model package groups and their numbered versions (SageMaker's
// ModelPackageGroup / ModelPackage), with an approval status that gates deployment.
//
// A version holds the digest of a model bundle directory in the ArtifactStore (ml/model_bundle.h:
// the booster, the feature order, the target and the fitted scaler), the evaluation report
// (ModelMetrics), the InferenceSpecification and lineage references (the training run and the
// data artifacts it was trained on). Versions are numbered 1, 2, ... per group, assigned inside
// one write transaction, so several threads or processes may register into one group at once.
//
// Approval transitions (as SageMaker allows them):
//   PendingManualApproval -> Approved | Rejected, Approved <-> Rejected,
//   and a status to itself (which updates the description). Back to PendingManualApproval is
//   refused (FailedPrecondition).
//
// Tables (component "registry", MetadataStore::Migrate): registry_groups, registry_packages.
// Schema 2 added the registering step's name and CustomerMetadataProperties as columns with
// defaults ('' and {}), so databases written by schema 1 stay readable: their versions read
// back with an empty step name and no customer properties.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/time.h"
#include "store/metadata_store.h"

namespace raypipe::registry {

enum class ApprovalStatus { kPendingManualApproval, kApproved, kRejected };

// "PendingManualApproval", "Approved", "Rejected".
std::string_view ApprovalStatusName(ApprovalStatus status);
// The inverse (exact, case-sensitive names); InvalidArgument listing the valid names otherwise.
Result<ApprovalStatus> ParseApprovalStatus(std::string_view name);

// Where a version came from. Every field may be empty.
struct Lineage {
  std::string training_run_id;              // experiments run id of the training job
  std::string execution_id;                 // the pipeline execution that registered it
  std::string step_name;                    // the RegisterModel step that registered it
  std::vector<std::string> data_artifacts;  // "sha256:<hex>" of the training/validation data
};

struct ModelPackage {
  std::string group;
  int64_t version = 0;
  ApprovalStatus status = ApprovalStatus::kPendingManualApproval;
  std::string approval_description;
  std::string model_artifact;  // "sha256:<hex>" of the model bundle directory in the ArtifactStore
  nlohmann::json model_metrics = nlohmann::json::object();  // e.g. {"regression_metrics": ...}
  nlohmann::json inference_specification = nlohmann::json::object();
  // SageMaker's CustomerMetadataProperties: an object of string values ({} when none).
  nlohmann::json customer_metadata_properties = nlohmann::json::object();
  std::string description, created_at, updated_at;  // ISO-8601 UTC
  std::string arn;                                  // "model-package/<group>/<version>"
  Lineage lineage;

  // Every field as JSON (SageMaker-like key names: ModelPackageGroupName, ModelPackageVersion,
  // ModelApprovalStatus, ...).
  nlohmann::json ToJson() const;
};

struct ModelPackageGroup {
  std::string name;
  std::string description;
  std::string created_at;
  std::string arn;  // "model-package-group/<name>"
  int64_t version_count = 0;
  int64_t latest_version = 0;                   // 0 when the group has no version
  std::optional<int64_t> latest_approved_version;

  nlohmann::json ToJson() const;
};

// What RegisterVersion needs. The version number and times are assigned by the registry.
struct RegisterRequest {
  std::string group;
  std::string model_artifact;  // REQUIRES: "sha256:<64 lower-case hex>"
  ApprovalStatus status = ApprovalStatus::kPendingManualApproval;
  std::string approval_description;
  nlohmann::json model_metrics = nlohmann::json::object();  // must be an object
  // Must be an object; when empty the registry stores DefaultInferenceSpecification().
  nlohmann::json inference_specification = nlohmann::json::object();
  // An object of string values (SageMaker's limits: at most 50 entries, keys 1-128 and values
  // at most 256 characters); InvalidArgument naming the key otherwise.
  nlohmann::json customer_metadata_properties = nlohmann::json::object();
  std::string description;
  Lineage lineage;
  // Creates the group (with an empty description) when it does not exist, as SageMaker's
  // RegisterModel step does; otherwise a missing group is NotFound.
  bool create_group = true;
};

// {"SupportedContentTypes": ["text/csv", "application/json"],
//  "SupportedResponseMIMETypes": ["text/csv", "application/json"]}
nlohmann::json DefaultInferenceSpecification();

// Called by DeleteGroup before anything is deleted, with the group name and its versions; a
// non-OK answer (FailedPrecondition "version 3 is deployed on endpoint 'x'") refuses the delete.
// Serving installs one that refuses while an endpoint uses a version.
using DeleteGuard = std::function<Status(std::string_view group,
                                         const std::vector<ModelPackage>& versions)>;

// The registry's schema migrations, in order (tests build databases of older versions from them).
const std::vector<store::Migration>& RegistryMigrations();

// Thread-safe; several processes may use one database at once.
class ModelRegistry {
 public:
  // Migrates the registry's tables. `metadata` (and `clock`, when given) are not owned and must
  // outlive the registry. `clock` stamps created/updated times; nullptr: the system clock.
  static Result<std::unique_ptr<ModelRegistry>> Open(store::MetadataStore* metadata,
                                                     const core::Clock* clock = nullptr);

  // Group names: 1-63 characters, letters, digits and hyphens, starting and ending with a letter
  // or digit (SageMaker's rule). InvalidArgument otherwise.
  static Status ValidateGroupName(std::string_view group);

  // AlreadyExists when the group exists.
  Result<ModelPackageGroup> CreateGroup(std::string_view group, std::string_view description);
  // NotFound naming the group and the existing ones.
  Result<ModelPackageGroup> DescribeGroup(std::string_view group) const;
  // Sorted by name.
  Result<std::vector<ModelPackageGroup>> ListGroups() const;

  // Assigns the next version (1 for the first) atomically and stores the package.
  Result<ModelPackage> RegisterVersion(const RegisterRequest& request);

  // NotFound naming the group (and the existing groups) or the version (and the group's range).
  Result<ModelPackage> Describe(std::string_view group, int64_t version) const;
  // The newest Approved version; NotFound naming the group when none.
  Result<ModelPackage> LatestApproved(std::string_view group) const;
  // Ascending by version; NotFound when the group does not exist. `status` filters when given.
  Result<std::vector<ModelPackage>> ListVersions(
      std::string_view group, std::optional<ApprovalStatus> status = std::nullopt) const;

  // Sets the approval status and description (see the transitions above) and updated_at.
  // FailedPrecondition for a refused transition, naming both statuses.
  Result<ModelPackage> UpdateApprovalStatus(std::string_view group, int64_t version,
                                            ApprovalStatus status, std::string_view description);

  // Deletes the group and all its versions (the model artifacts stay in the ArtifactStore).
  // Refused (FailedPrecondition) when the delete guard refuses, or when a version is Approved
  // and `force` is false. NotFound when the group does not exist. Answers the versions deleted.
  Result<int64_t> DeleteGroup(std::string_view group, bool force = false);

  // Replaces the delete guard (none by default).
  void SetDeleteGuard(DeleteGuard guard);

 private:
  ModelRegistry(store::MetadataStore* metadata, const core::Clock* clock);
  std::string Now() const;
  Status GroupNotFound(std::string_view group) const;

  store::MetadataStore* const metadata_;
  const core::SystemClock system_clock_;
  const core::Clock* const clock_;
  mutable std::mutex guard_mutex_;  // guards delete_guard_
  DeleteGuard delete_guard_;
};

}  // namespace raypipe::registry
