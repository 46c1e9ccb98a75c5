#pragma once

// The columnar artifact format: a Table on disk, versioned, checksummed and laid out so the
// file can be memory-mapped and its columns used in place.
//
// Layout (little-endian; version 1):
//   [0, 64)     header: magic "RPCOLTBL", u32 format version, u32 header size (64), u64 rows,
//               u64 columns, u64 schema offset, u64 schema size, u64 XXH3 of the schema,
//               u64 XXH3 of the header's first 56 bytes.
//   schema      per column: u32 name size, name bytes, u8 type (0 Float64, 1 Int64, 2 String),
//               3 bytes zero, then three buffer descriptors {u64 offset, u64 size, u64 XXH3}
//               for values (doubles, int64s, or rows + 1 string offsets from 0), characters
//               (strings only) and validity (one byte per row, present only with nulls);
//               an absent buffer is {0, 0, 0}.
//   buffers     each at a 64-byte aligned offset, zero padding between them.
// The magic and the version sit at fixed offsets in every version, so an older build can
// always tell a newer file from a corrupt one.

#include <string>

#include "core/status.h"
#include "data/table.h"

namespace raypipe::data {

inline constexpr uint32_t kColumnarFormatVersion = 1;

struct TableFileOptions {
  // Flushed to disk before the rename; false for scratch files a crash may lose (a reader
  // still sees the whole file or none).
  bool durable = true;
};

// Writes `table` to a temporary file beside `path`, flushes it and renames it over `path`.
Status WriteTableFile(const Table& table, const std::string& path, TableFileOptions options = {});

// Maps the file and verifies it; the returned columns point into the mapping (no copy) and keep
// it alive. NotFound when missing; FailedPrecondition for a newer format version; DataLoss for
// anything else wrong ("'x.rpcol' is corrupt: checksum mismatch in column 'PRICE'", a
// truncated file, an inconsistent schema). Never crashes on bad bytes.
Result<Table> ReadTableFile(const std::string& path);

}  // namespace raypipe::data
