#include "serving/deployment.h"

#include <cmath>
#include <cstdlib>

#include "core/logging.h"
#include "serving/http_client.h"

namespace raypipe::serving {

Result<std::shared_ptr<const BundleModel>> BundleModel::Load(const std::filesystem::path& dir,
                                                             const BundleModelOptions& options) {
  ASSIGN_OR_RETURN(ml::ModelBundle bundle, ml::LoadModelBundle(dir));
  // One thread per prediction: the server already runs one request per core, and XGBoost's
  // default (every core, through OpenMP) makes single-row requests wait on thread teams.
  ASSIGN_OR_RETURN(std::unique_ptr<ml::Booster> booster, bundle.booster->Clone());
  RETURN_IF_ERROR(booster->SetParam("nthread", "1"));
  Result<std::unique_ptr<const TreeEnsemble>> ensemble =
      options.compiler ? options.compiler(*booster) : TreeEnsemble::Build(*booster);
  // Compiled trees answer only when they agree with XGBoost, whoever compiled them.
  Status usable = ensemble.status();
  if (usable.ok()) {
    usable = *ensemble == nullptr ? InternalError("the tree compiler returned no model")
                                  : (*ensemble)->Verify(*booster);
  }
  std::string fallback_reason;
  if (!usable.ok()) {
    fallback_reason = std::string(usable.message());
    RAYPIPE_LOG(Info) << "model bundle " << dir.string() << " is predicted by XGBoost ("
                      << fallback_reason << ")";
  }
  bundle.booster = std::move(booster);
  return std::make_shared<const BundleModel>(
      std::move(bundle), usable.ok() ? std::move(*ensemble) : nullptr, std::move(fallback_reason));
}

BundleModel::BundleModel(ml::ModelBundle bundle, std::unique_ptr<const TreeEnsemble> ensemble,
                         std::string fallback_reason)
    : bundle_(std::move(bundle)), ensemble_(std::move(ensemble)),
      fallback_reason_(std::move(fallback_reason)) {
  offsets_.assign(bundle_.features.size(), 0.0);
  scales_.assign(bundle_.features.size(), 1.0);
  if (!bundle_.preprocessing.has_value()) return;
  for (size_t feature_idx = 0; feature_idx < bundle_.features.size(); ++feature_idx) {
    if (const data::ScalerColumn* column =
            bundle_.preprocessing->Find(bundle_.features[feature_idx])) {
      offsets_[feature_idx] = column->offset;
      scales_[feature_idx] = column->scale;
    }
  }
}

Result<std::vector<float>> BundleModel::Predict(std::span<const float> rows,
                                                size_t num_rows) const {
  const size_t width = bundle_.features.size();
  if (ensemble_ == nullptr || ensemble_->num_features() != width) {
    return ml::PredictRows(bundle_, rows, num_rows);
  }
  if (rows.size() != num_rows * width) {
    return InvalidArgumentError("expected " + std::to_string(num_rows) + " rows of " +
                                std::to_string(width) + " features, got " +
                                std::to_string(rows.size()) + " values");
  }
  // The scaled rows, in a buffer each worker thread keeps (no allocation per request). The
  // arithmetic is ml::PredictRows's: (x - offset) / scale in double, as training applied it.
  thread_local std::vector<float> scaled;
  scaled.resize(rows.size());
  for (size_t index = 0; index < rows.size(); ++index) {
    const size_t feature_idx = index % width;
    scaled[index] = static_cast<float>(
        (static_cast<double>(rows[index]) - offsets_[feature_idx]) / scales_[feature_idx]);
  }
  std::vector<float> predictions(num_rows);
  ensemble_->Predict(std::span<const float>(scaled.data(), rows.size()), num_rows,
                     predictions.data());
  return predictions;
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

Result<DeployOutcome> DeployEndpoint(const registry::ModelRegistry& registry,
                                     store::ArtifactStore& artifacts, EndpointStore& endpoints,
                                     DeployRequest request, DeployMode mode) {
  RETURN_IF_ERROR(ValidateEndpointName(request.endpoint));
  ASSIGN_OR_RETURN(std::vector<VariantConfig> variants,
                   ResolveVariants(registry, std::move(request.variants),
                                   request.allow_unapproved));
  RETURN_IF_ERROR(ValidateVariants(variants));
  // Load every bundle once, so a broken one fails here rather than in the serving process.
  RETURN_IF_ERROR(LoadVariants(registry, artifacts, variants).status());

  Result<EndpointConfig> current = endpoints.Get(request.endpoint);
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) return current.status();
  if (current.ok() && mode == DeployMode::kCreate) {
    return AlreadyExistsError("endpoint '" + request.endpoint + "' already exists");
  }
  if (!current.ok() && mode == DeployMode::kUpdate) return current.status();

  DeployOutcome outcome;
  if (!current.ok()) {
    EndpointConfig config;
    config.name = request.endpoint;
    if (request.host) config.host = *request.host;
    if (request.port) config.port = *request.port;
    config.variants = variants;
    Result<EndpointConfig> created = endpoints.Create(std::move(config));
    // Another writer created it between Get and Create: update theirs as the mode allows.
    if (created.ok() || created.status().code() != StatusCode::kAlreadyExists ||
        mode == DeployMode::kCreate) {
      RETURN_IF_ERROR(created.status());
      outcome.config = std::move(*created);
      outcome.created = true;
      outcome.changed = true;
      return outcome;
    }
    ASSIGN_OR_RETURN(current, endpoints.Get(request.endpoint));
  }
  if (current->variants == variants && (!request.port || *request.port == current->port)) {
    outcome.config = std::move(*current);
    return outcome;
  }
  ASSIGN_OR_RETURN(outcome.config,
                   endpoints.Update(request.endpoint, std::move(variants), request.port));
  outcome.changed = true;
  return outcome;
}

std::string_view ServingStateName(ServingState state) {
  switch (state) {
    case ServingState::kNotServing:
      return "NotServing";
    case ServingState::kUpdating:
      return "Updating";
    case ServingState::kInService:
      return "InService";
  }
  return "NotServing";
}

namespace {

// The value of label `name` in a Prometheus sample line, or "" when absent.
std::string_view LabelValue(std::string_view line, std::string_view name) {
  const std::string key = std::string(name) + "=\"";
  const size_t start = line.find(key);
  if (start == std::string_view::npos) return {};
  const size_t begin = start + key.size();
  const size_t end = line.find('"', begin);
  return end == std::string_view::npos ? std::string_view() : line.substr(begin, end - begin);
}

// True when the raypipe_endpoint_model_info lines of `metrics` are exactly the record's
// variants (name, GROUP:VERSION, weight).
bool ServesVariants(std::string_view metrics, const std::vector<VariantConfig>& variants) {
  constexpr std::string_view kInfo = "raypipe_endpoint_model_info{";
  size_t served = 0;
  size_t position = 0;
  while ((position = metrics.find(kInfo, position)) != std::string_view::npos) {
    const size_t line_end = metrics.find('\n', position);
    const std::string_view line = metrics.substr(position, line_end - position);
    position = line_end == std::string_view::npos ? metrics.size() : line_end;
    ++served;
    const std::string_view name = LabelValue(line, "variant");
    bool matched = false;
    for (const VariantConfig& variant : variants) {
      if (variant.name != name) continue;
      const std::string model = variant.group + ":" + std::to_string(variant.version);
      const double weight = std::strtod(std::string(LabelValue(line, "weight")).c_str(), nullptr);
      matched = LabelValue(line, "model") == model &&
                std::fabs(weight - variant.weight) <= 1e-6 * std::fabs(variant.weight);
    }
    if (!matched) return false;
  }
  return served == variants.size();
}

}  // namespace

ServingState ProbeEndpoint(const EndpointConfig& config, std::chrono::milliseconds timeout) {
  const std::string host = config.host == "0.0.0.0" ? "127.0.0.1" : config.host;
  auto client = HttpClient::Connect(host, config.port, timeout);
  if (!client.ok()) return ServingState::kNotServing;
  auto ping = (*client)->Send("GET", "/ping");
  if (!ping.ok() || ping->status != 200) return ServingState::kNotServing;
  auto metrics = (*client)->Send("GET", "/metrics");
  if (!metrics.ok() || metrics->status != 200) return ServingState::kUpdating;
  return ServesVariants(metrics->body, config.variants) ? ServingState::kInService
                                                        : ServingState::kUpdating;
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
