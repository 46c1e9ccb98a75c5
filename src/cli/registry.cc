#include "cli/registry.h"

#include <set>
#include <utility>

namespace raypipe::cli {

namespace {

// Global options (app.h) and the built-in flags; commands may not shadow them, or the same
// spelling would mean two things depending on where it stands on the command line.
constexpr std::string_view kReservedFlags[] = {"home",        "output", "executor",
                                               "ray-address", "help",   "version"};

// Words and flag names share one shape, so every spelling a user types is lower-case kebab.
bool IsWord(std::string_view word) {
  if (word.empty() || word.front() < 'a' || word.front() > 'z') return false;
  for (char c : word) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return word.back() != '-';
}

std::string Join(const std::vector<std::string>& words) {
  std::string joined;
  for (const std::string& word : words) {
    if (!joined.empty()) joined += ' ';
    joined += word;
  }
  return joined;
}

Status CheckFlags(const CommandSpec& spec) {
  std::set<std::string, std::less<>> seen;
  for (const FlagSpec& flag : spec.flags) {
    std::string where = "command '" + spec.path + "', flag --" + flag.name;
    if (!IsWord(flag.name)) {
      return InvalidArgumentError(where + ": a flag name is lower-case letters, digits and '-'");
    }
    if (IsReservedFlagName(flag.name)) {
      return InvalidArgumentError(where + ": the name is taken by a global option");
    }
    if (!seen.insert(flag.name).second) {
      return AlreadyExistsError(where + ": declared twice");
    }
    if (flag.required && flag.default_value) {
      return InvalidArgumentError(where + ": a required flag cannot have a default");
    }
    if (flag.type == FlagType::kBool && (flag.required || flag.repeated)) {
      return InvalidArgumentError(where + ": a boolean flag is neither required nor repeated");
    }
    if (!flag.choices.empty() && flag.type != FlagType::kString) {
      return InvalidArgumentError(where + ": only string flags have choices");
    }
    if (flag.default_value) {
      RETURN_IF_ERROR(CheckFlagValue(flag, *flag.default_value).WithContext(where + " default"));
    }
  }
  return Status::Ok();
}

Status CheckArgs(const CommandSpec& spec) {
  std::set<std::string, std::less<>> seen;
  bool optional_seen = false;
  for (size_t arg_idx = 0; arg_idx < spec.args.size(); ++arg_idx) {
    const ArgSpec& arg = spec.args[arg_idx];
    std::string where = "command '" + spec.path + "', argument " + arg.name;
    if (arg.name.empty()) return InvalidArgumentError(where + ": the name is empty");
    if (!seen.insert(arg.name).second) return AlreadyExistsError(where + ": declared twice");
    if (arg.variadic && arg_idx + 1 != spec.args.size()) {
      return InvalidArgumentError(where + ": only the last argument may be variadic");
    }
    if (arg.required && optional_seen) {
      return InvalidArgumentError(where + ": a required argument follows an optional one");
    }
    optional_seen = optional_seen || !arg.required;
  }
  return Status::Ok();
}

}  // namespace

bool IsReservedFlagName(std::string_view name) {
  for (std::string_view reserved : kReservedFlags) {
    if (name == reserved) return true;
  }
  return false;
}

Result<std::vector<std::string>> SplitCommandPath(std::string_view path) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(' ', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view word = path.substr(start, end - start);
    if (!IsWord(word)) {
      return InvalidArgumentError("command path '" + std::string(path) + "': word '" +
                                  std::string(word) +
                                  "' is not lower-case letters, digits and '-' (one space "
                                  "between words)");
    }
    words.emplace_back(word);
    start = end + 1;
  }
  return words;
}

std::string CommandNode::FullName(std::string_view program) const {
  std::string name(program);
  for (const std::string& word : path_) name += " " + word;
  return name;
}

const CommandNode* CommandNode::Child(std::string_view name) const {
  auto it = children_.find(name);
  return it == children_.end() ? nullptr : it->second.get();
}

CommandRegistry::CommandRegistry() : root_(std::make_unique<CommandNode>()) {}

Result<CommandNode*> CommandRegistry::NodeFor(const std::vector<std::string>& path,
                                              std::string_view what) {
  CommandNode* node = root_.get();
  for (const std::string& word : path) {
    if (node->is_command()) {
      return AlreadyExistsError(std::string(what) + " '" + Join(path) + "': '" +
                                Join(node->path()) + "' is a command, not a group");
    }
    auto it = node->children_.find(word);
    if (it == node->children_.end()) {
      auto child = std::make_unique<CommandNode>();
      child->path_ = node->path_;
      child->path_.push_back(word);
      it = node->children_.emplace(word, std::move(child)).first;
    }
    node = it->second.get();
  }
  return node;
}

Status CommandRegistry::AddGroup(std::string_view path, std::string summary) {
  ASSIGN_OR_RETURN(std::vector<std::string> words, SplitCommandPath(path));
  ASSIGN_OR_RETURN(CommandNode * node, NodeFor(words, "group"));
  if (node->is_command()) {
    return AlreadyExistsError("group '" + std::string(path) + "': already a command");
  }
  if (!node->summary_.empty()) {
    return AlreadyExistsError("group '" + std::string(path) + "': declared twice");
  }
  node->summary_ = std::move(summary);
  return Status::Ok();
}

Status CommandRegistry::Add(CommandSpec spec) {
  ASSIGN_OR_RETURN(std::vector<std::string> words, SplitCommandPath(spec.path));
  if (!spec.handler) {
    return InvalidArgumentError("command '" + spec.path + "': no handler");
  }
  RETURN_IF_ERROR(CheckFlags(spec));
  RETURN_IF_ERROR(CheckArgs(spec));
  // Check before creating the node, so a rejected command leaves the tree as it was.
  const CommandNode* existing = root_.get();
  for (const std::string& word : words) {
    if (existing == nullptr || existing->is_command()) break;
    existing = existing->Child(word);
  }
  if (existing != nullptr && existing->path() == words) {
    return AlreadyExistsError("command '" + spec.path + "': the path is already " +
                              (existing->is_command() ? "a command" : "a group"));
  }
  ASSIGN_OR_RETURN(CommandNode * node, NodeFor(words, "command"));
  node->summary_ = spec.summary;
  node->command_ = std::make_unique<CommandSpec>(std::move(spec));
  return Status::Ok();
}

}  // namespace raypipe::cli
