#include "data/table.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <ostream>
#include <sstream>
#include <unordered_set>

#include "data/internal/huge_page_allocator.h"

namespace raypipe::data {
namespace {

constexpr size_t kAlignment = 64;

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string JoinNames(const std::vector<Column>& columns) {
  std::string joined;
  for (const Column& column : columns) {
    if (!joined.empty()) joined += ", ";
    joined += "'" + column.name() + "'";
  }
  return joined.empty() ? "none" : joined;
}

bool SameDouble(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

// Validity bytes for `values_size` rows, normalized to 0/1, with the null count; an empty
// result when nothing is null.
std::shared_ptr<const Buffer> NormalizeValidity(std::vector<uint8_t> validity,
                                                size_t* null_count) {
  *null_count = 0;
  for (uint8_t& valid : validity) {
    valid = valid != 0;
    *null_count += valid == 0;
  }
  if (*null_count == 0) return nullptr;
  return Buffer::FromVector(std::move(validity));
}

}  // namespace

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kFloat64: return "Float64";
    case DataType::kInt64: return "Int64";
    case DataType::kString: return "String";
  }
  return "Unknown";
}

Result<DataType> ParseDataType(std::string_view name) {
  std::string lower = Lower(name);
  if (lower == "float64" || lower == "double" || lower == "float") return DataType::kFloat64;
  if (lower == "int64" || lower == "int" || lower == "integer") return DataType::kInt64;
  if (lower == "string" || lower == "str") return DataType::kString;
  return InvalidArgumentError("unknown data type '" + std::string(name) +
                              "' (expected Float64, Int64 or String)");
}

// ---- Buffer ---------------------------------------------------------------------------------

std::shared_ptr<Buffer> Buffer::Allocate(size_t size) {
  if (size >= internal::kHugeAllocationMin) {
    // Filling fresh memory in 2 MiB pages spends far less time in page faults.
    if (void* region = internal::MapHugePages(size)) {
      std::shared_ptr<void> owner(region, [size](void* block) {
        internal::UnmapHugePages(block, size);
      });
      return std::shared_ptr<Buffer>(
          new Buffer(static_cast<const std::byte*>(region), size, std::move(owner)));
    }
  }
  size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
  void* memory =
      ::operator new(std::max<size_t>(rounded, kAlignment), std::align_val_t(kAlignment));
  std::shared_ptr<void> owner(memory, [](void* block) {
    ::operator delete(block, std::align_val_t(kAlignment));
  });
  return std::shared_ptr<Buffer>(new Buffer(static_cast<const std::byte*>(memory), size, owner));
}

std::shared_ptr<const Buffer> Buffer::Wrap(const void* data, size_t size,
                                           std::shared_ptr<const void> owner) {
  return std::shared_ptr<const Buffer>(
      new Buffer(static_cast<const std::byte*>(data), size, std::move(owner)));
}

// ---- Column ---------------------------------------------------------------------------------

Column::Column() : values_(Buffer::Allocate(0)) {}

Column Column::Float64(std::string name, std::vector<double> values,
                       std::vector<uint8_t> validity) {
  assert(validity.empty() || validity.size() == values.size());
  Column column;
  column.name_ = std::move(name);
  column.type_ = DataType::kFloat64;
  column.length_ = values.size();
  column.validity_ = NormalizeValidity(std::move(validity), &column.null_count_);
  if (column.validity_) {
    const uint8_t* valid = column.validity_data();
    for (size_t row = 0; row < values.size(); ++row) {
      if (!valid[row]) values[row] = std::numeric_limits<double>::quiet_NaN();
    }
  }
  column.values_ = Buffer::FromVector(std::move(values));
  return column;
}

Column Column::Int64(std::string name, std::vector<int64_t> values,
                     std::vector<uint8_t> validity) {
  assert(validity.empty() || validity.size() == values.size());
  Column column;
  column.name_ = std::move(name);
  column.type_ = DataType::kInt64;
  column.length_ = values.size();
  column.validity_ = NormalizeValidity(std::move(validity), &column.null_count_);
  if (column.validity_) {
    const uint8_t* valid = column.validity_data();
    for (size_t row = 0; row < values.size(); ++row) {
      if (!valid[row]) values[row] = 0;
    }
  }
  column.values_ = Buffer::FromVector(std::move(values));
  return column;
}

Column Column::String(std::string name, const std::vector<std::string>& values,
                      std::vector<uint8_t> validity) {
  assert(validity.empty() || validity.size() == values.size());
  Column column;
  column.name_ = std::move(name);
  column.type_ = DataType::kString;
  column.length_ = values.size();
  column.validity_ = NormalizeValidity(std::move(validity), &column.null_count_);
  const uint8_t* valid = column.validity_ ? column.validity_data() : nullptr;
  std::vector<int64_t> offsets;
  offsets.reserve(values.size() + 1);
  offsets.push_back(0);
  std::string chars;
  for (size_t row = 0; row < values.size(); ++row) {
    if (valid == nullptr || valid[row]) chars += values[row];
    offsets.push_back(static_cast<int64_t>(chars.size()));
  }
  column.values_ = Buffer::FromVector(std::move(offsets));
  auto owner = std::make_shared<std::string>(std::move(chars));
  column.chars_ = Buffer::Wrap(owner->data(), owner->size(), owner);
  return column;
}

Column Column::OptionalStrings(std::string name,
                               const std::vector<std::optional<std::string>>& values) {
  std::vector<std::string> strings(values.size());
  std::vector<uint8_t> validity(values.size(), 1);
  for (size_t row = 0; row < values.size(); ++row) {
    if (values[row]) {
      strings[row] = *values[row];
    } else {
      validity[row] = 0;
    }
  }
  return String(std::move(name), strings, std::move(validity));
}

Result<Column> Column::FromBuffers(std::string name, DataType type, size_t length,
                                   std::shared_ptr<const Buffer> values,
                                   std::shared_ptr<const Buffer> chars,
                                   std::shared_ptr<const Buffer> validity) {
  auto where = [&] { return "column '" + name + "': "; };
  if (values == nullptr) return DataLossError(where() + "missing value buffer");
  size_t elements = type == DataType::kString ? length + 1 : length;
  if (values->size() != elements * 8) {
    return DataLossError(where() + "value buffer has " + std::to_string(values->size()) +
                         " bytes, expected " + std::to_string(elements * 8));
  }
  if (reinterpret_cast<uintptr_t>(values->data()) % alignof(int64_t) != 0) {
    return DataLossError(where() + "value buffer is misaligned");
  }
  Column column;
  column.name_ = std::move(name);
  column.type_ = type;
  column.length_ = length;
  if (type == DataType::kString) {
    if (chars == nullptr) return DataLossError(where() + "missing character buffer");
    std::span<const int64_t> offsets = values->As<int64_t>();
    int64_t previous = 0;
    for (size_t index = 0; index < offsets.size(); ++index) {
      int64_t offset = offsets[index];
      if (offset < previous || static_cast<uint64_t>(offset) > chars->size()) {
        return DataLossError(where() + "string offset " + std::to_string(index) + " (" +
                             std::to_string(offset) + ") is out of order or past the " +
                             std::to_string(chars->size()) + " character bytes");
      }
      previous = offset;
    }
    column.chars_ = std::move(chars);
  } else if (chars != nullptr) {
    return DataLossError(where() + "a numeric column has a character buffer");
  }
  column.values_ = std::move(values);
  if (validity != nullptr) {
    if (validity->size() != length) {
      return DataLossError(where() + "validity buffer has " + std::to_string(validity->size()) +
                           " bytes, expected " + std::to_string(length));
    }
    const uint8_t* valid = reinterpret_cast<const uint8_t*>(validity->data());
    size_t nulls = 0;
    for (size_t row = 0; row < length; ++row) {
      if (valid[row] > 1) {
        return DataLossError(where() + "validity byte " + std::to_string(row) + " is " +
                             std::to_string(valid[row]) + ", expected 0 or 1");
      }
      nulls += valid[row] == 0;
    }
    if (nulls > 0) {
      column.null_count_ = nulls;
      column.validity_ = std::move(validity);
    }
  }
  return column;
}

std::span<const uint8_t> Column::validity() const {
  if (null_count_ == 0) return {};
  return {validity_data(), length_};
}

std::string_view Column::string_chars() const {
  return {reinterpret_cast<const char*>(chars_->data()), chars_->size()};
}

std::string Column::ValueToString(size_t row) const {
  if (IsNull(row)) return "null";
  switch (type_) {
    case DataType::kFloat64: {
      char buffer[32];
      auto result = std::to_chars(buffer, buffer + sizeof(buffer), float64s()[row]);
      return std::string(buffer, result.ptr);
    }
    case DataType::kInt64: return std::to_string(int64s()[row]);
    case DataType::kString: return std::string(string(row));
  }
  return {};
}

Column Column::Renamed(std::string name) const {
  Column column = *this;
  column.name_ = std::move(name);
  return column;
}

Column Column::Slice(size_t offset, size_t length) const {
  assert(offset + length <= length_);
  Column column = *this;
  column.offset_ = offset_ + offset;
  column.length_ = length;
  if (null_count_ > 0) {
    const uint8_t* valid = validity_data() + offset;
    column.null_count_ = static_cast<size_t>(std::count(valid, valid + length, uint8_t{0}));
    if (column.null_count_ == 0) column.validity_ = nullptr;
  }
  return column;
}

template <typename Index>
Column Column::TakeImpl(std::span<const Index> rows) const {
  Column column;
  column.name_ = name_;
  column.type_ = type_;
  column.length_ = rows.size();
  size_t count = rows.size();
  if (type_ == DataType::kString) {
    std::span<const int64_t> offsets = string_offsets();
    const char* chars = reinterpret_cast<const char*>(chars_->data());
    auto new_offsets = Buffer::Allocate((count + 1) * sizeof(int64_t));
    int64_t* out_offsets = reinterpret_cast<int64_t*>(new_offsets->mutable_data());
    int64_t total = 0;
    out_offsets[0] = 0;
    for (size_t out = 0; out < count; ++out) {
      size_t row = static_cast<size_t>(rows[out]);
      total += offsets[row + 1] - offsets[row];
      out_offsets[out + 1] = total;
    }
    auto new_chars = Buffer::Allocate(static_cast<size_t>(total));
    char* out_chars = reinterpret_cast<char*>(new_chars->mutable_data());
    for (size_t out = 0; out < count; ++out) {
      size_t row = static_cast<size_t>(rows[out]);
      size_t size = static_cast<size_t>(offsets[row + 1] - offsets[row]);
      if (size > 0) std::memcpy(out_chars + out_offsets[out], chars + offsets[row], size);
    }
    column.values_ = std::move(new_offsets);
    column.chars_ = std::move(new_chars);
  } else {
    // Float64 and Int64 are both 8-byte values: gather the bits.
    const uint64_t* in = reinterpret_cast<const uint64_t*>(values_->data()) + offset_;
    auto buffer = Buffer::Allocate(count * sizeof(uint64_t));
    uint64_t* out = reinterpret_cast<uint64_t*>(buffer->mutable_data());
    for (size_t index = 0; index < count; ++index) out[index] = in[rows[index]];
    column.values_ = std::move(buffer);
  }
  if (null_count_ > 0) {
    const uint8_t* valid = validity_data();
    auto buffer = Buffer::Allocate(count);
    uint8_t* out = reinterpret_cast<uint8_t*>(buffer->mutable_data());
    size_t nulls = 0;
    for (size_t index = 0; index < count; ++index) {
      out[index] = valid[rows[index]];
      nulls += out[index] == 0;
    }
    if (nulls > 0) {
      column.null_count_ = nulls;
      column.validity_ = std::move(buffer);
    }
  }
  return column;
}

Column Column::Take(std::span<const int64_t> rows) const { return TakeImpl(rows); }
Column Column::Take(std::span<const uint32_t> rows) const { return TakeImpl(rows); }

bool Column::Equals(const Column& other) const {
  if (name_ != other.name_ || type_ != other.type_ || length_ != other.length_ ||
      null_count_ != other.null_count_) {
    return false;
  }
  for (size_t row = 0; row < length_; ++row) {
    if (IsNull(row) != other.IsNull(row)) return false;
    if (IsNull(row)) continue;
    switch (type_) {
      case DataType::kFloat64:
        if (!SameDouble(float64s()[row], other.float64s()[row])) return false;
        break;
      case DataType::kInt64:
        if (int64s()[row] != other.int64s()[row]) return false;
        break;
      case DataType::kString:
        if (string(row) != other.string(row)) return false;
        break;
    }
  }
  return true;
}

// ---- Table ----------------------------------------------------------------------------------

Table TableFromCheckedColumns(std::vector<Column> columns, size_t num_rows) {
  return Table(std::move(columns), num_rows);
}

Result<Table> Table::Make(std::vector<Column> columns) {
  Table table;
  for (Column& column : columns) RETURN_IF_ERROR(table.AddColumn(std::move(column)));
  return table;
}

std::vector<std::string> Table::ColumnNames() const {
  std::vector<std::string> names;
  names.reserve(columns_.size());
  for (const Column& column : columns_) names.push_back(column.name());
  return names;
}

std::vector<Field> Table::Schema() const {
  std::vector<Field> fields;
  fields.reserve(columns_.size());
  for (const Column& column : columns_) fields.push_back({column.name(), column.type()});
  return fields;
}

std::optional<size_t> Table::ColumnIndex(std::string_view name) const {
  for (size_t index = 0; index < columns_.size(); ++index) {
    if (columns_[index].name() == name) return index;
  }
  return std::nullopt;
}

Result<const Column*> Table::ColumnByName(std::string_view name) const {
  std::optional<size_t> index = ColumnIndex(name);
  if (!index) {
    return NotFoundError("no column '" + std::string(name) +
                         "' in the table (columns: " + JoinNames(columns_) + ")");
  }
  return &columns_[*index];
}

Status Table::AddColumn(Column column) {
  if (!columns_.empty() && column.length() != num_rows_) {
    return InvalidArgumentError("column '" + column.name() + "' has " +
                                std::to_string(column.length()) + " rows, the table has " +
                                std::to_string(num_rows_));
  }
  if (ColumnIndex(column.name())) {
    return InvalidArgumentError("the table already has a column '" + column.name() + "'");
  }
  num_rows_ = column.length();
  columns_.push_back(std::move(column));
  return Status::Ok();
}

Result<Table> Table::Select(const std::vector<std::string>& names) const {
  std::vector<Column> selected;
  selected.reserve(names.size());
  std::unordered_set<std::string_view> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) {
      return InvalidArgumentError("column '" + name + "' is selected twice");
    }
    ASSIGN_OR_RETURN(const Column* column, ColumnByName(name));
    selected.push_back(*column);
  }
  return Table(std::move(selected), names.empty() ? 0 : num_rows_);
}

Result<Table> Table::Drop(const std::vector<std::string>& names) const {
  std::unordered_set<std::string_view> dropped;
  for (const std::string& name : names) {
    RETURN_IF_ERROR(ColumnByName(name).status());
    dropped.insert(name);
  }
  std::vector<Column> kept;
  for (const Column& column : columns_) {
    if (!dropped.contains(column.name())) kept.push_back(column);
  }
  size_t rows = kept.empty() ? 0 : num_rows_;
  return Table(std::move(kept), rows);
}

Result<Table> Table::Take(std::span<const int64_t> rows) const {
  for (size_t index = 0; index < rows.size(); ++index) {
    if (rows[index] < 0 || static_cast<size_t>(rows[index]) >= num_rows_) {
      return OutOfRangeError("row index " + std::to_string(rows[index]) + " at position " +
                             std::to_string(index) + " is out of range (the table has " +
                             std::to_string(num_rows_) + " rows)");
    }
  }
  std::vector<Column> taken;
  taken.reserve(columns_.size());
  for (const Column& column : columns_) taken.push_back(column.Take(rows));
  return Table(std::move(taken), columns_.empty() ? 0 : rows.size());
}

Result<Table> Table::Slice(size_t offset, size_t length) const {
  if (offset > num_rows_ || length > num_rows_ - offset) {
    return OutOfRangeError("slice [" + std::to_string(offset) + ", " +
                           std::to_string(offset + length) + ") is past the table's " +
                           std::to_string(num_rows_) + " rows");
  }
  std::vector<Column> sliced;
  sliced.reserve(columns_.size());
  for (const Column& column : columns_) sliced.push_back(column.Slice(offset, length));
  return Table(std::move(sliced), columns_.empty() ? 0 : length);
}

bool Table::Equals(const Table& other) const {
  if (num_rows_ != other.num_rows_ || columns_.size() != other.columns_.size()) return false;
  for (size_t index = 0; index < columns_.size(); ++index) {
    if (!columns_[index].Equals(other.columns_[index])) return false;
  }
  return true;
}

std::string Table::ToString(size_t max_rows) const {
  std::ostringstream out;
  out << num_rows_ << " rows x " << columns_.size() << " columns\n";
  for (size_t index = 0; index < columns_.size(); ++index) {
    out << (index ? "," : "") << columns_[index].name() << ":"
        << DataTypeName(columns_[index].type());
  }
  out << "\n";
  for (size_t row = 0; row < std::min(max_rows, num_rows_); ++row) {
    for (size_t index = 0; index < columns_.size(); ++index) {
      out << (index ? "," : "") << columns_[index].ValueToString(row);
    }
    out << "\n";
  }
  if (num_rows_ > max_rows) out << "...\n";
  return out.str();
}

void PrintTo(const Table& table, std::ostream* os) { *os << table.ToString(); }

}  // namespace raypipe::data
