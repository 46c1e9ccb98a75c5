// The offline store's cleanup of unregistered files, hard-delete tombstones, and the bulk write
// path's statement chunks, partitions and in-batch repeats.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "featurestore/feature_store.h"
#include "featurestore/feature_store_internal.h"
#include "featurestore/test_util.h"
#include "store/home.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::featurestore {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::At;
using testing::HousesBatch;

class OfflineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(At(36000));
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<FeatureStore> Open() {
    FeatureStoreOptions options;
    options.home = dir_.path();
    options.clock = &clock_;
    auto opened = FeatureStore::Open(options);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  GroupInfo Create(bool online = true) {
    auto definition = LoadDefinition(testing::kHousesDefinition);
    EXPECT_TRUE(definition.ok()) << definition.status();
    definition->online_enabled = online;
    auto group = store_->CreateGroup(*definition);
    EXPECT_TRUE(group.ok()) << group.status();
    return *group;
  }

  // A file in a partition directory of `group` that no catalog row references.
  std::string Orphan(const GroupInfo& group, const std::string& name) {
    fs::path dir = fs::path(group.offline_dir) / "year=2023/month=11/day=14/hour=22";
    fs::create_directories(dir);
    return testing::WriteText((dir / name).string(), "left by a crashed writer");
  }

  std::vector<std::string> Ids(const data::Table& table) {
    std::vector<std::string> ids;
    auto column = table.ColumnByName("house_id");
    EXPECT_TRUE(column.ok());
    for (size_t i = 0; i < table.num_rows(); ++i) ids.push_back((*column)->ValueToString(i));
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  testing::TempDir dir_;
  core::ManualClock clock_;
  std::unique_ptr<FeatureStore> store_;
};

TEST_F(OfflineStoreTest, CleanupRemovesOnlyUnregisteredFiles) {
  GroupInfo group = Create();
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 0, 1, "a"}}), clock_.Now()).ok());
  const std::string orphan = Orphan(group, "part-orphan.rpcol");
  const std::string stale_temp = Orphan(group, "part-x.rpcol.tmp.123.1");
  fs::last_write_time(stale_temp, fs::file_time_type::clock::now() - std::chrono::hours(2));
  const std::string fresh_temp = Orphan(group, "part-y.rpcol.tmp.123.2");

  auto cleaned = store_->CleanupOfflineFiles("houses");
  ASSERT_TRUE(cleaned.ok()) << cleaned.status();
  EXPECT_EQ(cleaned->removed_files, 2);
  EXPECT_GT(cleaned->removed_bytes, 0);
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_FALSE(fs::exists(stale_temp));
  EXPECT_TRUE(fs::exists(fresh_temp));  // a live writer may still be writing it
  auto offline = store_->ReadOffline("houses");
  ASSERT_TRUE(offline.ok()) << offline.status();
  EXPECT_THAT(Ids(*offline), ElementsAre("1"));
  auto again = store_->CleanupOfflineFiles("houses");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->removed_files, 0);
  EXPECT_EQ(store_->CleanupOfflineFiles("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(OfflineStoreTest, NextIngestRemovesOrphans) {
  GroupInfo group = Create();
  const std::string orphan = Orphan(group, "part-orphan.rpcol");
  // A later process (a fresh store) cleans up on its first write into the group.
  std::unique_ptr<FeatureStore> next = Open();
  ASSERT_NE(next, nullptr);
  ASSERT_TRUE(next->CommitBatch(group, HousesBatch({{1, 0, 1, "a"}}), clock_.Now()).ok());
  EXPECT_FALSE(fs::exists(orphan));
  auto stats = next->Stats(group);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->offline_rows, 1);
}

TEST_F(OfflineStoreTest, CleanupRacingWritersLosesNothing) {
  GroupInfo group = Create();
  std::atomic<bool> done{false};
  std::vector<Status> statuses(3);
  std::thread cleaner([&] {
    std::unique_ptr<FeatureStore> store = Open();
    while (!done.load()) (void)store->CleanupOfflineFiles("houses");
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      std::unique_ptr<FeatureStore> store = Open();
      for (int b = 0; b < 20; ++b) {
        std::vector<testing::HouseRow> rows;
        for (int i = 0; i < 10; ++i) rows.push_back({t * 1000 + b * 10 + i, 0, 1, "x"});
        auto result = store->CommitBatch(group, HousesBatch(rows), clock_.Now());
        if (!result.ok()) statuses[t] = result.status();
      }
    });
  }
  for (auto& writer : writers) writer.join();
  done = true;
  cleaner.join();
  for (const Status& status : statuses) EXPECT_TRUE(status.ok()) << status;
  // Every registered file exists and every row is there once.
  auto offline = store_->ReadOffline("houses");
  ASSERT_TRUE(offline.ok()) << offline.status();
  EXPECT_EQ(offline->num_rows(), 600u);
  std::set<std::string> ids;
  for (const std::string& id : Ids(*offline)) ids.insert(id);
  EXPECT_EQ(ids.size(), 600u);
}

TEST_F(OfflineStoreTest, HardDeleteLeavesTombstoneForAsOfReads) {
  GroupInfo group = Create();
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 100, 10, "a"}, {2, 100, 20, "b"}}),
                                  clock_.Now())
                  .ok());
  ASSERT_TRUE(store_->DeleteRecord("houses", "1", At(200), DeleteMode::kHard).ok());
  EXPECT_EQ(store_->GetRecord("houses", "1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetRecord("houses", "2").ok());
  auto stats = store_->Stats(group);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->online_records, 1);
  // The online row is gone, so deleting again finds nothing.
  EXPECT_EQ(store_->DeleteRecord("houses", "1", At(300), DeleteMode::kHard).code(),
            StatusCode::kNotFound);

  auto before = store_->ReadOffline("houses", At(150));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_THAT(Ids(*before), ElementsAre("1", "2"));
  auto after = store_->ReadOffline("houses", At(250));
  ASSERT_TRUE(after.ok());
  EXPECT_THAT(Ids(*after), ElementsAre("2"));
  // The full history keeps the record and its tombstone.
  auto all = store_->ReadOffline("houses");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->num_rows(), 3u);
  const data::Column* deleted = *all->ColumnByName("is_deleted");
  const data::Column* ids = *all->ColumnByName("house_id");
  const data::Column* times = *all->ColumnByName("event_time");
  const data::Column* cities = *all->ColumnByName("city");
  size_t tombstones = 0;
  for (size_t row = 0; row < all->num_rows(); ++row) {
    if (deleted->int64s()[row] == 0) continue;
    ++tombstones;
    EXPECT_EQ(ids->int64s()[row], 1);
    EXPECT_EQ(times->float64s()[row], static_cast<double>(ToNanos(At(200))) / 1e9);
    EXPECT_TRUE(cities->IsNull(row));
  }
  EXPECT_EQ(tombstones, 1u);
  // A put newer than the delete brings the record back.
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 300, 11, "c"}}), clock_.Now()).ok());
  auto revived = store_->GetRecord("houses", "1");
  ASSERT_TRUE(revived.ok()) << revived.status();
  EXPECT_EQ(revived->features["city"], "c");
  auto latest = store_->ReadOffline("houses", At(400));
  ASSERT_TRUE(latest.ok());
  EXPECT_THAT(Ids(*latest), ElementsAre("1", "2"));
}

TEST_F(OfflineStoreTest, AsOfReadsAreOrderedByRecordIdNotByCommitOrder) {
  GroupInfo group = Create();
  // Two ingestion parts committed in the "wrong" order, as parallel actors may.
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{30, 100, 1, "a"}, {4, 100, 2, "b"}}),
                                  clock_.Now())
                  .ok());
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{100, 100, 3, "c"}, {2, 100, 4, "d"}}),
                                  clock_.Now())
                  .ok());
  auto table = store_->ReadOffline("houses", At(150));
  ASSERT_TRUE(table.ok()) << table.status();
  const data::Column* ids = *table->ColumnByName("house_id");
  EXPECT_THAT(std::vector<int64_t>(ids->int64s().begin(), ids->int64s().end()),
              ElementsAre(2, 4, 30, 100));  // numerically, not "100" < "2"
  const data::Column* cities = *table->ColumnByName("city");
  EXPECT_EQ(cities->string(0), "d");
  EXPECT_EQ(cities->string(3), "c");
}

TEST_F(OfflineStoreTest, ProjectedAsOfReadsChooseRowsByColumnsTheyDoNotReturn) {
  GroupInfo group = Create();
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{2, 100, 1, "x"}, {1, 100, 2, "old"}}),
                                  clock_.Now())
                  .ok());
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 120, 3, "new"}}), clock_.Now()).ok());
  auto cities = [&](int64_t seconds) -> std::vector<std::string> {
    auto table = store_->ReadOffline("houses", At(seconds), {"city"});
    EXPECT_TRUE(table.ok()) << table.status();
    if (!table.ok()) return {};
    EXPECT_EQ(table->ColumnNames(), std::vector<std::string>{"city"});
    std::vector<std::string> out;
    for (size_t row = 0; row < table->num_rows(); ++row) {
      out.emplace_back(table->column(0).string(row));
    }
    return out;
  };
  EXPECT_THAT(cities(150), ElementsAre("new", "x"));  // id 1's newest, then id 2
  EXPECT_THAT(cities(110), ElementsAre("old", "x"));
  auto unknown = store_->ReadOffline("houses", std::nullopt, {"city", "pool"});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound) << unknown.status();
  EXPECT_NE(unknown.status().message().find("pool"), std::string::npos) << unknown.status();
}

TEST_F(OfflineStoreTest, OfflineOnlyDeleteIsStoredOnce) {
  GroupInfo group = Create(/*online=*/false);
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 100, 10, "a"}}), clock_.Now()).ok());
  ASSERT_TRUE(store_->DeleteRecord("houses", "1", At(200), DeleteMode::kHard).ok());
  Status repeated = store_->DeleteRecord("houses", "1", At(200), DeleteMode::kHard);
  EXPECT_EQ(repeated.code(), StatusCode::kAlreadyExists) << repeated;
  auto stats = store_->Stats(group);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->offline_rows, 1);
  EXPECT_EQ(stats->offline_deletes, 1);
  EXPECT_EQ(stats->offline_files, 2);
  auto after = store_->ReadOffline("houses", At(250));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->num_rows(), 0u);
  // No file is left behind by the refused delete.
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(group.offline_dir)) {
    if (entry.is_regular_file()) ++files;
  }
  EXPECT_EQ(files, 2u);
}

TEST_F(OfflineStoreTest, ReadsOnlineRecordsOfEitherEncoding) {
  GroupInfo group = Create();
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 0, 1.5, "a"}, {2, 0, 2.5, "b"}}),
                                  clock_.Now())
                  .ok());
  // Record 2 as an earlier version stored it (an object), record 1 in today's array form.
  auto db = store::OpenHomeMetadata(dir_.path(), {});
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Execute("UPDATE fs_online SET record = ? WHERE record_id = '2'",
                             {std::string(R"({"house_id":2,"event_time":1.0,"price":9.5,)"
                                          R"("rooms":null,"city":"old"})")})
                  .ok());
  auto both = store_->BatchGetRecord("houses", {"1", "2"});
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->records.size(), 2u);
  EXPECT_EQ(both->records[0].features["price"], 1.5);
  EXPECT_EQ(both->records[0].features["city"], "a");
  EXPECT_TRUE(both->records[0].features.contains("rooms"));
  EXPECT_EQ(both->records[1].features["price"], 9.5);
  EXPECT_EQ(both->records[1].features["city"], "old");
  // A record of the wrong shape is reported, not crashed on.
  ASSERT_TRUE((*db)->Execute("UPDATE fs_online SET record = '[1, 2]' WHERE record_id = '2'").ok());
  auto bad = store_->GetRecord("houses", "2");
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss) << bad.status();
}

TEST(StatementChunksTest, FullChunksThenPowersOfTwo) {
  EXPECT_THAT(internal::StatementChunks(0), ElementsAre());
  EXPECT_THAT(internal::StatementChunks(7), ElementsAre(4, 2, 1));
  const size_t full = internal::kRowsPerStatement;
  EXPECT_THAT(internal::StatementChunks(2 * full + 3), ElementsAre(full, full, 2, 1));
}

TEST_F(OfflineStoreTest, LargeBatchAcrossHoursWithRepeats) {
  GroupInfo group = Create();
  // 2500 distinct rows over three hours (more than two statements' worth), then 100 repeats of
  // earlier (id, event time) pairs inside the same batch.
  std::vector<testing::HouseRow> rows;
  for (int i = 0; i < 2500; ++i) rows.push_back({i % 1000, 3600.0 * (i / 1000), 1.0 * i, "x"});
  for (int i = 0; i < 100; ++i) rows.push_back({i, 0, -1, "repeat"});
  // Another writer stored the first 1200 rows already (another split of the same input): the
  // ledger finds them and the batch is redone without them.
  std::vector<testing::HouseRow> first(rows.begin(), rows.begin() + 1200);
  auto earlier = store_->CommitBatch(group, HousesBatch(first), clock_.Now());
  ASSERT_TRUE(earlier.ok()) << earlier.status();
  EXPECT_EQ(earlier->written, 1200);
  auto committed = store_->CommitBatch(group, HousesBatch(rows), clock_.Now());
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->written, 1300);
  EXPECT_EQ(committed->duplicates, 1300);
  auto stats = store_->Stats(group);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->offline_files, 4);  // one per batch and partition hour
  EXPECT_EQ(stats->offline_rows, 2500);
  EXPECT_EQ(stats->online_records, 1000);
  // The online store holds each id's newest row: ids < 500 were last written in hour 2.
  auto record = store_->GetRecord("houses", "7");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->features["price"], 2007.0);
  EXPECT_EQ(record->features["rooms"], nullptr);
  EXPECT_EQ(record->event_time, At(7200));
  auto middle = store_->GetRecord("houses", "700");
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(middle->features["price"], 1700.0);
  // Rerunning the batch adds nothing.
  auto rerun = store_->CommitBatch(group, HousesBatch(rows), clock_.Now());
  ASSERT_TRUE(rerun.ok());
  EXPECT_EQ(rerun->written, 0);
  stats = store_->Stats(group);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->offline_rows, 2500);
}

TEST_F(OfflineStoreTest, StatsCountTombstonesApartFromRecords) {
  GroupInfo group = Create();
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 100, 10, "a"}, {2, 100, 20, "b"}}),
                                  clock_.Now())
                  .ok());
  ASSERT_TRUE(store_->DeleteRecord("houses", "1", At(200), DeleteMode::kSoft).ok());
  ASSERT_TRUE(store_->DeleteRecord("houses", "2", At(300), DeleteMode::kHard).ok());
  auto stats = store_->Stats(group);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->offline_rows, 2);     // the two puts
  EXPECT_EQ(stats->offline_deletes, 2);  // the two tombstones
  EXPECT_EQ(stats->offline_files, 3);
  EXPECT_EQ(stats->online_records, 0);
  EXPECT_EQ(stats->ledger_entries, 4);
}

TEST_F(OfflineStoreTest, SchemaVersion2CountsTheTombstonesOfAVersion1Store) {
  GroupInfo group = Create();
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 100, 10, "a"}, {2, 100, 20, "b"}}),
                                  clock_.Now())
                  .ok());
  ASSERT_TRUE(store_->DeleteRecord("houses", "1", At(200), DeleteMode::kSoft).ok());
  store_.reset();
  {
    // Back to the version 1 schema, which had neither column.
    auto db = store::OpenHomeMetadata(dir_.path(), {});
    ASSERT_TRUE(db.ok()) << db.status();
    for (const char* sql : {"ALTER TABLE fs_offline_files DROP COLUMN deletes",
                            "ALTER TABLE fs_batches DROP COLUMN written_at_ns",
                            "DELETE FROM raypipe_schema_migrations WHERE"
                            " component = 'featurestore' AND version = 2"}) {
      ASSERT_TRUE((*db)->Execute(sql).ok()) << sql;
    }
  }
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  auto stats = store_->Stats(group);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->offline_rows, 2);
  EXPECT_EQ(stats->offline_deletes, 1);
  EXPECT_EQ(stats->offline_files, 2);
  // The store still reads and writes.
  EXPECT_EQ(store_->GetRecord("houses", "1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetRecord("houses", "2").ok());
  auto rerun = store_->CommitBatch(group, HousesBatch({{1, 100, 10, "a"}, {2, 100, 20, "b"}}),
                                   clock_.Now());
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  EXPECT_EQ(rerun->written, 0);
}

TEST_F(OfflineStoreTest, CleanupTrimsTheLedgerByEventAge) {
  GroupInfo group = Create();
  // Clock: At(36000). Two old events and one recent one.
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 100, 1, "a"}, {2, 100, 2, "b"}}),
                                  clock_.Now())
                  .ok());
  ASSERT_TRUE(store_->CommitBatch(group, HousesBatch({{1, 30000, 3, "c"}}), clock_.Now()).ok());
  EXPECT_EQ(store_->Stats(group)->ledger_entries, 3);

  CleanupOptions bad;
  bad.ledger_max_age = std::chrono::seconds(-1);
  EXPECT_EQ(store_->CleanupOfflineFiles("houses", bad).status().code(),
            StatusCode::kInvalidArgument);

  CleanupOptions options;
  options.ledger_max_age = std::chrono::seconds(10000);  // forget events before At(26000)
  auto trimmed = store_->CleanupOfflineFiles("houses", options);
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  EXPECT_EQ(trimmed->ledger_removed, 2);
  EXPECT_EQ(trimmed->batches_removed, 0);  // both written at At(36000)
  EXPECT_EQ(store_->Stats(group)->ledger_entries, 1);

  // Inside the window a put is still exactly once, whatever batch it comes in.
  auto recent = store_->CommitBatch(group, HousesBatch({{1, 30000, 3, "c"}, {3, 30000, 4, "d"}}),
                                    clock_.Now());
  ASSERT_TRUE(recent.ok()) << recent.status();
  EXPECT_EQ(recent->written, 1);
  EXPECT_EQ(recent->duplicates, 1);
  // A forgotten old event is stored again (offline only: the online record is newer).
  auto old = store_->CommitBatch(group, HousesBatch({{2, 100, 2, "b"}, {4, 30000, 5, "e"}}),
                                 clock_.Now());
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->written, 2);
  auto record = store_->GetRecord("houses", "1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->features["city"], "c");

  // Later, with a zero age, every event and batch digest is older than the clock.
  clock_.Set(At(40000));
  options.ledger_max_age = std::chrono::seconds(0);
  trimmed = store_->CleanupOfflineFiles("houses", options);
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  EXPECT_EQ(trimmed->ledger_removed, 4);
  EXPECT_EQ(trimmed->batches_removed, 4);
  auto stats = store_->Stats(group);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->ledger_entries, 0);
  EXPECT_EQ(stats->offline_rows, 6);
  // Registered files are untouched by a ledger trim (the last batch spans two hours).
  EXPECT_EQ(stats->offline_files, 5);
  EXPECT_EQ(store_->ReadOffline("houses")->num_rows(), 6u);
}

}  // namespace
}  // namespace raypipe::featurestore
