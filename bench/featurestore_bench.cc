// The feature store's side of bench/run (issue 4, item 10).
//
//   featurestore_bench ingest FILE.csv --reps R --actors N
//     Ingests the housing CSV into a fresh group (ids 0..N-1 and the event time generated, as
//     the seed does) into the online and the offline store; prints
//     "median_s=<seconds> reps=<R> threads=<T>".
//   featurestore_bench get FILE.csv --lookups L
//     Ingests the file once, then times L GetRecord calls on random ids, the same L again,
//     and L/10 BatchGetRecord calls of 100 random ids, in process; and L/10 random 4 KiB reads
//     of the store's file (the machine's floor); prints p50 and p99 in microseconds.
//   featurestore_bench sqlite-floor FILE.csv --reps R
//     The least any SQLite online store can spend on the file's rows: a bare INSERT of each row
//     (text id, event time, the row as JSON text) into a fresh table keyed by id, 1,024 rows a
//     statement, 10,000 a transaction, WAL, one writer; no ledger, no offline store, no
//     parsing (the rows are prepared before the clock starts). Prints "median_s=...".

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "data/csv.h"
#include "featurestore/feature_store.h"
#include "featurestore/ingest.h"

namespace raypipe::featurestore {
namespace {

constexpr const char* kDefinition = R"({
  "FeatureGroupName": "housing",
  "RecordIdentifierFeatureName": "house_id",
  "EventTimeFeatureName": "event_time",
  "FeatureDefinitions": [
    {"FeatureName": "house_id", "FeatureType": "Integral"},
    {"FeatureName": "event_time", "FeatureType": "Fractional"},
    {"FeatureName": "PRICE", "FeatureType": "Fractional"},
    {"FeatureName": "YEAR_BUILT", "FeatureType": "Integral"},
    {"FeatureName": "SQUARE_FEET", "FeatureType": "Fractional"},
    {"FeatureName": "NUM_BEDROOMS", "FeatureType": "Integral"},
    {"FeatureName": "NUM_BATHROOMS", "FeatureType": "Fractional"},
    {"FeatureName": "LOT_ACRES", "FeatureType": "Fractional"},
    {"FeatureName": "GARAGE_SPACES", "FeatureType": "Integral"},
    {"FeatureName": "FRONT_PORCH", "FeatureType": "Integral"},
    {"FeatureName": "DECK", "FeatureType": "Integral"}
  ],
  "OnlineStoreConfig": {"EnableOnlineStore": true},
  "OfflineStoreConfig": {}
})";

std::string Flag(int argc, char** argv, const std::string& flag, const std::string& fallback) {
  for (int index = 1; index + 1 < argc; ++index) {
    if (argv[index] == flag) return argv[index + 1];
  }
  return fallback;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "featurestore_bench: %s\n", status.ToString().c_str());
  return 1;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

// A fresh home under TMPDIR, removed on destruction.
class Home {
 public:
  Home() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "raypipe-fs-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~Home() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

double MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
      .count();
}

// Times `count` reads of 4 KiB at random page offsets of `path`, in microseconds.
Result<std::vector<double>> TimePageReads(const std::string& path, int count,
                                          std::mt19937_64* random) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return UnavailableError("cannot open '" + path + "'");
  const off_t pages = ::lseek(fd, 0, SEEK_END) / 4096;
  std::vector<double> times;
  char page[4096];
  for (int i = 0; i < count && pages > 0; ++i) {
    const off_t at = static_cast<off_t>((*random)() % static_cast<uint64_t>(pages)) * 4096;
    auto start = std::chrono::steady_clock::now();
    const ssize_t got = ::pread(fd, page, sizeof(page), at);
    times.push_back(MicrosSince(start));
    if (got < 0) {
      ::close(fd);
      return UnavailableError("cannot read '" + path + "'");
    }
  }
  ::close(fd);
  if (times.empty()) return UnavailableError("'" + path + "' is empty");
  return times;
}

Result<IngestSummary> IngestInto(const std::string& home, const std::string& csv, int actors,
                                 std::unique_ptr<FeatureStore>* store_out) {
  FeatureStoreOptions options;
  options.home = home;
  ASSIGN_OR_RETURN(auto store, FeatureStore::Open(options));
  IngestOptions ingest;
  ingest.definition = kDefinition;
  ingest.input = csv;
  ingest.num_actors = actors;
  ASSIGN_OR_RETURN(IngestSummary summary, Ingest(*store, ingest));
  if (store_out != nullptr) *store_out = std::move(store);
  return summary;
}

int RunIngest(int argc, char** argv) {
  const std::string csv = argv[2];
  const int reps = std::atoi(Flag(argc, argv, "--reps", "3").c_str());
  const int actors = std::atoi(Flag(argc, argv, "--actors", "4").c_str());
  std::vector<double> times;
  for (int rep = 0; rep <= reps; ++rep) {  // rep 0 warms up
    Home home;
    auto start = std::chrono::steady_clock::now();
    Result<IngestSummary> summary = IngestInto(home.path(), csv, actors, nullptr);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!summary.ok()) return Fail(summary.status());
    if (summary->rejected != 0 || summary->ingested != summary->rows_read) {
      return Fail(InternalError("ingested " + std::to_string(summary->ingested) + " of " +
                                std::to_string(summary->rows_read)));
    }
    if (rep > 0) times.push_back(seconds);
  }
  std::printf("median_s=%.6f reps=%zu threads=%u\n", Percentile(times, 0.5), times.size(),
              std::thread::hardware_concurrency());
  return 0;
}

int RunGet(int argc, char** argv) {
  const std::string csv = argv[2];
  const int lookups = std::atoi(Flag(argc, argv, "--lookups", "20000").c_str());
  Home home;
  std::unique_ptr<FeatureStore> store;
  Result<IngestSummary> summary = IngestInto(home.path(), csv, 4, &store);
  if (!summary.ok()) return Fail(summary.status());
  const int64_t rows = summary->rows_read;
  std::mt19937_64 random(42);
  std::uniform_int_distribution<int64_t> pick(0, rows - 1);
  // The machine's own floor: random 4 KiB reads of the store's file from the page cache. On
  // some virtual machines the first read of a page costs ~100+ us however it is read.
  Result<std::vector<double>> page_reads =
      TimePageReads(home.path() + "/metadata.db", std::max(1, lookups / 10), &random);
  if (!page_reads.ok()) return Fail(page_reads.status());
  std::vector<std::string> ids;
  for (int i = 0; i < lookups; ++i) ids.push_back(std::to_string(pick(random)));
  // Pass 0 is the first lookup of each id after ingestion; pass 1 looks the same ids up again.
  std::vector<double> single[2];
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& id : ids) {
      auto start = std::chrono::steady_clock::now();
      Result<Record> record = store->GetRecord("housing", id);
      const double us = MicrosSince(start);
      if (!record.ok()) return Fail(record.status());
      single[pass].push_back(us);
    }
  }
  std::vector<double> batch;
  for (int i = 0; i < std::max(1, lookups / 10); ++i) {
    std::vector<std::string> ids;
    for (int k = 0; k < 100; ++k) ids.push_back(std::to_string(pick(random)));
    auto start = std::chrono::steady_clock::now();
    Result<BatchGetResult> result = store->BatchGetRecord("housing", ids);
    const double us = MicrosSince(start);
    if (!result.ok()) return Fail(result.status());
    batch.push_back(us);
  }
  std::printf("get_record_us p50=%.1f p99=%.1f n=%zu rows=%lld (first lookup of each id)\n",
              Percentile(single[0], 0.5), Percentile(single[0], 0.99), single[0].size(),
              static_cast<long long>(rows));
  std::printf("get_record_again_us p50=%.1f p99=%.1f (the same ids again)\n",
              Percentile(single[1], 0.5), Percentile(single[1], 0.99));
  std::printf("page_read_floor_us p50=%.1f p99=%.1f n=%zu (random 4 KiB preads of the store's"
              " file, page cache)\n",
              Percentile(*page_reads, 0.5), Percentile(*page_reads, 0.99), page_reads->size());
  std::printf("batch_get_100_us p50=%.1f p99=%.1f n=%zu\n", Percentile(batch, 0.5),
              Percentile(batch, 0.99), batch.size());
  return 0;
}

// One timed bare insert of `records` ((id, JSON row) pairs) into a fresh database at `path`.
Result<double> InsertBare(const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& records) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return UnavailableError("cannot open '" + path + "'");
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> closer(db, sqlite3_close);
  auto exec = [&](const std::string& sql) -> Status {
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) return Status::Ok();
    return InternalError(std::string(sqlite3_errmsg(db)) + " in: " + sql.substr(0, 80));
  };
  RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       " PRAGMA cache_size=-65536;"
                       " CREATE TABLE online (record_id TEXT PRIMARY KEY, event_time_ns INTEGER,"
                       " record TEXT) WITHOUT ROWID"));
  constexpr size_t kRowsPerStatement = 1024;
  constexpr size_t kRowsPerTransaction = 10000;
  std::string sql = "INSERT INTO online VALUES (?,?,?)";
  for (size_t i = 1; i < kRowsPerStatement; ++i) sql += ",(?,?,?)";
  sqlite3_stmt* full = nullptr;
  sqlite3_stmt* one = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &full, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "INSERT INTO online VALUES (?,?,?)", -1, &one, nullptr) !=
          SQLITE_OK) {
    sqlite3_finalize(full);
    return InternalError(sqlite3_errmsg(db));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> full_owner(full, sqlite3_finalize);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> one_owner(one, sqlite3_finalize);
  const sqlite3_int64 event_ns = 1'700'000'000'000'000'000;
  auto start = std::chrono::steady_clock::now();
  for (size_t begin = 0; begin < records.size(); begin += kRowsPerTransaction) {
    const size_t end = std::min(records.size(), begin + kRowsPerTransaction);
    RETURN_IF_ERROR(exec("BEGIN"));
    for (size_t at = begin; at < end;) {
      sqlite3_stmt* statement = end - at >= kRowsPerStatement ? full : one;
      const size_t count = statement == full ? kRowsPerStatement : 1;
      for (size_t k = 0; k < count; ++k) {
        const auto& [id, record] = records[at + k];
        const int base = static_cast<int>(3 * k);
        sqlite3_bind_text(statement, base + 1, id.data(), static_cast<int>(id.size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(statement, base + 2, event_ns);
        sqlite3_bind_text(statement, base + 3, record.data(), static_cast<int>(record.size()),
                          SQLITE_STATIC);
      }
      if (sqlite3_step(statement) != SQLITE_DONE) return InternalError(sqlite3_errmsg(db));
      sqlite3_reset(statement);
      at += count;
    }
    RETURN_IF_ERROR(exec("COMMIT"));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int RunSqliteFloor(int argc, char** argv) {
  const int reps = std::atoi(Flag(argc, argv, "--reps", "3").c_str());
  Result<data::Table> table = data::ReadCsvFile(argv[2]);
  if (!table.ok()) return Fail(table.status());
  // The rows as the online store keeps them: id 0..N-1 (generated, as the seed does) and the
  // row's values as a JSON array.
  std::vector<std::pair<std::string, std::string>> records(table->num_rows());
  for (size_t row = 0; row < records.size(); ++row) {
    std::string json = "[" + std::to_string(row);
    for (const data::Column& column : table->columns()) json += "," + column.ValueToString(row);
    records[row] = {std::to_string(row), json + "]"};
  }
  std::vector<double> times;
  for (int rep = 0; rep <= reps; ++rep) {  // rep 0 warms up
    Home home;
    Result<double> seconds = InsertBare(home.path() + "/floor.db", records);
    if (!seconds.ok()) return Fail(seconds.status());
    if (rep > 0) times.push_back(*seconds);
  }
  std::printf("median_s=%.6f reps=%d threads=1\n", Percentile(times, 0.5), reps);
  return 0;
}

}  // namespace
}  // namespace raypipe::featurestore

int main(int argc, char** argv) {
  const std::string command = argc >= 3 ? argv[1] : "";
  if (command == "ingest") return raypipe::featurestore::RunIngest(argc, argv);
  if (command == "get") return raypipe::featurestore::RunGet(argc, argv);
  if (command == "sqlite-floor") return raypipe::featurestore::RunSqliteFloor(argc, argv);
  std::fprintf(stderr,
               "usage: featurestore_bench ingest FILE.csv [--reps R] [--actors N]\n"
               "       featurestore_bench get FILE.csv [--lookups L]\n"
               "       featurestore_bench sqlite-floor FILE.csv [--reps R]\n");
  return 2;
}
