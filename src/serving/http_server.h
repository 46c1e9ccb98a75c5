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

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // address to bind; "0.0.0.0" for every interface
  int port = 8080;                 // 0 picks a free port (see HttpServer::port())
  int workers = 0;                 // event-loop threads; 0 = one per core
  size_t max_body_bytes = 6 * 1024 * 1024;  // larger Content-Length -> 413 (SageMaker's 6 MB)
  size_t max_header_bytes = 64 * 1024;      // request line + headers; larger -> 431
  std::chrono::milliseconds idle_timeout{60'000};  // an idle keep-alive connection is closed
  // After each batch of connection events, an event loop yields its CPU (sched_yield), so the
  // threads waiting for that core run before the next batch instead of after the loop's time
  // slice. Helps when those threads are the clients (wrk on the same 2 cores: p99 ~4.6 ms ->
  // ~2 ms, same throughput); hurts when they are CPU-bound neighbours (compilers on the same
  // cores: throughput fell from ~75k to 15k-49k req/s), hence off by default. See README.md.
  bool yield_between_batches = false;
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
