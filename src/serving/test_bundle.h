#pragma once

// For tests: trains a tiny XGBoost model through ml's API and writes it as a model bundle with
// a StandardScaler, so tests serve a real booster with real preprocessing. The model learns
// y = offset + 10 * A on features A (0..9), B and C (noise), and predicts it to within ~1.
// `params` are XGBoost parameters set after the defaults ({"booster", "dart"}, ...).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "data/scaler.h"
#include "data/table.h"
#include "ml/booster.h"
#include "ml/dmatrix.h"
#include "ml/model_bundle.h"
#include "registry/model_registry.h"
#include "store/artifact_store.h"

namespace raypipe::serving {

inline const std::vector<std::string>& TestBundleFeatures() {
  static const std::vector<std::string> features = {"A", "B", "C"};
  return features;
}

inline Status WriteTestBundle(
    const std::filesystem::path& dir, float offset,
    const std::vector<std::pair<std::string, std::string>>& params = {}) {
  constexpr size_t kRows = 200;
  std::vector<double> a(kRows), b(kRows), c(kRows);
  std::vector<float> rows, labels;
  for (size_t row_idx = 0; row_idx < kRows; ++row_idx) {
    a[row_idx] = static_cast<double>(row_idx % 10);
    b[row_idx] = static_cast<double>((row_idx * 7) % 13) * 100.0;
    c[row_idx] = static_cast<double>((row_idx * 3) % 5) - 2.0;
    labels.push_back(offset + 10.0f * static_cast<float>(a[row_idx]));
  }
  std::vector<data::Column> columns;
  columns.push_back(data::Column::Float64("A", a));
  columns.push_back(data::Column::Float64("B", b));
  columns.push_back(data::Column::Float64("C", c));
  ASSIGN_OR_RETURN(data::Table table, data::Table::Make(std::move(columns)));
  data::StandardScaler scaler;
  RETURN_IF_ERROR(scaler.Fit(table, TestBundleFeatures()));
  ASSIGN_OR_RETURN(data::Table scaled, scaler.Transform(table));
  for (size_t row_idx = 0; row_idx < kRows; ++row_idx) {
    for (size_t column_idx = 0; column_idx < 3; ++column_idx) {
      rows.push_back(static_cast<float>(scaled.column(column_idx).float64s()[row_idx]));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ml::DMatrix> train,
                   ml::DMatrix::FromDense(rows, kRows, 3, labels));
  const ml::DMatrix* cache[] = {train.get()};
  ASSIGN_OR_RETURN(std::unique_ptr<ml::Booster> booster, ml::Booster::Create(cache));
  RETURN_IF_ERROR(booster->SetParam("objective", "reg:squarederror"));
  RETURN_IF_ERROR(booster->SetParam("eta", "1"));
  RETURN_IF_ERROR(booster->SetParam("max_depth", "6"));
  RETURN_IF_ERROR(booster->SetParam("nthread", "1"));
  RETURN_IF_ERROR(booster->SetParam("seed", "7"));
  for (const auto& [name, value] : params) RETURN_IF_ERROR(booster->SetParam(name, value));
  for (int round = 0; round < 5; ++round) RETURN_IF_ERROR(booster->UpdateOneIter(round, *train));
  return ml::WriteModelBundle(dir, *booster, TestBundleFeatures(), "y", &scaler);
}

// Registers housing:1 (offset 1000, Approved), housing:2 (offset 2000, Approved) and housing:3
// (offset 3000, PendingManualApproval), each a real bundle written under `dir` and committed to
// `artifacts`.
inline Status RegisterTestHousingVersions(const std::filesystem::path& dir,
                                          store::ArtifactStore& artifacts,
                                          registry::ModelRegistry& registry) {
  for (int version = 1; version <= 3; ++version) {
    const std::filesystem::path bundle = dir / ("bundle" + std::to_string(version));
    RETURN_IF_ERROR(WriteTestBundle(bundle, 1000.0f * static_cast<float>(version)));
    ASSIGN_OR_RETURN(auto artifact, artifacts.PutFile(bundle.string()));
    registry::RegisterRequest request;
    request.group = "housing";
    request.model_artifact = artifact.digest;
    RETURN_IF_ERROR(registry.RegisterVersion(request).status());
    if (version < 3) {
      RETURN_IF_ERROR(registry.UpdateApprovalStatus("housing", version,
                                                    registry::ApprovalStatus::kApproved, "ok")
                          .status());
    }
  }
  return Status::Ok();
}

}  // namespace raypipe::serving
