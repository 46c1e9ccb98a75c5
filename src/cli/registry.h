#pragma once

// The command tree. Registration is explicit: main() calls one Register<Module>Commands(registry)
// per module (no static self-registration), each of which adds its groups and commands here.
//
//   CommandRegistry registry;
//   RETURN_IF_ERROR(registry.AddGroup("datasets", "Generate sample data sets"));
//   RETURN_IF_ERROR(registry.Add(CommandSpec{.path = "datasets housing", ...}));
//
// Thread-compatible: register everything first, then read it from any number of threads.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "core/status.h"

namespace raypipe::cli {

// A node of the tree: the root (empty path), a group (has children), or a command (has a spec
// and no children).
class CommandNode {
 public:
  const std::vector<std::string>& path() const { return path_; }
  // "raypipe datasets housing" for the program name "raypipe".
  std::string FullName(std::string_view program) const;
  const std::string& summary() const { return summary_; }
  bool is_command() const { return command_ != nullptr; }
  // REQUIRES: is_command().
  const CommandSpec& command() const { return *command_; }
  // Children by name, sorted.
  const std::map<std::string, std::unique_ptr<CommandNode>, std::less<>>& children() const {
    return children_;
  }
  // The child named `name`, or nullptr.
  const CommandNode* Child(std::string_view name) const;

 private:
  friend class CommandRegistry;
  std::vector<std::string> path_;
  std::string summary_;
  std::unique_ptr<CommandSpec> command_;
  std::map<std::string, std::unique_ptr<CommandNode>, std::less<>> children_;
};

class CommandRegistry {
 public:
  CommandRegistry();
  CommandRegistry(const CommandRegistry&) = delete;
  CommandRegistry& operator=(const CommandRegistry&) = delete;

  // Declares the group at `path` ("datasets", "featurestore", "execution") with its one-line
  // summary. Groups also come into being implicitly when a command below them is added.
  // Errors: InvalidArgument for a malformed path, AlreadyExists when `path` is a command or a
  // group that already has a summary.
  Status AddGroup(std::string_view path, std::string summary);

  // Adds a command. Errors (InvalidArgument / AlreadyExists) name the command and the field:
  // a malformed path or flag name, a flag that repeats a global option, duplicate flags or
  // arguments, a default that does not parse as its type or breaks its bounds, a required flag
  // with a default, a variadic argument that is not last, a path that is taken, a missing handler.
  Status Add(CommandSpec spec);

  const CommandNode& root() const { return *root_; }

 private:
  Result<CommandNode*> NodeFor(const std::vector<std::string>& path, std::string_view what);

  std::unique_ptr<CommandNode> root_;
};

// The names that global options take; a command may not declare a flag with one of them.
bool IsReservedFlagName(std::string_view name);

// Splits "datasets housing" into its words; InvalidArgument names a malformed word (words are
// lower-case letters, digits and '-', starting with a letter).
Result<std::vector<std::string>> SplitCommandPath(std::string_view path);

}  // namespace raypipe::cli
