#include "featurestore/feature_store.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/hash.h"
#include "core/ids.h"
#include "core/json.h"
#include "data/columnar.h"
#include "store/home.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::featurestore {

namespace {

namespace fs = std::filesystem;
using store::SqlValue;

constexpr int kRowsPerStatement = 400;

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "feature groups, online store, ledger, offline files",
       "CREATE TABLE fs_groups (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
       " definition TEXT NOT NULL, created_at TEXT NOT NULL, offline_dir TEXT NOT NULL);"
       "CREATE TABLE fs_online (group_id INTEGER NOT NULL, record_id TEXT NOT NULL,"
       " event_time_ns INTEGER NOT NULL, write_time_ns INTEGER NOT NULL, expires_at_ns INTEGER,"
       " deleted INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL,"
       " PRIMARY KEY (group_id, record_id)) WITHOUT ROWID;"
       "CREATE TABLE fs_ledger (group_id INTEGER NOT NULL, record_id TEXT NOT NULL,"
       " event_time_ns INTEGER NOT NULL, PRIMARY KEY (group_id, record_id, event_time_ns))"
       " WITHOUT ROWID;"
       "CREATE TABLE fs_batches (group_id INTEGER NOT NULL, batch_key TEXT NOT NULL,"
       " rows INTEGER NOT NULL, PRIMARY KEY (group_id, batch_key)) WITHOUT ROWID;"
       "CREATE TABLE fs_offline_files (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
       " group_id INTEGER NOT NULL, path TEXT NOT NULL, rows INTEGER NOT NULL,"
       " created_at TEXT NOT NULL);"
       "CREATE INDEX fs_offline_files_group ON fs_offline_files (group_id, seq);"
       "CREATE TABLE fs_ingestions (group_id INTEGER NOT NULL, input_key TEXT NOT NULL,"
       " event_time_ns INTEGER NOT NULL, PRIMARY KEY (group_id, input_key)) WITHOUT ROWID;"}};
  return kMigrations;
}

Status NotFoundGroup(const std::string& name) {
  return NotFoundError("feature group '" + name + "' does not exist");
}

void AppendJsonString(std::string* out, std::string_view text) {
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
          *out += buffer;
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// The online record's JSON text: {"feature": value, ...} in the definition's order.
std::string EncodeRow(const FeatureGroupDefinition& definition,
                      const std::vector<const data::Column*>& columns, size_t row) {
  std::string out = "{";
  char buffer[64];
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, definition.features[i].name);
    out.push_back(':');
    const data::Column* column = columns[i];
    if (column == nullptr || column->IsNull(row)) {
      out += "null";
      continue;
    }
    switch (column->type()) {
      case data::DataType::kInt64: {
        auto result = std::to_chars(buffer, buffer + sizeof(buffer), column->int64s()[row]);
        out.append(buffer, result.ptr);
        break;
      }
      case data::DataType::kFloat64: {
        double value = column->float64s()[row];
        if (!std::isfinite(value)) {
          out += "null";
          break;
        }
        auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
        out.append(buffer, result.ptr);
        if (std::string_view(buffer, result.ptr - buffer).find_first_of(".eE") ==
            std::string_view::npos) {
          out += ".0";
        }
        break;
      }
      case data::DataType::kString:
        AppendJsonString(&out, column->string(row));
        break;
    }
  }
  out.push_back('}');
  return out;
}

std::string PartitionOf(int64_t event_time_ns) {
  int64_t seconds = event_time_ns >= 0 ? event_time_ns / 1'000'000'000
                                       : -((-event_time_ns + 999'999'999) / 1'000'000'000);
  time_t t = static_cast<time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "year=%04d/month=%02d/day=%02d/hour=%02d",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
  return buffer;
}

// A Column of `length` strings all equal to `value`.
data::Column ConstantStrings(std::string name, const std::string& value, size_t length) {
  return data::Column::String(std::move(name), std::vector<std::string>(length, value));
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

std::string Placeholders(size_t rows, std::string_view one) {
  std::string out;
  out.reserve(rows * (one.size() + 1));
  for (size_t i = 0; i < rows; ++i) {
    if (i > 0) out.push_back(',');
    out += one;
  }
  return out;
}

Result<Record> RecordFromRow(const store::Row& row) {
  Record record;
  ASSIGN_OR_RETURN(record.record_id, row.GetString("record_id"));
  ASSIGN_OR_RETURN(int64_t event_time, row.GetInt64("event_time_ns"));
  ASSIGN_OR_RETURN(int64_t write_time, row.GetInt64("write_time_ns"));
  ASSIGN_OR_RETURN(std::optional<int64_t> expires, row.GetOptionalInt64("expires_at_ns"));
  ASSIGN_OR_RETURN(std::string text, row.GetString("record"));
  record.event_time = FromNanos(event_time);
  record.write_time = FromNanos(write_time);
  if (expires) record.expires_at = FromNanos(*expires);
  ASSIGN_OR_RETURN(record.features, core::ParseJson(text, "online record " + record.record_id));
  return record;
}

// Live: not deleted and not expired at `now`.
Result<bool> IsLive(const store::Row& row, int64_t now) {
  ASSIGN_OR_RETURN(int64_t deleted, row.GetInt64("deleted"));
  if (deleted != 0) return false;
  ASSIGN_OR_RETURN(std::optional<int64_t> expires, row.GetOptionalInt64("expires_at_ns"));
  return !(expires && *expires <= now);
}

constexpr std::string_view kOnlineColumns =
    "r.record_id, r.event_time_ns, r.write_time_ns, r.expires_at_ns, r.deleted, r.record";

}  // namespace

int64_t ToNanos(core::TimePoint time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

core::TimePoint FromNanos(int64_t nanos) {
  return core::TimePoint(
      std::chrono::duration_cast<core::TimePoint::duration>(std::chrono::nanoseconds(nanos)));
}

Result<data::Table> ConcatTables(const std::vector<data::Table>& tables) {
  if (tables.empty()) return data::Table();
  if (tables.size() == 1) return tables[0];
  const std::vector<data::Field> schema = tables[0].Schema();
  size_t total = 0;
  for (const data::Table& table : tables) {
    if (table.Schema() != schema) {
      return InvalidArgumentError("cannot concatenate tables with different columns");
    }
    total += table.num_rows();
  }
  std::vector<data::Column> columns;
  for (size_t c = 0; c < schema.size(); ++c) {
    std::vector<uint8_t> validity(total, 1);
    bool any_null = false;
    size_t at = 0;
    auto mark_nulls = [&](const data::Column& column) {
      for (size_t r = 0; r < column.length(); ++r) {
        if (column.IsNull(r)) {
          validity[at + r] = 0;
          any_null = true;
        }
      }
    };
    switch (schema[c].type) {
      case data::DataType::kFloat64: {
        std::vector<double> values;
        values.reserve(total);
        for (const data::Table& table : tables) {
          const data::Column& column = table.column(c);
          values.insert(values.end(), column.float64s().begin(), column.float64s().end());
          mark_nulls(column);
          at += column.length();
        }
        if (!any_null) validity.clear();
        columns.push_back(data::Column::Float64(schema[c].name, std::move(values),
                                                std::move(validity)));
        break;
      }
      case data::DataType::kInt64: {
        std::vector<int64_t> values;
        values.reserve(total);
        for (const data::Table& table : tables) {
          const data::Column& column = table.column(c);
          values.insert(values.end(), column.int64s().begin(), column.int64s().end());
          mark_nulls(column);
          at += column.length();
        }
        if (!any_null) validity.clear();
        columns.push_back(data::Column::Int64(schema[c].name, std::move(values),
                                              std::move(validity)));
        break;
      }
      case data::DataType::kString: {
        std::vector<std::string> values;
        values.reserve(total);
        for (const data::Table& table : tables) {
          const data::Column& column = table.column(c);
          for (size_t r = 0; r < column.length(); ++r) values.emplace_back(column.string(r));
          mark_nulls(column);
          at += column.length();
        }
        if (!any_null) validity.clear();
        columns.push_back(data::Column::String(schema[c].name, values, std::move(validity)));
        break;
      }
    }
  }
  return data::Table::Make(std::move(columns));
}

FeatureStore::FeatureStore(std::string home, const core::Clock* clock,
                           std::unique_ptr<store::MetadataStore> db)
    : home_(std::move(home)), clock_(clock), db_(std::move(db)) {
  if (clock_ == nullptr) clock_ = &system_clock_;
}

FeatureStore::~FeatureStore() = default;

Result<std::unique_ptr<FeatureStore>> FeatureStore::Open(FeatureStoreOptions options) {
  if (options.home.empty()) return InvalidArgumentError("feature store: home is empty");
  std::error_code error;
  fs::path home = fs::absolute(options.home, error);
  if (!error) fs::create_directories(home / "featurestore" / "offline", error);
  if (error) {
    return UnavailableError("cannot create the feature store under '" + options.home +
                            "': " + error.message());
  }
  store::SqliteOptions sqlite;
  sqlite.busy_timeout = options.busy_timeout;
  ASSIGN_OR_RETURN(auto db, store::OpenHomeMetadata(home, sqlite));
  RETURN_IF_ERROR(db->Migrate("featurestore", Migrations()));
  // A larger page cache for this connection (64 MiB): ingestion touches many index pages.
  RETURN_IF_ERROR(db->Execute("PRAGMA cache_size = -65536").status());
  return std::unique_ptr<FeatureStore>(
      new FeatureStore(home.string(), options.clock, std::move(db)));
}

Result<GroupInfo> FeatureStore::GroupFromRow(const store::Row& row) {
  GroupInfo info;
  ASSIGN_OR_RETURN(info.id, row.GetInt64("id"));
  ASSIGN_OR_RETURN(std::string name, row.GetString("name"));
  ASSIGN_OR_RETURN(std::string text, row.GetString("definition"));
  ASSIGN_OR_RETURN(info.created_at, row.GetString("created_at"));
  ASSIGN_OR_RETURN(info.offline_dir, row.GetString("offline_dir"));
  ASSIGN_OR_RETURN(nlohmann::json json, core::ParseJson(text, "feature group '" + name + "'"));
  ASSIGN_OR_RETURN(info.definition, ParseDefinition(json, "feature group '" + name + "'"));
  return info;
}

Result<GroupInfo> FeatureStore::CreateGroup(const FeatureGroupDefinition& definition) {
  const std::string created_at = core::FormatIsoTime(clock_->Now());
  const std::string text = ToJson(definition).dump();
  const fs::path offline_root = fs::path(home_) / "featurestore" / "offline";
  RETURN_IF_ERROR(db_->Transaction([&](store::SqlSession& tx) -> Status {
    Result<store::ExecResult> inserted =
        tx.Execute("INSERT INTO fs_groups (name, definition, created_at, offline_dir)"
                   " VALUES (?, ?, ?, '')",
                   {definition.name, text, created_at});
    if (!inserted.ok()) {
      if (inserted.status().code() == StatusCode::kAlreadyExists) {
        return AlreadyExistsError("feature group '" + definition.name + "' already exists");
      }
      return inserted.status();
    }
    const int64_t id = inserted->last_insert_id;
    const std::string dir =
        (offline_root / (definition.name + "-" + std::to_string(id))).string();
    return tx.Execute("UPDATE fs_groups SET offline_dir = ? WHERE id = ?", {dir, id}).status();
  }));
  return DescribeGroup(definition.name);
}

Result<GroupInfo> FeatureStore::DescribeGroup(const std::string& name) {
  ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT * FROM fs_groups WHERE name = ?", {name}));
  if (rows.empty()) return NotFoundGroup(name);
  return GroupFromRow(rows[0]);
}

Result<std::vector<GroupInfo>> FeatureStore::ListGroups() {
  ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT * FROM fs_groups ORDER BY name"));
  std::vector<GroupInfo> groups;
  for (const store::Row& row : rows) {
    ASSIGN_OR_RETURN(GroupInfo info, GroupFromRow(row));
    groups.push_back(std::move(info));
  }
  return groups;
}

Result<GroupStats> FeatureStore::Stats(const GroupInfo& group) {
  GroupStats stats;
  ASSIGN_OR_RETURN(auto online, db_->Query("SELECT COUNT(*) AS n FROM fs_online"
                                           " WHERE group_id = ? AND deleted = 0",
                                           {group.id}));
  ASSIGN_OR_RETURN(stats.online_records, online[0].GetInt64("n"));
  ASSIGN_OR_RETURN(auto offline, db_->Query("SELECT COUNT(*) AS n, COALESCE(SUM(rows), 0) AS r"
                                            " FROM fs_offline_files WHERE group_id = ?",
                                            {group.id}));
  ASSIGN_OR_RETURN(stats.offline_files, offline[0].GetInt64("n"));
  ASSIGN_OR_RETURN(stats.offline_rows, offline[0].GetInt64("r"));
  return stats;
}

Status FeatureStore::DeleteGroup(const std::string& name) {
  ASSIGN_OR_RETURN(GroupInfo group, DescribeGroup(name));
  RETURN_IF_ERROR(db_->Transaction([&](store::SqlSession& tx) -> Status {
    for (const char* table :
         {"fs_online", "fs_ledger", "fs_batches", "fs_offline_files", "fs_ingestions"}) {
      RETURN_IF_ERROR(tx.Execute(std::string("DELETE FROM ") + table + " WHERE group_id = ?",
                                 {group.id})
                          .status());
    }
    return tx.Execute("DELETE FROM fs_groups WHERE id = ?", {group.id}).status();
  }));
  std::error_code error;
  if (!group.offline_dir.empty()) fs::remove_all(group.offline_dir, error);
  if (error) {
    return UnavailableError("feature group '" + name + "' was deleted but its offline files in '" +
                            group.offline_dir + "' could not be removed: " + error.message());
  }
  return Status::Ok();
}

Result<CommitResult> FeatureStore::CommitBatch(const GroupInfo& group, const RecordBatch& batch,
                                               core::TimePoint api_invocation_time,
                                               TargetStores targets) {
  const FeatureGroupDefinition& definition = group.definition;
  const size_t rows = batch.table.num_rows();
  if (batch.record_ids.size() != rows || batch.event_times.size() != rows) {
    return InvalidArgumentError("CommitBatch: table, record ids and event times differ in length");
  }
  const bool online = definition.online_enabled && targets.online;
  const bool offline = definition.offline_enabled && targets.offline;
  if (!online && !offline) {
    return InvalidArgumentError("feature group '" + definition.name +
                                "': none of the target stores is enabled for it");
  }
  CommitResult result;
  if (rows == 0) return result;
  std::vector<const data::Column*> columns;
  for (const FeatureDefinition& feature : definition.features) {
    Result<const data::Column*> column = batch.table.ColumnByName(feature.name);
    if (!column.ok()) {
      columns.push_back(nullptr);
      continue;
    }
    if ((*column)->type() != StorageType(feature.type)) {
      return InvalidArgumentError("feature '" + feature.name + "' is " +
                                  std::string(FeatureTypeName(feature.type)) + " but the batch "
                                  "column is " + std::string(data::DataTypeName((*column)->type())));
    }
    columns.push_back(*column);
  }
  std::vector<int64_t> event_ns(rows);
  for (size_t i = 0; i < rows; ++i) event_ns[i] = ToNanos(batch.event_times[i]);

  core::Sha256 digest;
  digest.Update(online ? "on" : "off");
  digest.Update(offline ? "on" : "off");
  for (size_t i = 0; i < rows; ++i) {
    digest.Update(batch.record_ids[i]);
    digest.Update(&event_ns[i], sizeof(int64_t));
    digest.Update("\n", 1);
  }
  const std::string batch_key = digest.FinishHex();

  // Rows that another writer committed first; the batch is redone without them.
  std::set<std::pair<std::string, int64_t>> excluded;
  for (int attempt = 0; attempt < 100; ++attempt) {
    ASSIGN_OR_RETURN(auto seen, db_->Query("SELECT rows FROM fs_batches WHERE group_id = ? AND"
                                           " batch_key = ?",
                                           {group.id, batch_key}));
    if (!seen.empty()) return CommitResult{0, static_cast<int64_t>(rows)};
    // The rows to store: not committed by another writer, and the first of any repeats of an
    // (id, event time) within the batch.
    std::vector<int64_t> keep;
    keep.reserve(rows);
    std::unordered_set<std::string> in_batch;
    in_batch.reserve(rows);
    for (size_t i = 0; i < rows; ++i) {
      std::string key = batch.record_ids[i];
      key.append(reinterpret_cast<const char*>(&event_ns[i]), sizeof(int64_t));
      if (!in_batch.insert(std::move(key)).second) continue;
      if (excluded.empty() || !excluded.contains({batch.record_ids[i], event_ns[i]})) {
        keep.push_back(static_cast<int64_t>(i));
      }
    }
    const core::TimePoint write_time = clock_->Now();
    const int64_t write_ns = ToNanos(write_time);

    // Offline files: one per partition, fsynced and renamed before the transaction.
    std::vector<std::pair<std::string, int64_t>> files;  // path, rows
    auto remove_files = [&files] {
      for (const auto& file : files) {
        std::error_code ignored;
        fs::remove(file.first, ignored);
      }
    };
    if (offline && !keep.empty()) {
      std::map<std::string, std::vector<int64_t>> partitions;
      for (int64_t i : keep) partitions[PartitionOf(event_ns[i])].push_back(i);
      const std::string write_text = core::FormatIsoTime(write_time);
      const std::string invocation_text = core::FormatIsoTime(api_invocation_time);
      for (const auto& [partition, indices] : partitions) {
        std::vector<data::Column> out;
        for (size_t f = 0; f < definition.features.size(); ++f) {
          const FeatureDefinition& feature = definition.features[f];
          if (columns[f] != nullptr) {
            out.push_back(columns[f]->Take(std::span<const int64_t>(indices)));
          } else {
            std::vector<uint8_t> nulls(indices.size(), 0);
            switch (StorageType(feature.type)) {
              case data::DataType::kInt64:
                out.push_back(data::Column::Int64(
                    feature.name, std::vector<int64_t>(indices.size()), std::move(nulls)));
                break;
              case data::DataType::kFloat64:
                out.push_back(data::Column::Float64(
                    feature.name, std::vector<double>(indices.size()), std::move(nulls)));
                break;
              case data::DataType::kString:
                out.push_back(data::Column::String(
                    feature.name, std::vector<std::string>(indices.size()), std::move(nulls)));
                break;
            }
          }
        }
        out.push_back(ConstantStrings(std::string(kWriteTime), write_text, indices.size()));
        out.push_back(
            ConstantStrings(std::string(kApiInvocationTime), invocation_text, indices.size()));
        out.push_back(data::Column::Int64(std::string(kIsDeleted),
                                          std::vector<int64_t>(indices.size(), 0)));
        ASSIGN_OR_RETURN(data::Table table, data::Table::Make(std::move(out)));
        std::error_code error;
        fs::path dir = fs::path(group.offline_dir) / partition;
        fs::create_directories(dir, error);
        if (error) {
          remove_files();
          return UnavailableError("cannot create '" + dir.string() + "': " + error.message());
        }
        std::string path = (dir / (core::NewId("part") + ".rpcol")).string();
        if (Status status = data::WriteTableFile(table, path); !status.ok()) {
          remove_files();
          return status;
        }
        files.emplace_back(std::move(path), static_cast<int64_t>(indices.size()));
      }
    }

    // Online rows, encoded before taking the database lock.
    std::vector<std::string> encoded;
    std::vector<std::optional<int64_t>> expires;
    if (online) {
      encoded.reserve(keep.size());
      for (int64_t i : keep) {
        encoded.push_back(EncodeRow(definition, columns, static_cast<size_t>(i)));
        if (definition.ttl) {
          expires.push_back(event_ns[i] + int64_t{definition.ttl->count()} * 1'000'000);
        } else {
          expires.push_back(std::nullopt);
        }
      }
    }

    std::vector<std::pair<std::string, int64_t>> conflicts;
    const std::string created_at = core::FormatIsoTime(write_time);
    Status status = db_->Transaction([&](store::SqlSession& tx) -> Status {
      conflicts.clear();
      size_t inserted = 0;
      std::set<std::pair<std::string, int64_t>> fresh;
      for (size_t start = 0; start < keep.size(); start += kRowsPerStatement) {
        size_t count = std::min<size_t>(kRowsPerStatement, keep.size() - start);
        std::vector<SqlValue> params;
        params.reserve(count * 3);
        for (size_t k = start; k < start + count; ++k) {
          params.emplace_back(group.id);
          params.emplace_back(batch.record_ids[keep[k]]);
          params.emplace_back(event_ns[keep[k]]);
        }
        ASSIGN_OR_RETURN(auto returned,
                         tx.Query("INSERT OR IGNORE INTO fs_ledger (group_id, record_id,"
                                  " event_time_ns) VALUES " + Placeholders(count, "(?,?,?)") +
                                  " RETURNING record_id, event_time_ns",
                                  params));
        inserted += returned.size();
        if (returned.size() != count) {
          for (const store::Row& row : returned) {
            ASSIGN_OR_RETURN(std::string id, row.GetString("record_id"));
            ASSIGN_OR_RETURN(int64_t ns, row.GetInt64("event_time_ns"));
            fresh.insert({std::move(id), ns});
          }
          for (size_t k = start; k < start + count; ++k) {
            std::pair<std::string, int64_t> key{batch.record_ids[keep[k]], event_ns[keep[k]]};
            if (!fresh.contains(key)) conflicts.push_back(std::move(key));
          }
        }
      }
      if (inserted != keep.size()) {
        return AbortedError("rows of the batch were committed by another writer");
      }
      if (online) {
        for (size_t start = 0; start < keep.size(); start += kRowsPerStatement) {
          size_t count = std::min<size_t>(kRowsPerStatement, keep.size() - start);
          std::vector<SqlValue> params;
          params.reserve(count * 6);
          for (size_t k = start; k < start + count; ++k) {
            params.emplace_back(group.id);
            params.emplace_back(batch.record_ids[keep[k]]);
            params.emplace_back(event_ns[keep[k]]);
            params.emplace_back(write_ns);
            if (expires[k]) {
              params.emplace_back(*expires[k]);
            } else {
              params.emplace_back(nullptr);
            }
            params.emplace_back(encoded[k]);
          }
          RETURN_IF_ERROR(
              tx.Execute("INSERT INTO fs_online (group_id, record_id, event_time_ns,"
                         " write_time_ns, expires_at_ns, deleted, record) VALUES " +
                             Placeholders(count, "(?,?,?,?,?,0,?)") +
                             " ON CONFLICT (group_id, record_id) DO UPDATE SET"
                             " event_time_ns = excluded.event_time_ns,"
                             " write_time_ns = excluded.write_time_ns,"
                             " expires_at_ns = excluded.expires_at_ns, deleted = 0,"
                             " record = excluded.record"
                             " WHERE excluded.event_time_ns > fs_online.event_time_ns",
                         params)
                  .status());
        }
      }
      for (const auto& [path, file_rows] : files) {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO fs_offline_files (group_id, path, rows,"
                                   " created_at) VALUES (?, ?, ?, ?)",
                                   {group.id, path, file_rows, created_at})
                            .status());
      }
      return tx.Execute("INSERT INTO fs_batches (group_id, batch_key, rows) VALUES (?, ?, ?)",
                        {group.id, batch_key, static_cast<int64_t>(rows)})
          .status();
    });
    if (status.ok()) {
      result.written = static_cast<int64_t>(keep.size());
      result.duplicates = static_cast<int64_t>(rows - keep.size());
      return result;
    }
    remove_files();
    if (status.code() == StatusCode::kAlreadyExists) continue;  // the batch key raced: recheck
    if (status.code() != StatusCode::kAborted) {
      return status.WithContext("feature group '" + definition.name + "'");
    }
    for (auto& conflict : conflicts) excluded.insert(std::move(conflict));
  }
  return AbortedError("feature group '" + definition.name +
                      "': gave up committing a batch after 100 conflicting attempts");
}

Result<core::TimePoint> FeatureStore::IngestionTime(const GroupInfo& group,
                                                    const std::string& input_key,
                                                    core::TimePoint now) {
  RETURN_IF_ERROR(db_->Execute("INSERT OR IGNORE INTO fs_ingestions (group_id, input_key,"
                               " event_time_ns) VALUES (?, ?, ?)",
                               {group.id, input_key, ToNanos(now)})
                      .status());
  ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT event_time_ns FROM fs_ingestions WHERE"
                                         " group_id = ? AND input_key = ?",
                                         {group.id, input_key}));
  if (rows.empty()) return InternalError("the ingestion time of '" + input_key + "' vanished");
  ASSIGN_OR_RETURN(int64_t nanos, rows[0].GetInt64("event_time_ns"));
  return FromNanos(nanos);
}

Result<Record> FeatureStore::GetRecord(const std::string& group, const std::string& record_id) {
  ASSIGN_OR_RETURN(BatchGetResult result, BatchGetRecord(group, {record_id}));
  if (result.records.empty()) {
    return NotFoundError("feature group '" + group + "' has no record '" + record_id + "'");
  }
  return std::move(result.records[0]);
}

Result<BatchGetResult> FeatureStore::BatchGetRecord(const std::string& group,
                                                    const std::vector<std::string>& record_ids) {
  ASSIGN_OR_RETURN(auto groups, db_->Query("SELECT id, definition FROM fs_groups WHERE name = ?",
                                           {group}));
  if (groups.empty()) return NotFoundGroup(group);
  ASSIGN_OR_RETURN(int64_t group_id, groups[0].GetInt64("id"));
  ASSIGN_OR_RETURN(std::string definition, groups[0].GetString("definition"));
  if (definition.find("\"OnlineStoreConfig\"") == std::string::npos) {
    return FailedPreconditionError("feature group '" + group + "' has no online store");
  }
  const int64_t now = ToNanos(clock_->Now());
  std::unordered_map<std::string, Record> found;
  for (size_t start = 0; start < record_ids.size(); start += kRowsPerStatement) {
    size_t count = std::min<size_t>(kRowsPerStatement, record_ids.size() - start);
    std::vector<SqlValue> params;
    params.emplace_back(group_id);
    for (size_t i = start; i < start + count; ++i) params.emplace_back(record_ids[i]);
    ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT " + std::string(kOnlineColumns) +
                                               " FROM fs_online r WHERE r.group_id = ? AND"
                                               " r.record_id IN (" + Placeholders(count, "?") +
                                               ")",
                                           params));
    for (const store::Row& row : rows) {
      ASSIGN_OR_RETURN(bool live, IsLive(row, now));
      if (!live) continue;
      ASSIGN_OR_RETURN(Record record, RecordFromRow(row));
      std::string id = record.record_id;
      found.emplace(std::move(id), std::move(record));
    }
  }
  BatchGetResult result;
  for (const std::string& id : record_ids) {
    auto it = found.find(id);
    if (it == found.end()) {
      result.not_found.push_back(id);
    } else {
      result.records.push_back(it->second);
    }
  }
  return result;
}

Status FeatureStore::DeleteRecord(const std::string& group_name, const std::string& record_id,
                                  std::optional<core::TimePoint> event_time, DeleteMode mode) {
  ASSIGN_OR_RETURN(GroupInfo group, DescribeGroup(group_name));
  const FeatureGroupDefinition& definition = group.definition;
  const core::TimePoint now = clock_->Now();
  const core::TimePoint delete_time = event_time.value_or(now);
  const int64_t delete_ns = ToNanos(delete_time);
  const std::string where = "feature group '" + group_name + "', record '" + record_id + "'";

  // The offline marker row: the id and event time, other features null, is_deleted = 1.
  std::string offline_path;
  if (definition.offline_enabled) {
    std::vector<data::Column> out;
    for (const FeatureDefinition& feature : definition.features) {
      const bool is_id = feature.name == definition.record_identifier;
      const bool is_time = feature.name == definition.event_time;
      switch (StorageType(feature.type)) {
        case data::DataType::kInt64: {
          int64_t value = 0;
          if (is_id) {
            auto parsed = std::from_chars(record_id.data(), record_id.data() + record_id.size(),
                                          value);
            if (parsed.ec != std::errc() || parsed.ptr != record_id.data() + record_id.size()) {
              return InvalidArgumentError(where + ": the record identifier is Integral");
            }
          }
          out.push_back(data::Column::Int64(feature.name, {value}, {uint8_t{is_id}}));
          break;
        }
        case data::DataType::kFloat64:
          out.push_back(data::Column::Float64(
              feature.name, {is_time ? static_cast<double>(delete_ns) / 1e9 : 0.0},
              {uint8_t{is_time}}));
          break;
        case data::DataType::kString: {
          std::string value = is_id ? record_id : is_time ? core::FormatIsoTime(delete_time) : "";
          out.push_back(data::Column::String(feature.name, {value}, {uint8_t(is_id || is_time)}));
          break;
        }
      }
    }
    out.push_back(ConstantStrings(std::string(kWriteTime), core::FormatIsoTime(now), 1));
    out.push_back(ConstantStrings(std::string(kApiInvocationTime), core::FormatIsoTime(now), 1));
    out.push_back(data::Column::Int64(std::string(kIsDeleted), {1}));
    ASSIGN_OR_RETURN(data::Table table, data::Table::Make(std::move(out)));
    fs::path dir = fs::path(group.offline_dir) / PartitionOf(delete_ns);
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) return UnavailableError("cannot create '" + dir.string() + "': " + error.message());
    offline_path = (dir / (core::NewId("delete") + ".rpcol")).string();
    RETURN_IF_ERROR(data::WriteTableFile(table, offline_path));
  }
  Status status = db_->Transaction([&](store::SqlSession& tx) -> Status {
    if (definition.online_enabled) {
      ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT event_time_ns, deleted FROM fs_online"
                                           " WHERE group_id = ? AND record_id = ?",
                                           {group.id, record_id}));
      if (rows.empty()) return NotFoundError(where + ": no such record in the online store");
      ASSIGN_OR_RETURN(int64_t stored_ns, rows[0].GetInt64("event_time_ns"));
      if (delete_ns <= stored_ns) {
        return FailedPreconditionError(where + ": the delete's event time " +
                                       core::FormatIsoTime(delete_time) +
                                       " must be newer than the record's " +
                                       core::FormatIsoTime(FromNanos(stored_ns)));
      }
      if (mode == DeleteMode::kHard) {
        RETURN_IF_ERROR(tx.Execute("DELETE FROM fs_online WHERE group_id = ? AND record_id = ?",
                                   {group.id, record_id})
                            .status());
      } else {
        RETURN_IF_ERROR(tx.Execute("UPDATE fs_online SET deleted = 1, event_time_ns = ?,"
                                   " write_time_ns = ?, record = '{}' WHERE group_id = ? AND"
                                   " record_id = ?",
                                   {delete_ns, ToNanos(now), group.id, record_id})
                            .status());
      }
    }
    RETURN_IF_ERROR(tx.Execute("INSERT OR IGNORE INTO fs_ledger (group_id, record_id,"
                               " event_time_ns) VALUES (?, ?, ?)",
                               {group.id, record_id, delete_ns})
                        .status());
    if (!offline_path.empty()) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO fs_offline_files (group_id, path, rows,"
                                 " created_at) VALUES (?, ?, 1, ?)",
                                 {group.id, offline_path, core::FormatIsoTime(now)})
                          .status());
    }
    return Status::Ok();
  });
  if (!status.ok() && !offline_path.empty()) {
    std::error_code ignored;
    fs::remove(offline_path, ignored);
  }
  return status;
}

Result<data::Table> FeatureStore::ReadOffline(const std::string& group_name,
                                              std::optional<core::TimePoint> as_of) {
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
  if (tables.empty()) {
    std::vector<data::Column> empty;
    for (const FeatureDefinition& feature : definition.features) {
      switch (StorageType(feature.type)) {
        case data::DataType::kInt64: empty.push_back(data::Column::Int64(feature.name, {})); break;
        case data::DataType::kFloat64:
          empty.push_back(data::Column::Float64(feature.name, {}));
          break;
        case data::DataType::kString:
          empty.push_back(data::Column::String(feature.name, {}));
          break;
      }
    }
    empty.push_back(data::Column::String(std::string(kWriteTime), {}));
    empty.push_back(data::Column::String(std::string(kApiInvocationTime), {}));
    empty.push_back(data::Column::Int64(std::string(kIsDeleted), {}));
    return data::Table::Make(std::move(empty));
  }
  ASSIGN_OR_RETURN(data::Table all, ConcatTables(tables));
  if (!as_of) return all;

  const int64_t as_of_ns = ToNanos(*as_of);
  ASSIGN_OR_RETURN(const data::Column* ids, all.ColumnByName(definition.record_identifier));
  ASSIGN_OR_RETURN(const data::Column* times, all.ColumnByName(definition.event_time));
  ASSIGN_OR_RETURN(const data::Column* deleted, all.ColumnByName(kIsDeleted));
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> newest;  // id -> (ns, row)
  for (size_t row = 0; row < all.num_rows(); ++row) {
    Result<int64_t> ns = EventTimeNanosOf(*times, row);
    if (!ns.ok() || *ns > as_of_ns) continue;
    auto [it, inserted] = newest.try_emplace(RecordIdText(*ids, row), *ns,
                                             static_cast<int64_t>(row));
    if (!inserted && *ns >= it->second.first) it->second = {*ns, static_cast<int64_t>(row)};
  }
  std::vector<int64_t> keep;
  for (const auto& [id, chosen] : newest) {
    if (deleted->int64s()[chosen.second] == 0) keep.push_back(chosen.second);
  }
  std::sort(keep.begin(), keep.end());
  return all.Take(keep);
}

}  // namespace raypipe::featurestore
