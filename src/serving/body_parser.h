#pragma once

// The SageMaker inference contract's request and reply bodies: parsing text/csv and
// application/json request bodies into a row-major float matrix in the model's feature order,
// and writing predictions as text/csv or application/json. Never crashes on any input (fuzzed
// by serving_body_parser_fuzzer); errors are InvalidArgument messages fit for a 400 answer.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace raypipe::serving {

enum class BodyFormat { kCsv, kJson };

// Raw feature rows, row-major, `features.size()` values per row; NaN marks a missing value.
struct FeatureRows {
  std::vector<float> values;
  size_t num_rows = 0;
};

// The format of a Content-Type ("text/csv; charset=utf-8" -> kCsv). Unimplemented (415) for
// any other type, naming it and the supported ones.
Result<BodyFormat> ParseContentType(std::string_view content_type);

// The reply format for an Accept header: text/csv or application/json (q-values ignored, the
// first supported one wins); "", "*/*" and "text/*"-style wildcards answer `request_format`.
// Unimplemented (406) when nothing acceptable is supported.
Result<BodyFormat> ParseAccept(std::string_view accept, BodyFormat request_format);

// text/csv: one row per line (\n or \r\n; blank lines skipped), values separated by commas, an
// empty field or "nan" is missing. The first line may be a header naming the features in any
// order (columns are then matched by name). Errors name the row and column, the expected count
// and the feature order:
//   "row 2: found 7 values, expected 8 (YEAR_BUILT,SQUARE_FEET,...)"
//   "row 1, column 3 (NUM_BEDROOMS): \"x\" is not a number"
Result<FeatureRows> ParseCsvBody(std::string_view body, const std::vector<std::string>& features);

// application/json, any of:
//   {"instances": [[...], ...]}  or  {"instances": [{"YEAR_BUILT": 1990, ...}, ...]}
//   {"inputs": [[...], ...]}     or  {"inputs": {"YEAR_BUILT": [...], ...}}  (columns by name)
//   {"dataframe_split": {"columns": [...], "data": [[...], ...]}}  (MLflow; matched by name)
//   {"dataframe_records": [{...}, ...]}  (MLflow)
//   [[...], ...]  (a bare list of rows)
// null is missing; strings are rejected naming the row and column.
Result<FeatureRows> ParseJsonBody(std::string_view body, const std::vector<std::string>& features);

Result<FeatureRows> ParseBody(BodyFormat format, std::string_view body,
                              const std::vector<std::string>& features);

// "1.5\n2.25\n" for kCsv (one prediction per line), {"predictions": [1.5, 2.25]} for kJson.
std::string FormatPredictions(std::span<const float> predictions, BodyFormat format);

std::string_view ContentTypeName(BodyFormat format);  // "text/csv" | "application/json"

}  // namespace raypipe::serving
