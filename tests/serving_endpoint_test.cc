// Endpoints end to end: model bundles trained through ml, registered in the registry, deployed
// with the `raypipe endpoint` commands (in process), served by the `raypipe serve` binary (a
// subprocess that must drain and exit 0 on SIGTERM) and invoked over loopback HTTP.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/endpoint_commands.h"
#include "cli/registry.h"
#include "core/ids.h"
#include "registry/model_registry.h"
#include "serving/http_client.h"
#include "serving/test_bundle.h"
#include "serving/test_util.h"
#include "store/artifact_store.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe {
namespace {

using ::testing::HasSubstr;

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

using serving::testing::FreePort;

class ServingEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() / core::NewId("serving-e2e");
    std::filesystem::create_directories(home_);
    store::SqliteOptions metadata_options;
    metadata_options.path = (home_ / "metadata.db").string();
    auto metadata = store::SqliteMetadataStore::Open(metadata_options);
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    store::ArtifactStoreOptions artifact_options;
    artifact_options.root = (home_ / "artifacts").string();
    auto artifacts = store::ArtifactStore::Open(artifact_options);
    ASSERT_TRUE(artifacts.ok()) << artifacts.status();
    auto registry = registry::ModelRegistry::Open(metadata->get());
    ASSERT_TRUE(registry.ok()) << registry.status();
    // housing:1 (offset 1000) and housing:2 (offset 2000), both pending.
    for (int version = 1; version <= 2; ++version) {
      const std::filesystem::path bundle = home_ / ("bundle" + std::to_string(version));
      ASSERT_TRUE(serving::WriteTestBundle(bundle, 1000.0f * static_cast<float>(version)).ok());
      auto artifact = (*artifacts)->PutFile(bundle.string());
      ASSERT_TRUE(artifact.ok()) << artifact.status();
      registry::RegisterRequest request;
      request.group = "housing";
      request.model_artifact = artifact->digest;
      ASSERT_TRUE((*registry)->RegisterVersion(request).ok());
    }
    registry_ = std::move(*registry);
    metadata_ = std::move(*metadata);
  }
  void TearDown() override {
    registry_.reset();
    metadata_.reset();
    std::filesystem::remove_all(home_);
  }

  void Approve(int64_t version) {
    ASSERT_TRUE(registry_
                    ->UpdateApprovalStatus("housing", version,
                                           registry::ApprovalStatus::kApproved, "")
                    .ok());
  }

  Outcome Run(std::vector<std::string> args) {
    cli::CommandRegistry registry;
    EXPECT_TRUE(cli::RegisterEndpointCommands(registry).ok());
    cli::AppInfo info;
    std::ostringstream out, err;
    args.insert(args.begin(), {"--home", home_.string()});
    cli::RunEnvironment env{out, err, [](const std::string&) { return std::nullopt; }, home_};
    const int exit_code = cli::RunCommandLine(registry, info, args, env);
    return {exit_code, out.str(), err.str()};
  }

  // Starts `raypipe serve NAME` and waits until /ping answers 200.
  pid_t StartServe(const std::string& name, int port) {
    const std::string binary = RAYPIPE_BINARY_DIR "/bin/raypipe";
    const std::string home = home_.string();
    const std::string port_text = std::to_string(port);
    const pid_t pid = ::fork();
    if (pid == 0) {
      const std::string log = (home_ / "serve.log").string();
      FILE* file = std::freopen(log.c_str(), "w", stderr);
      (void)file;
      ::execl(binary.c_str(), binary.c_str(), "--home", home.c_str(), "serve", name.c_str(),
              "--port", port_text.c_str(), "--workers", "2", "--poll-interval-ms", "50",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto client = serving::HttpClient::Connect("127.0.0.1", port);
      if (client.ok()) {
        auto ping = (*client)->Send("GET", "/ping");
        if (ping.ok() && ping->status == 200) return pid;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "raypipe serve did not come up on port " << port;
    return pid;
  }

  std::filesystem::path home_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<registry::ModelRegistry> registry_;
};

TEST_F(ServingEndpointTest, OnlyApprovedVersionsDeployUnlessAllowed) {
  Outcome refused = Run({"endpoint", "create", "prod", "--model-package", "housing:1"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("housing:1 is PendingManualApproval"));
  Outcome none = Run({"endpoint", "create", "prod", "--model-package", "housing"});
  EXPECT_EQ(none.exit_code, 1);

  Outcome allowed = Run({"endpoint", "create", "dev", "--model-package", "housing:2",
                         "--allow-unapproved"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;

  Approve(1);
  Outcome created = Run({"--output", "json", "endpoint", "create", "prod", "--model-package",
                         "housing", "--port", "9123"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  nlohmann::json record = nlohmann::json::parse(created.out);
  EXPECT_EQ(record["variants"][0]["model_package"], "housing:1");
  EXPECT_EQ(record["url"], "http://127.0.0.1:9123");

  Outcome twice = Run({"endpoint", "create", "prod", "--model-package", "housing:1"});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_THAT(twice.err, HasSubstr("already exists"));
  Outcome usage = Run({"endpoint", "create", "x"});
  EXPECT_EQ(usage.exit_code, 2);
}

TEST_F(ServingEndpointTest, ListDescribeUpdateDelete) {
  Approve(1);
  Approve(2);
  ASSERT_EQ(Run({"endpoint", "create", "ab", "--variant", "Blue=housing:1:3", "--variant",
                 "Green=housing:2:1"})
                .exit_code,
            0);
  Outcome list = Run({"endpoint", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("Blue=housing:1 (75%), Green=housing:2 (25%)"));

  Outcome weights = Run({"endpoint", "update", "ab", "--weight", "Blue=1"});
  ASSERT_EQ(weights.exit_code, 0) << weights.err;
  Outcome describe = Run({"--output", "json", "endpoint", "describe", "ab"});
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  nlohmann::json record = nlohmann::json::parse(describe.out);
  EXPECT_EQ(record["revision"], 2);
  EXPECT_EQ(record["variants"][0]["traffic"], 0.5);
  EXPECT_EQ(record["status"], "NotServing");

  EXPECT_EQ(Run({"endpoint", "update", "ab", "--weight", "Red=1"}).exit_code, 1);
  EXPECT_EQ(Run({"endpoint", "update", "ab"}).exit_code, 2);
  EXPECT_EQ(Run({"endpoint", "delete", "ab"}).exit_code, 0);
  Outcome gone = Run({"endpoint", "describe", "ab"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, HasSubstr("endpoint 'ab' does not exist"));
}

TEST_F(ServingEndpointTest, ServeInvokeUpdateAndDrainOnSigterm) {
  Approve(1);
  Approve(2);
  const int port = FreePort();
  ASSERT_EQ(Run({"endpoint", "create", "prod", "--model-package", "housing:1", "--port",
                 std::to_string(port)})
                .exit_code,
            0);
  Outcome not_served = Run({"endpoint", "invoke", "prod", "--body", "3,100,0"});
  EXPECT_EQ(not_served.exit_code, 1);
  EXPECT_THAT(not_served.err, HasSubstr("raypipe serve prod"));

  const pid_t pid = StartServe("prod", port);
  Outcome invoked = Run({"endpoint", "invoke", "prod", "--body", "3,100,0"});
  ASSERT_EQ(invoked.exit_code, 0) << invoked.err;
  EXPECT_NEAR(std::stod(invoked.out), 1030.0, 2.0);
  Outcome json = Run({"endpoint", "invoke", "prod", "--content-type", "application/json",
                      "--body", R"({"dataframe_split": {"columns": ["C","B","A"], "data": [[0,100,7]]}})"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NEAR(nlohmann::json::parse(json.out)["predictions"][0].get<double>(), 1070.0, 2.0);
  Outcome bad = Run({"endpoint", "invoke", "prod", "--body", "3,x,0"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("answered 400: row 1, column 2 (B)"));
  EXPECT_EQ(Run({"--output", "json", "endpoint", "describe", "prod"}).out.find("InService") !=
                std::string::npos,
            true);

  // An update reaches the running server within its poll interval.
  ASSERT_EQ(Run({"endpoint", "update", "prod", "--model-package", "housing:2"}).exit_code, 0);
  std::string answer;
  for (int attempt = 0; attempt < 100; ++attempt) {
    answer = Run({"endpoint", "invoke", "prod", "--body", "3,100,0"}).out;
    if (answer.rfind("20", 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NEAR(std::stod(answer), 2030.0, 2.0);
  auto client = serving::HttpClient::Connect("127.0.0.1", port);
  ASSERT_TRUE(client.ok());
  auto metrics = (*client)->Send("GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(metrics->body, HasSubstr("model=\"housing:2\""));

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Issue 6's rollout test through the real binary: ten `endpoint update`s during ten seconds of
// load on keep-alive connections, and not one answer other than 200.
TEST_F(ServingEndpointTest, TenUpdatesDuringTenSecondsOfLoadFailNoRequest) {
  Approve(1);
  Approve(2);
  const int port = FreePort();
  ASSERT_EQ(Run({"endpoint", "create", "prod", "--model-package", "housing:1", "--port",
                 std::to_string(port)})
                .exit_code,
            0);
  const pid_t pid = StartServe("prod", port);

  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, failed{0}, from_v1{0}, from_v2{0};
  std::vector<std::thread> clients;
  for (int client_idx = 0; client_idx < 4; ++client_idx) {
    clients.emplace_back([&] {
      auto client = serving::HttpClient::Connect("127.0.0.1", port);
      if (!client.ok()) {
        ++failed;
        return;
      }
      while (!stop.load()) {
        auto response = (*client)->Send("POST", "/invocations", {{"Content-Type", "text/csv"}},
                                        "3,100,0\n");
        if (!response.ok() || response->status != 200) {
          ++failed;
          continue;
        }
        ++answered;
        ++(response->Header("x-raypipe-model") == "housing:1" ? from_v1 : from_v2);
      }
    });
  }
  for (int update_idx = 0; update_idx < 10; ++update_idx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    const std::string version = update_idx % 2 == 0 ? "housing:2" : "housing:1";
    EXPECT_EQ(Run({"endpoint", "update", "prod", "--model-package", version}).exit_code, 0);
  }
  // The server picks the last update up within its poll interval plus a model load (longer
  // under sanitizers and load): the clients go on until it has, for at most 20 s.
  const std::string kAllSwaps = "raypipe_endpoint_model_swaps_total 11";
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto watcher = serving::HttpClient::Connect("127.0.0.1", port);
    if (watcher.ok()) {
      auto metrics = (*watcher)->Send("GET", "/metrics");
      if (metrics.ok() && metrics->body.find(kAllSwaps) != std::string::npos) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(from_v1.load(), 0);
  EXPECT_GT(from_v2.load(), 0);
  EXPECT_GT(answered.load(), 1000);

  auto client = serving::HttpClient::Connect("127.0.0.1", port);
  ASSERT_TRUE(client.ok());
  auto metrics = (*client)->Send("GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(metrics->body, HasSubstr(kAllSwaps));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace raypipe
