#pragma once

// The model bundle: the directory a trained model travels as (contracts.md).
//
//   xgboost-model.json   the booster as XGBoost JSON (loadable by Python's xgboost)
//   raypipe-model.json   {"format": "raypipe.model.v1", "framework": "xgboost",
//                         "features": [...] (the booster's order), "target": "PRICE",
//                         "objective": "reg:squarederror",
//                         "preprocessing": "preprocessing.json" (absent when none)}
//   preprocessing.json   optional: data::StandardScaler::ToJson() of the scaler fitted on the
//                        training features, applied to raw features before predicting
//
// Thread-safety: a loaded ModelBundle is immutable; PredictRows may be called concurrently.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/scaler.h"
#include "ml/booster.h"

namespace raypipe::ml {

inline constexpr std::string_view kModelBundleFormat = "raypipe.model.v1";
inline constexpr std::string_view kBoosterFileName = "xgboost-model.json";
inline constexpr std::string_view kBundleManifestName = "raypipe-model.json";
inline constexpr std::string_view kPreprocessingFileName = "preprocessing.json";

struct ModelBundle {
  std::shared_ptr<const Booster> booster;
  std::vector<std::string> features;
  std::string target;
  std::optional<data::StandardScaler> preprocessing;
  // The booster's objective as recorded in the manifest ("reg:squarederror", ...).
  std::string objective;
};

// Writes the bundle files into `dir` (created if missing; existing bundle files are
// replaced). `preprocessing` may be null. InvalidArgument when `features` is empty or does not
// match the booster's feature count, or when a fitted scaler column is not a feature.
Status WriteModelBundle(const std::filesystem::path& dir, const Booster& booster,
                        const std::vector<std::string>& features, std::string_view target,
                        const data::StandardScaler* preprocessing);

// Loads a bundle. Errors name the file: NotFound for a missing file, InvalidArgument for a
// malformed manifest or scaler (naming the field), Internal when XGBoost rejects the model.
Result<ModelBundle> LoadModelBundle(const std::filesystem::path& dir);

// Raw feature rows (row-major, num_rows x features.size(), features in bundle order) ->
// one prediction per row; applies the preprocessing first. NaN is a missing value.
// Thread-safe (concurrent calls allowed). InvalidArgument on a wrong width.
Result<std::vector<float>> PredictRows(const ModelBundle& bundle, std::span<const float> rows,
                                       size_t num_rows);

}  // namespace raypipe::ml
