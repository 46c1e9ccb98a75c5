#pragma once

// From registered model packages to served models: resolving an endpoint's variant specs against
// the model registry (only Approved versions deploy unless allowed), loading each version's
// model bundle from the artifact store as a serving Model, and writing endpoint records (what
// `raypipe endpoint create/update` and the Deploy pipeline step share).

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ml/model_bundle.h"
#include "registry/model_registry.h"
#include "serving/endpoint_store.h"
#include "serving/model_runtime.h"
#include "serving/tree_ensemble.h"
#include "store/artifact_store.h"

namespace raypipe::serving {

// Turns a booster into compiled trees for BundleModel::Load.
using TreeCompiler =
    std::function<Result<std::unique_ptr<const TreeEnsemble>>(const ml::Booster& booster)>;

struct BundleModelOptions {
  // Empty: TreeEnsemble::Build. Whatever it returns is verified against the booster
  // (TreeEnsemble::Verify) before it answers a request; tests inject compilers that fail or
  // build the wrong trees to exercise the fallback to XGBoost.
  TreeCompiler compiler;
};

// A model bundle (ml/model_bundle.h) as a serving Model: raw features in, the bundle's
// preprocessing applied, XGBoost predictions out. The trees are compiled for the request path
// (tree_ensemble.h) when the model allows it and the compiled trees agree with XGBoost on the
// probe rows; otherwise (unsupported model, a compile error, any disagreement) XGBoost's
// in-place predict answers, and fallback_reason() says why. Thread-safe.
class BundleModel : public Model {
 public:
  // Loads the bundle directory; errors name the file. A model that cannot be compiled still
  // loads (XGBoost predicts).
  static Result<std::shared_ptr<const BundleModel>> Load(const std::filesystem::path& dir,
                                                         const BundleModelOptions& options = {});
  // `ensemble` may be null (XGBoost predicts; `fallback_reason` says why).
  BundleModel(ml::ModelBundle bundle, std::unique_ptr<const TreeEnsemble> ensemble,
              std::string fallback_reason = {});

  const std::vector<std::string>& features() const override { return bundle_.features; }
  Result<std::vector<float>> Predict(std::span<const float> rows, size_t num_rows) const override;
  // Whether the compiled trees answer (false: XGBoost's in-place predict).
  bool compiled() const { return ensemble_ != nullptr; }
  // Why XGBoost's in-place predict answers ("" when compiled): the compiler's or the
  // verification's error.
  const std::string& fallback_reason() const { return fallback_reason_; }

 private:
  ml::ModelBundle bundle_;
  std::unique_ptr<const TreeEnsemble> ensemble_;
  std::string fallback_reason_;
  // The preprocessing per feature, (x - offset) / scale; 0 and 1 for unscaled features.
  std::vector<double> offsets_;
  std::vector<double> scales_;
};

// Fills in "latest" (version 0) with the group's newest Approved version and checks that every
// version exists and, unless `allow_unapproved`, is Approved (FailedPrecondition naming the
// package, its status and how to approve it).
Result<std::vector<VariantConfig>> ResolveVariants(const registry::ModelRegistry& registry,
                                                   std::vector<VariantConfig> specs,
                                                   bool allow_unapproved);

// Loads the bundle of every (resolved) variant: Describe -> model_artifact digest ->
// ArtifactStore::PathOf -> BundleModel. model_version is "GROUP:VERSION".
Result<std::vector<Variant>> LoadVariants(const registry::ModelRegistry& registry,
                                          store::ArtifactStore& artifacts,
                                          const std::vector<VariantConfig>& variants);

// What to write into an endpoint record.
struct DeployRequest {
  std::string endpoint;
  // Variant specs; version 0 means the group's latest Approved version, resolved now.
  std::vector<VariantConfig> variants;
  std::optional<std::string> host;  // on create: default 127.0.0.1; an update keeps the record's
  std::optional<int> port;          // on create: default 8080; unset, an update keeps the record's
  bool allow_unapproved = false;    // deploy versions that are not Approved
};

enum class DeployMode {
  kCreate,          // AlreadyExists when the endpoint exists (`raypipe endpoint create`)
  kUpdate,          // NotFound when it does not (`raypipe endpoint update`)
  kCreateOrUpdate,  // the Deploy step
};

struct DeployOutcome {
  EndpointConfig config;  // the record as written (or as found, when unchanged)
  bool created = false;
  // False when an update would not change the variants or the port: the revision is kept, so
  // a running server does not reload the same models.
  bool changed = false;
};

// Resolves the variants (ResolveVariants), checks that every variant's model bundle loads
// (LoadVariants), then creates or updates the record. A `raypipe serve` process running the
// endpoint sees the new revision within its poll interval and hot-swaps the models. Nothing is
// written when a check fails.
Result<DeployOutcome> DeployEndpoint(const registry::ModelRegistry& registry,
                                     store::ArtifactStore& artifacts, EndpointStore& endpoints,
                                     DeployRequest request, DeployMode mode);

// Whether a server runs the record at its host and port (0.0.0.0 is probed on 127.0.0.1).
enum class ServingState {
  kNotServing,  // nothing answers GET /ping with 200
  kUpdating,    // a server answers but does not yet serve every variant of the record
  kInService,   // the server's /metrics shows every variant of the record with its version
};
// "NotServing", "Updating", "InService".
std::string_view ServingStateName(ServingState state);
ServingState ProbeEndpoint(const EndpointConfig& config,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

// A registry delete guard (ModelRegistry::SetDeleteGuard) that refuses to delete a group while
// an endpoint record uses one of its versions (FailedPrecondition naming the endpoint).
// `endpoints` must outlive the guard.
registry::DeleteGuard EndpointDeleteGuard(const EndpointStore* endpoints);

}  // namespace raypipe::serving
