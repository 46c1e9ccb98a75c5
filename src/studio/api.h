#pragma once

// The studio's API routes, grouped by what they read. Internal to studio/: studio.cc builds
// the context and registers every group on one Router.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "experiments/experiment_store.h"
#include "featurestore/feature_store.h"
#include "pipeline/engine/host.h"
#include "registry/model_registry.h"
#include "serving/endpoint_store.h"
#include "studio/router.h"

namespace raypipe::studio {

// Runs executions on threads of this process. Thread-safe.
class ExecutionLauncher {
 public:
  explicit ExecutionLauncher(pipeline::Engine* engine) : engine_(engine) {}
  ~ExecutionLauncher();  // StopAll()

  // Runs the execution (started or prepared for retry) to its end on a new thread.
  void Launch(const std::string& execution_id);
  // Asks every execution still running here to stop, then joins the threads. Idempotent.
  void StopAll();

 private:
  struct Run {
    std::string execution_id;
    std::shared_ptr<std::atomic<bool>> done;  // set by the thread as it ends
    std::thread thread;
  };

  pipeline::Engine* const engine_;
  std::mutex mutex_;  // guards runs_ and stopped_
  std::vector<Run> runs_;  // finished ones are joined at the next Launch
  bool stopped_ = false;
};

// What the handlers read and change. Nothing owned.
struct ApiContext {
  pipeline::EngineHost* host = nullptr;
  experiments::ExperimentStore* experiments = nullptr;
  registry::ModelRegistry* registry = nullptr;
  serving::EndpointStore* endpoints = nullptr;
  featurestore::FeatureStore* features = nullptr;
  ExecutionLauncher* launcher = nullptr;
};

// /api/pipelines, /api/executions (with steps, logs, cache explanations, lineage).
Status AddPipelineRoutes(Router& router, const ApiContext& context);
// /api/experiments, /api/runs, /api/compare, /api/tuning-jobs.
Status AddExperimentRoutes(Router& router, const ApiContext& context);
// /api/model-groups, /api/endpoints, /api/feature-groups.
Status AddRegistryRoutes(Router& router, const ApiContext& context);
// /api/health and /api/openapi.json (described from the router's table).
Status AddMetaRoutes(Router& router);

// The OpenAPI 3.0 document of every route of `router`.
nlohmann::json OpenApiDocument(const Router& router);

}  // namespace raypipe::studio
