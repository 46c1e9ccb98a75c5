#include "serving/deployment.h"

namespace raypipe::serving {

Result<std::shared_ptr<const BundleModel>> BundleModel::Load(const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(ml::ModelBundle bundle, ml::LoadModelBundle(dir));
  // One thread per prediction: the server already runs one request per core, and XGBoost's
  // default (every core, through OpenMP) makes single-row requests wait on thread teams.
  ASSIGN_OR_RETURN(std::unique_ptr<ml::Booster> booster, bundle.booster->Clone());
  RETURN_IF_ERROR(booster->SetParam("nthread", "1"));
  bundle.booster = std::move(booster);
  return std::make_shared<const BundleModel>(std::move(bundle));
}

Result<std::vector<float>> BundleModel::Predict(std::span<const float> rows,
                                                size_t num_rows) const {
  return ml::PredictRows(bundle_, rows, num_rows);
}

Result<std::vector<VariantConfig>> ResolveVariants(const registry::ModelRegistry& registry,
                                                   std::vector<VariantConfig> specs,
                                                   bool allow_unapproved) {
  for (VariantConfig& spec : specs) {
    if (spec.version == 0) {
      Result<registry::ModelPackage> latest = registry.LatestApproved(spec.group);
      if (!latest.ok()) {
        return latest.status().WithContext("variant '" + spec.name + "'");
      }
      spec.version = latest->version;
      continue;
    }
    Result<registry::ModelPackage> package = registry.Describe(spec.group, spec.version);
    if (!package.ok()) return package.status().WithContext("variant '" + spec.name + "'");
    if (package->status != registry::ApprovalStatus::kApproved && !allow_unapproved) {
      return FailedPreconditionError(
          "model package " + spec.group + ":" + std::to_string(spec.version) + " is " +
          std::string(registry::ApprovalStatusName(package->status)) + "; only Approved versions deploy (raypipe " +
          "model approve " + spec.group + " " + std::to_string(spec.version) +
          ", or pass --allow-unapproved)");
    }
  }
  return specs;
}

Result<std::vector<Variant>> LoadVariants(const registry::ModelRegistry& registry,
                                          store::ArtifactStore& artifacts,
                                          const std::vector<VariantConfig>& variants) {
  std::vector<Variant> out;
  for (const VariantConfig& config : variants) {
    const std::string package_name = config.group + ":" + std::to_string(config.version);
    ASSIGN_OR_RETURN(registry::ModelPackage package,
                     registry.Describe(config.group, config.version));
    Result<std::string> path = artifacts.PathOf(package.model_artifact);
    if (!path.ok()) {
      return path.status().WithContext("model package " + package_name + " (artifact " +
                                       package.model_artifact + ")");
    }
    Result<std::shared_ptr<const BundleModel>> model = BundleModel::Load(*path);
    if (!model.ok()) return model.status().WithContext("model package " + package_name);
    Variant variant;
    variant.name = config.name;
    variant.weight = config.weight;
    variant.model_version = package_name;
    variant.model = std::move(*model);
    out.push_back(std::move(variant));
  }
  return out;
}

registry::DeleteGuard EndpointDeleteGuard(const EndpointStore* endpoints) {
  return [endpoints](std::string_view group,
                     const std::vector<registry::ModelPackage>& versions) -> Status {
    ASSIGN_OR_RETURN(std::vector<EndpointConfig> configs, endpoints->List());
    for (const EndpointConfig& config : configs) {
      for (const VariantConfig& variant : config.variants) {
        if (variant.group != group) continue;
        for (const registry::ModelPackage& package : versions) {
          if (package.version == variant.version) {
            return FailedPreconditionError(
                "version " + std::to_string(variant.version) + " of " + std::string(group) +
                " is deployed on endpoint '" + config.name + "' (variant " + variant.name +
                "); update or delete the endpoint first");
          }
        }
      }
    }
    return Status::Ok();
  };
}

}  // namespace raypipe::serving
