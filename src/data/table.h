#pragma once

// The in-memory columnar Table: typed columns (Float64, Int64, String) with optional nulls.
//
// Columns are immutable values that share their buffers: copying a Column or a Table, Select,
// Drop and Slice copy no data. Typed access is a std::span over the buffer (zero overhead),
// so XGBoost can build a DMatrix straight from float64s() and serving can read rows.
//
// Layout (Arrow-like): a fixed-width value buffer (double or int64_t), or for strings an
// offsets buffer (length() + 1 int64_t, non-decreasing) into one character buffer; and an
// optional validity buffer of one byte per row (1 = value present, 0 = null). Null slots hold
// NaN (Float64), 0 (Int64) or "" (String), so a consumer that ignores validity still sees a
// well-defined value, and XGBoost reads NaN as missing.
//
// Thread-safety: Column and Table are immutable after construction (AddColumn aside); const
// access from any number of threads is safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace raypipe::data {

enum class DataType { kFloat64, kInt64, kString };

// "Float64", "Int64", "String".
std::string_view DataTypeName(DataType type);

// Parses a type name, case-insensitively: float64 (or double, float), int64 (or int,
// integer), string (or str). InvalidArgument names the accepted spellings.
Result<DataType> ParseDataType(std::string_view name);

// Immutable bytes shared by columns: heap memory, or a view into memory kept alive by an owner
// (a memory-mapped file, a moved-in std::vector).
class Buffer {
 public:
  // `size` uninitialized bytes, 64-byte aligned (large ones in transparent huge pages); fill
  // through mutable_data() before sharing.
  static std::shared_ptr<Buffer> Allocate(size_t size);
  // A view of [data, data + size) that keeps `owner` alive.
  static std::shared_ptr<const Buffer> Wrap(const void* data, size_t size,
                                            std::shared_ptr<const void> owner);
  // Takes ownership of `values` without copying.
  template <typename T>
  static std::shared_ptr<const Buffer> FromVector(std::vector<T> values);

  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  // REQUIRES: made by Allocate.
  std::byte* mutable_data() { return const_cast<std::byte*>(data_); }

  template <typename T>
  std::span<const T> As() const {
    return {reinterpret_cast<const T*>(data_), size_ / sizeof(T)};
  }

 private:
  Buffer(const std::byte* data, size_t size, std::shared_ptr<const void> owner)
      : data_(data), size_(size), owner_(std::move(owner)) {}

  const std::byte* data_;
  size_t size_;
  std::shared_ptr<const void> owner_;
};

template <typename T>
std::shared_ptr<const Buffer> Buffer::FromVector(std::vector<T> values) {
  auto owner = std::make_shared<std::vector<T>>(std::move(values));
  return Wrap(owner->data(), owner->size() * sizeof(T), owner);
}

class Column {
 public:
  // An empty Float64 column with an empty name.
  Column();

  // Factories from vectors (moved in, not copied). `validity` is empty (no nulls) or has one
  // entry per value, nonzero = present. Null slots are overwritten with the canonical null
  // value (NaN, 0, ""). REQUIRES: validity.empty() || validity.size() == values.size().
  static Column Float64(std::string name, std::vector<double> values,
                        std::vector<uint8_t> validity = {});
  static Column Int64(std::string name, std::vector<int64_t> values,
                      std::vector<uint8_t> validity = {});
  static Column String(std::string name, const std::vector<std::string>& values,
                       std::vector<uint8_t> validity = {});
  // One value per row; std::nullopt is null.
  static Column OptionalStrings(std::string name,
                                const std::vector<std::optional<std::string>>& values);

  // From raw buffers (the CSV reader and the columnar file use this). For Float64/Int64,
  // `values` holds `length` elements and `chars` is null; for String, `values` holds
  // length + 1 non-decreasing int64 offsets into `chars`. `validity` is null or `length`
  // bytes. Every size and offset is checked: DataLoss names what is inconsistent.
  static Result<Column> FromBuffers(std::string name, DataType type, size_t length,
                                    std::shared_ptr<const Buffer> values,
                                    std::shared_ptr<const Buffer> chars,
                                    std::shared_ptr<const Buffer> validity);

  const std::string& name() const { return name_; }
  DataType type() const { return type_; }
  size_t length() const { return length_; }
  size_t null_count() const { return null_count_; }
  bool has_nulls() const { return null_count_ > 0; }
  // REQUIRES: row < length().
  bool IsNull(size_t row) const { return null_count_ > 0 && validity_data()[row] == 0; }
  bool IsValid(size_t row) const { return !IsNull(row); }
  // Empty when the column has no nulls; otherwise length() bytes, nonzero = present.
  std::span<const uint8_t> validity() const;

  // REQUIRES: type() == kFloat64.
  std::span<const double> float64s() const {
    return {reinterpret_cast<const double*>(values_->data()) + offset_, length_};
  }
  // REQUIRES: type() == kInt64.
  std::span<const int64_t> int64s() const {
    return {reinterpret_cast<const int64_t*>(values_->data()) + offset_, length_};
  }
  // REQUIRES: type() == kString. length() + 1 offsets into string_chars().
  std::span<const int64_t> string_offsets() const {
    return {reinterpret_cast<const int64_t*>(values_->data()) + offset_, length_ + 1};
  }
  std::string_view string_chars() const;
  // REQUIRES: type() == kString, row < length().
  std::string_view string(size_t row) const {
    const int64_t* offsets = reinterpret_cast<const int64_t*>(values_->data()) + offset_;
    return {reinterpret_cast<const char*>(chars_->data()) + offsets[row],
            static_cast<size_t>(offsets[row + 1] - offsets[row])};
  }

  // The value as text ("null" for a null; floats in shortest round-trip form). For messages
  // and debugging, not for bulk output.
  std::string ValueToString(size_t row) const;

  // The same data under another name (no copy).
  Column Renamed(std::string name) const;
  // Rows [offset, offset + length) without copying. REQUIRES: offset + length <= length().
  Column Slice(size_t offset, size_t length) const;
  // The rows at `rows`, in that order (copies). REQUIRES: every index < length().
  Column Take(std::span<const int64_t> rows) const;
  Column Take(std::span<const uint32_t> rows) const;

  // The buffers, for writers of the on-disk format. values_buffer() covers the whole shared
  // buffer; value_offset() is this column's first element within it.
  const std::shared_ptr<const Buffer>& values_buffer() const { return values_; }
  size_t value_offset() const { return offset_; }

  // Same name, type, length, nulls, and values on non-null rows; doubles compare equal when
  // identical, both NaN, and zeros only with the same sign.
  bool Equals(const Column& other) const;

 private:
  const uint8_t* validity_data() const {
    return reinterpret_cast<const uint8_t*>(validity_->data()) + offset_;
  }
  template <typename Index>
  Column TakeImpl(std::span<const Index> rows) const;

  std::string name_;
  DataType type_ = DataType::kFloat64;
  size_t length_ = 0;
  size_t offset_ = 0;  // first element in values_ (and validity_)
  size_t null_count_ = 0;
  std::shared_ptr<const Buffer> values_;    // doubles, int64s, or string offsets
  std::shared_ptr<const Buffer> chars_;     // strings only
  std::shared_ptr<const Buffer> validity_;  // null when null_count_ == 0
};

struct Field {
  std::string name;
  DataType type;
  friend bool operator==(const Field&, const Field&) = default;
};

class Table {
 public:
  Table() = default;

  // InvalidArgument when lengths differ or a name repeats (naming the column).
  static Result<Table> Make(std::vector<Column> columns);

  size_t num_rows() const { return num_rows_; }
  size_t num_columns() const { return columns_.size(); }
  // REQUIRES: index < num_columns().
  const Column& column(size_t index) const { return columns_[index]; }
  const std::vector<Column>& columns() const { return columns_; }
  std::vector<std::string> ColumnNames() const;
  std::vector<Field> Schema() const;

  // NotFound names the missing column and the columns present.
  Result<const Column*> ColumnByName(std::string_view name) const;
  std::optional<size_t> ColumnIndex(std::string_view name) const;

  // Appends a column. InvalidArgument when its length differs from num_rows() (unless the
  // table has no columns yet) or its name is taken.
  Status AddColumn(Column column);

  // The named columns in the given order (no copy). NotFound for an unknown name,
  // InvalidArgument for a repeated one.
  Result<Table> Select(const std::vector<std::string>& names) const;
  // All columns except the named ones (no copy). NotFound for an unknown name.
  Result<Table> Drop(const std::vector<std::string>& names) const;
  // The rows at `rows`, in that order. OutOfRange names the first bad index.
  Result<Table> Take(std::span<const int64_t> rows) const;
  // Rows [offset, offset + length) without copying. OutOfRange past the end.
  Result<Table> Slice(size_t offset, size_t length) const;

  bool Equals(const Table& other) const;
  friend bool operator==(const Table& a, const Table& b) { return a.Equals(b); }

  // A short text rendering (header and up to `max_rows` rows) for debugging and test output.
  std::string ToString(size_t max_rows = 10) const;

 private:
  // Unchecked: the caller guarantees consistent lengths and unique names.
  explicit Table(std::vector<Column> columns, size_t num_rows)
      : columns_(std::move(columns)), num_rows_(num_rows) {}
  friend Table TableFromCheckedColumns(std::vector<Column> columns, size_t num_rows);

  std::vector<Column> columns_;
  size_t num_rows_ = 0;
};

// For the module's own code paths that already guarantee the Table invariants (equal lengths,
// unique names), avoiding a second check. REQUIRES: those invariants.
Table TableFromCheckedColumns(std::vector<Column> columns, size_t num_rows);

// Gtest prints tables readably.
void PrintTo(const Table& table, std::ostream* os);

}  // namespace raypipe::data
