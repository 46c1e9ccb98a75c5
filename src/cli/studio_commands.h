#pragma once

// `raypipe studio [--port 8000] [--host 127.0.0.1] [--auth-token-file F]`: the REST API and the
// web UI over --home (DESIGN.md section 8), in the foreground until SIGTERM or Ctrl-C.

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// Adds "studio". AlreadyExists when called twice.
Status RegisterStudioCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
