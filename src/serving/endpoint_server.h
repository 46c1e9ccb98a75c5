#pragma once

// An endpoint's HTTP face, the SageMaker inference container contract:
//   GET  /ping         200 once a model is loaded, 503 before
//   POST /invocations  text/csv or application/json rows in (Content-Type), predictions out
//                      (Accept); 400 naming row/column and the feature order, 401 without the
//                      bearer token when one is configured, 406, 413 over the body limit, 415
//   GET  /metrics      Prometheus text (see metrics.h)
// A request may pick its variant with the X-Amzn-SageMaker-Target-Variant header; otherwise the
// variant is drawn by weight. Answers carry X-Raypipe-Variant and X-Raypipe-Model.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "serving/http_server.h"
#include "serving/metrics.h"
#include "serving/model_runtime.h"

namespace raypipe::serving {

struct EndpointServerOptions {
  HttpServerOptions http;  // host 127.0.0.1, port 8080, one worker per core, 6 MB bodies
  std::string auth_token;  // when not empty, /invocations needs "Authorization: Bearer <token>"
};

// Thread-safe.
class EndpointServer {
 public:
  // Starts serving; /ping answers 503 until the first Swap.
  static Result<std::unique_ptr<EndpointServer>> Start(EndpointServerOptions options);
  ~EndpointServer();

  // Installs new variants (see ModelRuntime::Swap); requests in flight finish on the old ones.
  Status Swap(std::vector<Variant> variants) { return runtime_.Swap(std::move(variants)); }

  int port() const { return http_->port(); }
  const Metrics& metrics() const { return metrics_; }
  const ModelRuntime& runtime() const { return runtime_; }

  // Drains (see HttpServer::Shutdown). Idempotent.
  void Shutdown(std::chrono::milliseconds drain);

 private:
  explicit EndpointServer(std::string auth_token);
  void Handle(const HttpRequest& request, HttpResponse& response);
  void Invoke(const HttpRequest& request, HttpResponse& response);
  uint64_t NextRandom();

  const std::string auth_token_;
  Metrics metrics_;
  ModelRuntime runtime_{&metrics_};
  std::atomic<uint64_t> random_state_{0x9e3779b97f4a7c15ULL};
  std::unique_ptr<HttpServer> http_;  // last: stops before the members it calls
};

}  // namespace raypipe::serving
