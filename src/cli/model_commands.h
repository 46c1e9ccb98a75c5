#pragma once

// `raypipe model ...`: the model registry (registry/model_registry.h).
//
//   raypipe model groups
//   raypipe model versions GROUP [--status S]
//   raypipe model describe GROUP VERSION
//   raypipe model approve|reject GROUP VERSION [--description TEXT]
//   raypipe model delete-group GROUP [--force]
//   raypipe model register GROUP --model-dir DIR [--metrics FILE] [--description TEXT] ...
//     Copies a model bundle directory (ml/model_bundle.h) into the artifact store and registers
//     it as the group's next version.

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// Adds the `model` group and its commands. Errors only for a declaration bug.
Status RegisterModelCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
