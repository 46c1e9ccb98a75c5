// Fuzzes the CSV reader. The first two input bytes pick the dialect and the blocking; the rest
// is the CSV text. Beyond "no crash", it checks two oracles:
// - the parallel reader (any thread count and block size) gives exactly the sequential result,
//   errors included;
// - a successfully read table written back and re-read with its schema is unchanged.

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string_view>

#include "data/csv.h"

namespace {

using raypipe::data::ColumnTypesOf;
using raypipe::data::CsvReadOptions;
using raypipe::data::CsvWriteOptions;
using raypipe::data::ReadCsvString;
using raypipe::data::WriteCsvString;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "csv_reader_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t dialect = data[0];
  const uint8_t blocking = data[1];
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  CsvReadOptions options;
  options.delimiter = ",;\t|"[dialect & 3];
  options.quote = (dialect & 4) ? '\0' : '"';
  options.header = (dialect & 8) == 0;
  options.skip_blank_lines = (dialect & 16) == 0;
  options.infer_types = (dialect & 32) == 0;
  static const std::vector<std::string> kNullMenus[4] = {{""}, {"", "NA"}, {"NA"}, {}};
  const std::vector<std::string>& nulls = kNullMenus[(dialect >> 6) & 3];
  options.null_values = nulls;

  options.threads = 1;
  auto sequential = ReadCsvString(text, options, "fuzz.csv");
  options.threads = 1 + (blocking & 3);
  options.block_size = 1 + (blocking >> 2);
  auto parallel = ReadCsvString(text, options, "fuzz.csv");
  if (sequential.ok() != parallel.ok()) Fail("parallel and sequential reads disagree on success");
  if (!sequential.ok()) {
    if (!(sequential.status() == parallel.status())) Fail("different errors for different blocks");
    return 0;
  }
  if (!(*sequential == *parallel)) Fail("parallel and sequential tables differ");
  if (sequential->num_columns() == 0) return 0;

  CsvWriteOptions write;
  write.null_string = nulls.empty() || nulls[0].empty() ? "" : nulls[0];
  CsvReadOptions read;
  read.null_values = nulls;
  read.column_types = ColumnTypesOf(*sequential);
  read.threads = options.threads;
  read.block_size = options.block_size;
  auto again = ReadCsvString(WriteCsvString(*sequential, write), read, "rewritten.csv");
  if (!again.ok()) {
    std::fprintf(stderr, "%s\n", again.status().ToString().c_str());
    Fail("a written table does not read back");
  }
  if (!(*again == *sequential)) Fail("a written table reads back different");
  return 0;
}
