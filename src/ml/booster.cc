#include "ml/booster.h"

#include <fstream>
#include <system_error>

#include <xgboost/c_api.h>

#include "ml/internal/xgb_check.h"

namespace raypipe::ml {

namespace {

std::string FormatConfig(ModelFormat format) {
  return format == ModelFormat::kJson ? R"({"format":"json"})" : R"({"format":"ubj"})";
}

Result<std::unique_ptr<Booster>> EmptyBooster() {
  return Booster::Create(std::span<const DMatrix* const>());
}

}  // namespace

Result<std::unique_ptr<Booster>> Booster::Create(std::span<const DMatrix* const> cache) {
  std::vector<DMatrixHandle> handles;
  handles.reserve(cache.size());
  for (const DMatrix* matrix : cache) handles.push_back(matrix->handle());
  BoosterHandle handle = nullptr;
  RETURN_IF_XGB_ERROR(XGBoosterCreate(handles.data(), handles.size(), &handle),
                      "booster creation");
  return std::unique_ptr<Booster>(new Booster(handle));
}

Result<std::unique_ptr<Booster>> Booster::LoadModel(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open model file '" + path.string() + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return InternalError("cannot read model file '" + path.string() + "'");
  auto booster = LoadModelFromBuffer(bytes);
  if (!booster.ok()) return booster.status().WithContext(path.string());
  return booster;
}

Result<std::unique_ptr<Booster>> Booster::LoadModelFromBuffer(std::string_view bytes) {
  if (bytes.empty()) return InvalidArgumentError("the model is empty");
  ASSIGN_OR_RETURN(std::unique_ptr<Booster> booster, EmptyBooster());
  RETURN_IF_ERROR(booster->LoadModelBytes(bytes));
  return booster;
}

Booster::~Booster() {
  if (handle_ != nullptr) XGBoosterFree(handle_);
}

Status Booster::LoadModelBytes(std::string_view bytes) {
  if (bytes.empty()) return InvalidArgumentError("the model is empty");
  return internal::CheckXgb(XGBoosterLoadModelFromBuffer(handle_, bytes.data(), bytes.size()),
                            "loading the model");
}

Status Booster::SetParam(std::string_view name, std::string_view value) {
  std::string name_text(name);
  std::string value_text(value);
  return internal::CheckXgb(XGBoosterSetParam(handle_, name_text.c_str(), value_text.c_str()),
                            "setting parameter '" + name_text + "' to '" + value_text + "'");
}

Status Booster::UpdateOneIter(int iteration, const DMatrix& train) {
  return internal::CheckXgb(XGBoosterUpdateOneIter(handle_, iteration, train.handle()),
                            "boosting round " + std::to_string(iteration));
}

Result<std::string> Booster::EvalOneIter(
    int iteration, std::span<const std::pair<std::string, const DMatrix*>> sets) {
  std::vector<DMatrixHandle> handles;
  std::vector<const char*> names;
  for (const auto& [name, matrix] : sets) {
    handles.push_back(matrix->handle());
    names.push_back(name.c_str());
  }
  const char* out = nullptr;
  RETURN_IF_XGB_ERROR(XGBoosterEvalOneIter(handle_, iteration, handles.data(), names.data(),
                                           handles.size(), &out),
                      "evaluation");
  return std::string(out);
}

Result<std::vector<float>> Booster::Predict(const DMatrix& matrix) const {
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  RETURN_IF_XGB_ERROR(
      XGBoosterPredictFromDMatrix(
          handle_, matrix.handle(),
          R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false})",
          &shape, &dims, &result),
      "prediction");
  size_t count = 1;
  for (bst_ulong dim = 0; dim < dims; ++dim) count *= shape[dim];
  return std::vector<float>(result, result + count);
}

Result<std::vector<float>> Booster::PredictDense(std::span<const float> rows,
                                                 size_t num_rows) const {
  ASSIGN_OR_RETURN(size_t num_features, NumFeatures());
  if (rows.size() != num_rows * num_features) {
    return InvalidArgumentError("expected " + std::to_string(num_rows) + " rows of " +
                                std::to_string(num_features) + " features (" +
                                std::to_string(num_rows * num_features) + " values), got " +
                                std::to_string(rows.size()) + " values");
  }
  if (num_rows == 0) return std::vector<float>();
  std::string interface = internal::ArrayInterface(rows.data(), "<f4", num_rows, num_features);
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  RETURN_IF_XGB_ERROR(
      XGBoosterPredictFromDense(
          handle_, interface.c_str(),
          R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"missing":NaN})",
          nullptr, &shape, &dims, &result),
      "prediction");
  size_t count = 1;
  for (bst_ulong dim = 0; dim < dims; ++dim) count *= shape[dim];
  return std::vector<float>(result, result + count);
}

Result<std::string> Booster::SaveModelToBuffer(ModelFormat format) const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  RETURN_IF_XGB_ERROR(
      XGBoosterSaveModelToBuffer(handle_, FormatConfig(format).c_str(), &length, &bytes),
      "saving the model");
  return std::string(bytes, length);
}

Status Booster::SaveModel(const std::filesystem::path& path, ModelFormat format) const {
  ASSIGN_OR_RETURN(std::string bytes, SaveModelToBuffer(format));
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return InternalError("cannot write model file '" + temporary.string() + "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    return InternalError("cannot rename '" + temporary.string() + "' to '" + path.string() +
                         "': " + error.message());
  }
  return Status::Ok();
}

Result<std::unique_ptr<Booster>> Booster::Clone() const {
  ASSIGN_OR_RETURN(std::string bytes, SaveModelToBuffer(ModelFormat::kUbjson));
  return LoadModelFromBuffer(bytes);
}

Result<std::unique_ptr<Booster>> Booster::Slice(int begin, int end) const {
  BoosterHandle out = nullptr;
  RETURN_IF_XGB_ERROR(XGBoosterSlice(handle_, begin, end, 1, &out),
                      "slicing rounds [" + std::to_string(begin) + ", " + std::to_string(end) +
                          ")");
  return std::unique_ptr<Booster>(new Booster(out));
}

Result<int> Booster::BoostedRounds() const {
  int rounds = 0;
  RETURN_IF_XGB_ERROR(XGBoosterBoostedRounds(handle_, &rounds), "counting rounds");
  return rounds;
}

Result<size_t> Booster::NumFeatures() const {
  bst_ulong count = 0;
  RETURN_IF_XGB_ERROR(XGBoosterGetNumFeature(handle_, &count), "counting features");
  return static_cast<size_t>(count);
}

Status Booster::SetAttr(std::string_view key, std::string_view value) {
  std::string key_text(key);
  std::string value_text(value);
  return internal::CheckXgb(XGBoosterSetAttr(handle_, key_text.c_str(), value_text.c_str()),
                            "setting attribute '" + key_text + "'");
}

Result<std::string> Booster::GetAttr(std::string_view key) const {
  std::string key_text(key);
  const char* out = nullptr;
  int success = 0;
  RETURN_IF_XGB_ERROR(XGBoosterGetAttr(handle_, key_text.c_str(), &out, &success),
                      "reading attribute '" + key_text + "'");
  if (success == 0) return NotFoundError("the model has no attribute '" + key_text + "'");
  return std::string(out);
}

}  // namespace raypipe::ml
