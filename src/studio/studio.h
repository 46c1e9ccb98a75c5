#pragma once

// The studio (DESIGN.md section 8): one process serving a JSON REST API over the stores under a
// RAYPIPE_HOME (/api/..., described by /api/openapi.json) and the web UI (static files from
// ui/, everything else). Executions started, stopped or retried through the API run in this
// process, each on its own thread, through the EngineHost; Shutdown asks the running ones to
// stop and waits for them.
//
//   StudioOptions options;
//   options.host_options.home = ".raypipe";
//   ASSIGN_OR_RETURN(auto studio, Studio::Start(std::move(options)));
//   ... studio->port() ...
//   studio->Shutdown();
//
// Thread-safe.

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"
#include "pipeline/engine/host.h"

namespace raypipe::studio {

struct StudioOptions {
  // The engine host to open (its `home` is the RAYPIPE_HOME every store is read from; its
  // runners are the step types executions started here can run).
  pipeline::EngineHostOptions host_options;
  std::string host = "127.0.0.1";  // address to bind; loopback by default
  int port = 8000;                 // 0 picks a free port
  int workers = 2;                 // HTTP event-loop threads
  // When not empty, calls that change state need `Authorization: Bearer <auth_token>`.
  std::string auth_token;
  // Where the UI's static files are; empty: the ui/ folder of the source tree this was built
  // from (RAYPIPE_STUDIO_UI_DIR).
  std::string ui_dir;
};

class Studio {
 public:
  // Opens every store, then binds. Unavailable when the port cannot be bound; NotFound when
  // the UI folder is missing.
  static Result<std::unique_ptr<Studio>> Start(StudioOptions options);
  ~Studio();
  Studio(const Studio&) = delete;
  Studio& operator=(const Studio&) = delete;

  int port() const;
  const std::string& ui_dir() const;

  // Stops accepting (answering requests in flight, up to `drain`), asks the executions
  // running in this process to stop and waits for them. Idempotent.
  void Shutdown(std::chrono::milliseconds drain = std::chrono::milliseconds(2000));

 private:
  struct State;
  explicit Studio(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace raypipe::studio
