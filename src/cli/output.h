#pragma once

// Rendering of command results for `--output table` (aligned text for people) and
// `--output json` (for programs). Pure functions from values to text; CommandContext writes them.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace raypipe::cli {

enum class OutputFormat {
  kTable,  // aligned columns, one record per line
  kJson,   // pretty-printed JSON, two-space indent
};

using Row = std::vector<nlohmann::json>;

// A cell as table text: strings as they are, numbers as JSON writes them (shortest round-trip),
// true/false, "-" for null, arrays and objects as compact JSON. Control characters are escaped
// (\n, \t, \xNN) so that one record stays on one line.
std::string CellText(const nlohmann::json& cell);

// The table: a header line with the column names, then one line per row; columns separated by
// two spaces and padded to their widest cell (counted in UTF-8 code points); no trailing spaces.
// A row shorter than `columns` has empty trailing cells; extra cells are ignored.
std::string FormatTable(const std::vector<std::string>& columns, const std::vector<Row>& rows);

// The same rows as a JSON array of objects keyed by column name; values keep their JSON types.
nlohmann::json RowsToJson(const std::vector<std::string>& columns, const std::vector<Row>& rows);

// `records` (a JSON array of objects) as columns and rows. Columns are `columns` when given,
// else every key in order of first appearance (nlohmann::json orders an object's keys by name).
// A record without a column's key has null there. A non-object record becomes one cell.
struct TableData {
  std::vector<std::string> columns;
  std::vector<Row> rows;
};
TableData RecordsToTable(const nlohmann::json& records, std::vector<std::string> columns = {});

// An object as "key  value" lines, keys padded to the longest; nested values as compact JSON.
std::string FormatObject(const nlohmann::json& object);

// Pretty JSON with a trailing newline. Invalid UTF-8 in strings is replaced, never thrown on.
std::string FormatJson(const nlohmann::json& value);

// The number of UTF-8 code points in `text` (invalid bytes count one each).
size_t DisplayWidth(std::string_view text);

}  // namespace raypipe::cli
