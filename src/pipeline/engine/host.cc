#include "pipeline/engine/host.h"

#include <filesystem>
#include <utility>

#include "pipeline/steps/command_step.h"
#include "store/home.h"

namespace raypipe::pipeline {

EngineHost::~EngineHost() = default;

Result<std::unique_ptr<EngineHost>> EngineHost::Open(EngineHostOptions options) {
  std::unique_ptr<EngineHost> host(new EngineHost());
  std::error_code ec;
  host->home_ = std::filesystem::absolute(options.home.empty() ? ".raypipe" : options.home, ec)
                    .lexically_normal()
                    .string();
  ASSIGN_OR_RETURN(host->metadata_, store::OpenHomeMetadata(host->home_));
  ASSIGN_OR_RETURN(host->artifacts_, store::OpenHomeArtifacts(host->home_));
  if (options.register_kernels) RETURN_IF_ERROR(options.register_kernels(host->kernels_));
  if (options.open_executor) {
    ASSIGN_OR_RETURN(host->executor_, options.open_executor(host->kernels_));
  } else {
    compute::LocalExecutorOptions executor_options;
    executor_options.registry = &host->kernels_;
    ASSIGN_OR_RETURN(host->executor_, compute::LocalExecutor::Open(executor_options));
  }
  RETURN_IF_ERROR(
      host->runners_.Register(std::make_unique<CommandStepRunner>(options.command_stop_grace)));
  if (options.register_runners) RETURN_IF_ERROR(options.register_runners(host->runners_));

  EngineOptions engine_options;
  engine_options.home = host->home_;
  engine_options.metadata = host->metadata_.get();
  engine_options.artifacts = host->artifacts_.get();
  engine_options.executor = host->executor_.get();
  engine_options.runners = &host->runners_;
  engine_options.poll_interval = options.poll_interval;
  engine_options.retry_interval_scale = options.retry_interval_scale;
  engine_options.on_event = std::move(options.on_event);
  ASSIGN_OR_RETURN(host->engine_, Engine::Create(std::move(engine_options)));
  return host;
}

}  // namespace raypipe::pipeline
