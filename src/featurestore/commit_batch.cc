// The write path: FeatureStore::CommitBatch (the protocol is in feature_store.h).
//
// Bulk shape: the batch's offline rows become one columnar file per partition hour (the batch's
// own column buffers when every row is kept and one hour holds them all: no copy); every SQL
// statement is a multi-row statement from a handful of fixed texts (StatementChunks), so each
// stays prepared in the store's cache; the statements' parameters are built once, outside the
// database lock, and the whole batch commits in one transaction. Per row the hot path allocates
// only the online record's JSON text (and copies of ids too long for std::string's inline
// buffer: the store's parameters own their strings).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "core/hash.h"
#include "featurestore/feature_store.h"
#include "featurestore/feature_store_internal.h"

namespace raypipe::featurestore {

namespace {

using store::SqlValue;

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

// The online record's JSON text: [value, ...] in the definition's order (the feature names are
// the group's, added back when the record is read: half the bytes of an object).
std::string EncodeRow(const std::vector<const data::Column*>& columns, size_t row) {
  std::string out;
  out.reserve(16 * columns.size() + 2);
  out.push_back('[');
  char buffer[64];
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out.push_back(',');
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
  out.push_back(']');
  return out;
}

// 1 for each row whose (record id, event time) equals an earlier row's. Sorting 64-bit hashes
// finds the candidates; only rows with equal hashes are compared exactly.
std::vector<uint8_t> FindRepeats(const std::vector<std::string>& ids,
                                 const std::vector<int64_t>& event_ns) {
  const size_t rows = ids.size();
  std::vector<std::pair<uint64_t, uint32_t>> keys(rows);
  for (size_t i = 0; i < rows; ++i) {
    keys[i] = {core::FastHash64(ids[i], static_cast<uint64_t>(event_ns[i])),
               static_cast<uint32_t>(i)};
  }
  std::sort(keys.begin(), keys.end());
  std::vector<uint8_t> repeat(rows, 0);
  for (size_t a = 0; a < rows;) {
    size_t b = a + 1;
    while (b < rows && keys[b].first == keys[a].first) ++b;
    for (size_t x = a + 1; x < b; ++x) {  // within a run, rows are in input order
      const uint32_t later = keys[x].second;
      for (size_t y = a; y < x; ++y) {
        const uint32_t earlier = keys[y].second;
        if (event_ns[later] == event_ns[earlier] && ids[later] == ids[earlier]) {
          repeat[later] = 1;
          break;
        }
      }
    }
    a = b;
  }
  return repeat;
}

// Writes the kept rows' offline files, one per partition hour; appends each path and its row
// count. On failure the files written so far are removed.
Status WriteBatchFiles(const GroupInfo& group, const std::vector<const data::Column*>& columns,
                       const std::vector<int64_t>& keep, size_t rows,
                       const std::vector<int64_t>& event_ns, std::string_view write_text,
                       std::string_view invocation_text, std::vector<std::string>* files,
                       std::vector<int64_t>* counts) {
  const FeatureGroupDefinition& definition = group.definition;
  // `indices` empty: every row of the batch, in order (the batch's own columns are written).
  auto write = [&](const std::vector<int64_t>& indices, int64_t partition_ns) -> Status {
    const size_t length = indices.empty() ? rows : indices.size();
    std::vector<data::Column> out;
    out.reserve(columns.size() + 3);
    for (size_t f = 0; f < columns.size(); ++f) {
      const FeatureDefinition& feature = definition.features[f];
      if (columns[f] == nullptr) {
        out.push_back(internal::NullColumn(feature.name, StorageType(feature.type), length));
      } else if (indices.empty()) {
        out.push_back(*columns[f]);
      } else {
        out.push_back(columns[f]->Take(std::span<const int64_t>(indices)));
      }
    }
    out.push_back(internal::ConstantStrings(std::string(kWriteTime), write_text, length));
    out.push_back(
        internal::ConstantStrings(std::string(kApiInvocationTime), invocation_text, length));
    out.push_back(data::Column::Int64(std::string(kIsDeleted), std::vector<int64_t>(length, 0)));
    ASSIGN_OR_RETURN(data::Table table, data::Table::Make(std::move(out)));
    ASSIGN_OR_RETURN(std::string path,
                     internal::WriteOfflineFile(group, table, partition_ns, "part"));
    files->push_back(std::move(path));
    counts->push_back(static_cast<int64_t>(length));
    return Status::Ok();
  };
  const int64_t first_hour = internal::HourOf(event_ns[keep[0]]);
  const bool one_hour = std::all_of(keep.begin(), keep.end(), [&](int64_t i) {
    return internal::HourOf(event_ns[i]) == first_hour;
  });
  Status status;
  if (one_hour) {
    status = write(keep.size() == rows ? std::vector<int64_t>() : keep, event_ns[keep[0]]);
  } else {
    std::map<int64_t, std::vector<int64_t>> partitions;  // hour -> rows
    for (int64_t i : keep) partitions[internal::HourOf(event_ns[i])].push_back(i);
    for (const auto& [hour, indices] : partitions) {
      status = write(indices, event_ns[indices[0]]);
      if (!status.ok()) break;
    }
  }
  if (!status.ok()) {
    internal::RemoveFiles(*files);
    files->clear();
    counts->clear();
  }
  return status;
}

// The multi-row statements of one chunk size.
struct ChunkSql {
  std::string ledger;
  std::string online;
};

const ChunkSql& SqlFor(std::map<size_t, ChunkSql>* cache, size_t rows) {
  auto [it, inserted] = cache->try_emplace(rows);
  if (inserted) {
    it->second.ledger = "INSERT OR IGNORE INTO fs_ledger (group_id, record_id, event_time_ns)"
                        " VALUES " + internal::Placeholders(rows, "(?,?,?)");
    it->second.online =
        "INSERT INTO fs_online (group_id, record_id, event_time_ns, write_time_ns,"
        " expires_at_ns, deleted, record) VALUES " +
        internal::Placeholders(rows, "(?,?,?,?,?,0,?)") +
        " ON CONFLICT (group_id, record_id) DO UPDATE SET"
        " event_time_ns = excluded.event_time_ns, write_time_ns = excluded.write_time_ns,"
        " expires_at_ns = excluded.expires_at_ns, deleted = 0, record = excluded.record"
        " WHERE excluded.event_time_ns > fs_online.event_time_ns";
  }
  return it->second;
}

}  // namespace

namespace internal {

std::vector<size_t> StatementChunks(size_t rows) {
  std::vector<size_t> chunks(rows / kRowsPerStatement, kRowsPerStatement);
  for (size_t size = kRowsPerStatement / 2, left = rows % kRowsPerStatement; left > 0; size /= 2) {
    if (left >= size) {
      chunks.push_back(size);
      left -= size;
    }
  }
  return chunks;
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

}  // namespace internal

Result<CommitResult> FeatureStore::CommitBatch(const GroupInfo& group, const RecordBatch& batch,
                                               core::TimePoint api_invocation_time,
                                               TargetStores targets) {
  const FeatureGroupDefinition& definition = group.definition;
  const size_t rows = batch.table.num_rows();
  if (batch.record_ids.size() != rows || batch.event_times.size() != rows) {
    return InvalidArgumentError("CommitBatch: table, record ids and event times differ in length");
  }
  if (rows > UINT32_MAX) return InvalidArgumentError("CommitBatch: more than 2^32 rows");
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
      return InvalidArgumentError(
          "feature '" + feature.name + "' is " + std::string(FeatureTypeName(feature.type)) +
          " but the batch column is " + std::string(data::DataTypeName((*column)->type())));
    }
    columns.push_back(*column);
  }
  if (offline) CleanupOnce(group);
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
  const std::vector<uint8_t> repeat = FindRepeats(batch.record_ids, event_ns);
  std::map<size_t, ChunkSql> sql;

  // Rows that another writer committed first; the batch is redone without them.
  std::set<std::pair<std::string, int64_t>> excluded;
  for (int attempt = 0; attempt < 100; ++attempt) {
    ASSIGN_OR_RETURN(auto seen, db_->Query("SELECT rows FROM fs_batches WHERE group_id = ? AND"
                                           " batch_key = ?",
                                           {group.id, batch_key}));
    if (!seen.empty()) return CommitResult{0, static_cast<int64_t>(rows)};
    // The rows to store: the first of any repeats of an (id, event time) within the batch, not
    // committed by another writer.
    std::vector<int64_t> keep;
    keep.reserve(rows);
    for (size_t i = 0; i < rows; ++i) {
      if (repeat[i] != 0) continue;
      if (!excluded.empty() && excluded.contains({batch.record_ids[i], event_ns[i]})) continue;
      keep.push_back(static_cast<int64_t>(i));
    }
    const core::TimePoint write_time = clock_->Now();
    const int64_t write_ns = ToNanos(write_time);
    const std::string created_at = core::FormatIsoTime(write_time);

    // Offline files, fsynced and renamed before the transaction.
    std::vector<std::string> files;
    std::vector<int64_t> file_rows;
    if (offline && !keep.empty()) {
      RETURN_IF_ERROR(WriteBatchFiles(group, columns, keep, rows, event_ns, created_at,
                                      core::FormatIsoTime(api_invocation_time), &files,
                                      &file_rows));
    }

    // Every statement's parameters, built before taking the database lock.
    const std::vector<size_t> chunks = internal::StatementChunks(keep.size());
    std::vector<std::vector<SqlValue>> ledger_params(chunks.size());
    std::vector<std::vector<SqlValue>> online_params(online ? chunks.size() : 0);
    for (size_t c = 0, k = 0; c < chunks.size(); ++c) {
      ledger_params[c].reserve(chunks[c] * 3);
      if (online) online_params[c].reserve(chunks[c] * 6);
      for (size_t end = k + chunks[c]; k < end; ++k) {
        const size_t i = static_cast<size_t>(keep[k]);
        ledger_params[c].emplace_back(group.id);
        ledger_params[c].emplace_back(batch.record_ids[i]);
        ledger_params[c].emplace_back(event_ns[i]);
        if (!online) continue;
        std::vector<SqlValue>& params = online_params[c];
        params.emplace_back(group.id);
        params.emplace_back(batch.record_ids[i]);
        params.emplace_back(event_ns[i]);
        params.emplace_back(write_ns);
        if (definition.ttl) {
          params.emplace_back(event_ns[i] + int64_t{definition.ttl->count()} * 1'000'000);
        } else {
          params.emplace_back(nullptr);
        }
        params.emplace_back(EncodeRow(columns, i));
      }
    }

    bool conflict = false;
    Status status = db_->Transaction([&](store::SqlSession& tx) -> Status {
      conflict = false;
      for (size_t c = 0; c < chunks.size(); ++c) {
        ASSIGN_OR_RETURN(store::ExecResult inserted,
                         tx.Execute(SqlFor(&sql, chunks[c]).ledger, ledger_params[c]));
        if (inserted.changes != static_cast<int64_t>(chunks[c])) {
          conflict = true;
          return AbortedError("rows of the batch were committed by another writer");
        }
      }
      for (size_t c = 0; c < online_params.size(); ++c) {
        RETURN_IF_ERROR(tx.Execute(SqlFor(&sql, chunks[c]).online, online_params[c]).status());
      }
      RETURN_IF_ERROR(internal::CheckFilesExist(files));
      for (size_t f = 0; f < files.size(); ++f) {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO fs_offline_files (group_id, path, rows,"
                                   " created_at) VALUES (?, ?, ?, ?)",
                                   {group.id, files[f], file_rows[f], created_at})
                            .status());
      }
      return tx.Execute("INSERT INTO fs_batches (group_id, batch_key, rows, written_at_ns)"
                        " VALUES (?, ?, ?, ?)",
                        {group.id, batch_key, static_cast<int64_t>(rows), write_ns})
          .status();
    });
    if (status.ok()) {
      result.written = static_cast<int64_t>(keep.size());
      result.duplicates = static_cast<int64_t>(rows - keep.size());
      return result;
    }
    internal::RemoveFiles(files);
    if (status.code() == StatusCode::kAlreadyExists) continue;  // the batch key raced: recheck
    if (status.code() != StatusCode::kAborted) {
      return status.WithContext("feature group '" + definition.name + "'");
    }
    if (!conflict) continue;  // an orphan cleanup removed a file: write it again
    // Which kept rows another writer stored first (the rare path: one query per chunk).
    std::set<std::pair<std::string, int64_t>> kept;
    for (int64_t i : keep) kept.insert({batch.record_ids[static_cast<size_t>(i)], event_ns[i]});
    for (size_t c = 0, k = 0; c < chunks.size(); ++c) {
      std::vector<SqlValue> params;
      params.emplace_back(group.id);
      for (size_t end = k + chunks[c]; k < end; ++k) {
        params.emplace_back(batch.record_ids[static_cast<size_t>(keep[k])]);
      }
      ASSIGN_OR_RETURN(auto stored,
                       db_->Query("SELECT record_id, event_time_ns FROM fs_ledger WHERE"
                                  " group_id = ? AND record_id IN (" +
                                      internal::Placeholders(chunks[c], "?") + ")",
                                  params));
      for (const store::Row& row : stored) {
        ASSIGN_OR_RETURN(std::string id, row.GetString("record_id"));
        ASSIGN_OR_RETURN(int64_t ns, row.GetInt64("event_time_ns"));
        std::pair<std::string, int64_t> key{std::move(id), ns};
        if (kept.contains(key)) excluded.insert(std::move(key));
      }
    }
  }
  return AbortedError("feature group '" + definition.name +
                      "': gave up committing a batch after 100 conflicting attempts");
}

}  // namespace raypipe::featurestore
