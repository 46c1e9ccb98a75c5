#pragma once

// The text `--help` prints, built from the registered tree so that it lists exactly the commands
// that exist.

#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/registry.h"

namespace raypipe::cli {

struct AppInfo {
  std::string program = "raypipe";  // the name used in usage lines and errors
  std::string version;              // "0.1.0"
  std::string description;          // the root help's opening paragraph
  std::vector<std::string> executors = {"local"};  // backends built into this binary
};

// The global options as flag declarations (for help and suggestions).
std::vector<FlagSpec> GlobalFlagSpecs();

// Help for the root, a group or a command: usage line, description, commands or flags and
// arguments, examples, global options. Lines stay within 100 columns where words allow.
std::string RenderHelp(const CommandNode& node, const AppInfo& info);

// "raypipe datasets housing --out FILE [--rows N] [--seed S]".
std::string UsageLine(const CommandNode& node, const AppInfo& info);

}  // namespace raypipe::cli
