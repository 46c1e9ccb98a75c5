#include "ml/dmatrix.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>
#include <xgboost/c_api.h>

#include "ml/internal/xgb_check.h"

namespace raypipe::ml {

namespace internal {
std::string ArrayInterface(const void* data, std::string_view typestr, size_t rows,
                           size_t cols) {
  // Hand-formatted: this runs once per column and per prediction call, where building an
  // nlohmann::json object would dominate small requests.
  char buffer[192];
  int length;
  if (cols == 0) {
    length = std::snprintf(buffer, sizeof(buffer),
                           "{\"data\":[%" PRIuPTR ",true],\"shape\":[%zu],\"typestr\":\"%.*s\","
                           "\"version\":3}",
                           reinterpret_cast<uintptr_t>(data), rows,
                           static_cast<int>(typestr.size()), typestr.data());
  } else {
    length = std::snprintf(buffer, sizeof(buffer),
                           "{\"data\":[%" PRIuPTR ",true],\"shape\":[%zu,%zu],\"typestr\":"
                           "\"%.*s\",\"version\":3}",
                           reinterpret_cast<uintptr_t>(data), rows, cols,
                           static_cast<int>(typestr.size()), typestr.data());
  }
  return std::string(buffer, static_cast<size_t>(length));
}
}  // namespace internal

namespace {

std::string ConfigJson(int nthread) {
  return "{\"missing\":NaN,\"nthread\":" + std::to_string(nthread) + "}";
}

}  // namespace

DMatrix::~DMatrix() {
  if (handle_ != nullptr) XGDMatrixFree(handle_);
}

Result<std::unique_ptr<DMatrix>> DMatrix::FromTable(const data::Table& table,
                                                    const std::vector<std::string>& features,
                                                    std::string_view label) {
  return FromTable(table, features, label, Options());
}

Result<std::unique_ptr<DMatrix>> DMatrix::FromTable(const data::Table& table,
                                                    const std::vector<std::string>& features,
                                                    std::string_view label,
                                                    const Options& options) {
  if (features.empty()) return InvalidArgumentError("a DMatrix needs at least one feature column");
  // Int64 columns with nulls are converted; the converted buffers live until XGBoost copied
  // them (the end of this function).
  std::vector<std::vector<double>> converted;
  std::string columns = "[";
  for (size_t feature_idx = 0; feature_idx < features.size(); ++feature_idx) {
    ASSIGN_OR_RETURN(const data::Column* column, table.ColumnByName(features[feature_idx]));
    if (feature_idx > 0) columns += ',';
    switch (column->type()) {
      case data::DataType::kFloat64:
        columns += internal::ArrayInterface(column->float64s().data(), "<f8", column->length());
        break;
      case data::DataType::kInt64:
        if (!column->has_nulls()) {
          columns += internal::ArrayInterface(column->int64s().data(), "<i8", column->length());
        } else {
          std::vector<double>& values = converted.emplace_back(column->length());
          std::span<const int64_t> ints = column->int64s();
          for (size_t row = 0; row < values.size(); ++row) {
            values[row] = column->IsNull(row) ? std::numeric_limits<double>::quiet_NaN()
                                              : static_cast<double>(ints[row]);
          }
          columns += internal::ArrayInterface(values.data(), "<f8", values.size());
        }
        break;
      case data::DataType::kString:
        return InvalidArgumentError("feature column '" + column->name() +
                                    "' is a String column; XGBoost needs numbers");
    }
  }
  columns += ']';

  DMatrixHandle handle = nullptr;
  RETURN_IF_XGB_ERROR(
      XGDMatrixCreateFromColumnar(columns.c_str(), ConfigJson(options.nthread).c_str(), &handle),
      "DMatrix creation");
  std::unique_ptr<DMatrix> matrix(new DMatrix(handle, table.num_rows(), features.size()));

  if (!label.empty()) {
    ASSIGN_OR_RETURN(const data::Column* column, table.ColumnByName(label));
    if (column->has_nulls()) {
      return InvalidArgumentError("label column '" + column->name() + "' has " +
                                  std::to_string(column->null_count()) + " null values");
    }
    std::string interface;
    switch (column->type()) {
      case data::DataType::kFloat64:
        interface = internal::ArrayInterface(column->float64s().data(), "<f8", column->length());
        break;
      case data::DataType::kInt64:
        interface = internal::ArrayInterface(column->int64s().data(), "<i8", column->length());
        break;
      case data::DataType::kString:
        return InvalidArgumentError("label column '" + column->name() +
                                    "' is a String column; XGBoost needs numbers");
    }
    RETURN_IF_XGB_ERROR(XGDMatrixSetInfoFromInterface(handle, "label", interface.c_str()),
                        "setting the label");
  }
  return matrix;
}

Result<std::unique_ptr<DMatrix>> DMatrix::FromDense(std::span<const float> rows, size_t num_rows,
                                                    size_t num_cols,
                                                    std::span<const float> labels) {
  if (num_cols == 0) return InvalidArgumentError("a DMatrix needs at least one column");
  if (rows.size() != num_rows * num_cols) {
    return InvalidArgumentError("expected " + std::to_string(num_rows) + " x " +
                                std::to_string(num_cols) + " values, got " +
                                std::to_string(rows.size()));
  }
  if (!labels.empty() && labels.size() != num_rows) {
    return InvalidArgumentError("expected " + std::to_string(num_rows) + " labels, got " +
                                std::to_string(labels.size()));
  }
  DMatrixHandle handle = nullptr;
  std::string interface = internal::ArrayInterface(rows.data(), "<f4", num_rows, num_cols);
  RETURN_IF_XGB_ERROR(XGDMatrixCreateFromDense(interface.c_str(), ConfigJson(0).c_str(), &handle),
                      "DMatrix creation");
  std::unique_ptr<DMatrix> matrix(new DMatrix(handle, num_rows, num_cols));
  if (!labels.empty()) {
    RETURN_IF_XGB_ERROR(XGDMatrixSetFloatInfo(handle, "label", labels.data(), labels.size()),
                        "setting the label");
  }
  return matrix;
}

}  // namespace raypipe::ml
