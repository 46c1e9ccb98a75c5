#include "data/scaler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "data/internal/parallel.h"

namespace raypipe::data {
namespace {

constexpr int kJsonVersion = 1;
constexpr size_t kTransformBlockRows = 1 << 16;

// Calls fn(value) for each non-null value of a numeric column, as double.
template <typename Fn>
void ForEachValue(const Column& column, Fn&& fn) {
  bool nulls = column.has_nulls();
  if (column.type() == DataType::kFloat64) {
    std::span<const double> values = column.float64s();
    for (size_t row = 0; row < values.size(); ++row) {
      if (!nulls || column.IsValid(row)) fn(values[row]);
    }
  } else {
    std::span<const int64_t> values = column.int64s();
    for (size_t row = 0; row < values.size(); ++row) {
      if (!nulls || column.IsValid(row)) fn(static_cast<double>(values[row]));
    }
  }
}

// Sum of term(values[i]) over a column without nulls, in four interleaved partial sums (four
// times the throughput of one dependent chain of additions; the order is fixed, so the result
// is deterministic).
template <typename T, typename Term>
double SumOf(std::span<const T> values, Term term) {
  double partial[4] = {0.0, 0.0, 0.0, 0.0};
  size_t row = 0;
  for (; row + 4 <= values.size(); row += 4) {
    for (int lane = 0; lane < 4; ++lane) {
      partial[lane] += term(static_cast<double>(values[row + lane]));
    }
  }
  for (; row < values.size(); ++row) partial[0] += term(static_cast<double>(values[row]));
  return (partial[0] + partial[1]) + (partial[2] + partial[3]);
}

// The mean and the population standard deviation of a column's non-null values, in two passes.
std::pair<double, double> MeanAndDeviation(const Column& column) {
  size_t count = column.length() - column.null_count();
  double sum = 0.0;
  double squares = 0.0;
  auto identity = [](double value) { return value; };
  if (!column.has_nulls()) {
    sum = column.type() == DataType::kFloat64 ? SumOf(column.float64s(), identity)
                                              : SumOf(column.int64s(), identity);
  } else {
    ForEachValue(column, [&](double value) { sum += value; });
  }
  double mean = sum / static_cast<double>(count);
  auto squared_deviation = [mean](double value) { return (value - mean) * (value - mean); };
  if (!column.has_nulls()) {
    squares = column.type() == DataType::kFloat64 ? SumOf(column.float64s(), squared_deviation)
                                                  : SumOf(column.int64s(), squared_deviation);
  } else {
    ForEachValue(column, [&](double value) { squares += squared_deviation(value); });
  }
  return {mean, std::sqrt(squares / static_cast<double>(count))};
}

// The names of the JSON fields holding offset and scale, per scaler kind.
struct JsonNames {
  const char* offset;
  const char* scale;
};
JsonNames NamesFor(const std::string& kind) {
  return kind == "StandardScaler" ? JsonNames{"mean", "std"} : JsonNames{"min", "range"};
}

}  // namespace

namespace internal {

const ScalerColumn* LinearScaler::Find(std::string_view name) const {
  for (const ScalerColumn& column : params_) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

Result<std::vector<const Column*>> LinearScaler::FitColumns(
    const Table& table, const std::vector<std::string>& columns) const {
  std::vector<const Column*> found;
  std::unordered_set<std::string_view> seen;
  for (const std::string& name : columns) {
    if (!seen.insert(name).second) {
      return InvalidArgumentError(kind_ + ": column '" + name + "' is listed twice");
    }
    Result<const Column*> column = table.ColumnByName(name);
    if (!column.ok()) return column.status().WithContext(kind_ + ".Fit");
    if ((*column)->type() == DataType::kString) {
      return InvalidArgumentError(kind_ + ": column '" + name +
                                  "' is String; only Float64 and Int64 columns can be scaled");
    }
    if ((*column)->null_count() == (*column)->length()) {
      return InvalidArgumentError(kind_ + ": column '" + name + "' has no non-null values");
    }
    found.push_back(*column);
  }
  return found;
}

Result<Table> LinearScaler::Transform(const Table& table, int threads) const {
  if (!fitted_) return FailedPreconditionError(kind_ + ": Transform before Fit");
  std::vector<Column> columns = table.columns();
  std::vector<std::pair<size_t, const ScalerColumn*>> work;
  for (const ScalerColumn& param : params_) {
    std::optional<size_t> index = table.ColumnIndex(param.name);
    if (!index) {
      return NotFoundError(kind_ + ": the table has no column '" + param.name +
                           "', which the scaler was fitted on");
    }
    if (columns[*index].type() == DataType::kString) {
      return InvalidArgumentError(kind_ + ": column '" + param.name + "' is String");
    }
    work.emplace_back(*index, &param);
  }
  size_t rows = table.num_rows();
  std::vector<std::shared_ptr<Buffer>> outputs(work.size());
  for (auto& output : outputs) output = Buffer::Allocate(rows * sizeof(double));
  size_t blocks = std::max<size_t>(1, (rows + kTransformBlockRows - 1) / kTransformBlockRows);
  ParallelFor(work.size() * blocks, threads, [&](size_t task) {
    size_t item = task % work.size();
    size_t begin = (task / work.size()) * kTransformBlockRows;
    size_t end = std::min(rows, begin + kTransformBlockRows);
    const Column& column = table.column(work[item].first);
    const double offset = work[item].second->offset;
    const double scale = work[item].second->scale;
    double* out = reinterpret_cast<double*>(outputs[item]->mutable_data());
    if (column.type() == DataType::kFloat64) {
      const double* in = column.float64s().data();
      for (size_t row = begin; row < end; ++row) out[row] = (in[row] - offset) / scale;
    } else {
      const int64_t* in = column.int64s().data();
      for (size_t row = begin; row < end; ++row) {
        out[row] = (static_cast<double>(in[row]) - offset) / scale;
      }
    }
    if (column.has_nulls()) {
      for (size_t row = begin; row < end; ++row) {
        if (column.IsNull(row)) out[row] = std::numeric_limits<double>::quiet_NaN();
      }
    }
  });
  for (size_t item = 0; item < work.size(); ++item) {
    const Column& column = table.column(work[item].first);
    std::shared_ptr<const Buffer> validity;
    if (column.has_nulls()) {
      auto copy = Buffer::Allocate(rows);
      std::copy(column.validity().begin(), column.validity().end(),
                reinterpret_cast<uint8_t*>(copy->mutable_data()));
      validity = std::move(copy);
    }
    ASSIGN_OR_RETURN(columns[work[item].first],
                     Column::FromBuffers(column.name(), DataType::kFloat64, rows,
                                         std::move(outputs[item]), nullptr, std::move(validity)));
  }
  return TableFromCheckedColumns(std::move(columns), rows);
}

Result<Table> LinearScaler::InverseTransform(const Table& table) const {
  if (!fitted_) return FailedPreconditionError(kind_ + ": InverseTransform before Fit");
  std::vector<Column> columns = table.columns();
  for (const ScalerColumn& param : params_) {
    std::optional<size_t> index = table.ColumnIndex(param.name);
    if (!index) {
      return NotFoundError(kind_ + ": the table has no column '" + param.name + "'");
    }
    const Column& column = columns[*index];
    if (column.type() != DataType::kFloat64) {
      return InvalidArgumentError(kind_ + ": column '" + param.name + "' is not Float64");
    }
    std::vector<double> values(column.float64s().begin(), column.float64s().end());
    for (double& value : values) value = value * param.scale + param.offset;
    std::vector<uint8_t> validity(column.validity().begin(), column.validity().end());
    columns[*index] = Column::Float64(column.name(), std::move(values), std::move(validity));
  }
  return TableFromCheckedColumns(std::move(columns), table.num_rows());
}

nlohmann::json LinearScaler::ToJson() const {
  JsonNames names = NamesFor(kind_);
  nlohmann::json columns = nlohmann::json::array();
  for (const ScalerColumn& param : params_) {
    columns.push_back(
        {{"name", param.name}, {names.offset, param.offset}, {names.scale, param.scale}});
  }
  return {{"type", kind_}, {"version", kJsonVersion}, {"columns", std::move(columns)}};
}

Status LinearScaler::FromJsonImpl(const nlohmann::json& json) {
  JsonNames names = NamesFor(kind_);
  auto bad = [&](const std::string& what) {
    return InvalidArgumentError(kind_ + " JSON: " + what);
  };
  if (!json.is_object()) return bad("expected an object");
  auto type = json.find("type");
  if (type == json.end() || !type->is_string() || type->get<std::string>() != kind_) {
    return bad("field 'type' must be \"" + kind_ + "\"");
  }
  auto version = json.find("version");
  if (version == json.end() || !version->is_number_integer()) {
    return bad("field 'version' must be an integer");
  }
  if (version->get<int64_t>() > kJsonVersion) {
    return FailedPreconditionError(kind_ + " JSON has version " +
                                   std::to_string(version->get<int64_t>()) +
                                   ", newer than this build reads (" +
                                   std::to_string(kJsonVersion) + ")");
  }
  auto columns = json.find("columns");
  if (columns == json.end() || !columns->is_array()) return bad("field 'columns' must be an array");
  std::vector<ScalerColumn> params;
  std::unordered_set<std::string> seen;
  for (size_t index = 0; index < columns->size(); ++index) {
    const nlohmann::json& entry = (*columns)[index];
    std::string where = "columns[" + std::to_string(index) + "]";
    if (!entry.is_object()) return bad(where + " must be an object");
    auto name = entry.find("name");
    auto offset = entry.find(names.offset);
    auto scale = entry.find(names.scale);
    if (name == entry.end() || !name->is_string()) return bad(where + ".name must be a string");
    if (offset == entry.end() || !offset->is_number()) {
      return bad(where + "." + names.offset + " must be a number");
    }
    if (scale == entry.end() || !scale->is_number()) {
      return bad(where + "." + names.scale + " must be a number");
    }
    ScalerColumn param{name->get<std::string>(), offset->get<double>(), scale->get<double>()};
    if (!std::isfinite(param.offset) || !std::isfinite(param.scale) || param.scale == 0.0) {
      return bad(where + " has a non-finite value or a zero " + names.scale);
    }
    if (!seen.insert(param.name).second) return bad(where + " repeats column '" + param.name + "'");
    params.push_back(std::move(param));
  }
  params_ = std::move(params);
  fitted_ = true;
  return Status::Ok();
}

}  // namespace internal

Status StandardScaler::Fit(const Table& table, const std::vector<std::string>& columns) {
  ASSIGN_OR_RETURN(std::vector<const Column*> found, FitColumns(table, columns));
  std::vector<ScalerColumn> params(found.size());
  internal::ParallelFor(found.size(), 0, [&](size_t index) {
    auto [mean, deviation] = MeanAndDeviation(*found[index]);
    params[index] = {found[index]->name(), mean, deviation == 0.0 ? 1.0 : deviation};
  });
  for (const ScalerColumn& param : params) {
    if (!std::isfinite(param.offset) || !std::isfinite(param.scale)) {
      return InvalidArgumentError("StandardScaler: column '" + param.name +
                                  "' has non-finite values");
    }
  }
  params_ = std::move(params);
  fitted_ = true;
  return Status::Ok();
}

nlohmann::json StandardScaler::ToJson() const { return LinearScaler::ToJson(); }

Result<StandardScaler> StandardScaler::FromJson(const nlohmann::json& json) {
  StandardScaler scaler;
  RETURN_IF_ERROR(scaler.FromJsonImpl(json));
  return scaler;
}

Status MinMaxScaler::Fit(const Table& table, const std::vector<std::string>& columns) {
  ASSIGN_OR_RETURN(std::vector<const Column*> found, FitColumns(table, columns));
  std::vector<ScalerColumn> params(found.size());
  internal::ParallelFor(found.size(), 0, [&](size_t index) {
    const Column& column = *found[index];
    double low = std::numeric_limits<double>::infinity();
    double high = -std::numeric_limits<double>::infinity();
    bool nan = false;
    ForEachValue(column, [&](double value) {
      nan |= std::isnan(value);
      low = std::min(low, value);
      high = std::max(high, value);
    });
    double range = high - low;
    params[index] = {column.name(), nan ? std::numeric_limits<double>::quiet_NaN() : low,
                     range == 0.0 ? 1.0 : range};
  });
  for (const ScalerColumn& param : params) {
    if (!std::isfinite(param.offset) || !std::isfinite(param.scale)) {
      return InvalidArgumentError("MinMaxScaler: column '" + param.name +
                                  "' has non-finite values");
    }
  }
  params_ = std::move(params);
  fitted_ = true;
  return Status::Ok();
}

nlohmann::json MinMaxScaler::ToJson() const { return LinearScaler::ToJson(); }

Result<MinMaxScaler> MinMaxScaler::FromJson(const nlohmann::json& json) {
  MinMaxScaler scaler;
  RETURN_IF_ERROR(scaler.FromJsonImpl(json));
  return scaler;
}

}  // namespace raypipe::data
