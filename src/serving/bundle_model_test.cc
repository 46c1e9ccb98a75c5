// BundleModel's fallback to XGBoost's own predict (issue 6): compiled trees answer only when they
// agree with XGBoost, and a model the compiler cannot or does not faithfully compile is still
// served, with XGBoost's answers, over real HTTP.

#include <atomic>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/ids.h"
#include "ml/model_bundle.h"
#include "serving/deployment.h"
#include "serving/endpoint_server.h"
#include "serving/http_client.h"
#include "serving/test_bundle.h"

namespace raypipe::serving {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Raw rows of A, B, C (the last with A missing) and the same as a CSV body.
const std::vector<float> kRows = {3, 700, 1, 7, 0, -2, 9, 1200, 0, NAN, 100, 2};
constexpr size_t kNumRows = 4;
constexpr std::string_view kCsvBody = "3,700,1\n7,0,-2\n9,1200,0\n,100,2\n";

class BundleModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / core::NewId("serving-bundle-model-test");
    const Status served = WriteTestBundle(dir_ / "served", 1000.0f);
    ASSERT_TRUE(served.ok()) << served;
    // Same features and scaler layout, other leaves: trees that must never answer for "served".
    const Status other = WriteTestBundle(dir_ / "other", 5000.0f);
    ASSERT_TRUE(other.ok()) << other;
    auto bundle = ml::LoadModelBundle(dir_ / "served");
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    // XGBoost's own answers for the rows (preprocessing applied): what the server must return.
    auto expected = ml::PredictRows(*bundle, kRows, kNumRows);
    ASSERT_TRUE(expected.ok()) << expected.status();
    expected_ = *expected;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A compiler that builds the trees of the "other" bundle, whatever it is given.
  TreeCompiler OtherModelsTrees() {
    return [dir = dir_](const ml::Booster&) -> Result<std::unique_ptr<const TreeEnsemble>> {
      ASSIGN_OR_RETURN(ml::ModelBundle other, ml::LoadModelBundle(dir / "other"));
      return TreeEnsemble::Build(*other.booster);
    };
  }

  static std::unique_ptr<EndpointServer> StartServer(std::shared_ptr<const Model> model) {
    EndpointServerOptions options;
    options.http.port = 0;
    options.http.workers = 2;
    auto server = EndpointServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    EXPECT_TRUE((*server)->Swap({MakeVariant(std::move(model))}).ok());
    return std::move(*server);
  }

  static Variant MakeVariant(std::shared_ptr<const Model> model) {
    Variant variant;
    variant.name = "AllTraffic";
    variant.model_version = "housing:1";
    variant.model = std::move(model);
    return variant;
  }

  // Serves `model` on loopback and returns the predictions for kCsvBody.
  std::vector<float> PredictOverHttp(std::shared_ptr<const Model> model) {
    std::unique_ptr<EndpointServer> server = StartServer(std::move(model));
    if (server == nullptr) return {};
    auto client = HttpClient::Connect("127.0.0.1", server->port());
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return {};
    std::vector<float> out = Post(**client);
    server->Shutdown(std::chrono::seconds(1));
    return out;
  }

  // POSTs kCsvBody and returns the predictions (empty after a failure).
  static std::vector<float> Post(HttpClient& client) {
    auto response =
        client.Send("POST", "/invocations", {{"Content-Type", "text/csv"}}, kCsvBody);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    EXPECT_EQ(response->status, 200) << response->body;
    if (response->status != 200) return {};
    std::vector<float> out;
    std::string_view body = response->body;
    while (!body.empty()) {
      const size_t end = body.find('\n');
      const std::string_view line = body.substr(0, end);
      float value = 0;
      auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
      EXPECT_TRUE(ec == std::errc() && ptr == line.data() + line.size()) << line;
      out.push_back(value);
      body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    }
    return out;
  }

  std::filesystem::path dir_;
  std::vector<float> expected_;
};

TEST_F(BundleModelTest, CompilesAModelItSupportsAndAnswersLikeXGBoost) {
  auto model = BundleModel::Load(dir_ / "served");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->compiled());
  EXPECT_THAT((*model)->fallback_reason(), IsEmpty());
  auto predictions = (*model)->Predict(kRows, kNumRows);
  ASSERT_TRUE(predictions.ok()) << predictions.status();
  ASSERT_EQ(predictions->size(), kNumRows);
  for (size_t row_idx = 0; row_idx < kNumRows; ++row_idx) {
    EXPECT_NEAR((*predictions)[row_idx], expected_[row_idx], 1e-5 * std::fabs(expected_[row_idx]));
  }
  // The model learned y = 1000 + 10 * A.
  EXPECT_NEAR(expected_[0], 1030.0, 2.0);
  EXPECT_NEAR(expected_[2], 1090.0, 2.0);
}

TEST_F(BundleModelTest, TreesThatDisagreeWithXGBoostFallBackToXGBoost) {
  // The injected trees really do answer differently: served unchecked, they would be wrong.
  auto wrong = OtherModelsTrees()(*ml::LoadModelBundle(dir_ / "served")->booster);
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  std::vector<float> scaled_zero(3, 0.0f);
  float wrong_answer = 0;
  (*wrong)->Predict(scaled_zero, 1, &wrong_answer);
  EXPECT_GT(wrong_answer, 4000.0f);

  BundleModelOptions options;
  options.compiler = OtherModelsTrees();
  auto model = BundleModel::Load(dir_ / "served", options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->compiled());
  EXPECT_THAT((*model)->fallback_reason(), HasSubstr("XGBoost predicts"));
  EXPECT_THAT((*model)->fallback_reason(), HasSubstr("probe row"));
  EXPECT_EQ(PredictOverHttp(*model), expected_);
}

TEST_F(BundleModelTest, AnUnavailableCompilerFallsBackToXGBoost) {
  BundleModelOptions options;
  options.compiler = [](const ml::Booster&) -> Result<std::unique_ptr<const TreeEnsemble>> {
    return UnimplementedError("no compiled trees for this model");
  };
  auto model = BundleModel::Load(dir_ / "served", options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->compiled());
  EXPECT_EQ((*model)->fallback_reason(), "no compiled trees for this model");
  EXPECT_EQ(PredictOverHttp(*model), expected_);
}

TEST_F(BundleModelTest, ACompilerReturningNothingFallsBackToXGBoost) {
  BundleModelOptions options;
  options.compiler = [](const ml::Booster&) -> Result<std::unique_ptr<const TreeEnsemble>> {
    return std::unique_ptr<const TreeEnsemble>();
  };
  auto model = BundleModel::Load(dir_ / "served", options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->compiled());
  EXPECT_THAT((*model)->fallback_reason(), HasSubstr("returned no model"));
  EXPECT_EQ(PredictOverHttp(*model), expected_);
}

TEST_F(BundleModelTest, AModelTheCompilerDoesNotSupportIsServedByXGBoost) {
  // DART keeps per-tree weights the compiler does not read: it must not compile.
  const Status written = WriteTestBundle(dir_ / "dart", 1000.0f, {{"booster", "dart"}});
  ASSERT_TRUE(written.ok()) << written;
  auto bundle = ml::LoadModelBundle(dir_ / "dart");
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  auto expected = ml::PredictRows(*bundle, kRows, kNumRows);
  ASSERT_TRUE(expected.ok()) << expected.status();

  auto model = BundleModel::Load(dir_ / "dart");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->compiled());
  EXPECT_THAT((*model)->fallback_reason(), HasSubstr("dart"));
  EXPECT_EQ(PredictOverHttp(*model), *expected);
  EXPECT_NEAR((*expected)[0], 1030.0, 2.0);
}

TEST_F(BundleModelTest, HotSwapsBetweenCompiledAndFallbackModelsUnderLoad) {
  auto compiled = BundleModel::Load(dir_ / "served");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_TRUE((*compiled)->compiled());
  BundleModelOptions options;
  options.compiler = OtherModelsTrees();
  auto fallback = BundleModel::Load(dir_ / "served", options);
  ASSERT_TRUE(fallback.ok()) << fallback.status();
  ASSERT_FALSE((*fallback)->compiled());
  std::unique_ptr<EndpointServer> server = StartServer(*compiled);
  ASSERT_NE(server, nullptr);

  // Two clients post while the endpoint swaps between the two paths; every answer must be
  // XGBoost's (the compiled path agrees to 1e-5, the fallback is XGBoost itself).
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int client_idx = 0; client_idx < 2; ++client_idx) {
    clients.emplace_back([&] {
      auto client = HttpClient::Connect("127.0.0.1", server->port());
      if (!client.ok()) {
        wrong.fetch_add(1);
        return;
      }
      while (!stop.load()) {
        const std::vector<float> predictions = Post(**client);
        bool right = predictions.size() == kNumRows;
        for (size_t row_idx = 0; right && row_idx < kNumRows; ++row_idx) {
          right = std::fabs(predictions[row_idx] - expected_[row_idx]) <=
                  1e-5f * std::fabs(expected_[row_idx]);
        }
        (right ? answered : wrong).fetch_add(1);
      }
    });
  }
  for (int swap_idx = 0; swap_idx < 10; ++swap_idx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    const std::shared_ptr<const Model> next =
        swap_idx % 2 == 0 ? std::shared_ptr<const Model>(*fallback) : *compiled;
    EXPECT_TRUE(server->Swap({MakeVariant(next)}).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  stop.store(true);
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(answered.load(), 10);
  server->Shutdown(std::chrono::seconds(1));
}

}  // namespace
}  // namespace raypipe::serving
