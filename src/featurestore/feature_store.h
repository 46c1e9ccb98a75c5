#pragma once
// The feature store (DESIGN.md section 5): feature groups recorded in the metadata store
// (component "featurestore"), an online store in the same SQLite database (the newest record
// per id) and an append-only offline store of columnar files under
// RAYPIPE_HOME/featurestore/offline/<group>-<id>/year=YYYY/month=MM/day=DD/hour=HH/.
//
// Writes go through CommitBatch, whose protocol makes every (record id, event time) land
// exactly once, across reruns, concurrent processes and kill -9:
//   1. A batch whose key (a digest of its ids and event times) is recorded is skipped.
//   2. The batch's offline rows are written as one columnar file per partition hour: to a
//      temporary name, fsynced and renamed into the partition directory (data/columnar.h).
//   3. One transaction inserts every (id, event time) into a ledger (multi-row INSERT OR
//      IGNORE); if fewer rows went in (another writer stored some first), it rolls back, the
//      files are removed, the rows already stored are looked up, and the batch is redone
//      without them. Otherwise the same transaction upserts the online rows (INSERT ... ON
//      CONFLICT DO UPDATE ... WHERE excluded.event_time_ns > event_time_ns: only a newer event
//      replaces a record), registers the offline files and records the batch key.
// Readers use only registered files, so files left by a crash between 2 and 3 are never read;
// CleanupOfflineFiles removes them (and the first CommitBatch into a group in each FeatureStore
// does so too). The transaction of step 3 checks that its files still exist, so a cleanup racing
// with a live writer makes that writer rewrite its files instead of registering missing ones.
// SQLite runs in WAL mode with synchronous=NORMAL: a commit survives the process being killed
// (not necessarily a power loss).
//
// Thread-safe; several processes may share one home.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/time.h"
#include "data/table.h"
#include "featurestore/definition.h"
#include "store/metadata_store.h"

namespace raypipe::featurestore {

struct FeatureStoreOptions {
  // RAYPIPE_HOME: metadata.db and featurestore/ live here. Created when missing.
  std::string home;
  // The source of write times, api invocation times and TTL checks; default the system clock.
  // Not owned; must outlive the store.
  const core::Clock* clock = nullptr;
  // How long a write waits for another process's lock before failing.
  std::chrono::milliseconds busy_timeout{60'000};
};

struct GroupInfo {
  int64_t id = 0;
  FeatureGroupDefinition definition;
  std::string created_at;   // ISO time
  std::string offline_dir;  // absolute
};

struct GroupStats {
  int64_t online_records = 0;  // live (not soft-deleted) online rows, expired ones included
  int64_t offline_rows = 0;     // records put into the offline store (tombstones not included)
  int64_t offline_deletes = 0;  // delete tombstones in the offline store (is_deleted = 1)
  int64_t offline_files = 0;
  int64_t ledger_entries = 0;   // (record id, event time) pairs remembered for exactly-once
};

// One online record. `features` maps every feature name to its value (null when missing).
struct Record {
  std::string record_id;
  core::TimePoint event_time;
  core::TimePoint write_time;
  std::optional<core::TimePoint> expires_at;
  nlohmann::json features = nlohmann::json::object();
};

struct BatchGetResult {
  std::vector<Record> records;         // in the order asked, found ones only
  std::vector<std::string> not_found;  // missing, deleted or expired
};

enum class DeleteMode { kSoft, kHard };

// Which stores a write goes to (each only when the group has it enabled).
struct TargetStores {
  bool online = true;
  bool offline = true;
};

// Rows to write: `table` holds one column per feature, named and typed as the definition says
// (StorageType), in any order; `record_ids` and `event_times` give each row's id (as text) and
// event time. REQUIRES: the three have equal lengths.
struct RecordBatch {
  data::Table table;
  std::vector<std::string> record_ids;
  std::vector<core::TimePoint> event_times;
};

struct CommitResult {
  int64_t written = 0;     // rows new to the store
  int64_t duplicates = 0;  // rows whose (id, event time) was already stored
};

struct CleanupOptions {
  // Temporary files (a writer's file before its rename) younger than this are kept: a live
  // writer may still be writing them. Renamed .rpcol files are removed at any age.
  std::chrono::seconds temp_min_age{3600};
  // When set, the exactly-once ledger forgets (record id, event time) pairs whose event time is
  // older than the store's clock minus this, and the batch digests recorded before that (by
  // write time): a later put of such an old event is stored again. Unset: the ledger is kept.
  std::optional<std::chrono::seconds> ledger_max_age;
};

struct CleanupResult {
  int64_t removed_files = 0;
  int64_t removed_bytes = 0;
  std::vector<std::string> removed;  // absolute paths
  int64_t ledger_removed = 0;        // ledger entries forgotten (ledger_max_age)
  int64_t batches_removed = 0;       // batch digests forgotten (ledger_max_age)
};

class FeatureStore {
 public:
  // Opens (creating) home/metadata.db and brings the featurestore schema up to date.
  static Result<std::unique_ptr<FeatureStore>> Open(FeatureStoreOptions options);
  ~FeatureStore();

  // AlreadyExists when a group of that name exists.
  Result<GroupInfo> CreateGroup(const FeatureGroupDefinition& definition);
  // NotFound "feature group 'x' does not exist".
  Result<GroupInfo> DescribeGroup(const std::string& name);
  Result<std::vector<GroupInfo>> ListGroups();
  Result<GroupStats> Stats(const GroupInfo& group);
  // Removes the group, its online rows, its ledger and its offline files.
  Status DeleteGroup(const std::string& name);

  // Writes a batch with the protocol above. `api_invocation_time` stamps the offline rows.
  Result<CommitResult> CommitBatch(const GroupInfo& group, const RecordBatch& batch,
                                   core::TimePoint api_invocation_time,
                                   TargetStores targets = {});

  // The event time given to the rows of an input without an event time column: `now` the first
  // time `input_key` (a digest of the input) is ingested into the group, the same time again on
  // every rerun, so that rerunning an ingestion stays exactly once.
  Result<core::TimePoint> IngestionTime(const GroupInfo& group, const std::string& input_key,
                                        core::TimePoint now);

  // NotFound when the record is missing, soft-deleted or expired; FailedPrecondition when the
  // group has no online store.
  Result<Record> GetRecord(const std::string& group, const std::string& record_id);
  Result<BatchGetResult> BatchGetRecord(const std::string& group,
                                        const std::vector<std::string>& record_ids);
  // Deletes a record at `event_time` (now when absent), which must be newer than the online
  // record's (FailedPrecondition otherwise). Soft: the online row is kept, marked deleted, its
  // features nulled; hard: it is removed. Either way a row with is_deleted = 1 is appended to the
  // offline store. NotFound when the group has an online store and the record is not in it.
  Status DeleteRecord(const std::string& group, const std::string& record_id,
                      std::optional<core::TimePoint> event_time, DeleteMode mode);

  // The offline store as one Table: the features, then write_time and api_invocation_time (ISO
  // strings) and is_deleted (Int64 0/1), rows in commit order. With `as_of`: for each record id
  // the row with the newest event time not after `as_of` (ties: the later write), left out when
  // it is a delete, ordered by record id (numerically for Integral ids), so the same records
  // read back as the same table however their ingestion was parallelized. `columns`, when not
  // empty, are the only columns read and returned, in that order (NotFound for an unknown one).
  Result<data::Table> ReadOffline(const std::string& group,
                                  std::optional<core::TimePoint> as_of = std::nullopt,
                                  const std::vector<std::string>& columns = {});

  // Removes the group's offline files that no catalog row references: files a crashed writer
  // renamed into place but never registered, and its stale temporary files. Registered files
  // are never touched. With options.ledger_max_age, also trims the ledger (see CleanupOptions),
  // which bounds it by the events of that window. Safe to run while other processes write the
  // group.
  Result<CleanupResult> CleanupOfflineFiles(const std::string& group, CleanupOptions options = {});

  const std::string& home() const { return home_; }
  const core::Clock& clock() const { return *clock_; }

 private:
  FeatureStore(std::string home, const core::Clock* clock,
               std::unique_ptr<store::MetadataStore> db);
  Result<GroupInfo> GroupFromRow(const store::Row& row);
  Result<CleanupResult> CleanupGroup(const GroupInfo& group, CleanupOptions options);
  // CleanupGroup once per group in this store's lifetime, best effort (see CommitBatch).
  void CleanupOnce(const GroupInfo& group);
  // The parsed definition of group `group_id` whose stored JSON is `text`, parsed once per store
  // (a group's definition never changes; a recreated group gets a new id).
  Result<std::shared_ptr<const GroupInfo>> CachedGroup(int64_t group_id, const std::string& text);

  const std::string home_;
  core::SystemClock system_clock_;
  const core::Clock* clock_;
  std::unique_ptr<store::MetadataStore> db_;
  std::mutex mutex_;  // guards cleaned_groups_ and group_cache_
  std::set<int64_t> cleaned_groups_;  // groups CleanupOnce has run for
  std::map<int64_t, std::shared_ptr<const GroupInfo>> group_cache_;  // by group id
};

// Epoch nanoseconds of `time`, and back.
int64_t ToNanos(core::TimePoint time);
core::TimePoint FromNanos(int64_t nanos);

}  // namespace raypipe::featurestore
