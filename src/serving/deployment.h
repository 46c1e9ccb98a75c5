#pragma once

// From registered model packages to served models: resolving an endpoint's variant specs against
// the model registry (only Approved versions deploy unless allowed), and loading each version's
// model bundle from the artifact store as a serving Model.

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "ml/model_bundle.h"
#include "registry/model_registry.h"
#include "serving/endpoint_store.h"
#include "serving/model_runtime.h"
#include "store/artifact_store.h"

namespace raypipe::serving {

// A model bundle (ml/model_bundle.h) as a serving Model: raw features in, the bundle's
// preprocessing applied, XGBoost predictions out. Thread-safe.
class BundleModel : public Model {
 public:
  // Loads the bundle directory; errors name the file.
  static Result<std::shared_ptr<const BundleModel>> Load(const std::filesystem::path& dir);
  explicit BundleModel(ml::ModelBundle bundle) : bundle_(std::move(bundle)) {}

  const std::vector<std::string>& features() const override { return bundle_.features; }
  Result<std::vector<float>> Predict(std::span<const float> rows, size_t num_rows) const override;

 private:
  ml::ModelBundle bundle_;
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

// A registry delete guard (ModelRegistry::SetDeleteGuard) that refuses to delete a group while
// an endpoint record uses one of its versions (FailedPrecondition naming the endpoint).
// `endpoints` must outlive the guard.
registry::DeleteGuard EndpointDeleteGuard(const EndpointStore* endpoints);

}  // namespace raypipe::serving
