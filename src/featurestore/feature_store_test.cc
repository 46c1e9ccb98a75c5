#include "featurestore/feature_store.h"

#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "featurestore/test_util.h"

namespace raypipe::featurestore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kHour = 3600;
using testing::At;
using Row = testing::HouseRow;

RecordBatch Batch(const std::vector<Row>& rows) { return testing::HousesBatch(rows); }

class FeatureStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(At(10 * kHour));
    FeatureStoreOptions options;
    options.home = dir_.path();
    options.clock = &clock_;
    auto opened = FeatureStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
  }

  GroupInfo Create(std::optional<std::chrono::milliseconds> ttl = std::nullopt) {
    auto definition = LoadDefinition(testing::kHousesDefinition);
    EXPECT_TRUE(definition.ok()) << definition.status();
    definition->ttl = ttl;
    auto group = store_->CreateGroup(*definition);
    EXPECT_TRUE(group.ok()) << group.status();
    return *group;
  }

  void Commit(const GroupInfo& group, const std::vector<Row>& rows, int64_t expect_written) {
    auto result = store_->CommitBatch(group, Batch(rows), clock_.Now());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->written, expect_written);
  }

  testing::TempDir dir_;
  core::ManualClock clock_;
  std::unique_ptr<FeatureStore> store_;
};

TEST_F(FeatureStoreTest, GroupLifecycle) {
  GroupInfo group = Create();
  EXPECT_EQ(store_->CreateGroup(group.definition).status().code(), StatusCode::kAlreadyExists);
  auto listed = store_->ListGroups();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].definition.name, "houses");
  Commit(group, {{1, 0, 100, "a"}}, 1);
  EXPECT_TRUE(std::filesystem::exists(group.offline_dir));
  ASSERT_TRUE(store_->DeleteGroup("houses").ok());
  EXPECT_FALSE(std::filesystem::exists(group.offline_dir));
  EXPECT_EQ(store_->DescribeGroup("houses").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteGroup("houses").code(), StatusCode::kNotFound);
  // A new group of the same name starts empty.
  GroupInfo again = Create();
  EXPECT_NE(again.id, group.id);
  EXPECT_EQ(store_->GetRecord("houses", "1").status().code(), StatusCode::kNotFound);
  Commit(again, {{1, 0, 100, "a"}}, 1);
}

TEST_F(FeatureStoreTest, OnlineKeepsNewestOlderGoesOfflineOnly) {
  GroupInfo group = Create();
  Commit(group, {{1, 100, 10, "a"}, {2, 100, 20, "b"}}, 2);
  Commit(group, {{1, 50, 11, "old"}}, 1);   // older: offline only
  Commit(group, {{2, 200, 21, "new"}}, 1);  // newer: replaces
  auto one = store_->GetRecord("houses", "1");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->features["price"], 10.0);
  EXPECT_EQ(one->features["city"], "a");
  EXPECT_EQ(one->features["rooms"], nullptr);
  EXPECT_EQ(one->event_time, At(100));
  auto two = store_->GetRecord("houses", "2");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->features["city"], "new");
  auto offline = store_->ReadOffline("houses");
  ASSERT_TRUE(offline.ok()) << offline.status();
  EXPECT_EQ(offline->num_rows(), 4u);
  EXPECT_THAT(offline->ColumnNames(),
              ElementsAre("house_id", "event_time", "price", "rooms", "city", "write_time",
                          "api_invocation_time", "is_deleted"));
  auto stats = store_->Stats(group);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->online_records, 2);
  EXPECT_EQ(stats->offline_rows, 4);
}

TEST_F(FeatureStoreTest, ExactlyOncePerIdAndEventTime) {
  GroupInfo group = Create();
  Commit(group, {{1, 0, 1, "a"}, {2, 0, 2, "b"}}, 2);
  Commit(group, {{1, 0, 1, "a"}, {2, 0, 2, "b"}}, 0);                  // the same batch
  Commit(group, {{2, 0, 2, "b"}, {3, 0, 3, "c"}, {1, 5, 1, "a"}}, 2);  // overlaps
  Commit(group, {{4, 0, 4, "first"}, {4, 0, 5, "repeat"}, {1, 5, 1, "a"}}, 1);  // repeats
  auto offline = store_->ReadOffline("houses");
  ASSERT_TRUE(offline.ok());
  EXPECT_EQ(offline->num_rows(), 5u);
  auto four = store_->GetRecord("houses", "4");
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(four->features["city"], "first");
}

TEST_F(FeatureStoreTest, PartitionsByEventHour) {
  GroupInfo group = Create();
  Commit(group, {{1, 0, 1, "a"}, {2, 2 * kHour, 2, "b"}}, 2);
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(group.offline_dir)) {
    if (entry.path().extension() == ".rpcol") {
      ++files;
      EXPECT_THAT(entry.path().string(), ::testing::ContainsRegex("year=2023/month=11/day=1[45]/hour=(22|00)/"));
    }
  }
  EXPECT_EQ(files, 2);
}

TEST_F(FeatureStoreTest, BatchGet) {
  GroupInfo group = Create();
  Commit(group, {{1, 0, 1, "a"}, {2, 0, 2, "b"}, {3, 0, 3, "c"}}, 3);
  auto result = store_->BatchGetRecord("houses", {"3", "9", "1"});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->records.size(), 2u);
  EXPECT_EQ(result->records[0].record_id, "3");
  EXPECT_EQ(result->records[1].record_id, "1");
  EXPECT_THAT(result->not_found, ElementsAre("9"));
  EXPECT_EQ(store_->BatchGetRecord("nope", {"1"}).status().code(), StatusCode::kNotFound);
}

TEST_F(FeatureStoreTest, SoftAndHardDelete) {
  GroupInfo group = Create();
  Commit(group, {{1, 100, 1, "a"}, {2, 100, 2, "b"}}, 2);
  // The delete's event time must be newer.
  Status stale = store_->DeleteRecord("houses", "1", At(100), DeleteMode::kSoft);
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.message(), HasSubstr("must be newer"));
  ASSERT_TRUE(store_->DeleteRecord("houses", "1", At(200), DeleteMode::kSoft).ok());
  EXPECT_EQ(store_->GetRecord("houses", "1").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->DeleteRecord("houses", "2", std::nullopt, DeleteMode::kHard).ok());
  EXPECT_EQ(store_->GetRecord("houses", "2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteRecord("houses", "7", std::nullopt, DeleteMode::kHard).code(),
            StatusCode::kNotFound);
  // A put older than the soft delete stays offline; a newer one revives the record.
  Commit(group, {{1, 150, 5, "older"}}, 1);
  EXPECT_EQ(store_->GetRecord("houses", "1").status().code(), StatusCode::kNotFound);
  Commit(group, {{1, 300, 6, "newer"}}, 1);
  auto revived = store_->GetRecord("houses", "1");
  ASSERT_TRUE(revived.ok());
  EXPECT_EQ(revived->features["city"], "newer");
  auto offline = store_->ReadOffline("houses");
  ASSERT_TRUE(offline.ok());
  ASSERT_EQ(offline->num_rows(), 6u);
  auto deleted = offline->ColumnByName("is_deleted");
  int64_t deletes = 0;
  for (int64_t flag : (*deleted)->int64s()) deletes += flag;
  EXPECT_EQ(deletes, 2);
}

TEST_F(FeatureStoreTest, TtlExpiresRecords) {
  GroupInfo group = Create(std::chrono::milliseconds(3600 * 1000));
  clock_.Set(At(0));
  Commit(group, {{1, 0, 1, "a"}, {2, 1800, 2, "b"}}, 2);
  auto record = store_->GetRecord("houses", "1");
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(record->expires_at.has_value());
  EXPECT_EQ(*record->expires_at, At(3600));
  clock_.Set(At(3600));
  EXPECT_EQ(store_->GetRecord("houses", "1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetRecord("houses", "2").ok());
  clock_.Set(At(5400));
  auto both = store_->BatchGetRecord("houses", {"1", "2"});
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->records.empty());
  EXPECT_EQ(both->not_found.size(), 2u);
}

TEST_F(FeatureStoreTest, AsOfReads) {
  GroupInfo group = Create();
  Commit(group, {{1, 100, 10, "v1"}, {2, 100, 20, "v1"}}, 2);
  Commit(group, {{1, 200, 11, "v2"}}, 1);
  Commit(group, {{3, 300, 30, "v1"}}, 1);
  ASSERT_TRUE(store_->DeleteRecord("houses", "2", At(250), DeleteMode::kSoft).ok());
  auto read = [&](double seconds) {
    auto table = store_->ReadOffline("houses", At(seconds));
    EXPECT_TRUE(table.ok()) << table.status();
    std::vector<std::string> rows;
    auto ids = table->ColumnByName("house_id");
    auto cities = table->ColumnByName("city");
    for (size_t i = 0; i < table->num_rows(); ++i) {
      rows.push_back(std::to_string((*ids)->int64s()[i]) + ":" +
                     std::string((*cities)->string(i)));
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  EXPECT_THAT(read(50), ElementsAre());
  EXPECT_THAT(read(150), ElementsAre("1:v1", "2:v1"));
  EXPECT_THAT(read(200), ElementsAre("1:v2", "2:v1"));
  EXPECT_THAT(read(260), ElementsAre("1:v2"));
  EXPECT_THAT(read(1000), ElementsAre("1:v2", "3:v1"));
}

TEST_F(FeatureStoreTest, UnregisteredFilesAreIgnored) {
  GroupInfo group = Create();
  Commit(group, {{1, 0, 1, "a"}}, 1);
  // A file a crashed writer renamed into place but never registered.
  std::filesystem::create_directories(group.offline_dir + "/year=2023/month=11/day=14/hour=22");
  testing::WriteText(group.offline_dir + "/year=2023/month=11/day=14/hour=22/part-x.rpcol",
                     "garbage");
  auto offline = store_->ReadOffline("houses");
  ASSERT_TRUE(offline.ok()) << offline.status();
  EXPECT_EQ(offline->num_rows(), 1u);
}

TEST_F(FeatureStoreTest, ConcurrentWritersStoreEachRecordOnce) {
  GroupInfo group = Create();
  std::vector<std::thread> threads;
  std::vector<Status> statuses(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      FeatureStoreOptions options;
      options.home = dir_.path();
      auto store = FeatureStore::Open(options);
      if (!store.ok()) {
        statuses[t] = store.status();
        return;
      }
      // Each writer commits overlapping batches of the same 200 records.
      for (int start = t * 10; start < 200; start += 50) {
        std::vector<Row> rows;
        for (int id = start; id < std::min(200, start + 50); ++id) rows.push_back({id, 0, 1, "x"});
        auto result = (*store)->CommitBatch(group, Batch(rows), core::SystemClock().Now());
        if (!result.ok()) statuses[t] = result.status();
      }
      for (int start = 0; start < t * 10; start += 7) {
        std::vector<Row> rows;
        for (int id = start; id < std::min(200, start + 7); ++id) rows.push_back({id, 0, 1, "x"});
        auto result = (*store)->CommitBatch(group, Batch(rows), core::SystemClock().Now());
        if (!result.ok()) statuses[t] = result.status();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const Status& status : statuses) EXPECT_TRUE(status.ok()) << status;
  auto offline = store_->ReadOffline("houses");
  ASSERT_TRUE(offline.ok());
  EXPECT_EQ(offline->num_rows(), 200u);
  std::set<int64_t> ids;
  for (int64_t id : (*offline->ColumnByName("house_id"))->int64s()) ids.insert(id);
  EXPECT_EQ(ids.size(), 200u);
}

TEST_F(FeatureStoreTest, NoOnlineStore) {
  auto definition = LoadDefinition(testing::kHousesDefinition);
  ASSERT_TRUE(definition.ok());
  definition->online_enabled = false;
  auto group = store_->CreateGroup(*definition);
  ASSERT_TRUE(group.ok());
  Commit(*group, {{1, 0, 1, "a"}}, 1);
  EXPECT_EQ(store_->GetRecord("houses", "1").status().code(), StatusCode::kFailedPrecondition);
  TargetStores online_only;
  online_only.offline = false;
  EXPECT_EQ(store_->CommitBatch(*group, Batch({{2, 0, 1, "a"}}), clock_.Now(), online_only)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::featurestore
