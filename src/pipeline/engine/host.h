#pragma once

// Everything an engine needs under one RAYPIPE_HOME, opened together: the metadata store
// (home/metadata.db), the artifact store (home/artifacts), an executor (a LocalExecutor unless
// options.open_executor says otherwise) with its kernels, the step runners
// (Command always; others through `register_runners`) and the Engine. For the CLI, tests and
// benchmarks.
//
//   EngineHostOptions options;
//   options.home = ".raypipe";
//   ASSIGN_OR_RETURN(auto host, EngineHost::Open(options));
//   ASSIGN_OR_RETURN(std::string id, host->engine().StartExecution(request));
//
// Thread-safe as the Engine is. Owns everything it opened.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "compute/kernel.h"
#include "compute/local_executor.h"
#include "pipeline/engine/engine.h"
#include "store/artifact_store.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::pipeline {

struct EngineHostOptions {
  std::string home;
  // Adds runners beyond Command (Training, RegisterModel, ...). May be empty.
  std::function<Status(StepRunnerRegistry&)> register_runners;
  // Adds the kernels the runners submit to the executor (ingestion parts, training trials).
  // May be empty.
  std::function<Status(compute::KernelRegistry&)> register_kernels;
  // Opens the executor over the filled kernel registry. Empty: a LocalExecutor on this
  // machine's CPUs.
  std::function<Result<std::unique_ptr<compute::Executor>>(const compute::KernelRegistry&)>
      open_executor;
  std::function<void(const StepEvent&)> on_event;
  std::chrono::milliseconds poll_interval{200};
  double retry_interval_scale = 1.0;
  // Seconds between SIGTERM and SIGKILL when a Command step is stopped.
  std::chrono::milliseconds command_stop_grace{5000};
};

class EngineHost {
 public:
  static Result<std::unique_ptr<EngineHost>> Open(EngineHostOptions options);
  ~EngineHost();

  Engine& engine() { return *engine_; }
  store::MetadataStore& metadata() { return *metadata_; }
  store::ArtifactStore& artifacts() { return *artifacts_; }
  const std::string& home() const { return home_; }

 private:
  EngineHost() = default;

  std::string home_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<store::ArtifactStore> artifacts_;
  compute::KernelRegistry kernels_;
  std::unique_ptr<compute::Executor> executor_;
  StepRunnerRegistry runners_;
  std::unique_ptr<Engine> engine_;  // declared last: destroyed first
};

}  // namespace raypipe::pipeline
