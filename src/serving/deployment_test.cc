#include "serving/deployment.h"

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/ids.h"
#include "serving/endpoint_runner.h"
#include "serving/http_client.h"
#include "serving/test_bundle.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::serving {
namespace {

using ::testing::HasSubstr;

// A home with a registry holding housing:1 (offset 1000, Approved), housing:2 (offset 2000,
// Approved) and housing:3 (offset 3000, pending).
class DeploymentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() / core::NewId("serving-test");
    std::filesystem::create_directories(home_);
    store::SqliteOptions metadata_options;
    metadata_options.path = (home_ / "metadata.db").string();
    metadata_ = std::move(store::SqliteMetadataStore::Open(metadata_options).value());
    store::ArtifactStoreOptions artifact_options;
    artifact_options.root = (home_ / "artifacts").string();
    artifacts_ = std::move(store::ArtifactStore::Open(artifact_options).value());
    registry_ = std::move(registry::ModelRegistry::Open(metadata_.get()).value());
    endpoints_ = std::move(EndpointStore::Open(metadata_.get()).value());
    const Status registered = RegisterTestHousingVersions(home_, *artifacts_, *registry_);
    ASSERT_TRUE(registered.ok()) << registered;
  }
  void TearDown() override {
    endpoints_.reset();
    registry_.reset();
    artifacts_.reset();
    metadata_.reset();
    std::filesystem::remove_all(home_);
  }

  Result<std::vector<VariantConfig>> Resolve(std::string_view ref, bool allow = false) {
    ASSIGN_OR_RETURN(VariantConfig spec, ParseModelPackageRef(ref));
    return ResolveVariants(*registry_, {spec}, allow);
  }

  std::filesystem::path home_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<store::ArtifactStore> artifacts_;
  std::unique_ptr<registry::ModelRegistry> registry_;
  std::unique_ptr<EndpointStore> endpoints_;
};

TEST_F(DeploymentTest, BundleModelAppliesPreprocessingAndPredicts) {
  ASSERT_TRUE(WriteTestBundle(home_ / "b", 500.0f).ok());
  auto model = BundleModel::Load(home_ / "b");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->features(), TestBundleFeatures());
  const std::vector<float> rows = {3, 100, 0, 7, 1200, 2};
  auto predictions = (*model)->Predict(rows, 2);
  ASSERT_TRUE(predictions.ok()) << predictions.status();
  EXPECT_NEAR((*predictions)[0], 530.0f, 2.0f);
  EXPECT_NEAR((*predictions)[1], 570.0f, 2.0f);
  EXPECT_FALSE((*model)->Predict(rows, 3).ok());
  EXPECT_FALSE(BundleModel::Load(home_ / "missing").ok());
}

TEST_F(DeploymentTest, ResolvesLatestApprovedAndRefusesUnapproved) {
  auto latest = Resolve("housing");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ((*latest)[0].version, 2);
  auto pending = Resolve("housing:3");
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(pending.status().message(), HasSubstr("housing:3 is PendingManualApproval"));
  EXPECT_THAT(pending.status().message(), HasSubstr("--allow-unapproved"));
  EXPECT_TRUE(Resolve("housing:3", true).ok());
  EXPECT_EQ(Resolve("housing:9").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Resolve("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(DeploymentTest, DeleteGuardProtectsDeployedVersions) {
  EndpointConfig config;
  config.name = "prod";
  config.variants = {{"AllTraffic", "housing", 2, 1.0}};
  ASSERT_TRUE(endpoints_->Create(config).ok());
  registry_->SetDeleteGuard(EndpointDeleteGuard(endpoints_.get()));
  Result<int64_t> deleted = registry_->DeleteGroup("housing", true);
  ASSERT_FALSE(deleted.ok());
  EXPECT_THAT(deleted.status().message(), HasSubstr("deployed on endpoint 'prod'"));
  ASSERT_TRUE(endpoints_->Delete("prod").ok());
  EXPECT_TRUE(registry_->DeleteGroup("housing", true).ok());
}

// The runner serves a record and follows its updates; ten updates during load, no non-2xx.
TEST_F(DeploymentTest, RunnerHotSwapsRealModelsUnderLoad) {
  EndpointConfig config;
  config.name = "prod";
  config.variants = {{"AllTraffic", "housing", 1, 1.0}};
  ASSERT_TRUE(endpoints_->Create(config).ok());
  EndpointRunnerOptions options;
  options.endpoint = "prod";
  options.port = 0;
  options.workers = 2;
  auto runner = EndpointRunner::Start(options, endpoints_.get(), registry_.get(), artifacts_.get());
  ASSERT_TRUE(runner.ok()) << runner.status();
  EXPECT_EQ((*runner)->Refresh().value(), false);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int client_idx = 0; client_idx < 4; ++client_idx) {
    clients.emplace_back([&] {
      auto client = HttpClient::Connect("127.0.0.1", (*runner)->port());
      if (!client.ok()) {
        ++failed;
        return;
      }
      while (!stop.load()) {
        auto response = (*client)->Send("POST", "/invocations", {{"Content-Type", "text/csv"}},
                                        "A,B,C\n3,100,0\n");
        // Every answer is one of the two models: ~1030 or ~2030.
        const bool good = response.ok() && response->status == 200 &&
                          (response->body.rfind("10", 0) == 0 || response->body.rfind("20", 0) == 0);
        ++(good ? ok : failed);
      }
    });
  }
  for (int update_idx = 0; update_idx < 10; ++update_idx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int64_t version = update_idx % 2 == 0 ? 2 : 1;
    ASSERT_TRUE(endpoints_->Update("prod", {{"AllTraffic", "housing", version, 1.0}}).ok());
    auto swapped = (*runner)->Refresh();
    ASSERT_TRUE(swapped.ok()) << swapped.status();
    EXPECT_TRUE(*swapped);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 50);
  EXPECT_EQ((*runner)->config().revision, 11);

  // A broken update keeps the current models serving.
  ASSERT_TRUE(endpoints_->Update("prod", {{"AllTraffic", "housing", 9, 1.0}}).ok());
  EXPECT_FALSE((*runner)->Refresh().ok());
  auto client = HttpClient::Connect("127.0.0.1", (*runner)->port());
  ASSERT_TRUE(client.ok());
  auto response = (*client)->Send("POST", "/invocations", {{"Content-Type", "text/csv"}}, "3,100,0");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("x-raypipe-model"), "housing:1");
  (*runner)->Shutdown(std::chrono::milliseconds(1000));
}

TEST_F(DeploymentTest, RunnerFailsFastOnMissingRecordOrBundle) {
  EndpointRunnerOptions options;
  options.endpoint = "missing";
  options.port = 0;
  EXPECT_EQ(EndpointRunner::Start(options, endpoints_.get(), registry_.get(), artifacts_.get())
                .status()
                .code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace raypipe::serving
