// The online store's reads (GetRecord, BatchGetRecord) and DeleteRecord, which also appends the
// delete's tombstone to the offline store.
#include <algorithm>
#include <charconv>
#include <unordered_map>
#include <utility>

#include "core/json.h"
#include "featurestore/feature_store.h"
#include "featurestore/feature_store_internal.h"

namespace raypipe::featurestore {

namespace {

using store::SqlValue;

// `names`: the group's feature names, in definition order.
Result<Record> RecordFromRow(const store::Row& row, const std::vector<std::string>& names) {
  Record record;
  ASSIGN_OR_RETURN(record.record_id, row.GetString("record_id"));
  ASSIGN_OR_RETURN(int64_t event_time, row.GetInt64("event_time_ns"));
  ASSIGN_OR_RETURN(int64_t write_time, row.GetInt64("write_time_ns"));
  ASSIGN_OR_RETURN(std::optional<int64_t> expires, row.GetOptionalInt64("expires_at_ns"));
  ASSIGN_OR_RETURN(std::string text, row.GetString("record"));
  record.event_time = FromNanos(event_time);
  record.write_time = FromNanos(write_time);
  if (expires) record.expires_at = FromNanos(*expires);
  const std::string where = "online record " + record.record_id;
  ASSIGN_OR_RETURN(nlohmann::json stored, core::ParseJson(text, where));
  if (stored.is_object()) {  // the encoding of earlier versions: {"feature": value, ...}
    record.features = std::move(stored);
    return record;
  }
  if (!stored.is_array() || stored.size() != names.size()) {
    return DataLossError(where + ": expected an array of " + std::to_string(names.size()) +
                         " values, found '" + text.substr(0, 80) + "'");
  }
  for (size_t i = 0; i < names.size(); ++i) record.features[names[i]] = std::move(stored[i]);
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

// The offline tombstone of a delete: the id and the event time, other features null,
// is_deleted = 1.
Result<data::Table> TombstoneTable(const FeatureGroupDefinition& definition,
                                   const std::string& record_id, core::TimePoint delete_time,
                                   core::TimePoint now, const std::string& where) {
  const int64_t delete_ns = ToNanos(delete_time);
  std::vector<data::Column> out;
  for (const FeatureDefinition& feature : definition.features) {
    const bool is_id = feature.name == definition.record_identifier;
    const bool is_time = feature.name == definition.event_time;
    switch (StorageType(feature.type)) {
      case data::DataType::kInt64: {
        int64_t value = 0;
        if (is_id) {
          auto parsed =
              std::from_chars(record_id.data(), record_id.data() + record_id.size(), value);
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
  const std::string now_text = core::FormatIsoTime(now);
  out.push_back(internal::ConstantStrings(std::string(kWriteTime), now_text, 1));
  out.push_back(internal::ConstantStrings(std::string(kApiInvocationTime), now_text, 1));
  out.push_back(data::Column::Int64(std::string(kIsDeleted), {1}));
  return data::Table::Make(std::move(out));
}

}  // namespace

Result<std::shared_ptr<const GroupInfo>> FeatureStore::CachedGroup(int64_t group_id,
                                                                  const std::string& text) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = group_cache_.find(group_id);
    if (it != group_cache_.end()) return it->second;
  }
  auto info = std::make_shared<GroupInfo>();
  info->id = group_id;
  const std::string where = "feature group " + std::to_string(group_id);
  ASSIGN_OR_RETURN(nlohmann::json json, core::ParseJson(text, where));
  ASSIGN_OR_RETURN(info->definition, ParseDefinition(json, where));
  std::lock_guard<std::mutex> lock(mutex_);
  return group_cache_.try_emplace(group_id, std::move(info)).first->second;
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
  if (groups.empty()) return internal::NotFoundGroup(group);
  ASSIGN_OR_RETURN(int64_t group_id, groups[0].GetInt64("id"));
  ASSIGN_OR_RETURN(std::string definition, groups[0].GetString("definition"));
  ASSIGN_OR_RETURN(std::shared_ptr<const GroupInfo> info, CachedGroup(group_id, definition));
  if (!info->definition.online_enabled) {
    return FailedPreconditionError("feature group '" + group + "' has no online store");
  }
  std::vector<std::string> names;
  names.reserve(info->definition.features.size());
  for (const FeatureDefinition& feature : info->definition.features) names.push_back(feature.name);
  const int64_t now = ToNanos(clock_->Now());
  std::unordered_map<std::string, Record> found;
  size_t start = 0;
  for (size_t count : internal::StatementChunks(record_ids.size())) {
    std::vector<SqlValue> params;
    params.reserve(count + 1);
    params.emplace_back(group_id);
    for (size_t i = start; i < start + count; ++i) params.emplace_back(record_ids[i]);
    start += count;
    ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT " + std::string(kOnlineColumns) +
                                               " FROM fs_online r WHERE r.group_id = ? AND"
                                               " r.record_id IN (" +
                                               internal::Placeholders(count, "?") + ")",
                                           params));
    for (const store::Row& row : rows) {
      ASSIGN_OR_RETURN(bool live, IsLive(row, now));
      if (!live) continue;
      ASSIGN_OR_RETURN(Record record, RecordFromRow(row, names));
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
  std::optional<data::Table> tombstone;
  if (definition.offline_enabled) {
    ASSIGN_OR_RETURN(tombstone, TombstoneTable(definition, record_id, delete_time, now, where));
  }
  // A retry happens only when an orphan cleanup removed the tombstone file before it was
  // registered (see CommitBatch).
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::vector<std::string> files;
    if (tombstone) {
      ASSIGN_OR_RETURN(std::string path,
                       internal::WriteOfflineFile(group, *tombstone, delete_ns, "delete"));
      files.push_back(std::move(path));
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
      // Exactly once per (record id, event time), deletes included: an offline-only group has
      // no online row to compare with, so a repeated delete is caught here.
      ASSIGN_OR_RETURN(store::ExecResult ledger,
                       tx.Execute("INSERT OR IGNORE INTO fs_ledger (group_id, record_id,"
                                  " event_time_ns) VALUES (?, ?, ?)",
                                  {group.id, record_id, delete_ns}));
      if (ledger.changes == 0) {
        return AlreadyExistsError(where + ": an event at " + core::FormatIsoTime(delete_time) +
                                  " is already stored");
      }
      RETURN_IF_ERROR(internal::CheckFilesExist(files));
      for (const std::string& path : files) {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO fs_offline_files (group_id, path, rows,"
                                   " deletes, created_at) VALUES (?, ?, 1, 1, ?)",
                                   {group.id, path, core::FormatIsoTime(now)})
                            .status());
      }
      return Status::Ok();
    });
    if (!status.ok()) internal::RemoveFiles(files);
    if (status.code() != StatusCode::kAborted) return status;
  }
  return AbortedError(where + ": gave up deleting after its tombstone file was removed 10 times");
}

}  // namespace raypipe::featurestore
