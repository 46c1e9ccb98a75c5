// The CSV block parser: turns the records of one block of the input into block-local typed
// columns. csv_reader.cc cuts the input into blocks and assembles the results.

#include "data/internal/csv_parse.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace raypipe::data::internal {
namespace {

// ---- Number parsing -------------------------------------------------------------------------

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Strips one leading '+' that is followed by a digit, '.', 'i' or 'n' (std::from_chars rejects
// '+').
std::string_view StripPlus(std::string_view text) {
  if (text.size() >= 2 && text[0] == '+' && text[1] != '+' && text[1] != '-') {
    text.remove_prefix(1);
  }
  return text;
}

enum class IntParse { kOk, kOutOfRange, kInvalid };

IntParse ParseInt64(std::string_view text, int64_t* value) {
  text = StripPlus(TrimSpaces(text));
  if (text.empty()) return IntParse::kInvalid;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  if (end != text.data() + text.size()) return IntParse::kInvalid;
  if (error == std::errc::result_out_of_range) return IntParse::kOutOfRange;
  return error == std::errc() ? IntParse::kOk : IntParse::kInvalid;
}

// The value of a decimal that std::from_chars found out of range: +-inf when its magnitude is
// above 1, +-0 when below (from_chars already gives every representable value, subnormals
// included). Decided from the decimal exponent, without the locale-dependent strtod.
double SaturatedValue(std::string_view text) {
  bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  size_t exponent_at = text.find_first_of("eE");
  std::string_view mantissa = text.substr(0, exponent_at);
  int64_t exponent = 0;
  if (exponent_at != std::string_view::npos) {
    std::string_view digits = StripPlus(text.substr(exponent_at + 1));
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), exponent);
    if (error == std::errc::result_out_of_range) {
      exponent = digits.starts_with('-') ? INT64_MIN / 2 : INT64_MAX / 2;
    }
  }
  // Where the first significant digit sits: integer digits count up, fraction zeros down.
  size_t point = mantissa.find('.');
  std::string_view integer = mantissa.substr(0, point);
  size_t first_significant = integer.find_first_not_of('0');
  int64_t magnitude = 0;
  if (first_significant != std::string_view::npos) {
    magnitude = static_cast<int64_t>(integer.size() - first_significant);
  } else if (point != std::string_view::npos) {
    std::string_view fraction = mantissa.substr(point + 1);
    magnitude = -static_cast<int64_t>(std::min(fraction.find_first_not_of('0'), fraction.size()));
  }
  double result = exponent + magnitude > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return negative ? -result : result;
}

}  // namespace

bool ParseFloat64(std::string_view text, double* value) {
  text = StripPlus(TrimSpaces(text));
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  if (end != text.data() + text.size()) return false;
  if (error == std::errc::result_out_of_range) {
    *value = SaturatedValue(text);
    return true;
  }
  return error == std::errc();
}

namespace {

bool IsNegativeZeroText(std::string_view text) {
  text = TrimSpaces(text);
  return !text.empty() && text.front() == '-';
}

// The hot-path number scanners: they accept a subset of what std::from_chars accepts and give
// the same value, and return nullptr to send anything else to the general path.

// [-]digits, at most 18 digits (so no overflow). Returns the end of the number.
inline const char* ScanInt64(const char* p, const char* end, int64_t* value) {
  bool negative = p < end && *p == '-';
  const char* digits = p + negative;
  const char* cursor = digits;
  uint64_t magnitude = 0;
  while (cursor < end && static_cast<unsigned char>(*cursor - '0') < 10) {
    magnitude = magnitude * 10 + static_cast<unsigned char>(*cursor - '0');
    ++cursor;
  }
  size_t count = static_cast<size_t>(cursor - digits);
  if (count == 0 || count > 18) return nullptr;
  *value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  return cursor;
}

constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// [-]digits[.digits]. Short decimals take Clinger's exact path (a significand below 2^53 and
// at most 22 fraction digits: one correctly rounded division, so the same double as
// from_chars); the rest (long significands, exponents, inf, nan) go to std::from_chars.
inline const char* ScanFloat64(const char* p, const char* end, double* value) {
  const char* cursor = p + (p < end && *p == '-');
  uint64_t significand = 0;
  int digits = 0;
  const char* integer_start = cursor;
  while (cursor < end && static_cast<unsigned char>(*cursor - '0') < 10) {
    significand = significand * 10 + static_cast<unsigned char>(*cursor - '0');
    ++cursor;
    ++digits;
  }
  int fraction_digits = 0;
  if (cursor > integer_start && cursor < end && *cursor == '.') {
    ++cursor;
    while (cursor < end && static_cast<unsigned char>(*cursor - '0') < 10) {
      significand = significand * 10 + static_cast<unsigned char>(*cursor - '0');
      ++cursor;
      ++fraction_digits;
    }
    digits += fraction_digits;
  }
  bool exact = digits > 0 && digits <= 19 && significand <= (uint64_t{1} << 53) &&
               fraction_digits <= 22 && (cursor == end || (*cursor != 'e' && *cursor != 'E'));
  if (exact) {
    double result = static_cast<double>(significand) / kPowersOfTen[fraction_digits];
    *value = *p == '-' ? -result : result;
    return cursor;
  }
  auto [next, error] = std::from_chars(p, end, *value);
  return error == std::errc() ? next : nullptr;
}

// 'text' for messages: at most 60 bytes, control characters escaped.
std::string Excerpt(std::string_view text) {
  std::string out = "'";
  size_t shown = std::min<size_t>(text.size(), 60);
  for (size_t index = 0; index < shown; ++index) {
    unsigned char c = static_cast<unsigned char>(text[index]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      out += escaped;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out += text.size() > shown ? "...'" : "'";
  return out;
}


}  // namespace

// "source:line:column (column 'name'): message", line and byte column 1-based.
Status FormatCsvError(const CsvSetup& setup, const CsvParseError& error) {
  size_t line = 1;
  size_t line_start = 0;
  std::string_view text = setup.text;
  size_t limit = std::min(error.offset, text.size());
  for (size_t index = 0; index < limit; ++index) {
    char c = text[index];
    if (c == '\n' || (c == '\r' && (index + 1 >= text.size() || text[index + 1] != '\n'))) {
      ++line;
      line_start = index + 1;
    }
  }
  std::string message = std::string(setup.source) + ":" + std::to_string(line) + ":" +
                        std::to_string(limit - line_start + 1);
  if (error.column != kNoColumn && error.column < setup.names.size()) {
    message += " (column '" + setup.names[error.column] + "')";
  }
  return InvalidArgumentError(message + ": " + error.message);
}

// Scans one field starting at *p and leaves *p on the character after it (a delimiter, a line
// break, or end). `text` is the field's content (unquoted; it may point into `scratch`).
// Returns false with `error` set for a syntax error.
bool ScanCsvField(const CsvSetup& setup, const char** p, const char* end, std::string* scratch,
               std::string_view* text, bool* quoted, CsvParseError* error) {
  const char* begin = setup.text.data();
  const char* field = *p;
  if (setup.quoting && field < end && *field == setup.quote) {
    *quoted = true;
    const char* segment = field + 1;
    bool escaped = false;
    const char* cursor = segment;
    for (;;) {
      const char* close = static_cast<const char*>(
          std::memchr(cursor, setup.quote, static_cast<size_t>(end - cursor)));
      if (close == nullptr) {
        error->offset = static_cast<size_t>(field - begin);
        error->message = "unterminated quoted field (no closing " + std::string(1, setup.quote) +
                         " before the end of the input)";
        return false;
      }
      if (close + 1 < end && close[1] == setup.quote) {  // a doubled quote
        if (!escaped) scratch->clear();
        escaped = true;
        scratch->append(segment, close + 1);
        cursor = segment = close + 2;
        continue;
      }
      if (escaped) {
        scratch->append(segment, close);
        *text = *scratch;
      } else {
        *text = std::string_view(segment, static_cast<size_t>(close - segment));
      }
      *p = close + 1;
      break;
    }
    if (*p < end && !setup.IsFieldEnd(**p)) {
      error->offset = static_cast<size_t>(*p - begin);
      error->message = "unexpected character " + Excerpt(std::string_view(*p, 1)) +
                       " after the closing quote of a quoted field (a quote inside a quoted "
                       "field must be doubled)";
      return false;
    }
    return true;
  }
  *quoted = false;
  const char* cursor = field;
  while (cursor < end && !setup.IsFieldEnd(*cursor)) {
    if (setup.quoting && *cursor == setup.quote) {
      error->offset = static_cast<size_t>(cursor - begin);
      error->message =
          "quote character inside an unquoted field (quote the whole field and double the "
          "quote)";
      return false;
    }
    ++cursor;
  }
  *text = std::string_view(field, static_cast<size_t>(cursor - field));
  *p = cursor;
  return true;
}

// Skips one line break (\n, \r\n or \r). REQUIRES: *p is \n or \r.
const char* SkipLineBreak(const char* p, const char* end) {
  if (*p == '\r' && p + 1 < end && p[1] == '\n') return p + 2;
  return p + 1;
}

namespace {

// ---- One block ------------------------------------------------------------------------------

class BlockParser {
 public:
  enum class Outcome { kDone, kError, kRestart, kOverflow };

  BlockParser(const CsvSetup& setup, const std::vector<DataType>& types,
              const BlockPlacement& placement)
      : setup_(setup) {
    columns_.resize(types.size());
    for (size_t index = 0; index < types.size(); ++index) {
      BlockColumn& column = columns_[index];
      column.type = types[index];
      if (types[index] == DataType::kString) {
        column.offsets.push_back(0);
      } else if (!placement.direct.empty() && placement.direct[index] != nullptr) {
        column.direct = placement.direct[index];
        column.capacity = placement.capacity;
      }
    }
  }

  Outcome Parse(size_t begin_offset, size_t end_offset, size_t expected_rows);

  std::vector<BlockColumn>& columns() { return columns_; }
  size_t rows() const { return rows_; }
  const CsvParseError& error() const { return error_; }
  size_t restart_column() const { return restart_column_; }

 private:
  Outcome SlowField(size_t column_index, const char** p, const char* end);
  Outcome Convert(size_t column_index, std::string_view text, bool quoted, const char* field);
  Outcome Fail(const char* at, size_t column, std::string message) {
    error_.offset = static_cast<size_t>(at - setup_.text.data());
    error_.column = column;
    error_.message = std::move(message);
    return Outcome::kError;
  }
  // Appends a numeric value; false when a placed block runs out of room. (Forced inline: it
  // is on the hot path of every number, and GCC otherwise keeps it out of line.)
  [[gnu::always_inline]] bool PushFixed(BlockColumn& column, uint64_t bits) {
    if (column.direct != nullptr) {
      if (rows_ >= column.capacity) return false;
      column.direct[rows_] = bits;
      return true;
    }
    column.fixed.push_back(bits);
    return true;
  }
  bool PushNull(BlockColumn& column);
  size_t CountFields(const char* record, const char* end);

  const CsvSetup& setup_;
  std::vector<BlockColumn> columns_;
  size_t rows_ = 0;
  std::string scratch_;
  CsvParseError error_;
  size_t restart_column_ = kNoColumn;
};

bool BlockParser::PushNull(BlockColumn& column) {
  column.nulls.push_back(rows_);
  switch (column.type) {
    case DataType::kFloat64:
      return PushFixed(column, std::bit_cast<uint64_t>(std::numeric_limits<double>::quiet_NaN()));
    case DataType::kInt64:
      return PushFixed(column, 0);
    case DataType::kString:
      column.offsets.push_back(static_cast<int64_t>(column.chars.size()));
      return true;
  }
  return true;
}

BlockParser::Outcome BlockParser::Convert(size_t column_index, std::string_view text, bool quoted,
                                          const char* field) {
  BlockColumn& column = columns_[column_index];
  bool inferred = setup_.inferred[column_index];
  auto pushed = [](bool ok) { return ok ? Outcome::kDone : Outcome::kOverflow; };
  if (!quoted && setup_.IsNullText(text)) return pushed(PushNull(column));
  if (column.type == DataType::kString) {
    column.chars.append(text);
    column.offsets.push_back(static_cast<int64_t>(column.chars.size()));
    column.saw_value = true;
    return Outcome::kDone;
  }
  if (text.empty()) {  // an empty field that is not a null value (e.g. "") in a numeric column
    column.saw_value = true;  // as a String it would be "", not null
    return pushed(PushNull(column));
  }
  auto restart = [&] {
    restart_column_ = column_index;
    return Outcome::kRestart;
  };
  if (column.type == DataType::kInt64) {
    int64_t value = 0;
    IntParse parsed = ParseInt64(text, &value);
    if (parsed == IntParse::kOk && !(inferred && value == 0 && IsNegativeZeroText(text))) {
      column.saw_value = true;
      return pushed(PushFixed(column, static_cast<uint64_t>(value)));
    }
    if (!inferred) {
      return Fail(field, column_index,
                  parsed == IntParse::kOutOfRange
                      ? "value " + Excerpt(text) + " is out of range for Int64"
                      : "expected Int64, found " + Excerpt(text));
    }
    double as_double = 0;
    if (!ParseFloat64(text, &as_double)) return restart();
    WidenToFloat64(column, rows_);
    column.saw_value = true;
    return pushed(PushFixed(column, std::bit_cast<uint64_t>(as_double)));
  }
  double value = 0;
  if (ParseFloat64(text, &value)) {
    column.saw_value = true;
    return pushed(PushFixed(column, std::bit_cast<uint64_t>(value)));
  }
  if (inferred) return restart();
  return Fail(field, column_index, "expected Float64, found " + Excerpt(text));
}

BlockParser::Outcome BlockParser::SlowField(size_t column_index, const char** p, const char* end) {
  const char* field = *p;
  std::string_view text;
  bool quoted = false;
  if (!ScanCsvField(setup_, p, end, &scratch_, &text, &quoted, &error_)) {
    error_.column = column_index;
    return Outcome::kError;
  }
  return Convert(column_index, text, quoted, field);
}

size_t BlockParser::CountFields(const char* record, const char* end) {
  size_t fields = 1;
  const char* p = record;
  std::string scratch;
  std::string_view text;
  bool quoted = false;
  CsvParseError ignored;
  while (ScanCsvField(setup_, &p, end, &scratch, &text, &quoted, &ignored)) {
    if (p >= end || *p != setup_.delimiter) break;
    ++p;
    ++fields;
  }
  return fields;
}

BlockParser::Outcome BlockParser::Parse(size_t begin_offset, size_t end_offset,
                                        size_t expected_rows) {
  for (BlockColumn& column : columns_) {
    if (column.type == DataType::kString) {
      column.offsets.reserve(expected_rows + 1);
    } else if (column.direct == nullptr) {
      column.fixed.reserve(expected_rows);
    }
  }
  const char* p = setup_.text.data() + begin_offset;
  const char* end = setup_.text.data() + end_offset;
  const char* input_end = setup_.text.data() + setup_.text.size();
  const size_t num_columns = columns_.size();
  const bool skip_blank_lines = setup_.skip_blank_lines;
  const bool fast_numbers = setup_.fast_numbers;
  const char delimiter = setup_.delimiter;
  while (p < end) {
    const char* record = p;
    if (skip_blank_lines && (*p == '\n' || *p == '\r')) {
      p = SkipLineBreak(p, end);
      continue;
    }
    for (size_t index = 0; index < num_columns; ++index) {
      BlockColumn& column = columns_[index];
      bool parsed = false;
      // Fast paths: an unquoted number followed by the end of its field. Parsing stops at the
      // block end only for the last record, whose terminator may lie beyond it.
      if (fast_numbers && column.type == DataType::kFloat64) {
        double value;
        const char* next = ScanFloat64(p, input_end, &value);
        if (next != nullptr && (next == input_end || setup_.IsFieldEnd(*next))) {
          if (!PushFixed(column, std::bit_cast<uint64_t>(value))) return Outcome::kOverflow;
          column.saw_value = true;
          p = next;
          parsed = true;
        }
      } else if (fast_numbers && column.type == DataType::kInt64) {
        int64_t value;
        const char* next = ScanInt64(p, input_end, &value);
        if (next != nullptr && (next == input_end || setup_.IsFieldEnd(*next)) &&
            (value != 0 || *p != '-')) {
          if (!PushFixed(column, static_cast<uint64_t>(value))) return Outcome::kOverflow;
          column.saw_value = true;
          p = next;
          parsed = true;
        }
      }
      if (!parsed) {
        Outcome outcome = SlowField(index, &p, input_end);
        if (outcome != Outcome::kDone) return outcome;
      }
      if (index + 1 < num_columns) {
        if (p < input_end && *p == delimiter) {
          ++p;
          continue;
        }
        return Fail(p, kNoColumn,
                    "expected " + std::to_string(num_columns) + " fields, found " +
                        std::to_string(index + 1) + " (the record ends early)");
      }
      if (p < input_end) {
        if (*p == delimiter) {
          return Fail(p, kNoColumn,
                      "expected " + std::to_string(num_columns) + " fields, found " +
                          std::to_string(CountFields(record, input_end)));
        }
        p = SkipLineBreak(p, input_end);
      }
    }
    ++rows_;
  }
  return Outcome::kDone;
}

}  // namespace

size_t CountNewlines(const char* begin, const char* end) {
  // Eight bytes at a time: with x = word ^ 0x0a0a.., ~(((x & 0x7f..) + 0x7f..) | x) has the
  // high bit set exactly in the bytes that were '\n'. Those bits are summed into eight byte
  // counters, folded every 255 words before they can overflow.
  constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  constexpr uint64_t kNewlines = 0x0a0a0a0a0a0a0a0aULL;
  constexpr uint64_t kEvenBytes = 0x00ff00ff00ff00ffULL;
  size_t count = 0;
  const char* p = begin;
  while (end - p >= 8) {
    size_t words = std::min<size_t>(static_cast<size_t>(end - p) / 8, 255);
    uint64_t counters = 0;
    for (size_t word_index = 0; word_index < words; ++word_index, p += 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof(word));
      uint64_t x = word ^ kNewlines;
      counters += (~(((x & kLow7) + kLow7) | x) & kHigh) >> 7;
    }
    counters = (counters & kEvenBytes) + ((counters >> 8) & kEvenBytes);  // 4 lanes <= 510
    count += static_cast<size_t>((counters * 0x0001000100010001ULL) >> 48);
  }
  for (; p < end; ++p) count += *p == '\n';
  return count;
}

void WidenToFloat64(BlockColumn& column, size_t rows) {
  std::span<uint64_t> values = column.values(rows);
  for (uint64_t& bits : values) {
    bits = std::bit_cast<uint64_t>(static_cast<double>(static_cast<int64_t>(bits)));
  }
  for (size_t row : column.nulls) {
    values[row] = std::bit_cast<uint64_t>(std::numeric_limits<double>::quiet_NaN());
  }
  column.type = DataType::kFloat64;
}

// Parses one block, restarting with a column as String whenever inference needs it.
BlockResult ParseCsvBlock(const CsvSetup& setup, std::vector<DataType> types, size_t begin,
                          size_t end, const BlockPlacement& placement, size_t expected_rows) {
  for (;;) {
    BlockParser parser(setup, types, placement);
    BlockParser::Outcome outcome = parser.Parse(begin, end, expected_rows);
    if (outcome == BlockParser::Outcome::kRestart) {
      types[parser.restart_column()] = DataType::kString;
      continue;
    }
    BlockResult result;
    if (outcome == BlockParser::Outcome::kError) {
      result.failed = true;
      result.error = parser.error();
      return result;
    }
    result.overflow = outcome == BlockParser::Outcome::kOverflow;
    result.columns = std::move(parser.columns());
    result.rows = parser.rows();
    return result;
  }
}

}  // namespace raypipe::data::internal
