#pragma once

// The CSV block parser behind csv.h: scanning fields, converting them to typed values, and
// parsing one block of records into block-local columns. Private to the data module.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/internal/huge_page_allocator.h"
#include "data/table.h"

namespace raypipe::data::internal {

inline constexpr size_t kNoColumn = static_cast<size_t>(-1);

// The parse set-up, shared read-only by all blocks.
struct CsvSetup {
  std::string_view text;  // the input after any byte order mark
  std::string_view source;
  char delimiter = ',';
  char quote = '"';
  bool quoting = true;
  bool skip_blank_lines = true;
  bool empty_is_null = true;
  std::vector<std::string> other_nulls{};  // non-empty null values
  bool fast_numbers = true;                // no null value could be mistaken for a number
  std::vector<std::string> names{};
  std::vector<DataType> types{};  // explicit types, or the inference start (Int64)
  std::vector<bool> inferred{};

  bool IsFieldEnd(char c) const { return c == delimiter || c == '\n' || c == '\r'; }
  bool IsNullText(std::string_view text) const {
    if (text.empty()) return empty_is_null;
    for (const std::string& null_value : other_nulls) {
      if (text == null_value) return true;
    }
    return false;
  }
};

struct CsvParseError {
  size_t offset = 0;          // into CsvSetup::text
  size_t column = kNoColumn;  // the table column, when the error is about one
  std::string message{};
};

// "source:line:column (column 'name'): message" as InvalidArgument; line and byte column are
// 1-based.
Status FormatCsvError(const CsvSetup& setup, const CsvParseError& error);

// Scans one field starting at *p and leaves *p on the character after it (a delimiter, a line
// break, or `end`). `text` is the field's content, unquoted (it may point into `scratch`).
// Returns false with `error` set for a syntax error.
bool ScanCsvField(const CsvSetup& setup, const char** p, const char* end, std::string* scratch,
                  std::string_view* text, bool* quoted, CsvParseError* error);

// Skips one line break (\n, \r\n or \r). REQUIRES: *p is \n or \r.
const char* SkipLineBreak(const char* p, const char* end);

// A Float64 field's value: an optional '+', surrounding spaces and tabs ignored, and an
// out-of-range value saturated to +-inf or +-0.
bool ParseFloat64(std::string_view text, double* value);

// One column of one block.
struct BlockColumn {
  DataType type = DataType::kInt64;
  bool saw_value = false;  // a non-null field, or a quoted empty one, was seen
  // Int64 values or Float64 bit patterns: written to `direct` (this block's slice of the final
  // column, with room for `capacity` values) when the reader placed the block, else to `fixed`.
  uint64_t* direct = nullptr;
  size_t capacity = 0;
  std::vector<uint64_t, HugePageAllocator<uint64_t>> fixed{};
  // String: rows + 1 offsets into `chars`, starting at 0.
  std::vector<int64_t, HugePageAllocator<int64_t>> offsets{};
  std::string chars{};
  std::vector<size_t> nulls{};  // block-local rows that are null

  // The first `rows` values of a numeric column.
  std::span<uint64_t> values(size_t rows) {
    return direct != nullptr ? std::span<uint64_t>(direct, rows) : std::span<uint64_t>(fixed);
  }
};

struct BlockResult {
  std::vector<BlockColumn> columns{};
  size_t rows = 0;
  bool failed = false;
  bool overflow = false;  // a placed block had more records than its capacity
  CsvParseError error{};
};

// Where a block writes its numeric values: per column, a pointer into the final column (or
// nullptr to use BlockColumn::fixed), and the number of rows that fit.
struct BlockPlacement {
  std::vector<uint64_t*> direct{};
  size_t capacity = 0;
};

// The number of '\n' bytes in [begin, end).
size_t CountNewlines(const char* begin, const char* end);

// Converts the first `rows` values of an Int64 block column to Float64 in place (each to the
// nearest double, nulls to NaN).
void WidenToFloat64(BlockColumn& column, size_t rows);

// Parses the records in [begin, end) of setup.text (both record boundaries), starting each
// column at types[i] and, for inferred columns, widening as needed (restarting the block with
// a column as String when it must become one). Numeric columns with a placement write there;
// `expected_rows` sizes the block-local vectors.
BlockResult ParseCsvBlock(const CsvSetup& setup, std::vector<DataType> types, size_t begin,
                          size_t end, const BlockPlacement& placement, size_t expected_rows);

}  // namespace raypipe::data::internal
