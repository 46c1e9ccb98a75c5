#include "serving/http_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "serving/http_client.h"

namespace raypipe::serving {
namespace {

using ::testing::HasSubstr;

// Echoes the body; /slow sleeps first (for drain tests).
std::unique_ptr<HttpServer> StartEcho(HttpServerOptions options = {}) {
  options.port = 0;
  if (options.workers == 0) options.workers = 2;
  auto server = HttpServer::Start(options, [](const HttpRequest& request, HttpResponse& response) {
    if (request.path == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (request.path == "/throw") throw std::runtime_error("boom");
    response.body = request.method + " " + request.target + " " + request.body;
  });
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

std::unique_ptr<HttpClient> Connect(const HttpServer& server) {
  auto client = HttpClient::Connect("127.0.0.1", server.port());
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST(YieldPolicyTest, PausesAfterLongYieldsInAWindowAndTriesAgainLater) {
  using std::chrono::microseconds;
  YieldPolicy policy;
  YieldPolicy::Clock::time_point now{};
  // `long_ones` of a window of yields kept the loop off its CPU (the first ones); the rest
  // came back at once.
  auto window = [&](int long_ones) {
    for (int i = 0; i < YieldPolicy::kWindow; ++i) {
      EXPECT_TRUE(policy.ShouldYield(now)) << i;
      const auto took = i < long_ones ? YieldPolicy::kLongYield : microseconds(20);
      policy.Yielded(now, now + took);
      now += took + microseconds(100);
    }
  };
  window(0);
  window(YieldPolicy::kLongInWindow - 1);  // a client's thread now and then: keeps yielding
  EXPECT_TRUE(policy.ShouldYield(now));
  window(YieldPolicy::kLongInWindow);  // a CPU-bound neighbour: pauses
  EXPECT_FALSE(policy.ShouldYield(now));
  EXPECT_FALSE(policy.ShouldYield(now + YieldPolicy::kPause - microseconds(200)));
  now += YieldPolicy::kPause;
  EXPECT_TRUE(policy.ShouldYield(now));
  window(0);  // the neighbour is gone: yields go on
  EXPECT_TRUE(policy.ShouldYield(now));
}

TEST(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  auto server = StartEcho();
  auto client = Connect(*server);
  for (int request_idx = 0; request_idx < 50; ++request_idx) {
    auto response = client->Send("POST", "/x?q=1", {}, "body" + std::to_string(request_idx));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "POST /x?q=1 body" + std::to_string(request_idx));
  }
}

TEST(HttpServerTest, PipelinedRequestsAnswerInOrder) {
  auto server = StartEcho();
  auto client = Connect(*server);
  auto first = client->SendRaw(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->body, "GET /a ");
  auto second = client->SendRaw("");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "POST /b hi");
}

TEST(HttpServerTest, BodyOverLimitIs413WithoutReadingIt) {
  HttpServerOptions options;
  options.max_body_bytes = 100;
  auto server = StartEcho(options);
  auto client = Connect(*server);
  auto response = client->SendRaw("POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 413);
  EXPECT_THAT(response->body, HasSubstr("exceeds the limit of 100 bytes"));
  EXPECT_EQ(response->Header("connection"), "close");
}

TEST(HttpServerTest, ExpectContinueGetsInterimAnswer) {
  auto server = StartEcho();
  auto client = Connect(*server);
  // The client skips the interim 100 and reads the final answer.
  auto response = client->SendRaw(
      "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "POST /x abc");
}

TEST(HttpServerTest, MalformedRequestsGetErrorsNotCrashes) {
  auto server = StartEcho();
  for (const std::string raw :
       {"garbage\r\n\r\n", "GET /x HTTP/2.0\r\n\r\n", "GET /x HTTP/1.1\r\nno colon\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    auto client = Connect(*server);
    auto response = client->SendRaw(raw);
    ASSERT_TRUE(response.ok()) << raw << ": " << response.status();
    EXPECT_GE(response->status, 400) << raw;
  }
  auto client = Connect(*server);
  auto thrown = client->Send("GET", "/throw");
  ASSERT_TRUE(thrown.ok());
  EXPECT_EQ(thrown->status, 500);
}

TEST(HttpServerTest, HeadersOverLimitAre431) {
  HttpServerOptions options;
  options.max_header_bytes = 256;
  auto server = StartEcho(options);
  auto client = Connect(*server);
  auto response = client->SendRaw("GET /x HTTP/1.1\r\nX: " + std::string(400, 'a') + "\r\n\r\n");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 431);
}

TEST(HttpServerTest, ConnectionCloseIsHonoured) {
  auto server = StartEcho();
  auto client = Connect(*server);
  auto response = client->Send("GET", "/x", {{"Connection", "close"}});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_FALSE(client->Send("GET", "/x").ok());
}

TEST(HttpServerTest, ShutdownDrainsRequestInFlight) {
  auto server = StartEcho();
  auto client = Connect(*server);
  std::atomic<int> status{0};
  std::thread request([&] {
    auto response = client->Send("GET", "/slow");
    status = response.ok() ? response->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Shutdown(std::chrono::milliseconds(5000));
  request.join();
  EXPECT_EQ(status.load(), 200);
  EXPECT_FALSE(HttpClient::Connect("127.0.0.1", server->port()).ok());
}

TEST(HttpServerTest, ABurstOfConnectionsIsSpreadEvenlyOverTheLoops) {
  // Which loop thread answered each connection's one request.
  std::mutex mutex;  // guards requests_per_loop
  std::map<std::thread::id, int> requests_per_loop;
  HttpServerOptions options;
  options.port = 0;
  options.workers = 4;
  auto server = HttpServer::Start(options, [&](const HttpRequest&, HttpResponse& response) {
    std::lock_guard<std::mutex> lock(mutex);
    ++requests_per_loop[std::this_thread::get_id()];
    response.body = "ok";
  });
  ASSERT_TRUE(server.ok()) << server.status();
  // 64 connections opened at once queue up in the backlog, where one woken loop accepts them
  // all: without the hand-off to the least-loaded loop, one loop kept most of them.
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int client_idx = 0; client_idx < 64; ++client_idx) {
    clients.push_back(Connect(**server));
    ASSERT_NE(clients.back(), nullptr);
  }
  for (auto& client : clients) {
    auto response = client->Send("GET", "/x");
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
  }
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(requests_per_loop.size(), 4u);
  int fewest = 64;
  int most = 0;
  for (const auto& [loop, requests] : requests_per_loop) {
    fewest = std::min(fewest, requests);
    most = std::max(most, requests);
  }
  // 16 each; two loops accepting at the same moment may both pick the same least-loaded loop.
  EXPECT_LE(most - fewest, 2) << "fewest " << fewest << ", most " << most;
}

TEST(HttpServerTest, BadHostAndBusyPortAreErrors) {
  HttpServerOptions options;
  options.host = "not-an-ip";
  EXPECT_EQ(HttpServer::Start(options, [](const HttpRequest&, HttpResponse&) {}).status().code(),
            StatusCode::kInvalidArgument);
  auto server = StartEcho();
  HttpServerOptions same;
  same.port = server->port();
  auto second = HttpServer::Start(same, [](const HttpRequest&, HttpResponse&) {});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("cannot bind"));
}

}  // namespace
}  // namespace raypipe::serving
