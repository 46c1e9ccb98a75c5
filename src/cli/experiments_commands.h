#pragma once

// `raypipe experiments ...`: experiments, runs and their metrics (experiments/).
//
//   raypipe experiments list
//   raypipe experiments runs EXPERIMENT [--metric NAME]
//   raypipe experiments show RUN [--metric NAME]
//   raypipe experiments compare RUN...

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// Adds the `experiments` group and its commands. Errors only for a declaration bug.
Status RegisterExperimentsCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
