#include "cli/app.h"

#include <cstdlib>
#include <set>
#include <utility>

#include "cli/suggest.h"

namespace raypipe::cli {

namespace {

constexpr std::string_view kDefaultHome = ".raypipe";
constexpr std::string_view kHomeVariable = "RAYPIPE_HOME";

const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, std::string_view name) {
  for (const FlagSpec& flag : flags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

std::string JoinNames(const std::vector<std::string>& names, std::string_view separator) {
  std::string joined;
  for (const std::string& name : names) {
    if (!joined.empty()) joined += separator;
    joined += name;
  }
  return joined;
}

// HOST:PORT with a non-empty host and a port in 1..65535 (an IPv6 host is written [::1]:6379).
Status CheckHostPort(std::string_view address) {
  auto invalid = [&](std::string_view why) {
    return InvalidArgumentError("invalid value '" + std::string(address) +
                                "' for --ray-address: " + std::string(why));
  };
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return invalid("expected HOST:PORT");
  std::optional<int64_t> port = ParseInt64(address.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return invalid("the port must be 1 to 65535");
  return Status::Ok();
}

// Parsing as a small state machine over the arguments; one instance per call.
class Parser {
 public:
  Parser(const CommandRegistry& registry, const AppInfo& info, const std::vector<std::string>& args,
         const RunEnvironment& env)
      : info_(info), args_(args), env_(env), global_flags_(GlobalFlagSpecs()) {
    invocation_.node = &registry.root();
  }

  Invocation Run() {
    bool flags_ended = false;
    for (arg_idx_ = 0; arg_idx_ < args_.size(); ++arg_idx_) {
      const std::string& arg = args_[arg_idx_];
      if (!flags_ended && arg == "--") {
        flags_ended = true;
        continue;
      }
      bool is_flag = !flags_ended && arg.size() > 1 && arg.front() == '-' && !ParseDouble(arg);
      if (is_flag) {
        Flag(arg);
        continue;
      }
      if (!Word(arg)) return std::move(invocation_);  // an unknown command ends parsing
    }
    Finish();
    return std::move(invocation_);
  }

 private:
  std::string Where() const { return invocation_.node->FullName(info_.program); }

  void Record(Status status) {
    if (invocation_.error.ok()) invocation_.error = std::move(status);
  }

  // The value of a value flag: after '=' or the next argument. nullopt (and an error) if none.
  std::optional<std::string> TakeValue(std::string_view name,
                                       const std::optional<std::string>& inline_value) {
    if (inline_value) return inline_value;
    if (arg_idx_ + 1 < args_.size()) return args_[++arg_idx_];
    Record(InvalidArgumentError("flag --" + std::string(name) + " needs a value"));
    return std::nullopt;
  }

  void Flag(const std::string& arg) {
    if (arg == "-h" || arg == "--help") {
      invocation_.help = true;
      return;
    }
    if (arg == "--version") {
      invocation_.version = true;
      return;
    }
    if (arg[1] != '-') {
      Record(InvalidArgumentError("unknown flag '" + arg + "' for '" + Where() +
                                  "' (flags are spelled --name)"));
      return;
    }
    size_t equals = arg.find('=');
    std::string name = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    std::optional<std::string> inline_value;
    if (equals != std::string::npos) inline_value = arg.substr(equals + 1);

    if (name == "help" || name == "version") {
      Record(InvalidArgumentError("flag --" + name + " takes no value"));
      return;
    }
    if (const FlagSpec* global = FindFlag(global_flags_, name)) {
      std::optional<std::string> value = TakeValue(name, inline_value);
      if (value) Global(*global, *value);
      return;
    }
    const FlagSpec* flag = nullptr;
    if (invocation_.node->is_command()) flag = FindFlag(invocation_.node->command().flags, name);
    if (flag == nullptr) {
      UnknownFlag(name);
      return;
    }
    std::optional<std::string> value;
    if (flag->type == FlagType::kBool) {
      value = inline_value.value_or("true");
    } else {
      value = TakeValue(name, inline_value);
    }
    if (!value) return;
    if (Status status = CheckFlagValue(*flag, *value); !status.ok()) {
      Record(std::move(status));
      return;
    }
    if (!flag->repeated && !given_flags_.insert(name).second) {
      Record(InvalidArgumentError("flag --" + name + " given more than once"));
      return;
    }
    invocation_.args.AddFlagValue(name, std::move(*value));
  }

  void UnknownFlag(const std::string& name) {
    std::vector<std::string> candidates;
    for (const FlagSpec& flag : global_flags_) candidates.push_back(flag.name);
    if (invocation_.node->is_command()) {
      for (const FlagSpec& flag : invocation_.node->command().flags) {
        candidates.push_back(flag.name);
      }
    }
    std::string message = "unknown flag --" + name + " for '" + Where() + "'";
    std::string nearest = NearestName(name, candidates);
    if (!nearest.empty()) message += "; did you mean --" + nearest + "?";
    Record(InvalidArgumentError(message));
  }

  void Global(const FlagSpec& flag, const std::string& value) {
    if (!given_globals_.insert(flag.name).second) {
      Record(InvalidArgumentError("flag --" + flag.name + " given more than once"));
      return;
    }
    if (Status status = CheckFlagValue(flag, value); !status.ok()) {
      Record(std::move(status));
      return;
    }
    GlobalOptions& options = invocation_.options;
    if (flag.name == "home") {
      if (value.empty()) {
        Record(InvalidArgumentError("flag --home needs a directory, not an empty value"));
        return;
      }
      home_ = value;
    } else if (flag.name == "output") {
      options.output = value == "json" ? OutputFormat::kJson : OutputFormat::kTable;
    } else if (flag.name == "executor") {
      options.executor = value == "ray" ? ExecutorKind::kRay : ExecutorKind::kLocal;
    } else if (flag.name == "ray-address") {
      if (Status status = CheckHostPort(value); !status.ok()) {
        Record(std::move(status));
        return;
      }
      options.ray_address = value;
    } else if (flag.name == "ray-cpus") {
      std::optional<double> cpus = ParseDouble(value);
      if (!cpus || !(*cpus > 0)) {
        Record(InvalidArgumentError("invalid value '" + value +
                                    "' for --ray-cpus: expected a positive number of CPUs"));
        return;
      }
      options.ray_cpus = *cpus;
    }
  }

  // A word: the next step of the command path, or a positional argument of the command.
  // Answers false when parsing must stop (an unknown command).
  bool Word(const std::string& word) {
    const CommandNode* node = invocation_.node;
    if (node->is_command()) {
      positionals_.push_back(word);
      return true;
    }
    const CommandNode* child = node->Child(word);
    if (child == nullptr) {
      std::vector<std::string> names;
      for (const auto& [name, unused] : node->children()) names.push_back(name);
      std::string message = "unknown command '" + word + "' for '" + Where() + "'";
      std::string nearest = NearestName(word, names);
      if (!nearest.empty()) message += "; did you mean '" + nearest + "'?";
      // Help cannot be shown for a command that does not exist: the error wins.
      Record(InvalidArgumentError(message));  // an earlier error explains this one better
      invocation_.help = false;
      invocation_.version = false;
      return false;
    }
    invocation_.node = child;
    if (child->is_command()) {
      for (const FlagSpec& flag : child->command().flags) {
        invocation_.args.SetFlagType(flag.name, flag.type, flag.default_value);
      }
    }
    return true;
  }

  void Finish() {
    GlobalOptions& options = invocation_.options;
    std::filesystem::path home{std::string(kDefaultHome)};
    if (home_) {
      home = *home_;
    } else if (std::optional<std::string> from_env = env_.getenv(std::string(kHomeVariable));
               from_env && !from_env->empty()) {
      home = *from_env;
    }
    if (home.is_relative()) home = env_.working_directory / home;
    options.home = home.lexically_normal();

    if (invocation_.help || invocation_.version) {
      invocation_.error = Status::Ok();  // help and version answer whatever else is wrong
      return;
    }
    if (!invocation_.error.ok()) return;
    const CommandNode* node = invocation_.node;
    if (!node->is_command()) {
      std::vector<std::string> names;
      for (const auto& [name, unused] : node->children()) names.push_back(name);
      Record(InvalidArgumentError("'" + Where() + "' needs a command: " + JoinNames(names, ", ")));
      return;
    }
    AssignPositionals(node->command());
    for (const FlagSpec& flag : node->command().flags) {
      if (flag.required && !invocation_.args.Has(flag.name)) {
        Record(InvalidArgumentError("missing required flag --" + flag.name));
      }
    }
    if (!options.ray_address.empty() && options.executor != ExecutorKind::kRay) {
      Record(InvalidArgumentError("--ray-address is used only with --executor ray"));
    }
    if (options.ray_cpus && options.executor != ExecutorKind::kRay) {
      Record(InvalidArgumentError("--ray-cpus is used only with --executor ray"));
    }
    std::string executor(ExecutorKindName(options.executor));
    bool built = false;
    for (const std::string& name : info_.executors) built = built || name == executor;
    if (!built) {
      Record(InvalidArgumentError("--executor " + executor +
                                  ": the commands of this raypipe do not run on that executor "
                                  "yet (available: " +
                                  JoinNames(info_.executors, ", ") + ")"));
    }
  }

  void AssignPositionals(const CommandSpec& spec) {
    size_t given_idx = 0;
    for (const ArgSpec& arg : spec.args) {
      if (given_idx == positionals_.size()) {
        if (arg.required) Record(InvalidArgumentError("missing argument " + arg.name));
        continue;
      }
      do {
        invocation_.args.AddArg(arg.name, positionals_[given_idx++]);
      } while (arg.variadic && given_idx < positionals_.size());
    }
    if (given_idx < positionals_.size()) {
      Record(InvalidArgumentError("unexpected argument '" + positionals_[given_idx] + "' for '" +
                                  Where() + "'"));
    }
  }

  const AppInfo& info_;
  const std::vector<std::string>& args_;
  const RunEnvironment& env_;
  const std::vector<FlagSpec> global_flags_;
  size_t arg_idx_ = 0;
  Invocation invocation_;
  std::optional<std::string> home_;  // --home as given
  std::set<std::string, std::less<>> given_flags_;
  std::set<std::string, std::less<>> given_globals_;
  std::vector<std::string> positionals_;
};

}  // namespace

Invocation ParseCommandLine(const CommandRegistry& registry, const AppInfo& info,
                            const std::vector<std::string>& args, const RunEnvironment& env) {
  return Parser(registry, info, args, env).Run();
}

int RunCommandLine(const CommandRegistry& registry, const AppInfo& info,
                   const std::vector<std::string>& args, const RunEnvironment& env) {
  Invocation invocation = ParseCommandLine(registry, info, args, env);
  const std::string command = invocation.node->FullName(info.program);
  if (!invocation.error.ok()) {
    PrintUsageError(env.err, info.program, command, invocation.error.message());
    return kExitUsage;
  }
  if (invocation.help) {
    env.out << RenderHelp(*invocation.node, info);
    env.out.flush();
    return kExitSuccess;
  }
  if (invocation.version) {
    if (invocation.options.output == OutputFormat::kJson) {
      env.out << FormatJson({{"name", info.program}, {"version", info.version}});
    } else {
      env.out << info.program << " " << info.version << "\n";
    }
    env.out.flush();
    return kExitSuccess;
  }
  const CommandSpec& spec = invocation.node->command();
  if (env.before_handler) env.before_handler(spec);
  CommandContext context(std::move(invocation.options), env.out, env.err, info.program, command);
  return spec.handler(context, invocation.args);
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace raypipe::cli
