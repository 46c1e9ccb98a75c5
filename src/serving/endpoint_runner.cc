#include "serving/endpoint_runner.h"

#include "serving/deployment.h"

namespace raypipe::serving {

Result<std::unique_ptr<EndpointRunner>> EndpointRunner::Start(
    EndpointRunnerOptions options, const EndpointStore* endpoints,
    const registry::ModelRegistry* registry, store::ArtifactStore* artifacts) {
  std::unique_ptr<EndpointRunner> runner(new EndpointRunner(endpoints, registry, artifacts));
  ASSIGN_OR_RETURN(runner->config_, endpoints->Get(options.endpoint));
  // Load before binding, so a bad bundle fails fast and /ping is 200 from the first moment.
  ASSIGN_OR_RETURN(std::vector<Variant> variants,
                   LoadVariants(*registry, *artifacts, runner->config_.variants));
  EndpointServerOptions server_options;
  server_options.http.host = options.host.value_or(runner->config_.host);
  server_options.http.port = options.port.value_or(runner->config_.port);
  server_options.http.workers = options.workers;
  server_options.http.max_body_bytes = options.max_body_bytes;
  server_options.auth_token = std::move(options.auth_token);
  ASSIGN_OR_RETURN(runner->server_, EndpointServer::Start(std::move(server_options)));
  RETURN_IF_ERROR(runner->server_->Swap(std::move(variants)));
  return runner;
}

Result<bool> EndpointRunner::Refresh() {
  ASSIGN_OR_RETURN(EndpointConfig latest, endpoints_->Get(config_.name));
  if (latest.revision == config_.revision) return false;
  ASSIGN_OR_RETURN(std::vector<Variant> variants,
                   LoadVariants(*registry_, *artifacts_, latest.variants));
  RETURN_IF_ERROR(server_->Swap(std::move(variants)));
  config_ = std::move(latest);
  return true;
}

}  // namespace raypipe::serving
