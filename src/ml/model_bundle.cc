#include "ml/model_bundle.h"

#include <algorithm>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/json.h"

namespace raypipe::ml {

namespace {

Status WriteTextFile(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) return InternalError("cannot write '" + temporary.string() + "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return InternalError("cannot rename to '" + path.string() + "': " + error.message());
  return Status::Ok();
}

// The objective recorded in the booster's saved configuration, or "" when unreadable.
std::string ObjectiveOf(const Booster& booster) {
  auto bytes = booster.SaveModelToBuffer(ModelFormat::kJson);
  if (!bytes.ok()) return "";
  nlohmann::json model = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (model.is_discarded()) return "";
  const nlohmann::json* name = &model;
  for (const char* key : {"learner", "objective", "name"}) {
    if (!name->is_object() || !name->contains(key)) return "";
    name = &(*name)[key];
  }
  return name->is_string() ? name->get<std::string>() : "";
}

}  // namespace

Status WriteModelBundle(const std::filesystem::path& dir, const Booster& booster,
                        const std::vector<std::string>& features, std::string_view target,
                        const data::StandardScaler* preprocessing) {
  if (features.empty()) return InvalidArgumentError("a model bundle needs its feature names");
  ASSIGN_OR_RETURN(size_t num_features, booster.NumFeatures());
  if (num_features != features.size()) {
    return InvalidArgumentError("the booster expects " + std::to_string(num_features) +
                                " features but " + std::to_string(features.size()) +
                                " feature names were given");
  }
  if (preprocessing != nullptr) {
    if (!preprocessing->fitted()) {
      return InvalidArgumentError("the preprocessing scaler is not fitted");
    }
    for (const data::ScalerColumn& column : preprocessing->params()) {
      if (std::find(features.begin(), features.end(), column.name) == features.end()) {
        return InvalidArgumentError("the preprocessing scaler's column '" + column.name +
                                    "' is not a feature of the model");
      }
    }
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return InternalError("cannot create bundle directory '" + dir.string() +
                         "': " + error.message());
  }
  RETURN_IF_ERROR(booster.SaveModel(dir / kBoosterFileName, ModelFormat::kJson));

  nlohmann::json manifest = {
      {"format", kModelBundleFormat},
      {"framework", "xgboost"},
      {"features", features},
      {"target", target},
      {"objective", ObjectiveOf(booster)},
  };
  std::filesystem::path scaler_path = dir / kPreprocessingFileName;
  if (preprocessing != nullptr) {
    manifest["preprocessing"] = kPreprocessingFileName;
    RETURN_IF_ERROR(WriteTextFile(scaler_path, preprocessing->ToJson().dump(2) + "\n"));
  } else {
    std::filesystem::remove(scaler_path, error);
  }
  return WriteTextFile(dir / kBundleManifestName, manifest.dump(2) + "\n");
}

Result<ModelBundle> LoadModelBundle(const std::filesystem::path& dir) {
  std::filesystem::path manifest_path = dir / kBundleManifestName;
  std::string where = manifest_path.string();
  ASSIGN_OR_RETURN(nlohmann::json manifest, core::ReadJsonFile(manifest_path));
  ASSIGN_OR_RETURN(std::string format, core::GetString(manifest, "format", where));
  if (format != kModelBundleFormat) {
    return InvalidArgumentError(where + ": format: expected \"" +
                                std::string(kModelBundleFormat) + "\", found \"" + format + "\"");
  }
  ASSIGN_OR_RETURN(std::string framework, core::GetString(manifest, "framework", where));
  if (framework != "xgboost") {
    return InvalidArgumentError(where + ": framework: expected \"xgboost\", found \"" +
                                framework + "\"");
  }
  ModelBundle bundle;
  ASSIGN_OR_RETURN(const nlohmann::json* features, core::GetArray(manifest, "features", where));
  for (size_t index = 0; index < features->size(); ++index) {
    const nlohmann::json& name = (*features)[index];
    if (!name.is_string() || name.get<std::string>().empty()) {
      return InvalidArgumentError(where + ": features[" + std::to_string(index) +
                                  "]: expected a non-empty string");
    }
    bundle.features.push_back(name.get<std::string>());
  }
  if (bundle.features.empty()) return InvalidArgumentError(where + ": features: is empty");
  ASSIGN_OR_RETURN(bundle.target, core::GetString(manifest, "target", where));
  ASSIGN_OR_RETURN(std::optional<std::string> objective,
                   core::GetOptionalString(manifest, "objective", where));
  bundle.objective = objective.value_or("");

  ASSIGN_OR_RETURN(std::optional<std::string> preprocessing,
                   core::GetOptionalString(manifest, "preprocessing", where));
  if (preprocessing.has_value()) {
    if (preprocessing->empty() || preprocessing->find('/') != std::string::npos ||
        *preprocessing == "..") {
      return InvalidArgumentError(where + ": preprocessing: expected a file name in the bundle, "
                                  "found \"" + *preprocessing + "\"");
    }
    std::filesystem::path scaler_path = dir / *preprocessing;
    ASSIGN_OR_RETURN(nlohmann::json scaler_json, core::ReadJsonFile(scaler_path));
    auto scaler = data::StandardScaler::FromJson(scaler_json);
    if (!scaler.ok()) return scaler.status().WithContext(scaler_path.string());
    for (const data::ScalerColumn& column : scaler->params()) {
      if (std::find(bundle.features.begin(), bundle.features.end(), column.name) ==
          bundle.features.end()) {
        return InvalidArgumentError(scaler_path.string() + ": column '" + column.name +
                                    "' is not one of the model's features");
      }
    }
    bundle.preprocessing = std::move(*scaler);
  }

  ASSIGN_OR_RETURN(std::unique_ptr<Booster> booster, Booster::LoadModel(dir / kBoosterFileName));
  ASSIGN_OR_RETURN(size_t num_features, booster->NumFeatures());
  if (num_features != bundle.features.size()) {
    return InvalidArgumentError((dir / kBoosterFileName).string() + ": the booster expects " +
                                std::to_string(num_features) + " features but " + where +
                                " names " + std::to_string(bundle.features.size()));
  }
  bundle.booster = std::move(booster);
  return bundle;
}

Result<std::vector<float>> PredictRows(const ModelBundle& bundle, std::span<const float> rows,
                                       size_t num_rows) {
  if (bundle.booster == nullptr) return FailedPreconditionError("the model bundle has no booster");
  size_t width = bundle.features.size();
  if (rows.size() != num_rows * width) {
    return InvalidArgumentError("expected " + std::to_string(num_rows) + " rows of " +
                                std::to_string(width) + " features (" +
                                std::to_string(num_rows * width) + " values), got " +
                                std::to_string(rows.size()) + " values");
  }
  if (!bundle.preprocessing.has_value()) return bundle.booster->PredictDense(rows, num_rows);

  // (x - offset) / scale per feature, in double as the training-time Transform did.
  std::vector<double> offsets(width, 0.0);
  std::vector<double> scales(width, 1.0);
  for (size_t feature_idx = 0; feature_idx < width; ++feature_idx) {
    if (const data::ScalerColumn* column =
            bundle.preprocessing->Find(bundle.features[feature_idx])) {
      offsets[feature_idx] = column->offset;
      scales[feature_idx] = column->scale;
    }
  }
  std::vector<float> scaled(rows.size());
  for (size_t row = 0; row < num_rows; ++row) {
    for (size_t feature_idx = 0; feature_idx < width; ++feature_idx) {
      size_t index = row * width + feature_idx;
      scaled[index] = static_cast<float>(
          (static_cast<double>(rows[index]) - offsets[feature_idx]) / scales[feature_idx]);
    }
  }
  return bundle.booster->PredictDense(scaled, num_rows);
}

}  // namespace raypipe::ml
