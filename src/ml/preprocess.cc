#include "ml/preprocess.h"

#include <cmath>
#include <cstdio>
#include <utility>

#include "data/ops.h"

namespace raypipe::ml {

namespace {

std::string ColumnList(const data::Table& table) {
  std::string out;
  for (const std::string& name : table.ColumnNames()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

Result<StandardizedTables> StandardizeFeatures(const data::Table& fit_on,
                                               const std::vector<data::Table>& tables,
                                               const std::vector<std::string>& features,
                                               int threads) {
  StandardizedTables out;
  RETURN_IF_ERROR(out.scaler.Fit(fit_on, features));
  out.tables.reserve(tables.size());
  for (const data::Table& table : tables) {
    ASSIGN_OR_RETURN(data::Table scaled, out.scaler.Transform(table, threads));
    out.tables.push_back(std::move(scaled));
  }
  return out;
}

Result<PreprocessResult> Preprocess(const data::Table& table, const PreprocessOptions& options) {
  if (options.target.empty()) return InvalidArgumentError("no target column given");
  if (options.proportions.empty()) return InvalidArgumentError("no split proportions given");
  double sum = 0;
  for (double proportion : options.proportions) {
    if (!std::isfinite(proportion) || proportion <= 0) {
      return InvalidArgumentError("split proportions must be positive numbers");
    }
    sum += proportion;
  }
  if (std::fabs(sum - 1.0) > 1e-9) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.10g", sum);
    return InvalidArgumentError(std::string("split proportions sum to ") + text +
                                ", must be 1");
  }
  for (const std::string& name : options.drop_columns) {
    if (!table.ColumnIndex(name)) {
      return InvalidArgumentError("cannot drop column '" + name + "': no such column (columns: " +
                                  ColumnList(table) + ")");
    }
  }
  ASSIGN_OR_RETURN(data::Table kept, table.Drop(options.drop_columns));
  if (!kept.ColumnIndex(options.target)) {
    return InvalidArgumentError("no target column '" + options.target + "' (columns: " +
                                ColumnList(kept) + ")");
  }
  PreprocessResult result;
  for (const data::Column& column : kept.columns()) {
    if (column.name() == options.target) continue;
    if (column.type() == data::DataType::kString) {
      return InvalidArgumentError("column '" + column.name() +
                                  "' holds text: only numeric features can be standardized; "
                                  "drop it");
    }
    result.features.push_back(column.name());
  }
  if (result.features.empty()) {
    return InvalidArgumentError("no feature columns besides the target '" + options.target + "'");
  }
  if (kept.num_rows() >= (size_t{1} << 32)) {
    return InvalidArgumentError("tables of 2^32 rows or more cannot be shuffled");
  }
  const data::Table shuffled = data::RandomShuffle(kept, options.seed, options.threads);
  ASSIGN_OR_RETURN(std::vector<data::Table> splits,
                   data::SplitProportionately(shuffled, options.proportions,
                                              data::SplitMode::kExact));
  ASSIGN_OR_RETURN(StandardizedTables standardized,
                   StandardizeFeatures(splits[0], splits, result.features, options.threads));
  result.scaler = std::move(standardized.scaler);
  result.splits = std::move(standardized.tables);
  return result;
}

}  // namespace raypipe::ml
