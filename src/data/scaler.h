#pragma once

// Feature scalers, fitted on one table (the training split) and applied to others. Both map a
// value x of a fitted column to (x - offset) / scale, as Float64; nulls stay null, and columns
// that were not fitted pass through untouched. They serialize to JSON so a fitted scaler can
// travel with a model and be applied to raw rows at serving time.
//
// Thread-safety: Fit mutates; everything else is const and safe to share once fitted.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/table.h"

namespace raypipe::data {

// The learned transform of one column: (x - offset) / scale.
struct ScalerColumn {
  std::string name;
  double offset = 0.0;
  double scale = 1.0;
  friend bool operator==(const ScalerColumn&, const ScalerColumn&) = default;
};

namespace internal {
// The behaviour both scalers share; `kind` names the scaler in JSON and messages.
class LinearScaler {
 public:
  bool fitted() const { return fitted_; }
  const std::vector<ScalerColumn>& params() const { return params_; }
  // The fitted parameters of `name`, or nullptr.
  const ScalerColumn* Find(std::string_view name) const;

  // A copy of `table` whose fitted columns are (x - offset) / scale as Float64.
  // FailedPrecondition before Fit; NotFound when a fitted column is missing; InvalidArgument
  // when it is a String column.
  Result<Table> Transform(const Table& table, int threads = 0) const;
  // x = y * scale + offset, for predictions or explanations in original units.
  Result<Table> InverseTransform(const Table& table) const;

  nlohmann::json ToJson() const;

 protected:
  explicit LinearScaler(std::string kind) : kind_(std::move(kind)) {}
  Status FromJsonImpl(const nlohmann::json& json);
  // Checks the columns are numeric and present, and returns them in order.
  Result<std::vector<const Column*>> FitColumns(const Table& table,
                                               const std::vector<std::string>& columns) const;

  std::string kind_;
  bool fitted_ = false;
  std::vector<ScalerColumn> params_;
};
}  // namespace internal

// Standardization: offset = the mean, scale = the population standard deviation (ddof = 0),
// over the non-null values; a zero deviation becomes 1 (the column is only centred).
class StandardScaler : public internal::LinearScaler {
 public:
  StandardScaler() : LinearScaler("StandardScaler") {}

  // InvalidArgument for a String column, a column without non-null values or with non-finite
  // values, or a repeated name; NotFound for a missing column. Refitting replaces everything.
  Status Fit(const Table& table, const std::vector<std::string>& columns);

  // {"type": "StandardScaler", "version": 1, "columns": [{"name", "mean", "std"}, ...]}.
  nlohmann::json ToJson() const;
  // InvalidArgument naming the field that is missing or wrong.
  static Result<StandardScaler> FromJson(const nlohmann::json& json);
};

// Min-max scaling to [0, 1]: offset = the minimum, scale = max - min over the non-null values;
// a zero range becomes 1.
class MinMaxScaler : public internal::LinearScaler {
 public:
  MinMaxScaler() : LinearScaler("MinMaxScaler") {}

  Status Fit(const Table& table, const std::vector<std::string>& columns);

  // {"type": "MinMaxScaler", "version": 1, "columns": [{"name", "min", "range"}, ...]}.
  nlohmann::json ToJson() const;
  static Result<MinMaxScaler> FromJson(const nlohmann::json& json);
};

}  // namespace raypipe::data
