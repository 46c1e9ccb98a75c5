#pragma once

// `raypipe endpoint create | list | describe | update | delete | invoke` and `raypipe serve`:
// real-time endpoints over registered model packages (DESIGN.md sections 7 and 10).

#include <string>

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// The bearer token in --auth-token-file `path` (of `serve` and `studio`), trailing newlines and
// spaces removed. NotFound when the file cannot be read, InvalidArgument when it is empty.
Result<std::string> ReadTokenFile(const std::string& path);

// Adds the "endpoint" group and its commands, and "serve". AlreadyExists when called twice.
Status RegisterEndpointCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
