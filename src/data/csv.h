#pragma once

// CSV reading and writing (RFC 4180).
//
// Reading:
// - Fields are separated by `delimiter`; records end with \n, \r\n or a lone \r. A field that
//   starts with the quote character is quoted: it may hold delimiters, line breaks and doubled
//   quotes (""), and must be followed by a delimiter or the end of the record. A quote inside
//   an unquoted field is an error (it is how a broken quote shows up).
// - A UTF-8 byte order mark at the start is skipped. With `header`, the first record names the
//   columns (an empty name becomes "column_<i>", a repeated one is an error); without it the
//   names are `column_names` or column_0, column_1, ...
// - Every record must have as many fields as the header. Blank lines are skipped when the
//   table has more than one column (with one column a blank line is a null).
// - An unquoted field equal to one of `null_values` is null. A quoted field is never null in a
//   String column ("" is the empty string); in a numeric column an empty field, quoted or not,
//   is null.
// - Types: a column in `column_types` has that type; the others are inferred when
//   `infer_types` (the narrowest of Int64, Float64, String that holds every non-null field:
//   Int64 widens to Float64, either widens to String; a column with no non-null field is
//   String) or are String otherwise. Numbers are parsed by std::from_chars (an optional
//   leading '+', surrounding spaces and tabs ignored; Float64 accepts nan and inf; an
//   out-of-range float becomes +-inf or +-0). An integer field widened to Float64 is the double
//   nearest to its value. The result never depends on `threads`.
// - Large inputs are parsed in parallel, in blocks cut at record boundaries (found by quote
//   parity, so quoted line breaks are handled).
// - Errors name the source, the line and the byte column (both 1-based) of the field, and the
//   column: "data.csv:12:3 (column 'YEAR_BUILT'): expected Int64, found 'abc'".
//
// Writing: header, then one line per row; floats in the shortest form that reads back to the
// same double (std::to_chars), with ".0" added to integral values so they stay Float64 when
// read back; nulls as `null_string`; a string is quoted when it holds the delimiter, a quote,
// \r or \n, or when it equals `null_string` (so "" stays the empty string).
// ReadCsv(WriteCsv(t)) == t exactly when read with ColumnTypesOf(t) (with inference, a String
// column whose values all look like numbers reads back as a number column).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/table.h"

namespace raypipe::data {

using ColumnTypes = std::map<std::string, DataType, std::less<>>;

struct CsvReadOptions {
  // The field separator. REQUIRES: not the quote character, \r or \n.
  char delimiter = ',';
  // The quote character; '\0' disables quoting.
  char quote = '"';
  // Whether the first record holds the column names.
  bool header = true;
  // Column names when `header` is false; empty means column_0, column_1, ...
  std::vector<std::string> column_names{};
  // Explicit types by column name; every name must be a column of the input.
  ColumnTypes column_types{};
  // Infer the types of columns not in `column_types` (otherwise they are String).
  bool infer_types = true;
  // Unquoted field values that mean null.
  std::vector<std::string> null_values = {""};
  // Skip empty lines (only when the table has more than one column).
  bool skip_blank_lines = true;
  // Parsing threads; 0 = the hardware concurrency.
  int threads = 0;
  // Inputs are cut into blocks of at least this many bytes for parallel parsing.
  size_t block_size = 1 << 20;
};

// Reads a CSV file (memory-mapped). NotFound if it does not exist; InvalidArgument for
// malformed content, naming the file, line, column and what was expected.
Result<Table> ReadCsvFile(const std::string& path, const CsvReadOptions& options = {});

// Reads CSV text; `source_name` prefixes error messages.
Result<Table> ReadCsvString(std::string_view text, const CsvReadOptions& options = {},
                            std::string_view source_name = "<string>");

// The table's column types, for reading back exactly what was written.
ColumnTypes ColumnTypesOf(const Table& table);

struct CsvWriteOptions {
  // The field separator.
  char delimiter = ',';
  // The quote character used when a string needs quoting.
  char quote = '"';
  // Whether to write the column names first.
  bool header = true;
  // How a null is written.
  std::string null_string{};
  // The record terminator ("\n" or "\r\n").
  std::string line_terminator = "\n";
  // Formatting threads; 0 = the hardware concurrency. Never changes the output.
  int threads = 0;
};

// Writes to a temporary file beside `path`, then renames it over `path`, so readers never see
// a partial file. Unavailable / PermissionDenied / NotFound on I/O errors, naming the path.
Status WriteCsvFile(const Table& table, const std::string& path,
                    const CsvWriteOptions& options = {});

std::string WriteCsvString(const Table& table, const CsvWriteOptions& options = {});

}  // namespace raypipe::data
