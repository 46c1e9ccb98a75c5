#pragma once

// Booster: RAII over XGBoost's BoosterHandle. Every C API call is checked; a failure becomes
// an Internal Status carrying XGBGetLastError().
//
// Thread-safety: the mutating calls (SetParam, UpdateOneIter, SetAttr, Load*) need exclusive
// access. The const calls (prediction, saving, EvalOneIter aside) may run concurrently on one
// Booster: XGBoost keeps prediction buffers per thread and serializes its lazy configuration.
// Distributed training: UpdateOneIter / EvalOneIter are collective when the calling thread has
// an XGBoost communicator.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "ml/dmatrix.h"

namespace raypipe::ml {

enum class ModelFormat {
  kJson,    // XGBoost's JSON model (xgboost-model.json)
  kUbjson,  // Universal Binary JSON (the default of Python's save_model("x.ubj"))
};

class Booster {
 public:
  // A new booster whose prediction cache covers `cache` (the training and evaluation
  // matrices; they must outlive the training calls, not the booster).
  static Result<std::unique_ptr<Booster>> Create(std::span<const DMatrix* const> cache);
  // Loads a model saved by SaveModel or by Python's xgboost (format from the extension:
  // .json -> JSON, otherwise UBJSON). NotFound when the file is missing; Internal (naming the
  // file) when XGBoost rejects it.
  static Result<std::unique_ptr<Booster>> LoadModel(const std::filesystem::path& path);
  // The same from bytes (JSON or UBJSON, detected by XGBoost).
  static Result<std::unique_ptr<Booster>> LoadModelFromBuffer(std::string_view bytes);

  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  ~Booster();

  // Replaces this booster's model with a saved one (JSON or UBJSON bytes), keeping its
  // prediction cache: how training continues from a checkpoint or an earlier model.
  Status LoadModelBytes(std::string_view bytes);
  // XGBoost's parameters by name ("max_depth", "eta", "objective", "eval_metric" which may be
  // set several times, "seed", "nthread", ...). Internal for an unknown value.
  Status SetParam(std::string_view name, std::string_view value);
  // One boosting round on `train` (round `iteration`, from 0).
  Status UpdateOneIter(int iteration, const DMatrix& train);
  // XGBoost's evaluation line for `sets`: "[iter]\tname-metric:value\t...".
  Result<std::string> EvalOneIter(int iteration,
                                  std::span<const std::pair<std::string, const DMatrix*>> sets);

  // Predictions (one value per row for regression and binary objectives).
  Result<std::vector<float>> Predict(const DMatrix& matrix) const;
  // In-place prediction on row-major floats, NaN = missing. InvalidArgument when
  // rows.size() != num_rows * num_features.
  Result<std::vector<float>> PredictDense(std::span<const float> rows, size_t num_rows) const;

  Result<std::string> SaveModelToBuffer(ModelFormat format) const;
  // Written to a temporary file and renamed into place. The format follows `format`, whatever
  // the extension.
  Status SaveModel(const std::filesystem::path& path, ModelFormat format) const;
  // A deep copy (through UBJSON).
  Result<std::unique_ptr<Booster>> Clone() const;
  // The trees of rounds [begin, end) as a new booster.
  Result<std::unique_ptr<Booster>> Slice(int begin, int end) const;

  Result<int> BoostedRounds() const;
  Result<size_t> NumFeatures() const;
  // User attributes saved with the model ("best_iteration", "best_score", ...).
  Status SetAttr(std::string_view key, std::string_view value);
  // std::nullopt-like: NotFound when unset.
  Result<std::string> GetAttr(std::string_view key) const;

  // The BoosterHandle, owned by this object.
  void* handle() const { return handle_; }

 private:
  explicit Booster(void* handle) : handle_(handle) {}

  void* handle_;
};

}  // namespace raypipe::ml
