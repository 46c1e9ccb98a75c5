#include "featurestore/ingest.h"

#include <filesystem>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "compute/local_executor.h"
#include "data/csv.h"
#include "featurestore/test_util.h"

namespace raypipe::featurestore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string HousesCsv(int rows, int first_id = 0) {
  std::string text = "house_id,event_time,price,rooms,city\n";
  for (int i = 0; i < rows; ++i) {
    int id = first_id + i;
    text += std::to_string(id) + ",1700000000." + std::to_string(i % 10) + "," +
            std::to_string(id * 1.5) + "," + std::to_string(id % 7) + ",city" +
            std::to_string(id % 3) + "\n";
  }
  return text;
}

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FeatureStoreOptions options;
    options.home = dir_.path();
    auto opened = FeatureStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
  }

  IngestOptions Options(const std::string& input) {
    IngestOptions options;
    options.group = "houses";
    options.definition = testing::kHousesDefinition;
    options.input = input;
    options.num_actors = 4;
    options.batch_size = 37;
    return options;
  }

  std::set<int64_t> OfflineIds(size_t* rows) {
    auto table = store_->ReadOffline("houses");
    EXPECT_TRUE(table.ok()) << table.status();
    std::set<int64_t> ids;
    for (int64_t id : (*table->ColumnByName("house_id"))->int64s()) ids.insert(id);
    *rows = table->num_rows();
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<FeatureStore> store_;
};

TEST_F(IngestTest, StopBeforeStartCommitsNothing) {
  std::string input = testing::WriteText(dir_.File("in.csv"), HousesCsv(100));
  IngestOptions options = Options(input);
  options.stop_requested = [] { return true; };
  auto stopped = Ingest(*store_, options);
  EXPECT_EQ(stopped.status().code(), StatusCode::kCancelled) << stopped.status();
  EXPECT_THAT(stopped.status().message(), HasSubstr("stopped"));
  EXPECT_EQ(store_->DescribeGroup("houses").status().code(), StatusCode::kNotFound);
}

TEST_F(IngestTest, StopMidwayKeepsWholeBatchesAndRerunCompletesExactlyOnce) {
  std::string input = testing::WriteText(dir_.File("in.csv"), HousesCsv(3000));
  IngestOptions options = Options(input);
  options.num_actors = 2;
  options.batch_size = 1;  // 3000 commits: the stop lands while parts still run
  // Stop once some batch is visible to a reader.
  options.stop_requested = [this] {
    Result<GroupInfo> group = store_->DescribeGroup("houses");
    return group.ok() && store_->Stats(*group)->offline_rows > 0;
  };
  auto stopped = Ingest(*store_, options);
  ASSERT_EQ(stopped.status().code(), StatusCode::kCancelled) << stopped.status();
  GroupInfo group = *store_->DescribeGroup("houses");
  const int64_t partial = store_->Stats(group)->offline_rows;
  EXPECT_GT(partial, 0);
  EXPECT_LT(partial, 3000);
  // Every committed batch is whole: the offline rows, the online records and the ledger agree.
  EXPECT_EQ(store_->Stats(group)->online_records, partial);
  EXPECT_EQ(store_->Stats(group)->ledger_entries, partial);

  options.stop_requested = nullptr;
  auto rerun = Ingest(*store_, options);
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  EXPECT_EQ(rerun->ingested, 3000 - partial);
  EXPECT_EQ(rerun->duplicates, partial);
  size_t rows = 0;
  EXPECT_EQ(OfflineIds(&rows).size(), 3000u);
  EXPECT_EQ(rows, 3000u);
}

TEST_F(IngestTest, IngestsEveryRowOnceAndRerunAddsNothing) {
  std::string input = testing::WriteText(dir_.File("in.csv"), HousesCsv(1000));
  auto summary = Ingest(*store_, Options(input));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->rows_read, 1000);
  EXPECT_EQ(summary->ingested, 1000);
  EXPECT_EQ(summary->rejected, 0);
  EXPECT_EQ(summary->actors, 4);
  EXPECT_EQ(summary->batches, 4 * 7);  // 250 rows per part, 37 per batch
  size_t rows = 0;
  EXPECT_EQ(OfflineIds(&rows).size(), 1000u);
  EXPECT_EQ(rows, 1000u);
  auto record = store_->GetRecord("houses", "999");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->features["price"], 1498.5);
  EXPECT_EQ(record->features["city"], "city0");

  // The same input again, with another split: nothing new.
  IngestOptions again = Options(input);
  again.num_actors = 3;
  again.batch_size = 100;
  auto second = Ingest(*store_, again);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->ingested, 0);
  EXPECT_EQ(second->duplicates, 1000);
  EXPECT_EQ(OfflineIds(&rows).size(), 1000u);
  EXPECT_EQ(rows, 1000u);
}

TEST_F(IngestTest, RejectsBadRowsWithLineNumbers) {
  std::string text =
      "house_id,event_time,price,rooms,city\n"
      "1,1700000000,10.5,3,\"multi\nline\"\n"  // lines 2-3
      ",1700000000,1,1,x\n"                    // line 4: missing id
      "3,yesterday,1,1,x\n"                    // line 5: bad event time
      "4,1700000000,cheap,1,x\n"               // line 6: wrong type
      "5,1700000000,1,2.5,x\n"                 // line 7: not integral
      "6,2023-11-14T22:13:20Z,1,2,x\n";        // line 8: an ISO time in a Fractional column
  std::string input = testing::WriteText(dir_.File("bad.csv"), text);
  IngestOptions options = Options(input);
  options.rejects_path = dir_.File("rejects.csv");
  auto summary = Ingest(*store_, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->rows_read, 6);
  EXPECT_EQ(summary->ingested, 2);
  EXPECT_EQ(summary->rejected, 4);
  EXPECT_EQ(summary->rejects_path, dir_.File("rejects.csv"));
  EXPECT_THAT(summary->first_reject, HasSubstr("line 4: column 'house_id': missing record"));
  auto rejects = data::ReadCsvFile(dir_.File("rejects.csv"));
  ASSERT_TRUE(rejects.ok()) << rejects.status();
  ASSERT_EQ(rejects->num_rows(), 4u);
  auto lines = (*rejects->ColumnByName("line"))->int64s();
  EXPECT_THAT(std::vector<int64_t>(lines.begin(), lines.end()), ElementsAre(4, 5, 6, 7));
  const data::Column* errors = *rejects->ColumnByName("error");
  EXPECT_THAT(std::string(errors->string(1)), HasSubstr("bad event time 'yesterday'"));
  EXPECT_THAT(std::string(errors->string(2)),
              HasSubstr("column 'price': expected Fractional, found 'cheap'"));
  EXPECT_THAT(std::string(errors->string(3)),
              HasSubstr("column 'rooms': expected Integral, found '2.5'"));
  auto iso = store_->GetRecord("houses", "6");
  ASSERT_TRUE(iso.ok()) << iso.status();
  EXPECT_EQ(iso->event_time, FromNanos(int64_t{1'700'000'000} * 1'000'000'000));
  auto kept = store_->GetRecord("houses", "1");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->features["city"], "multi\nline");
}

TEST_F(IngestTest, GeneratesIdsAndEventTimes) {
  std::string input =
      testing::WriteText(dir_.File("plain.csv"), "price,city\n1.5,a\n2.5,b\n3.5,c\n");
  IngestOptions options = Options(input);
  options.num_actors = 2;
  auto summary = Ingest(*store_, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->ingested, 3);
  auto record = store_->GetRecord("houses", "2");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->features["price"], 3.5);
  EXPECT_EQ(record->features["house_id"], 2);
  EXPECT_TRUE(record->features["event_time"].is_number());
  // A rerun of the same input gets the same generated event times: nothing new.
  auto again = Ingest(*store_, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ingested, 0);
  EXPECT_EQ(again->duplicates, 3);
  // Other bytes are another input.
  testing::WriteText(input, "price,city\n1.5,a\n2.5,b\n3.5,c\n4.5,d\n");
  auto changed = Ingest(*store_, options);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->ingested, 4);
}

TEST_F(IngestTest, RefusesUnknownColumnsAndMissingGroups) {
  std::string input = testing::WriteText(dir_.File("x.csv"), "house_id,colour\n1,red\n");
  auto unknown = Ingest(*store_, Options(input));
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("column 'colour' is not a feature"));
  IngestOptions no_definition = Options(input);
  no_definition.group = "other";
  no_definition.definition.clear();
  EXPECT_EQ(Ingest(*store_, no_definition).status().code(), StatusCode::kNotFound);
  IngestOptions mismatch = Options(input);
  mismatch.group = "other";
  EXPECT_EQ(Ingest(*store_, mismatch).status().code(), StatusCode::kInvalidArgument);
  IngestOptions bad_actors = Options(input);
  bad_actors.num_actors = 0;
  EXPECT_EQ(Ingest(*store_, bad_actors).status().code(), StatusCode::kInvalidArgument);
  IngestOptions missing_input = Options(dir_.File("missing.csv"));
  EXPECT_EQ(Ingest(*store_, missing_input).status().code(), StatusCode::kNotFound);
}

TEST_F(IngestTest, ConcurrentIngestionsOfOverlappingInputs) {
  std::string a = testing::WriteText(dir_.File("a.csv"), HousesCsv(600, 0));
  std::string b = testing::WriteText(dir_.File("b.csv"), HousesCsv(600, 300));
  std::vector<std::thread> threads;
  std::vector<Status> statuses(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      FeatureStoreOptions store_options;
      store_options.home = dir_.path();
      auto store = FeatureStore::Open(store_options);
      if (!store.ok()) {
        statuses[t] = store.status();
        return;
      }
      IngestOptions options = Options(t % 2 == 0 ? a : b);
      options.num_actors = 1 + t;
      options.batch_size = 25 + 10 * t;
      statuses[t] = Ingest(**store, options).status();
    });
  }
  for (auto& thread : threads) thread.join();
  for (const Status& status : statuses) EXPECT_TRUE(status.ok()) << status;
  size_t rows = 0;
  std::set<int64_t> ids = OfflineIds(&rows);
  EXPECT_EQ(ids.size(), 900u);
  EXPECT_EQ(rows, 900u);
}

TEST_F(IngestTest, RunsOnAGivenExecutor) {
  compute::KernelRegistry registry;
  ASSERT_TRUE(RegisterIngestKernels(registry).ok());
  compute::LocalExecutorOptions local;
  local.registry = &registry;
  local.capacity = compute::Resources{1, 0};
  auto executor = compute::LocalExecutor::Open(local);
  ASSERT_TRUE(executor.ok());
  std::string input = testing::WriteText(dir_.File("in.csv"), HousesCsv(100));
  IngestOptions options = Options(input);
  options.executor = executor->get();
  options.num_actors = 4;  // 4 x 0.5 CPU on 1 CPU: two at a time
  auto summary = Ingest(*store_, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->ingested, 100);
  options.cpus_per_actor = 2;  // larger than the executor
  EXPECT_FALSE(Ingest(*store_, options).ok());
}

TEST_F(IngestTest, ActorsGetThePlainJobAndTheStagedRowsAreRemoved) {
  std::string input = testing::WriteText(dir_.File("in.csv"), HousesCsv(50));
  auto summary = Ingest(*store_, Options(input));
  ASSERT_TRUE(summary.ok()) << summary.status();
  std::error_code error;
  EXPECT_TRUE(std::filesystem::is_empty(dir_.File("featurestore/staging"), error));

  // The actor class takes its job as JSON (what Ray's workers receive) and refuses a bad one,
  // naming what is wrong.
  compute::KernelRegistry registry;
  ASSERT_TRUE(RegisterIngestKernels(registry).ok());
  compute::LocalExecutorOptions local;
  local.registry = &registry;
  local.capacity = compute::Resources{1, 0};
  local.codec_check = compute::CodecCheck::kTypes;  // only values Ray could move
  auto executor = compute::LocalExecutor::Open(local);
  ASSERT_TRUE(executor.ok());
  auto call = [&](nlohmann::json spec) -> Status {
    auto actor = (*executor)->CreateActor("featurestore.Ingester",
                                          {compute::Value::Of<nlohmann::json>(std::move(spec))});
    if (!actor.ok()) return actor.status();
    auto ref = (*executor)->CallActor(*actor, "IngestPart", {compute::Value::Of<int64_t>(0)});
    if (!ref.ok()) return ref.status();
    return (*executor)->Get(*ref).status();
  };
  EXPECT_THAT(call(nlohmann::json{{"home", dir_.path()}}).message(),
              HasSubstr("ingestion job: malformed spec"));
  auto group = store_->DescribeGroup("houses");
  ASSERT_TRUE(group.ok()) << group.status();
  nlohmann::json missing_rows = {{"home", dir_.path()},  {"group", "houses"},
                                 {"group_id", group->id}, {"rows", dir_.File("none.col")},
                                 {"keys", dir_.File("none.col")}, {"batch_size", 10},
                                 {"online", true},       {"offline", true},
                                 {"api_invocation_time_ns", 0},
                                 {"parts", nlohmann::json::array({{0, 1}})}};
  Status no_rows = call(missing_rows);
  EXPECT_FALSE(no_rows.ok());
  EXPECT_THAT(no_rows.message(), HasSubstr("none.col"));
  missing_rows["group_id"] = 999;
  EXPECT_THAT(call(missing_rows).message(), HasSubstr("deleted and created again"));
}

TEST(RecordStartLinesTest, CountsQuotedLineBreaksAndBlankLines) {
  EXPECT_THAT(RecordStartLines("a,b\n1,2\n\n\"x\ny\",3\r\n4,5", 2), ElementsAre(2, 4, 6));
  EXPECT_THAT(RecordStartLines("\xEF\xBB\xBF" "a\n1\n\n2\n", 1), ElementsAre(2, 3, 4));
}

}  // namespace
}  // namespace raypipe::featurestore
