#pragma once

// The identity of this build of the `raypipe` command.

#include <string_view>

#include "cli/help.h"

namespace raypipe::cli {

// The project's version (CMake's PROJECT_VERSION), e.g. "0.1.0".
std::string_view RaypipeVersion();

// The program name, version, root-help description and built-in backends of `raypipe`.
AppInfo RaypipeAppInfo();

}  // namespace raypipe::cli
