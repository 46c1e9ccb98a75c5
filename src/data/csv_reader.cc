// CSV reading. The input is cut into blocks at record boundaries and the blocks are parsed in
// parallel (internal/csv_parse.h). Numeric values go straight into the final column buffers,
// at row offsets predicted by counting each block's newlines; blocks that turn out to hold
// fewer records (blank lines, quoted line breaks) are moved up afterwards, and a block with
// more (lone \r terminators) sends the read back to block-local buffers that are then copied.
// Strings always go to block-local buffers.
//
// Why the result never depends on the number of blocks:
// - Boundaries: a record starts after a line break that is outside quotes. Whether a position
//   is inside quotes is the parity of the quote characters before it (doubled quotes count
//   twice), which a first parallel pass computes per block. In valid input every quote opens,
//   closes or escapes, so the parity is exact; in invalid input the first block with an error
//   is the one holding the first error, so the reported error is the sequential one too.
// - Inference: each block starts inferred columns as Int64 and widens them as it goes
//   (Int64 -> Float64 in place; -> String by re-parsing the block with that column as String,
//   since the text of earlier fields is needed). The final type is the widest over the blocks;
//   narrower blocks are widened the same way. Int64 -> Float64 conversion is exact-equal to
//   parsing the text as a double (both round to nearest), except for "-0", which is why an
//   inferred column treats "-0" as Float64.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "data/csv.h"
#include "data/internal/csv_parse.h"
#include "data/internal/file_util.h"
#include "data/internal/parallel.h"

namespace raypipe::data {
namespace {

using internal::BlockColumn;
using internal::BlockResult;
using internal::CsvParseError;
using internal::CsvSetup;
using internal::FormatCsvError;
using internal::ParseFloat64;
using internal::ScanCsvField;
using internal::SkipLineBreak;

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// ---- Blocks ---------------------------------------------------------------------------------

// The first record start at or after `split`, given whether `split` is inside quotes.
size_t FindRecordStart(const CsvSetup& setup, size_t split, bool in_quotes) {
  std::string_view text = setup.text;
  size_t size = text.size();
  char before = text[split - 1];
  if (!in_quotes && (before == '\n' || (before == '\r' && text[split] != '\n'))) return split;
  for (size_t index = split; index < size; ++index) {
    char c = text[index];
    if (setup.quoting && c == setup.quote) {
      in_quotes = !in_quotes;
    } else if (!in_quotes && (c == '\n' || c == '\r')) {
      if (c == '\r' && index + 1 < size && text[index + 1] == '\n') continue;
      return index + 1;
    }
  }
  return size;
}

// Cuts [data_begin, size) into blocks that start at record boundaries.
std::vector<size_t> CutBlocks(const CsvSetup& setup, size_t data_begin, int threads,
                              size_t block_size) {
  size_t size = setup.text.size();
  size_t bytes = size - data_begin;
  size_t count = 1;
  if (threads > 1 && block_size > 0) {
    count = std::clamp<size_t>(bytes / block_size, 1, static_cast<size_t>(threads) * 4);
  }
  std::vector<size_t> bounds(count + 1);
  for (size_t block = 0; block <= count; ++block) {
    bounds[block] = data_begin + bytes * block / count;
  }
  if (count == 1) return bounds;
  // Pass 1: quote parity of each raw block.
  std::vector<uint8_t> parity(count, 0);
  if (setup.quoting) {
    internal::ParallelFor(count, threads, [&](size_t block) {
      const char* p = setup.text.data() + bounds[block];
      const char* end = setup.text.data() + bounds[block + 1];
      size_t quotes = 0;
      while ((p = static_cast<const char*>(
                  std::memchr(p, setup.quote, static_cast<size_t>(end - p)))) != nullptr) {
        ++quotes;
        ++p;
      }
      parity[block] = quotes & 1;
    });
  }
  // Pass 2: move each cut to the next record start.
  std::vector<size_t> starts(count + 1);
  starts[0] = data_begin;
  starts[count] = size;
  std::vector<uint8_t> in_quotes(count, 0);
  for (size_t block = 1; block < count; ++block) {
    in_quotes[block] = in_quotes[block - 1] ^ parity[block - 1];
  }
  internal::ParallelFor(count - 1, threads, [&](size_t cut) {
    starts[cut + 1] = FindRecordStart(setup, bounds[cut + 1], in_quotes[cut + 1] != 0);
  });
  // A long quoted field can swallow a cut: keep the starts non-decreasing.
  for (size_t block = 1; block <= count; ++block) {
    starts[block] = std::max(starts[block], starts[block - 1]);
  }
  return starts;
}

// ---- Parsing the blocks ---------------------------------------------------------------------

struct ParsedBlocks {
  std::vector<BlockResult> blocks;
  // Per column, the final buffer its numeric values were placed in (empty: none placed).
  std::vector<std::shared_ptr<Buffer>> placed;
  // Per block, its first row in the placed buffers.
  std::vector<size_t> first_row;
  std::vector<internal::BlockPlacement> placements;
  std::vector<size_t> predicted;
};

// Parses every block in parallel. Each block's record count is predicted from its newlines
// (exact unless blank lines, quoted line breaks or lone \r terminators intervene) so numeric
// columns can be written straight into their final buffers; a block with more records than
// predicted makes the whole read fall back to block-local buffers.
ParsedBlocks ParseBlocks(const CsvSetup& setup, const std::vector<size_t>& starts, int threads) {
  const size_t num_blocks = starts.size() - 1;
  const size_t num_columns = setup.names.size();
  const char* text = setup.text.data();
  ParsedBlocks parsed;
  parsed.predicted.resize(num_blocks);
  internal::ParallelFor(num_blocks, threads, [&](size_t block) {
    parsed.predicted[block] =
        internal::CountNewlines(text + starts[block], text + starts[block + 1]);
  });
  for (size_t block = num_blocks; block-- > 0;) {  // an unterminated last record
    if (starts[block] == starts[block + 1]) continue;
    if (setup.text.back() != '\n') ++parsed.predicted[block];
    break;
  }
  parsed.first_row.assign(num_blocks + 1, 0);
  for (size_t block = 0; block < num_blocks; ++block) {
    parsed.first_row[block + 1] = parsed.first_row[block] + parsed.predicted[block];
  }
  size_t total = parsed.first_row[num_blocks];
  parsed.placed.resize(num_columns);
  for (size_t index = 0; index < num_columns; ++index) {
    if (setup.types[index] != DataType::kString) {
      parsed.placed[index] = Buffer::Allocate(total * sizeof(uint64_t));
    }
  }
  parsed.placements.resize(num_blocks);
  for (size_t block = 0; block < num_blocks; ++block) {
    internal::BlockPlacement& placement = parsed.placements[block];
    placement.capacity = parsed.predicted[block];
    placement.direct.assign(num_columns, nullptr);
    for (size_t index = 0; index < num_columns; ++index) {
      if (parsed.placed[index] == nullptr) continue;
      placement.direct[index] = reinterpret_cast<uint64_t*>(parsed.placed[index]->mutable_data()) +
                                parsed.first_row[block];
    }
  }
  parsed.blocks.resize(num_blocks);
  std::atomic<bool> overflow{false};
  internal::ParallelFor(num_blocks, threads, [&](size_t block) {
    parsed.blocks[block] = ParseCsvBlock(setup, setup.types, starts[block], starts[block + 1],
                                         parsed.placements[block], parsed.predicted[block]);
    if (parsed.blocks[block].overflow) overflow = true;
  });
  if (overflow) {
    parsed.placed.clear();
    parsed.placements.assign(num_blocks, internal::BlockPlacement{});
    internal::ParallelFor(num_blocks, threads, [&](size_t block) {
      parsed.blocks[block] = ParseCsvBlock(setup, setup.types, starts[block], starts[block + 1],
                                           parsed.placements[block], parsed.predicted[block]);
    });
  }
  return parsed;
}

// ---- Assembly -------------------------------------------------------------------------------

// Moves a block-local vector into a Buffer without copying.
template <typename Vector>
std::shared_ptr<const Buffer> AdoptVector(Vector& vector) {
  auto owner = std::make_shared<Vector>(std::move(vector));
  return Buffer::Wrap(owner->data(), owner->size() * sizeof(typename Vector::value_type), owner);
}

// Concatenates the blocks' parts of one column. A placed numeric column is already in place
// (blocks that had fewer records than predicted are moved up to close the gaps); a single
// block's vectors are adopted; otherwise the parts are copied.
Result<Column> Assemble(const std::string& name, DataType type, size_t column_index,
                        std::vector<BlockResult>& blocks, size_t total_rows,
                        const ParsedBlocks& parsed) {
  std::shared_ptr<const Buffer> values;
  std::shared_ptr<const Buffer> chars;
  std::shared_ptr<Buffer> placed = parsed.placed.empty() ? nullptr : parsed.placed[column_index];
  if (type != DataType::kString && placed != nullptr) {
    std::byte* data = placed->mutable_data();
    size_t row = 0;
    for (size_t block = 0; block < blocks.size(); ++block) {
      size_t from = parsed.first_row[block];
      size_t count = blocks[block].rows;
      if (from != row && count > 0) {
        std::memmove(data + row * sizeof(uint64_t), data + from * sizeof(uint64_t),
                     count * sizeof(uint64_t));
      }
      row += count;
    }
    values = Buffer::Wrap(data, total_rows * sizeof(uint64_t), placed);
  } else if (blocks.size() == 1) {
    BlockColumn& column = blocks[0].columns[column_index];
    if (type == DataType::kString) {
      values = AdoptVector(column.offsets);
      chars = AdoptVector(column.chars);
    } else {
      values = AdoptVector(column.fixed);
    }
  } else if (type == DataType::kString) {
    size_t total_chars = 0;
    for (const BlockResult& block : blocks) total_chars += block.columns[column_index].chars.size();
    auto offsets_buffer = Buffer::Allocate((total_rows + 1) * sizeof(int64_t));
    auto chars_buffer = Buffer::Allocate(total_chars);
    int64_t* offsets = reinterpret_cast<int64_t*>(offsets_buffer->mutable_data());
    char* out_chars = reinterpret_cast<char*>(chars_buffer->mutable_data());
    offsets[0] = 0;
    size_t row = 0;
    int64_t base = 0;
    for (const BlockResult& block : blocks) {
      const BlockColumn& column = block.columns[column_index];
      for (size_t index = 1; index < column.offsets.size(); ++index) {
        offsets[++row] = base + column.offsets[index];
      }
      if (!column.chars.empty()) {
        std::memcpy(out_chars + base, column.chars.data(), column.chars.size());
      }
      base += static_cast<int64_t>(column.chars.size());
    }
    values = std::move(offsets_buffer);
    chars = std::move(chars_buffer);
  } else {
    auto buffer = Buffer::Allocate(total_rows * sizeof(uint64_t));
    std::byte* out = buffer->mutable_data();
    size_t row = 0;
    for (const BlockResult& block : blocks) {
      const BlockColumn& column = block.columns[column_index];
      if (!column.fixed.empty()) {
        std::memcpy(out + row * sizeof(uint64_t), column.fixed.data(),
                    column.fixed.size() * sizeof(uint64_t));
      }
      row += column.fixed.size();
    }
    values = std::move(buffer);
  }
  std::shared_ptr<const Buffer> validity;
  bool any_nulls = false;
  for (const BlockResult& block : blocks) any_nulls |= !block.columns[column_index].nulls.empty();
  if (any_nulls) {
    auto buffer = Buffer::Allocate(total_rows);
    uint8_t* valid = reinterpret_cast<uint8_t*>(buffer->mutable_data());
    std::memset(valid, 1, total_rows);
    size_t row = 0;
    for (const BlockResult& block : blocks) {
      for (size_t null_row : block.columns[column_index].nulls) valid[row + null_row] = 0;
      row += block.rows;
    }
    validity = std::move(buffer);
  }
  return Column::FromBuffers(name, type, total_rows, std::move(values), std::move(chars),
                             std::move(validity));
}

// Widens a block's column to `type` (Int64 -> Float64, or an all-null column to String).
// REQUIRES: the widening needs no re-parse.
void WidenBlockColumn(BlockColumn& column, DataType type, size_t rows) {
  if (column.type == type) return;
  if (type == DataType::kFloat64) {
    internal::WidenToFloat64(column, rows);
  } else if (type == DataType::kString) {
    column.fixed.clear();
    column.offsets.assign(rows + 1, 0);
    column.type = type;
  }
}

// ---- Header ---------------------------------------------------------------------------------

// Parses the record at *offset into `fields` and moves *offset past it.
Status ParseRecord(const CsvSetup& setup, size_t* offset, std::vector<std::string>* fields) {
  const char* p = setup.text.data() + *offset;
  const char* end = setup.text.data() + setup.text.size();
  std::string scratch;
  for (;;) {
    std::string_view text;
    bool quoted = false;
    CsvParseError error;
    if (!ScanCsvField(setup, &p, end, &scratch, &text, &quoted, &error)) {
      return FormatCsvError(setup, error);
    }
    fields->emplace_back(text);
    if (p < end && *p == setup.delimiter) {
      ++p;
      continue;
    }
    if (p < end) p = SkipLineBreak(p, end);
    break;
  }
  *offset = static_cast<size_t>(p - setup.text.data());
  return Status::Ok();
}

Status CheckOptions(const CsvReadOptions& options) {
  auto bad = [](char c) { return c == '\n' || c == '\r'; };
  if (bad(options.delimiter) || options.delimiter == '\0') {
    return InvalidArgumentError("CSV delimiter must not be a line break or NUL");
  }
  if (options.quote != '\0' && (bad(options.quote) || options.quote == options.delimiter)) {
    return InvalidArgumentError("CSV quote must differ from the delimiter and line breaks");
  }
  return Status::Ok();
}

}  // namespace

Result<Table> ReadCsvString(std::string_view text, const CsvReadOptions& options,
                            std::string_view source_name) {
  RETURN_IF_ERROR(CheckOptions(options));
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  CsvSetup setup;
  setup.text = text;
  setup.source = source_name;
  setup.delimiter = options.delimiter;
  setup.quote = options.quote;
  setup.quoting = options.quote != '\0';
  setup.empty_is_null = false;
  for (const std::string& null_value : options.null_values) {
    if (null_value.empty()) {
      setup.empty_is_null = true;
      continue;
    }
    setup.other_nulls.push_back(null_value);
    double ignored = 0;
    if (ParseFloat64(null_value, &ignored)) setup.fast_numbers = false;
  }

  // The header (or the first record's width).
  size_t offset = 0;
  auto skip_blank = [&] {
    while (offset < text.size() && (text[offset] == '\n' || text[offset] == '\r')) {
      offset = static_cast<size_t>(SkipLineBreak(text.data() + offset, text.data() + text.size()) -
                                   text.data());
    }
  };
  if (options.header) {
    skip_blank();
    if (offset >= text.size()) {
      return InvalidArgumentError(std::string(source_name) +
                                  ": the input is empty (expected a header line)");
    }
    std::vector<std::string> header;
    RETURN_IF_ERROR(ParseRecord(setup, &offset, &header));
    std::unordered_set<std::string> seen;
    for (size_t index = 0; index < header.size(); ++index) {
      std::string name = header[index].empty() ? "column_" + std::to_string(index) : header[index];
      if (!seen.insert(name).second) {
        return InvalidArgumentError(std::string(source_name) + ": the header repeats column '" +
                                    name + "'");
      }
      setup.names.push_back(std::move(name));
    }
  } else {
    size_t probe = offset;
    while (probe < text.size() && (text[probe] == '\n' || text[probe] == '\r')) ++probe;
    size_t width = 0;
    if (probe < text.size()) {
      std::vector<std::string> first;
      RETURN_IF_ERROR(ParseRecord(setup, &probe, &first));
      width = first.size();
    } else if (!options.column_names.empty()) {
      width = options.column_names.size();
    }
    if (!options.column_names.empty() && options.column_names.size() != width) {
      return InvalidArgumentError(std::string(source_name) + ": " +
                                  std::to_string(options.column_names.size()) +
                                  " column names given for " + std::to_string(width) + " columns");
    }
    std::unordered_set<std::string> seen;
    for (size_t index = 0; index < width; ++index) {
      std::string name = options.column_names.empty() ? "column_" + std::to_string(index)
                                                      : options.column_names[index];
      if (!seen.insert(name).second) {
        return InvalidArgumentError("column name '" + name + "' is given twice");
      }
      setup.names.push_back(std::move(name));
    }
  }
  size_t num_columns = setup.names.size();
  setup.skip_blank_lines = options.skip_blank_lines && num_columns > 1;

  // Types.
  for (const auto& [name, type] : options.column_types) {
    if (std::find(setup.names.begin(), setup.names.end(), name) == setup.names.end()) {
      std::string present;
      for (const std::string& column : setup.names) {
        present += (present.empty() ? "'" : ", '") + column + "'";
      }
      return InvalidArgumentError(std::string(source_name) + ": column_types names '" + name +
                                  "', which is not a column (columns: " + present + ")");
    }
  }
  for (const std::string& name : setup.names) {
    auto explicit_type = options.column_types.find(name);
    if (explicit_type != options.column_types.end()) {
      setup.types.push_back(explicit_type->second);
      setup.inferred.push_back(false);
    } else if (options.infer_types) {
      setup.types.push_back(DataType::kInt64);
      setup.inferred.push_back(true);
    } else {
      setup.types.push_back(DataType::kString);
      setup.inferred.push_back(false);
    }
  }
  if (num_columns == 0) return Table();

  // Parse the blocks in parallel.
  int threads = internal::ResolveThreads(options.threads);
  std::vector<size_t> starts = CutBlocks(setup, offset, threads, options.block_size);
  size_t num_blocks = starts.size() - 1;
  ParsedBlocks parsed = ParseBlocks(setup, starts, threads);
  std::vector<BlockResult>& blocks = parsed.blocks;
  for (const BlockResult& block : blocks) {
    if (block.failed) return FormatCsvError(setup, block.error);
  }

  // Agree on the inferred types; re-parse blocks that must widen a column to String.
  auto rank = [](DataType type) {
    return type == DataType::kInt64 ? 0 : type == DataType::kFloat64 ? 1 : 2;
  };
  std::vector<DataType> final_types = setup.types;
  for (size_t index = 0; index < num_columns; ++index) {
    if (!setup.inferred[index]) continue;
    bool any_value = false;
    DataType widest = DataType::kInt64;
    for (const BlockResult& block : blocks) {
      const BlockColumn& column = block.columns[index];
      if (!column.saw_value) continue;
      any_value = true;
      if (rank(column.type) > rank(widest)) widest = column.type;
    }
    final_types[index] = any_value ? widest : DataType::kString;
  }
  internal::ParallelFor(num_blocks, threads, [&](size_t block_index) {
    BlockResult& block = blocks[block_index];
    std::vector<DataType> reparse_types = setup.types;
    bool reparse = false;
    for (size_t index = 0; index < num_columns; ++index) {
      if (final_types[index] != DataType::kString || !setup.inferred[index]) continue;
      reparse_types[index] = DataType::kString;
      const BlockColumn& column = block.columns[index];
      reparse |= column.type != DataType::kString && column.saw_value;
    }
    if (reparse) {
      block = ParseCsvBlock(setup, reparse_types, starts[block_index], starts[block_index + 1],
                            parsed.placements[block_index], parsed.predicted[block_index]);
    }
    for (size_t index = 0; index < num_columns; ++index) {
      WidenBlockColumn(block.columns[index], final_types[index], block.rows);
    }
  });

  size_t total_rows = 0;
  for (const BlockResult& block : blocks) total_rows += block.rows;
  std::vector<Result<Column>> assembled(num_columns, Status(StatusCode::kInternal, "unset"));
  internal::ParallelFor(num_columns, threads, [&](size_t index) {
    assembled[index] =
        Assemble(setup.names[index], final_types[index], index, blocks, total_rows, parsed);
  });
  std::vector<Column> columns;
  columns.reserve(num_columns);
  for (Result<Column>& column : assembled) {
    if (!column.ok()) return column.status();
    columns.push_back(std::move(column).value());
  }
  return TableFromCheckedColumns(std::move(columns), total_rows);
}

Result<Table> ReadCsvFile(const std::string& path, const CsvReadOptions& options) {
  ASSIGN_OR_RETURN(auto file, internal::MappedFile::Open(path));
  return ReadCsvString(file->bytes(), options, path);
}

}  // namespace raypipe::data
