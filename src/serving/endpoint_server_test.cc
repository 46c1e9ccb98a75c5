#include "serving/endpoint_server.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "serving/fake_model.h"
#include "serving/http_client.h"

namespace raypipe::serving {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kFeatures = {"A", "B", "C"};

Variant MakeVariant(std::string name, double weight, float bias) {
  Variant variant;
  variant.name = std::move(name);
  variant.weight = weight;
  variant.model_version = "g:" + std::to_string(static_cast<int>(bias));
  variant.model = std::make_shared<FakeModel>(kFeatures, bias);
  return variant;
}

class EndpointServerTest : public ::testing::Test {
 protected:
  void StartServer(std::string token = "") {
    EndpointServerOptions options;
    options.http.port = 0;
    options.http.workers = 2;
    options.http.max_body_bytes = 1000;
    options.auth_token = std::move(token);
    auto server = EndpointServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  HttpClientResponse Post(std::string_view content_type, std::string_view body,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto client = HttpClient::Connect("127.0.0.1", server_->port());
    EXPECT_TRUE(client.ok());
    headers.emplace_back("Content-Type", std::string(content_type));
    auto response = (*client)->Send("POST", "/invocations", headers, body);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : HttpClientResponse();
  }
  HttpClientResponse Get(std::string_view path) {
    auto client = HttpClient::Connect("127.0.0.1", server_->port());
    EXPECT_TRUE(client.ok());
    auto response = (*client)->Send("GET", path);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : HttpClientResponse();
  }

  std::unique_ptr<EndpointServer> server_;
};

TEST_F(EndpointServerTest, PingIs503UntilAModelIsLoaded) {
  StartServer();
  EXPECT_EQ(Get("/ping").status, 503);
  EXPECT_EQ(Post("text/csv", "1,2,3").status, 503);
  ASSERT_TRUE(server_->Swap({MakeVariant("AllTraffic", 1, 100)}).ok());
  EXPECT_EQ(Get("/ping").status, 200);
}

TEST_F(EndpointServerTest, CsvAndJsonInvocations) {
  StartServer();
  ASSERT_TRUE(server_->Swap({MakeVariant("AllTraffic", 1, 100)}).ok());
  HttpClientResponse csv = Post("text/csv", "1,2,3\n4,5,6\n");
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body, "106\n115\n");
  EXPECT_EQ(csv.Header("content-type"), "text/csv");
  EXPECT_EQ(csv.Header("x-raypipe-variant"), "AllTraffic");
  EXPECT_EQ(csv.Header("x-raypipe-model"), "g:100");

  HttpClientResponse header = Post("text/csv", "C,B,A\n3,2,1\n");
  EXPECT_EQ(header.body, "106\n");

  HttpClientResponse json = Post("application/json", R"({"instances": [[1,2,3]]})");
  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.body, R"({"predictions":[106]})");

  HttpClientResponse split =
      Post("application/json",
           R"({"dataframe_split": {"columns": ["C","A","B"], "data": [[3,1,2]]}})",
           {{"Accept", "text/csv"}});
  EXPECT_EQ(split.body, "106\n");
  EXPECT_EQ(split.Header("content-type"), "text/csv");
}

TEST_F(EndpointServerTest, BadInputGets4xxWithMessage) {
  StartServer();
  ASSERT_TRUE(server_->Swap({MakeVariant("AllTraffic", 1, 100)}).ok());
  HttpClientResponse count = Post("text/csv", "1,2\n");
  EXPECT_EQ(count.status, 400);
  EXPECT_THAT(count.body, HasSubstr("expected 3 (A,B,C)"));
  HttpClientResponse value = Post("text/csv", "1,2,3\n1,two,3\n");
  EXPECT_EQ(value.status, 400);
  EXPECT_THAT(value.body, HasSubstr("row 2, column 2 (B)"));
  EXPECT_EQ(Post("application/x-npy", "1,2,3").status, 415);
  EXPECT_EQ(Post("text/csv", "1,2,3", {{"Accept", "image/png"}}).status, 406);
  EXPECT_EQ(Post("text/csv", std::string(1001, '1')).status, 413);
  EXPECT_EQ(Get("/invocations").status, 405);
  EXPECT_EQ(Get("/nope").status, 404);
  EXPECT_EQ(Post("text/csv", "1,2,3", {{"X-Amzn-SageMaker-Target-Variant", "Z"}}).status, 400);
  const std::string metrics = Get("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("raypipe_endpoint_errors_total{variant=\"AllTraffic\",class=\"4xx\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("raypipe_endpoint_rejected_total{code=\"415\"} 1"));
}

TEST_F(EndpointServerTest, BearerTokenIsRequiredWhenConfigured) {
  StartServer("s3cret");
  ASSERT_TRUE(server_->Swap({MakeVariant("AllTraffic", 1, 0)}).ok());
  EXPECT_EQ(Post("text/csv", "1,2,3").status, 401);
  EXPECT_EQ(Post("text/csv", "1,2,3", {{"Authorization", "Bearer wrong!"}}).status, 401);
  EXPECT_EQ(Post("text/csv", "1,2,3", {{"Authorization", "Bearer s3cret"}}).status, 200);
  EXPECT_EQ(Get("/ping").status, 200);  // health checks need no token
}

TEST_F(EndpointServerTest, VariantsSplitTrafficAndCanBeTargeted) {
  StartServer();
  ASSERT_TRUE(
      server_->Swap({MakeVariant("Blue", 1, 0), MakeVariant("Green", 1, 1000)}).ok());
  auto client = HttpClient::Connect("127.0.0.1", server_->port());
  ASSERT_TRUE(client.ok());
  int green = 0;
  for (int request_idx = 0; request_idx < 400; ++request_idx) {
    auto response =
        (*client)->Send("POST", "/invocations", {{"Content-Type", "text/csv"}}, "1,2,3");
    ASSERT_TRUE(response.ok());
    if (response->Header("x-raypipe-variant") == "Green") ++green;
  }
  EXPECT_GT(green, 140);
  EXPECT_LT(green, 260);
  HttpClientResponse targeted =
      Post("text/csv", "1,2,3", {{"X-Amzn-SageMaker-Target-Variant", "Green"}});
  EXPECT_EQ(targeted.body, "1006\n");
  EXPECT_THAT(Get("/metrics").body, HasSubstr("model=\"g:1000\""));
}

// Ten swaps while clients hammer the endpoint over keep-alive: not one non-2xx answer, and
// every answer comes from one of the models that was installed.
TEST_F(EndpointServerTest, HotSwapUnderLoadFailsNoRequest) {
  StartServer();
  ASSERT_TRUE(server_->Swap({MakeVariant("AllTraffic", 1, 0)}).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int client_idx = 0; client_idx < 4; ++client_idx) {
    clients.emplace_back([&] {
      auto client = HttpClient::Connect("127.0.0.1", server_->port());
      if (!client.ok()) {
        ++failed;
        return;
      }
      while (!stop.load()) {
        auto response =
            (*client)->Send("POST", "/invocations", {{"Content-Type", "text/csv"}}, "1,2,3");
        if (response.ok() && response->status == 200 &&
            (response->body.size() >= 2)) {
          ++ok;
        } else {
          ++failed;
        }
      }
    });
  }
  for (int swap_idx = 1; swap_idx <= 10; ++swap_idx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(server_->Swap({MakeVariant("AllTraffic", 1, static_cast<float>(swap_idx))}).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  EXPECT_EQ(Post("text/csv", "1,2,3").body, "16\n");
  EXPECT_THAT(Get("/metrics").body, HasSubstr("raypipe_endpoint_model_swaps_total 11"));
}

}  // namespace
}  // namespace raypipe::serving
