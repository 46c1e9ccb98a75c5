#pragma once

// Runs one endpoint record: loads its variants' model bundles, serves them, and follows the
// record: Refresh() reloads when `raypipe endpoint update` bumped the revision and swaps the new
// models in while requests keep flowing. `raypipe serve NAME` is this plus signal handling.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "registry/model_registry.h"
#include "serving/endpoint_server.h"
#include "serving/endpoint_store.h"
#include "store/artifact_store.h"

namespace raypipe::serving {

struct EndpointRunnerOptions {
  std::string endpoint;             // the record's name
  std::optional<std::string> host;  // overrides the record's host
  std::optional<int> port;          // overrides the record's port (0: any free port)
  std::string auth_token;           // see EndpointServerOptions
  int workers = 0;                  // 0: one per core
  size_t max_body_bytes = 6 * 1024 * 1024;
};

// Not thread-safe: one thread calls Refresh and Shutdown (the server itself is concurrent).
class EndpointRunner {
 public:
  // The stores must outlive the runner. Fails (serving nothing) when the record is missing, a
  // bundle cannot be loaded or the port cannot be bound.
  static Result<std::unique_ptr<EndpointRunner>> Start(EndpointRunnerOptions options,
                                                       const EndpointStore* endpoints,
                                                       const registry::ModelRegistry* registry,
                                                       store::ArtifactStore* artifacts);

  // Reads the record; when its revision changed, loads the new variants and swaps them in.
  // Answers whether it swapped. On an error the current models keep serving. A port change
  // needs a restart and is ignored here.
  Result<bool> Refresh();

  int port() const { return server_->port(); }
  const EndpointConfig& config() const { return config_; }
  EndpointServer& server() { return *server_; }

  void Shutdown(std::chrono::milliseconds drain) { server_->Shutdown(drain); }

 private:
  EndpointRunner(const EndpointStore* endpoints, const registry::ModelRegistry* registry,
                 store::ArtifactStore* artifacts)
      : endpoints_(endpoints), registry_(registry), artifacts_(artifacts) {}

  const EndpointStore* endpoints_;
  const registry::ModelRegistry* registry_;
  store::ArtifactStore* artifacts_;
  EndpointConfig config_;  // the record now serving
  std::unique_ptr<EndpointServer> server_;
};

}  // namespace raypipe::serving
