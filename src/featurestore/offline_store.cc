// The offline store: partitioned columnar files registered in fs_offline_files, read back as one
// Table (optionally as of a time), and the cleanup of files no catalog row references.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <span>
#include <unordered_set>
#include <utility>

#include "core/ids.h"
#include "data/columnar.h"
#include "data/ops.h"
#include "featurestore/feature_store.h"
#include "featurestore/feature_store_internal.h"

namespace raypipe::featurestore {

namespace fs = std::filesystem;

namespace internal {

int64_t HourOf(int64_t event_time_ns) {
  constexpr int64_t kHourNs = int64_t{3600} * 1'000'000'000;
  return event_time_ns >= 0 ? event_time_ns / kHourNs
                            : -((-event_time_ns + kHourNs - 1) / kHourNs);
}

std::string PartitionOf(int64_t event_time_ns) {
  time_t t = static_cast<time_t>(HourOf(event_time_ns) * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "year=%04d/month=%02d/day=%02d/hour=%02d",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
  return buffer;
}

Result<int64_t> EventTimeNanosOf(const data::Column& column, size_t row) {
  if (column.IsNull(row)) return InvalidArgumentError("event time is null");
  if (column.type() == data::DataType::kFloat64) {
    double seconds = column.float64s()[row];
    if (!std::isfinite(seconds) || std::fabs(seconds) > 9.2e9) {
      return InvalidArgumentError("event time out of range");
    }
    return static_cast<int64_t>(std::llround(seconds * 1e9));
  }
  if (column.type() == data::DataType::kString) {
    ASSIGN_OR_RETURN(core::TimePoint time, core::ParseEventTime(column.string(row)));
    return ToNanos(time);
  }
  return InvalidArgumentError("event time column has an unexpected type");
}

std::string RecordIdText(const data::Column& column, size_t row) {
  if (column.type() == data::DataType::kInt64) return std::to_string(column.int64s()[row]);
  if (column.type() == data::DataType::kString) return std::string(column.string(row));
  return column.ValueToString(row);
}

data::Column ConstantStrings(std::string name, std::string_view value, size_t length) {
  auto offsets = data::Buffer::Allocate((length + 1) * sizeof(int64_t));
  auto* out = reinterpret_cast<int64_t*>(offsets->mutable_data());
  for (size_t i = 0; i <= length; ++i) out[i] = static_cast<int64_t>(i * value.size());
  auto chars = data::Buffer::Allocate(std::max<size_t>(1, length * value.size()));
  for (size_t i = 0; i < length; ++i) {
    std::memcpy(chars->mutable_data() + i * value.size(), value.data(), value.size());
  }
  // The buffers are consistent by construction, so FromBuffers cannot fail here.
  Result<data::Column> column = data::Column::FromBuffers(
      name, data::DataType::kString, length, std::move(offsets), std::move(chars), nullptr);
  if (column.ok()) return std::move(*column);
  return data::Column::String(std::move(name),
                              std::vector<std::string>(length, std::string(value)));
}

data::Column NullColumn(std::string name, data::DataType type, size_t length) {
  std::vector<uint8_t> nulls(length, 0);
  switch (type) {
    case data::DataType::kInt64:
      return data::Column::Int64(std::move(name), std::vector<int64_t>(length), std::move(nulls));
    case data::DataType::kFloat64:
      return data::Column::Float64(std::move(name), std::vector<double>(length), std::move(nulls));
    case data::DataType::kString:
      break;
  }
  return data::Column::String(std::move(name), std::vector<std::string>(length), std::move(nulls));
}

Result<data::Table> EmptyOfflineTable(const FeatureGroupDefinition& definition) {
  std::vector<data::Column> empty;
  for (const FeatureDefinition& feature : definition.features) {
    empty.push_back(NullColumn(feature.name, StorageType(feature.type), 0));
  }
  empty.push_back(data::Column::String(std::string(kWriteTime), {}));
  empty.push_back(data::Column::String(std::string(kApiInvocationTime), {}));
  empty.push_back(data::Column::Int64(std::string(kIsDeleted), {}));
  return data::Table::Make(std::move(empty));
}

Result<std::string> WriteOfflineFile(const GroupInfo& group, const data::Table& table,
                                     int64_t partition_ns, std::string_view prefix) {
  std::error_code error;
  fs::path dir = fs::path(group.offline_dir) / PartitionOf(partition_ns);
  fs::create_directories(dir, error);
  if (error) return UnavailableError("cannot create '" + dir.string() + "': " + error.message());
  std::string path = (dir / (core::NewId(prefix) + ".rpcol")).string();
  RETURN_IF_ERROR(data::WriteTableFile(table, path));
  return path;
}

void RemoveFiles(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
}

Status CheckFilesExist(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    std::error_code error;
    if (!fs::exists(path, error)) {
      return AbortedError("offline file '" + path + "' was removed before it was registered");
    }
  }
  return Status::Ok();
}

}  // namespace internal

namespace {

// The row of each record id's newest event time not after `as_of_ns` (ties: the later row),
// left out when that row is a delete; in record-id order (numeric for numeric ids), so the same
// records read back as the same table however their ingestion was parallelized. Sorting
// (id, event time, row) triples finds them without building a text key per row.
template <typename Id>
std::vector<int64_t> NewestRows(const std::vector<Id>& ids, const std::vector<int64_t>& ns,
                                const std::vector<int64_t>& rows,
                                std::span<const int64_t> deleted) {
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (ids[a] != ids[b]) return ids[a] < ids[b];
    if (ns[a] != ns[b]) return ns[a] < ns[b];
    return rows[a] < rows[b];
  });
  std::vector<int64_t> keep;
  keep.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const bool last_of_id = i + 1 == order.size() || ids[order[i + 1]] != ids[order[i]];
    const int64_t row = rows[order[i]];
    if (last_of_id && deleted[row] == 0) keep.push_back(row);
  }
  return keep;
}

std::vector<int64_t> NewestRowPerId(const data::Column& ids, const data::Column& times,
                                    std::span<const int64_t> deleted, int64_t as_of_ns) {
  std::vector<int64_t> ns;
  std::vector<int64_t> rows;
  ns.reserve(ids.length());
  rows.reserve(ids.length());
  for (size_t row = 0; row < ids.length(); ++row) {
    Result<int64_t> event_ns = internal::EventTimeNanosOf(times, row);
    if (!event_ns.ok() || *event_ns > as_of_ns) continue;
    ns.push_back(*event_ns);
    rows.push_back(static_cast<int64_t>(row));
  }
  switch (ids.type()) {
    case data::DataType::kInt64: {
      std::vector<int64_t> keys(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) keys[i] = ids.int64s()[rows[i]];
      return NewestRows(keys, ns, rows, deleted);
    }
    case data::DataType::kString: {
      std::vector<std::string_view> keys(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) keys[i] = ids.string(rows[i]);
      return NewestRows(keys, ns, rows, deleted);
    }
    case data::DataType::kFloat64: {
      // A total order: NaN ids (never written: ids are checked on ingestion) sort last.
      std::vector<double> keys(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        const double value = ids.float64s()[rows[i]];
        keys[i] = std::isnan(value) ? std::numeric_limits<double>::infinity() : value;
      }
      return NewestRows(keys, ns, rows, deleted);
    }
  }
  return {};
}

}  // namespace

Result<data::Table> FeatureStore::ReadOffline(const std::string& group_name,
                                              std::optional<core::TimePoint> as_of,
                                              const std::vector<std::string>& columns) {
  ASSIGN_OR_RETURN(GroupInfo group, DescribeGroup(group_name));
  const FeatureGroupDefinition& definition = group.definition;
  if (!definition.offline_enabled) {
    return FailedPreconditionError("feature group '" + group_name + "' has no offline store");
  }
  ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT path FROM fs_offline_files WHERE group_id = ?"
                                         " ORDER BY seq",
                                         {group.id}));
  std::vector<data::Table> tables;
  for (const store::Row& row : rows) {
    ASSIGN_OR_RETURN(std::string path, row.GetString("path"));
    ASSIGN_OR_RETURN(data::Table table, data::ReadTableFile(path));
    tables.push_back(std::move(table));
  }
  ASSIGN_OR_RETURN(const data::Table empty, internal::EmptyOfflineTable(definition));
  // The selected columns of every file (no copy), then of all files together (one copy).
  auto concat = [&](const std::vector<std::string>& names) -> Result<data::Table> {
    if (names.empty()) return tables.empty() ? empty : data::ConcatTables(tables);
    if (tables.empty()) return empty.Select(names);
    std::vector<data::Table> selected;
    selected.reserve(tables.size());
    for (const data::Table& table : tables) {
      ASSIGN_OR_RETURN(data::Table columns_of_file, table.Select(names));
      selected.push_back(std::move(columns_of_file));
    }
    return data::ConcatTables(selected);
  };
  Result<data::Table> out = concat(columns);
  if (!out.ok()) return out.status().WithContext("reading feature group '" + group_name + "'");
  if (!as_of || tables.empty()) return out;

  // The columns that choose the rows: from `out` when it holds every column, else read apart.
  const std::vector<std::string> key_names = {definition.record_identifier, definition.event_time,
                                              std::string(kIsDeleted)};
  ASSIGN_OR_RETURN(data::Table keys,
                   columns.empty() ? out->Select(key_names) : concat(key_names));
  const std::vector<int64_t> keep = NewestRowPerId(keys.column(0), keys.column(1),
                                                   keys.column(2).int64s(), ToNanos(*as_of));
  return out->Take(keep);
}

Result<CleanupResult> FeatureStore::CleanupOfflineFiles(const std::string& group_name,
                                                        CleanupOptions options) {
  if (options.ledger_max_age && options.ledger_max_age->count() < 0) {
    return InvalidArgumentError("the ledger's maximum age must not be negative");
  }
  ASSIGN_OR_RETURN(GroupInfo group, DescribeGroup(group_name));
  ASSIGN_OR_RETURN(CleanupResult result, CleanupGroup(group, options));
  if (!options.ledger_max_age) return result;
  const int64_t cutoff =
      ToNanos(clock_->Now()) -
      std::chrono::duration_cast<std::chrono::nanoseconds>(*options.ledger_max_age).count();
  Status status = db_->Transaction([&](store::SqlSession& tx) -> Status {
    ASSIGN_OR_RETURN(store::ExecResult ledger,
                     tx.Execute("DELETE FROM fs_ledger WHERE group_id = ? AND event_time_ns < ?",
                                {group.id, cutoff}));
    ASSIGN_OR_RETURN(store::ExecResult batches,
                     tx.Execute("DELETE FROM fs_batches WHERE group_id = ? AND written_at_ns < ?",
                                {group.id, cutoff}));
    result.ledger_removed = ledger.changes;
    result.batches_removed = batches.changes;
    return Status::Ok();
  });
  if (!status.ok()) {
    return status.WithContext("trimming the ledger of feature group '" + group_name + "'");
  }
  return result;
}

Result<CleanupResult> FeatureStore::CleanupGroup(const GroupInfo& group, CleanupOptions options) {
  CleanupResult result;
  std::error_code error;
  if (group.offline_dir.empty() || !fs::exists(group.offline_dir, error)) return result;
  // Files are matched by name: every offline file's name is a fresh id, so the name alone
  // tells whether a catalog row references it, however the home's path was spelled.
  struct Candidate {
    std::string path;
    std::string name;
    bool finished = false;  // a renamed .rpcol file, not a writer's temporary file
    uintmax_t size = 0;
  };
  std::vector<Candidate> candidates;
  const auto now = fs::file_time_type::clock::now();
  for (fs::recursive_directory_iterator it(group.offline_dir, error), end; !error && it != end;
       it.increment(error)) {
    std::error_code entry_error;
    if (!it->is_regular_file(entry_error)) continue;
    Candidate candidate;
    candidate.path = it->path().string();
    candidate.name = it->path().filename().string();
    candidate.finished = it->path().extension() == ".rpcol";
    if (!candidate.finished) {
      auto written = it->last_write_time(entry_error);
      if (entry_error || now - written < options.temp_min_age) continue;
    }
    candidate.size = it->file_size(entry_error);
    candidates.push_back(std::move(candidate));
  }
  if (error) {
    return UnavailableError("cannot list the offline files of feature group '" +
                            group.definition.name + "' in '" + group.offline_dir +
                            "': " + error.message());
  }
  if (candidates.empty()) return result;
  // Removing under the write lock: a writer checks under the same lock that its files still
  // exist before registering them, so a file renamed into place by a live writer is either
  // registered before this looks, or found missing by that writer (which rewrites it). This fn
  // also removes files, which is safe to repeat when the transaction is retried.
  Status status = db_->Transaction([&](store::SqlSession& tx) -> Status {
    result = CleanupResult();
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT path FROM fs_offline_files WHERE group_id = ?",
                                         {group.id}));
    std::unordered_set<std::string> registered;
    registered.reserve(rows.size());
    for (const store::Row& row : rows) {
      ASSIGN_OR_RETURN(std::string path, row.GetString("path"));
      registered.insert(fs::path(path).filename().string());
    }
    for (const Candidate& candidate : candidates) {
      if (registered.contains(candidate.name)) continue;
      std::error_code remove_error;
      if (!fs::remove(candidate.path, remove_error)) {
        if (remove_error) {
          return UnavailableError("cannot remove orphaned offline file '" + candidate.path +
                                  "': " + remove_error.message());
        }
        continue;  // already gone
      }
      ++result.removed_files;
      result.removed_bytes += static_cast<int64_t>(candidate.size);
      result.removed.push_back(candidate.path);
    }
    return Status::Ok();
  });
  if (!status.ok()) {
    return status.WithContext("cleaning up feature group '" + group.definition.name + "'");
  }
  return result;
}

void FeatureStore::CleanupOnce(const GroupInfo& group) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cleaned_groups_.insert(group.id).second) return;
  }
  // Best effort: a failure leaves the orphans for `featurestore cleanup` and never blocks a write.
  (void)CleanupGroup(group, CleanupOptions{});
}

}  // namespace raypipe::featurestore
