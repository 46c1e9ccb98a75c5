#include "data/columnar.h"

#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include "core/hash.h"
#include "data/internal/file_util.h"
#include "data/internal/parallel.h"

namespace raypipe::data {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the columnar format is little-endian and this build does not byte-swap");

constexpr char kMagic[8] = {'R', 'P', 'C', 'O', 'L', 'T', 'B', 'L'};
constexpr size_t kHeaderSize = 64;
constexpr size_t kAlignment = 64;

struct BufferRef {
  const void* data = nullptr;
  uint64_t size = 0;
  bool present = false;  // written (possibly empty), as opposed to absent
};

struct BufferEntry {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t checksum = 0;
};

enum BufferKind { kValues, kChars, kValidity, kNumBufferKinds };
constexpr const char* kBufferNames[kNumBufferKinds] = {"values", "characters", "validity"};

uint64_t AlignUp(uint64_t value) { return (value + kAlignment - 1) / kAlignment * kAlignment; }

template <typename T>
void Put(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

// A bounds-checked little-endian reader over the schema bytes.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Get(T* value) {
    if (bytes_.size() - position_ < sizeof(T)) return false;
    std::memcpy(value, bytes_.data() + position_, sizeof(T));
    position_ += sizeof(T);
    return true;
  }
  bool GetString(size_t size, std::string* value) {
    if (bytes_.size() - position_ < size) return false;
    value->assign(bytes_.data() + position_, size);
    position_ += size;
    return true;
  }
  bool AtEnd() const { return position_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t position_ = 0;
};

// The bytes of each buffer of `column` as they go on disk. String offsets of a sliced column
// are rebased to start at 0 (into `rebased`).
void ColumnBuffers(const Column& column, std::vector<int64_t>* rebased,
                   BufferRef buffers[kNumBufferKinds]) {
  size_t rows = column.length();
  switch (column.type()) {
    case DataType::kFloat64:
      buffers[kValues] = {column.float64s().data(), rows * 8, true};
      break;
    case DataType::kInt64:
      buffers[kValues] = {column.int64s().data(), rows * 8, true};
      break;
    case DataType::kString: {
      std::span<const int64_t> offsets = column.string_offsets();
      int64_t base = offsets.front();
      if (base == 0) {
        buffers[kValues] = {offsets.data(), offsets.size() * 8, true};
      } else {
        rebased->resize(offsets.size());
        for (size_t index = 0; index < offsets.size(); ++index) {
          (*rebased)[index] = offsets[index] - base;
        }
        buffers[kValues] = {rebased->data(), rebased->size() * 8, true};
      }
      buffers[kChars] = {column.string_chars().data() + base,
                         static_cast<uint64_t>(offsets.back() - base), true};
      break;
    }
  }
  std::span<const uint8_t> validity = column.validity();
  if (!validity.empty()) buffers[kValidity] = {validity.data(), validity.size(), true};
}

uint8_t TypeCode(DataType type) {
  switch (type) {
    case DataType::kFloat64: return 0;
    case DataType::kInt64: return 1;
    case DataType::kString: return 2;
  }
  return 255;
}

}  // namespace

Status WriteTableFile(const Table& table, const std::string& path, TableFileOptions options) {
  size_t num_columns = table.num_columns();
  std::vector<std::vector<int64_t>> rebased(num_columns);
  std::vector<std::array<BufferRef, kNumBufferKinds>> buffers(num_columns);
  for (size_t index = 0; index < num_columns; ++index) {
    ColumnBuffers(table.column(index), &rebased[index], buffers[index].data());
  }
  std::vector<std::array<uint64_t, kNumBufferKinds>> checksums(num_columns);
  internal::ParallelFor(num_columns * kNumBufferKinds, 0, [&](size_t task) {
    const BufferRef& buffer = buffers[task / kNumBufferKinds][task % kNumBufferKinds];
    checksums[task / kNumBufferKinds][task % kNumBufferKinds] =
        buffer.size == 0 ? 0 : core::FastHash64(buffer.data, buffer.size);
  });

  // The schema's size does not depend on the offsets, so lay it out once to size it.
  size_t schema_size = 0;
  for (const Column& column : table.columns()) {
    schema_size += 4 + column.name().size() + 4 + kNumBufferKinds * 24;
  }
  uint64_t offset = AlignUp(kHeaderSize + schema_size);
  std::string schema;
  std::vector<std::array<uint64_t, kNumBufferKinds>> offsets(num_columns);
  for (size_t index = 0; index < num_columns; ++index) {
    const Column& column = table.column(index);
    Put<uint32_t>(&schema, static_cast<uint32_t>(column.name().size()));
    schema += column.name();
    Put<uint8_t>(&schema, TypeCode(column.type()));
    schema.append(3, '\0');
    for (int kind = 0; kind < kNumBufferKinds; ++kind) {
      const BufferRef& buffer = buffers[index][kind];
      uint64_t buffer_offset = 0;
      if (buffer.present) {
        buffer_offset = offset;
        offset = AlignUp(offset + buffer.size);
      }
      offsets[index][kind] = buffer_offset;
      Put<uint64_t>(&schema, buffer_offset);
      Put<uint64_t>(&schema, buffer.size);
      Put<uint64_t>(&schema, checksums[index][kind]);
    }
  }

  std::string header;
  header.append(kMagic, sizeof(kMagic));
  Put<uint32_t>(&header, kColumnarFormatVersion);
  Put<uint32_t>(&header, kHeaderSize);
  Put<uint64_t>(&header, table.num_rows());
  Put<uint64_t>(&header, num_columns);
  Put<uint64_t>(&header, kHeaderSize);
  Put<uint64_t>(&header, schema.size());
  Put<uint64_t>(&header, core::FastHash64(schema));
  Put<uint64_t>(&header, core::FastHash64(header));

  ASSIGN_OR_RETURN(auto writer, internal::AtomicFileWriter::Open(path));
  RETURN_IF_ERROR(writer->Append(header));
  RETURN_IF_ERROR(writer->Append(schema));
  uint64_t written = kHeaderSize + schema.size();
  const std::string padding(kAlignment, '\0');
  for (size_t index = 0; index < num_columns; ++index) {
    for (int kind = 0; kind < kNumBufferKinds; ++kind) {
      const BufferRef& buffer = buffers[index][kind];
      if (offsets[index][kind] == 0) continue;
      RETURN_IF_ERROR(
          writer->Append(std::string_view(padding.data(), offsets[index][kind] - written)));
      RETURN_IF_ERROR(writer->Append(
          std::string_view(static_cast<const char*>(buffer.data), buffer.size)));
      written = offsets[index][kind] + buffer.size;
    }
  }
  RETURN_IF_ERROR(writer->Append(std::string_view(padding.data(), AlignUp(written) - written)));
  return writer->Commit(options.durable);
}

Result<Table> ReadTableFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<const internal::MappedFile> file,
                   internal::MappedFile::Open(path));
  std::string_view bytes = file->bytes();
  auto corrupt = [&](const std::string& what) {
    return DataLossError("'" + path + "' is corrupt: " + what);
  };
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return DataLossError("'" + path + "' is not a raypipe columnar table file (bad magic)");
  }
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  if (version > kColumnarFormatVersion) {
    return FailedPreconditionError("'" + path + "' has columnar format version " +
                                   std::to_string(version) + ", newer than this build reads (" +
                                   std::to_string(kColumnarFormatVersion) +
                                   "); upgrade raypipe to read it");
  }
  if (version == 0) return corrupt("format version 0");
  if (bytes.size() < kHeaderSize) {
    return corrupt("truncated header (" + std::to_string(bytes.size()) + " bytes)");
  }
  Cursor header(bytes.substr(12, kHeaderSize - 12));
  uint32_t header_size = 0;
  uint64_t rows = 0, num_columns = 0, schema_offset = 0, schema_size = 0, schema_checksum = 0,
           header_checksum = 0;
  header.Get(&header_size);
  header.Get(&rows);
  header.Get(&num_columns);
  header.Get(&schema_offset);
  header.Get(&schema_size);
  header.Get(&schema_checksum);
  header.Get(&header_checksum);
  if (core::FastHash64(bytes.data(), kHeaderSize - 8) != header_checksum) {
    return corrupt("checksum mismatch in the header");
  }
  if (header_size != kHeaderSize || schema_offset != kHeaderSize ||
      schema_size > bytes.size() - kHeaderSize) {
    return corrupt("the schema lies outside the file (truncated?)");
  }
  std::string_view schema_bytes = bytes.substr(schema_offset, schema_size);
  if (core::FastHash64(schema_bytes) != schema_checksum) {
    return corrupt("checksum mismatch in the schema");
  }
  // Each column takes at least 80 schema bytes, which bounds num_columns before allocating.
  if (num_columns > schema_size / 80 + 1) return corrupt("column count exceeds the schema");
  if (rows > std::numeric_limits<uint64_t>::max() / 16) return corrupt("impossible row count");

  struct ColumnEntry {
    std::string name;
    DataType type = DataType::kFloat64;
    BufferEntry buffers[kNumBufferKinds];
  };
  std::vector<ColumnEntry> entries(num_columns);
  Cursor schema(schema_bytes);
  for (ColumnEntry& entry : entries) {
    uint32_t name_size = 0;
    uint8_t type = 0;
    uint8_t reserved[3];
    if (!schema.Get(&name_size) || !schema.GetString(name_size, &entry.name) ||
        !schema.Get(&type) || !schema.Get(&reserved[0]) || !schema.Get(&reserved[1]) ||
        !schema.Get(&reserved[2])) {
      return corrupt("the schema ends early");
    }
    if (type > 2) {
      return corrupt("unknown type code " + std::to_string(type) + " for column '" + entry.name +
                     "'");
    }
    entry.type = type == 0 ? DataType::kFloat64 : type == 1 ? DataType::kInt64 : DataType::kString;
    for (BufferEntry& buffer : entry.buffers) {
      if (!schema.Get(&buffer.offset) || !schema.Get(&buffer.size) ||
          !schema.Get(&buffer.checksum)) {
        return corrupt("the schema ends early");
      }
    }
    for (int kind = 0; kind < kNumBufferKinds; ++kind) {
      const BufferEntry& buffer = entry.buffers[kind];
      if (buffer.offset == 0 && buffer.size == 0) continue;
      if (buffer.offset % kAlignment != 0 || buffer.offset < kHeaderSize + schema_size) {
        return corrupt("misplaced " + std::string(kBufferNames[kind]) + " buffer in column '" +
                       entry.name + "'");
      }
      if (buffer.offset > bytes.size() || buffer.size > bytes.size() - buffer.offset) {
        return corrupt("column '" + entry.name + "' " + kBufferNames[kind] + " ends at byte " +
                       std::to_string(buffer.offset + buffer.size) + " but the file has " +
                       std::to_string(bytes.size()) + " bytes (truncated?)");
      }
    }
  }
  if (!schema.AtEnd()) return corrupt("trailing bytes after the schema");

  // Verify every buffer's checksum, in parallel.
  std::vector<uint8_t> mismatch(num_columns * kNumBufferKinds, 0);
  internal::ParallelFor(num_columns * kNumBufferKinds, 0, [&](size_t task) {
    const BufferEntry& buffer = entries[task / kNumBufferKinds].buffers[task % kNumBufferKinds];
    if (buffer.size == 0 && buffer.offset == 0) {
      mismatch[task] = buffer.checksum != 0;
      return;
    }
    uint64_t actual =
        buffer.size == 0 ? 0 : core::FastHash64(bytes.data() + buffer.offset, buffer.size);
    mismatch[task] = actual != buffer.checksum;
  });
  for (size_t task = 0; task < mismatch.size(); ++task) {
    if (mismatch[task]) {
      return corrupt("checksum mismatch in column '" + entries[task / kNumBufferKinds].name +
                     "' (" + kBufferNames[task % kNumBufferKinds] + ")");
    }
  }

  std::vector<Column> columns;
  columns.reserve(num_columns);
  std::shared_ptr<const void> owner = file;
  auto view = [&](const BufferEntry& buffer) -> std::shared_ptr<const Buffer> {
    if (buffer.offset == 0) return nullptr;
    return Buffer::Wrap(bytes.data() + buffer.offset, buffer.size, owner);
  };
  for (ColumnEntry& entry : entries) {
    Result<Column> column =
        Column::FromBuffers(entry.name, entry.type, rows, view(entry.buffers[kValues]),
                            view(entry.buffers[kChars]), view(entry.buffers[kValidity]));
    if (!column.ok()) return corrupt(std::string(column.status().message()));
    columns.push_back(std::move(column).value());
  }
  Result<Table> table = Table::Make(std::move(columns));
  if (!table.ok()) return corrupt(std::string(table.status().message()));
  return table;
}

}  // namespace raypipe::data
