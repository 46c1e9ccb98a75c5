// CSV writing: rows are formatted in fixed-size blocks, in parallel, and the blocks are written
// in order, so the bytes never depend on the thread count.

#include <algorithm>
#include <charconv>
#include <cstring>

#include "data/csv.h"
#include "data/internal/file_util.h"
#include "data/internal/parallel.h"

namespace raypipe::data {
namespace {

constexpr size_t kRowsPerBlock = 32768;

bool NeedsQuotes(std::string_view value, const CsvWriteOptions& options) {
  if (value == options.null_string) return true;
  for (char c : value) {
    if (c == options.delimiter || c == options.quote || c == '\n' || c == '\r') return true;
  }
  return false;
}

void AppendQuoted(std::string_view value, const CsvWriteOptions& options, std::string* out) {
  out->push_back(options.quote);
  for (char c : value) {
    if (c == options.quote) out->push_back(options.quote);
    out->push_back(c);
  }
  out->push_back(options.quote);
}

void AppendString(std::string_view value, const CsvWriteOptions& options, std::string* out) {
  if (NeedsQuotes(value, options)) {
    AppendQuoted(value, options, out);
  } else {
    out->append(value);
  }
}

void AppendDouble(double value, std::string* out) {
  char buffer[40];
  char* end = std::to_chars(buffer, buffer + 32, value).ptr;
  // Keep integral values recognisably floating-point ("2.0", not "2"), as Python prints them.
  bool plain_integer = true;
  for (const char* c = buffer; c < end; ++c) {
    if (*c == '.' || *c == 'e' || *c == 'n' || *c == 'i') {
      plain_integer = false;
      break;
    }
  }
  if (plain_integer) {
    *end++ = '.';
    *end++ = '0';
  }
  out->append(buffer, end);
}

void AppendInt(int64_t value, std::string* out) {
  char buffer[24];
  char* end = std::to_chars(buffer, buffer + sizeof(buffer), value).ptr;
  out->append(buffer, end);
}

void FormatHeader(const Table& table, const CsvWriteOptions& options, std::string* out) {
  for (size_t index = 0; index < table.num_columns(); ++index) {
    if (index > 0) out->push_back(options.delimiter);
    const std::string& name = table.column(index).name();
    // Quoted when empty (a lone empty name would be a skipped blank line), for its characters,
    // or for a leading byte order mark, which the reader would otherwise skip.
    bool leading_bom = index == 0 && name.starts_with("\xEF\xBB\xBF");
    if (leading_bom || name.empty() || NeedsQuotes(name, options)) {
      AppendQuoted(name, options, out);
    } else {
      out->append(name);
    }
  }
  out->append(options.line_terminator);
}

void FormatRows(const Table& table, const CsvWriteOptions& options, size_t begin, size_t end,
                std::string* out) {
  size_t num_columns = table.num_columns();
  for (size_t row = begin; row < end; ++row) {
    for (size_t index = 0; index < num_columns; ++index) {
      if (index > 0) out->push_back(options.delimiter);
      const Column& column = table.column(index);
      if (column.IsNull(row)) {
        out->append(options.null_string);
        continue;
      }
      switch (column.type()) {
        case DataType::kFloat64: AppendDouble(column.float64s()[row], out); break;
        case DataType::kInt64: AppendInt(column.int64s()[row], out); break;
        case DataType::kString: AppendString(column.string(row), options, out); break;
      }
    }
    out->append(options.line_terminator);
  }
}

// Formats the table block by block and hands each block, in order, to `sink`.
template <typename Sink>
Status FormatTable(const Table& table, const CsvWriteOptions& options, Sink&& sink) {
  if (table.num_columns() == 0) return Status::Ok();
  if (options.header) {
    std::string header;
    FormatHeader(table, options, &header);
    RETURN_IF_ERROR(sink(header));
  }
  size_t rows = table.num_rows();
  size_t num_blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  int threads = internal::ResolveThreads(options.threads);
  // Format a window of blocks in parallel, then hand them over, bounding memory to a window.
  size_t window = static_cast<size_t>(threads) * 4;
  std::vector<std::string> blocks(std::min(window, num_blocks));
  for (size_t first = 0; first < num_blocks; first += window) {
    size_t count = std::min(window, num_blocks - first);
    internal::ParallelFor(count, threads, [&](size_t slot) {
      size_t block = first + slot;
      size_t begin = block * kRowsPerBlock;
      size_t end = std::min(rows, begin + kRowsPerBlock);
      blocks[slot].clear();
      FormatRows(table, options, begin, end, &blocks[slot]);
    });
    for (size_t slot = 0; slot < count; ++slot) RETURN_IF_ERROR(sink(blocks[slot]));
  }
  return Status::Ok();
}

}  // namespace

Status WriteCsvFile(const Table& table, const std::string& path, const CsvWriteOptions& options) {
  ASSIGN_OR_RETURN(auto writer, internal::AtomicFileWriter::Open(path));
  RETURN_IF_ERROR(FormatTable(table, options, [&](std::string_view bytes) {
    return writer->Append(bytes);
  }));
  return writer->Commit();
}

std::string WriteCsvString(const Table& table, const CsvWriteOptions& options) {
  std::string out;
  Status status = FormatTable(table, options, [&](std::string_view bytes) {
    out.append(bytes);
    return Status::Ok();
  });
  status.IgnoreError();  // appending to a string cannot fail
  return out;
}

ColumnTypes ColumnTypesOf(const Table& table) {
  ColumnTypes types;
  for (const Column& column : table.columns()) types[column.name()] = column.type();
  return types;
}

}  // namespace raypipe::data
