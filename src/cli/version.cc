#include "cli/version.h"

#include "cli/executor_options.h"

#ifndef RAYPIPE_VERSION
#error "RAYPIPE_VERSION must be defined by the build (src/cli/CMakeLists.txt)"
#endif

namespace raypipe::cli {

std::string_view RaypipeVersion() { return RAYPIPE_VERSION; }

AppInfo RaypipeAppInfo() {
  AppInfo info;
  info.program = "raypipe";
  info.version = std::string(RaypipeVersion());
  info.description =
      "raypipe: self-hosted machine-learning pipelines in the style of SageMaker Pipelines.";
  // The Ray backend (compute/ray) is not built yet; --executor ray is refused until it is.
  info.executors = BuiltExecutors();
  return info;
}

}  // namespace raypipe::cli
