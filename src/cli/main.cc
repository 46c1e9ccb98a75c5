// The `raypipe` command: registers every module's commands, then runs the command line.

#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "cli/app.h"
#include "cli/context.h"
#include "cli/datasets_commands.h"
#include "cli/endpoint_commands.h"
#include "cli/execution_commands.h"
#include "cli/experiments_commands.h"
#include "cli/featurestore_commands.h"
#include "cli/ml_commands.h"
#include "cli/model_commands.h"
#include "cli/pipeline_commands.h"
#include "cli/registry.h"
#include "cli/studio_commands.h"
#include "cli/version.h"
#include "core/huge_pages.h"
#include "core/logging.h"

namespace {

// Explicit registration, one call per module (no static self-registration); a failure here is a
// programmer error in a command's declaration.
raypipe::Status RegisterCommands(raypipe::cli::CommandRegistry& registry) {
  RETURN_IF_ERROR(raypipe::cli::RegisterDatasetsCommands(registry));
  RETURN_IF_ERROR(raypipe::cli::RegisterEndpointCommands(registry));
  RETURN_IF_ERROR(raypipe::cli::RegisterFeatureStoreCommands(registry));
  RETURN_IF_ERROR(raypipe::cli::RegisterExperimentsCommands(registry));
  RETURN_IF_ERROR(raypipe::cli::RegisterModelCommands(registry));
  RETURN_IF_ERROR(raypipe::cli::RegisterMlCommands(registry));
  RETURN_IF_ERROR(raypipe::cli::RegisterPipelineCommands(registry));
  RETURN_IF_ERROR(raypipe::cli::RegisterExecutionCommands(registry));
  RETURN_IF_ERROR(raypipe::cli::RegisterStudioCommands(registry));
  return raypipe::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  using raypipe::cli::PrintError;
  // The one catch-all (STYLE.md): library exceptions become a Status at their adapters; anything
  // that still escapes is a bug, reported as an internal error rather than an abort.
  try {
    raypipe::cli::AppInfo info = raypipe::cli::RaypipeAppInfo();
    raypipe::cli::CommandRegistry registry;
    if (raypipe::Status status = RegisterCommands(registry); !status.ok()) {
      PrintError(std::cerr, info.program, "internal: " + status.ToString());
      return raypipe::cli::kExitFailure;
    }
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    std::error_code error;
    std::filesystem::path working_directory = std::filesystem::current_path(error);
    if (error) {
      PrintError(std::cerr, info.program,
                 "cannot read the working directory: " + error.message());
      return raypipe::cli::kExitFailure;
    }
    raypipe::cli::RunEnvironment env{std::cout, std::cerr, raypipe::cli::ProcessEnv(),
                                     working_directory};
    env.before_handler = [argv](const raypipe::cli::CommandSpec& command) {
      if (command.huge_pages && raypipe::core::ReexecWithMallocHugePages(argv) ==
                                    raypipe::core::HugePages::kEnabled) {
        RAYPIPE_LOG(Debug) << "malloc uses transparent huge pages (glibc.malloc.hugetlb=1)";
      }
    };
    return raypipe::cli::RunCommandLine(registry, info, args, env);
  } catch (const std::exception& exception) {
    PrintError(std::cerr, "raypipe", std::string("internal: unexpected exception: ") +
                                         exception.what());
  } catch (...) {
    PrintError(std::cerr, "raypipe", "internal: unexpected exception of unknown type");
  }
  return raypipe::cli::kExitFailure;
}
