#pragma once

// A small HTTP/1.1 server for the endpoint: keep-alive, pipelining, one epoll worker thread per
// core sharing one listening socket (each new connection goes to the loop serving the fewest),
// a body limit answered with 413 before the body is read, `Expect: 100-continue`, and a bounded
// drain on shutdown.
//
// Why not a library: cpp-httplib (Debian's 0.11) serves each keep-alive connection on a blocking
// pool thread, so 64 keep-alive clients need 64 threads, not one per core; Boost.Beast is not
// installed here. The request path is a few hundred lines and is covered by tests and a fuzzer.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"

namespace raypipe::serving {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/invocations?x=1"
  std::string path;    // target without the query: "/invocations"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;

  // The first header with this lower-case name, or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Called on a worker thread, concurrently from every worker; must be thread-safe. An exception
// escaping it becomes a 500.
using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

// The reason phrase of a status code ("Payload Too Large"); "Unknown" for others.
std::string_view ReasonPhrase(int status);

enum class YieldMode {
  kNever,
  // After every batch. Helps when the threads waiting for the core are clients that need it
  // briefly (wrk on the same 2 CPUs: p99 2.4 -> 0.7 ms at the same throughput); hurts when they
  // are CPU-bound (two busy loops beside the server: 109k -> 50k req/s), since they then keep
  // the core for a whole time slice.
  kAlways,
  // After every batch while yields come back quickly; see YieldPolicy.
  kAdaptive,
};

// YieldMode::kAdaptive for one event loop. A yield that kept the loop off its CPU for
// kLongYield or more means a CPU-bound thread took the core for its time slice; when
// kLongInWindow of a window of kWindow yields were long, the loop stops yielding for kPause, then
// tries again. (Yields to wrk's threads take tens of microseconds, to a busy loop 3-4 ms.)
// Not thread-safe: one per loop.
class YieldPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::microseconds kLongYield{1000};
  static constexpr int kWindow = 16;
  static constexpr int kLongInWindow = 4;
  static constexpr std::chrono::seconds kPause{1};

  bool ShouldYield(Clock::time_point now) const { return now >= paused_until_; }
  // A yield began at `start` and returned at `end`.
  void Yielded(Clock::time_point start, Clock::time_point end) {
    if (end - start >= kLongYield) ++long_yields_;
    if (++yields_ < kWindow) return;
    if (long_yields_ >= kLongInWindow) paused_until_ = end + kPause;
    yields_ = 0;
    long_yields_ = 0;
  }

 private:
  int yields_ = 0;
  int long_yields_ = 0;
  Clock::time_point paused_until_{};
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // address to bind; "0.0.0.0" for every interface
  int port = 8080;                 // 0 picks a free port (see HttpServer::port())
  int workers = 0;                 // event-loop threads; 0 = one per core
  size_t max_body_bytes = 6 * 1024 * 1024;  // larger Content-Length -> 413 (SageMaker's 6 MB)
  size_t max_header_bytes = 64 * 1024;      // request line + headers; larger -> 431
  std::chrono::milliseconds idle_timeout{60'000};  // an idle keep-alive connection is closed
  // Whether an event loop yields its CPU (sched_yield) after each batch of connection events,
  // so that the threads waiting for that core run before the next batch instead of after the
  // loop's time slice. See YieldPolicy and README.md.
  YieldMode yield_mode = YieldMode::kAdaptive;
};

// Thread-safe. Destruction shuts down with no drain.
class HttpServer {
 public:
  // Binds, listens and starts the workers. InvalidArgument for a bad host; Unavailable when the
  // port cannot be bound (naming host:port and the reason).
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  const HttpServerOptions& options() const { return options_; }

  // Stops accepting; requests already received (in full or in part) are answered, with
  // `Connection: close`, while idle connections close at once. Returns when every connection is
  // closed or `drain` has passed (then the rest are cut). Idempotent.
  void Shutdown(std::chrono::milliseconds drain);

 private:
  class Worker;
  HttpServer(HttpServerOptions options, HttpHandler handler, int listen_fd, int port);

  const HttpServerOptions options_;
  const HttpHandler handler_;
  int listen_fd_;  // closed by Shutdown
  const int port_;
  std::atomic<bool> shut_down_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace raypipe::serving
