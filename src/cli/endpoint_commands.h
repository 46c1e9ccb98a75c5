#pragma once

// `raypipe endpoint create | list | describe | update | delete | invoke` and `raypipe serve`:
// real-time endpoints over registered model packages (DESIGN.md sections 7 and 10).

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// Adds the "endpoint" group and its commands, and "serve". AlreadyExists when called twice.
Status RegisterEndpointCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
