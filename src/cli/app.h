#pragma once

// The command-line front end: parses argv against the registry, handles the global options,
// --help and --version, and runs the chosen command's handler.
//
// Parsing rules: flags are `--name VALUE` or `--name=VALUE` (a value flag takes the next
// argument whatever it looks like, so `--out -` works); boolean flags are `--name` or
// `--name=true|false`; `--` ends the flags; a word that parses as a number ("-5") is an
// argument, not a flag. Global options may stand before or after the command path; a
// command's own flags follow its path. Unknown commands and flags get the nearest name as a
// suggestion. Every usage error prints "raypipe: error: <message>" and a hint to --help on the
// error stream and answers kExitUsage (2), before the handler runs.

#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/context.h"
#include "cli/help.h"
#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// Reads an environment variable; nullopt when unset. Injected so tests need not touch the real
// environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process around one invocation. The streams must outlive the call.
struct RunEnvironment {
  std::ostream& out;
  std::ostream& err;
  EnvLookup getenv;                         // RAYPIPE_HOME comes from here
  std::filesystem::path working_directory;  // a relative --home is resolved against it
  // Called with the command about to run, after parsing succeeded and before its handler;
  // main() re-executes there for CommandSpec::huge_pages. May be empty.
  std::function<void(const CommandSpec&)> before_handler = nullptr;
};

// The outcome of parsing, before anything runs.
struct Invocation {
  const CommandNode* node = nullptr;  // the deepest node the path reached (root at least)
  GlobalOptions options;
  ParsedArgs args;                    // meaningful when node is a command
  bool help = false;                  // --help / -h was given
  bool version = false;               // --version was given
  Status error;                       // the first usage error; OK when none
};

// Parses `args` (argv without the program name). Never fails hard: a usage error is in
// Invocation::error, with node set to where parsing stopped (for the --help hint). The error is
// not reported when --help was given (help wins), except for an unknown command.
Invocation ParseCommandLine(const CommandRegistry& registry, const AppInfo& info,
                            const std::vector<std::string>& args, const RunEnvironment& env);

// Parses and runs: help, version, a usage error (exit 2) or the command's handler (its exit
// code). Exceptions thrown by a handler propagate (main() has the one catch-all).
int RunCommandLine(const CommandRegistry& registry, const AppInfo& info,
                   const std::vector<std::string>& args, const RunEnvironment& env);

// EnvLookup over the process environment (std::getenv).
EnvLookup ProcessEnv();

}  // namespace raypipe::cli
