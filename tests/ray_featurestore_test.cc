// Feature-store ingestion on a real Ray cluster (issue 7, items 3 and 4): the binary starts its
// own single-node loopback cluster with scripts/ray-cluster in a temporary directory, opens the
// executor the way every command does (cli::OpenExecutorFor with --executor ray), ingests with
// 4 actors of 0.5 CPU in Ray's worker processes, and compares with the local executor. It always
// stops exactly the cluster it started.

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/executor_options.h"
#include "ray_test_cluster.h"
#include "featurestore/feature_store.h"
#include "featurestore/ingest.h"

// Ray's runtime keeps threads and caches alive until exit; they are not raypipe's leaks.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libray_api.so\nleak:libraypipe_ray_bridge.so\n";
}

namespace raypipe {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kDefinition = R"({
  "FeatureGroupName": "houses",
  "RecordIdentifierFeatureName": "house_id",
  "EventTimeFeatureName": "event_time",
  "FeatureDefinitions": [
    {"FeatureName": "house_id", "FeatureType": "Integral"},
    {"FeatureName": "event_time", "FeatureType": "Fractional"},
    {"FeatureName": "price", "FeatureType": "Fractional"},
    {"FeatureName": "city", "FeatureType": "String"}
  ],
  "OnlineStoreConfig": {"EnableOnlineStore": true},
  "OfflineStoreConfig": {}
})";

using testing_support::Shell;

// Rows with some ids twice (a later event time) and one bad row (rejected, line 5).
std::string HousesCsv(int rows) {
  std::string text = "house_id,event_time,price,city\n";
  for (int row = 0; row < rows; ++row) {
    const int id = row % (rows - rows / 5);  // the last fifth repeats earlier ids
    text += std::to_string(id) + "," + std::to_string(1700000000 + row) + "," +
            std::to_string(1000 + row * 3) + ".5,city" + std::to_string(id % 4) + "\n";
    if (row == 2) text += "x,1700000000,1.0,bad\n";
  }
  return text;
}

// The offline store's rows as (id, event time, price, city) sorted, and the online records.
struct Contents {
  std::vector<std::tuple<int64_t, double, double, std::string>> offline;
  std::map<std::string, double> online_price;
};

Contents Read(featurestore::FeatureStore& store, int ids) {
  Contents contents;
  auto table = store.ReadOffline("houses");
  EXPECT_TRUE(table.ok()) << table.status();
  if (!table.ok()) return contents;
  auto id = *table->ColumnByName("house_id");
  auto time = *table->ColumnByName("event_time");
  auto price = *table->ColumnByName("price");
  auto city = *table->ColumnByName("city");
  for (size_t row = 0; row < table->num_rows(); ++row) {
    contents.offline.emplace_back(id->int64s()[row], time->float64s()[row],
                                  price->float64s()[row], std::string(city->string(row)));
  }
  std::sort(contents.offline.begin(), contents.offline.end());
  std::vector<std::string> wanted;
  for (int i = 0; i < ids; ++i) wanted.push_back(std::to_string(i));
  auto online = store.BatchGetRecord("houses", wanted);
  EXPECT_TRUE(online.ok()) << online.status();
  if (online.ok()) {
    for (const featurestore::Record& record : online->records) {
      contents.online_price[record.record_id] = record.features["price"].get<double>();
    }
  }
  return contents;
}

class RayFeatureStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string error = cluster_.Start(2);
    ASSERT_TRUE(error.empty()) << error;
  }

  static void TearDownTestSuite() {
    executor_.reset();
    cluster_.Stop();
  }

  static cli::CommandContext Context(cli::GlobalOptions options) {
    static std::ostringstream sink;
    return cli::CommandContext(std::move(options), sink, sink, "raypipe", "raypipe test");
  }

  // The one Ray executor of this process (Ray's runtime connects once), opened as the commands
  // open it: --executor ray --ray-address, capacity asked of the cluster.
  static compute::Executor& RayExecutor() {
    if (executor_ == nullptr) {
      static compute::KernelRegistry kernels;
      EXPECT_TRUE(featurestore::RegisterIngestKernels(kernels).ok());
      cli::GlobalOptions options;
      options.executor = cli::ExecutorKind::kRay;
      options.ray_address = cluster_.address();
      auto opened = cli::OpenExecutorFor(Context(options), kernels);
      EXPECT_TRUE(opened.ok()) << opened.status();
      if (opened.ok()) executor_ = std::move(*opened);
    }
    return *executor_;
  }

  std::unique_ptr<featurestore::FeatureStore> OpenStore(const std::string& name) {
    featurestore::FeatureStoreOptions options;
    options.home = cluster_.dir() + "/" + name;
    auto store = featurestore::FeatureStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  featurestore::IngestOptions Options(const std::string& input) {
    featurestore::IngestOptions options;
    options.definition = kDefinition;
    options.input = input;
    options.num_actors = 4;
    options.cpus_per_actor = 0.5;
    options.batch_size = 97;
    return options;
  }

  static inline testing_support::SuiteRayCluster cluster_;
  static std::unique_ptr<compute::Executor> executor_;
};

std::unique_ptr<compute::Executor> RayFeatureStoreTest::executor_;

TEST_F(RayFeatureStoreTest, RayIngestionStoresTheSameRecordsAsLocalExactlyOnce) {
  constexpr int kRows = 2500;
  const std::string input = cluster_.dir() + "/houses.csv";
  std::ofstream(input) << HousesCsv(kRows);
  compute::Executor& ray = RayExecutor();
  EXPECT_DOUBLE_EQ(ray.Capacity().cpus, 2);  // asked of the cluster (--num-cpus 2)

  auto ray_store = OpenStore("ray-home");
  ASSERT_NE(ray_store, nullptr);
  featurestore::IngestOptions options = Options(input);
  options.executor = &ray;
  auto on_ray = featurestore::Ingest(*ray_store, options);
  ASSERT_TRUE(on_ray.ok()) << on_ray.status();
  EXPECT_EQ(on_ray->rows_read, kRows + 1);
  EXPECT_EQ(on_ray->rejected, 1);
  EXPECT_EQ(on_ray->ingested, kRows);
  EXPECT_EQ(on_ray->actors, 4);
  EXPECT_EQ(on_ray->part_retries, 0);

  auto local_store = OpenStore("local-home");
  ASSERT_NE(local_store, nullptr);
  auto on_local = featurestore::Ingest(*local_store, Options(input));  // a LocalExecutor
  ASSERT_TRUE(on_local.ok()) << on_local.status();
  EXPECT_EQ(on_local->ingested, on_ray->ingested);
  EXPECT_EQ(on_local->batches, on_ray->batches);

  const int ids = kRows - kRows / 5;
  Contents ray_contents = Read(*ray_store, ids);
  Contents local_contents = Read(*local_store, ids);
  EXPECT_EQ(ray_contents.offline.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(ray_contents.offline, local_contents.offline);
  EXPECT_EQ(ray_contents.online_price.size(), static_cast<size_t>(ids));
  EXPECT_EQ(ray_contents.online_price, local_contents.online_price);
  // The newest event time wins online: id 0 was written again at row `ids`.
  EXPECT_DOUBLE_EQ(ray_contents.online_price["0"], 1000 + ids * 3 + 0.5);

  // A rerun on Ray adds nothing, with other parts and batches.
  options.num_actors = 3;
  options.batch_size = 250;
  auto again = featurestore::Ingest(*ray_store, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ingested, 0);
  EXPECT_EQ(again->duplicates, kRows);
  EXPECT_EQ(Read(*ray_store, ids).offline, local_contents.offline);
  // The staged rows are gone.
  std::error_code error;
  EXPECT_TRUE(fs::is_empty(cluster_.dir() + "/ray-home/featurestore/staging", error));
}

TEST_F(RayFeatureStoreTest, RecreatedGroupIsIngestedAfreshAndOversizeActorsAreRefused) {
  compute::Executor& ray = RayExecutor();
  auto store = OpenStore("recreated-home");
  ASSERT_NE(store, nullptr);
  const std::string input = cluster_.dir() + "/small.csv";
  std::ofstream(input) << HousesCsv(20);
  featurestore::IngestOptions options = Options(input);
  options.executor = &ray;
  options.num_actors = 2;
  ASSERT_TRUE(featurestore::Ingest(*store, options).ok());
  ASSERT_TRUE(store->DeleteGroup("houses").ok());
  auto redone = featurestore::Ingest(*store, options);  // the actors find the new group
  ASSERT_TRUE(redone.ok()) << redone.status();
  EXPECT_EQ(redone->ingested, 20);

  options.cpus_per_actor = 3;  // the cluster has 2 CPUs
  auto oversize = featurestore::Ingest(*store, options);
  ASSERT_FALSE(oversize.ok());
  EXPECT_EQ(oversize.status().code(), StatusCode::kInvalidArgument) << oversize.status();
}

// Issue 7, item 6: the Ray worker processes running ingestion actors are killed mid-ingestion;
// their parts are rerun on new actors, and nothing is lost or stored twice.
TEST_F(RayFeatureStoreTest, KilledWorkerDuringIngestionLosesAndDuplicatesNothing) {
  constexpr int kRows = 24000;
  const std::string input = cluster_.dir() + "/many.csv";
  std::ofstream(input) << HousesCsv(kRows);
  compute::Executor& ray = RayExecutor();
  auto store = OpenStore("killed-home");
  ASSERT_NE(store, nullptr);
  featurestore::IngestOptions options = Options(input);
  options.executor = &ray;
  options.batch_size = 20;  // many small commits: a long enough window to kill a worker

  std::atomic<bool> done{false};
  std::atomic<int> killed{0};
  std::thread killer([&] {
    const std::string ps = "timeout 20 " + std::string(RAYPIPE_SOURCE_DIR) +
                           "/scripts/ray-cluster ps " + cluster_.dir() +
                           " | awk '/default_worker/ {print $1}'";
    for (int poll = 0; poll < 400 && !done; ++poll) {
      int exit_code = 0;
      std::istringstream pids(Shell(ps, &exit_code));
      std::vector<pid_t> workers;
      for (long pid = 0; pids >> pid;) workers.push_back(static_cast<pid_t>(pid));
      if (workers.size() >= 2) {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));  // mid-part
        // Every C++ worker: ps cannot tell an ingestion actor's worker from an idle one left by
        // an earlier test, and killing only the first listed could miss every running part.
        for (pid_t pid : workers) {
          if (!done && ::kill(pid, SIGKILL) == 0) ++killed;
        }
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  auto summary = featurestore::Ingest(*store, options);
  done = true;
  killer.join();
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_GE(killed.load(), 1) << "no ingestion worker was found to kill";
  EXPECT_GE(summary->part_retries, 1);
  EXPECT_EQ(summary->ingested + summary->duplicates, kRows);
  Contents contents = Read(*store, kRows - kRows / 5);
  EXPECT_EQ(contents.offline.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(std::adjacent_find(contents.offline.begin(), contents.offline.end()),
            contents.offline.end());
}

TEST(OpenExecutorForTest, RefusesRayWithoutAnAddressOrACluster) {
  std::ostringstream sink;
  compute::KernelRegistry kernels;
  cli::GlobalOptions options;
  options.executor = cli::ExecutorKind::kRay;
  unsetenv("RAY_ADDRESS");
  auto missing = cli::OpenExecutorFor(cli::CommandContext(options, sink, sink, "raypipe", "x"),
                                      kernels);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("--ray-address HOST:PORT or set RAY_ADDRESS"));

  options.ray_address = "127.0.0.1:1";  // nothing listens on port 1
  auto absent = cli::OpenExecutorFor(cli::CommandContext(options, sink, sink, "raypipe", "x"),
                                     kernels);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(absent.status().message(),
              HasSubstr("no Ray cluster answers at 127.0.0.1:1: start one with"));

  options.ray_address = "";
  setenv("RAY_ADDRESS", "ray://head:10001", 1);
  EXPECT_EQ(cli::RayAddressFor(options).status().code(), StatusCode::kInvalidArgument);
  setenv("RAY_ADDRESS", "127.0.0.1:7", 1);
  EXPECT_EQ(*cli::RayAddressFor(options), "127.0.0.1:7");
  unsetenv("RAY_ADDRESS");

  EXPECT_DOUBLE_EQ(*cli::ParseCpus("0.5", "--ray-cpus"), 0.5);
  EXPECT_THAT(cli::ParseCpus("-1", "--ray-cpus").status().message(),
              HasSubstr("invalid value '-1' for --ray-cpus"));
  EXPECT_FALSE(cli::ParseCpus("4x", "--ray-cpus").ok());
}

}  // namespace
}  // namespace raypipe
