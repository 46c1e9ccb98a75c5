// Fuzzes the command-line parser and the output renderers: the input is split at NUL bytes into
// arguments and run against a registry that declares every kind of flag and argument. Whatever
// the arguments, RunCommandLine must answer an exit code (never crash, never throw).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/command.h"
#include "cli/context.h"
#include "cli/registry.h"

namespace {

using raypipe::cli::ArgSpec;
using raypipe::cli::CommandContext;
using raypipe::cli::CommandRegistry;
using raypipe::cli::CommandSpec;
using raypipe::cli::FlagSpec;
using raypipe::cli::FlagType;
using raypipe::cli::ParsedArgs;

void Register(CommandRegistry& registry) {
  if (!registry.AddGroup("group", "A group").ok()) std::abort();
  CommandSpec all;
  all.path = "group all";
  all.summary = "Every kind of flag";
  all.flags.push_back(FlagSpec::Value("int", FlagType::kInt64, "N", "").Default("1").Min(-5));
  all.flags.push_back(FlagSpec::Value("uint", FlagType::kUint64, "N", "").Max(1e6));
  all.flags.push_back(FlagSpec::Value("real", FlagType::kDouble, "X", ""));
  all.flags.push_back(FlagSpec::Value("text", FlagType::kString, "T", "").Required());
  all.flags.push_back(FlagSpec::Value("many", FlagType::kString, "T", "").Repeated());
  all.flags.push_back(FlagSpec::Value("pick", FlagType::kString, "", "").OneOf({"a", "b"}));
  all.flags.push_back(FlagSpec::Bool("yes", ""));
  all.args.push_back(ArgSpec::Required("FIRST", ""));
  all.args.push_back(ArgSpec::Optional("REST", "").Variadic());
  all.handler = [](CommandContext& context, const ParsedArgs& args) {
    std::vector<raypipe::cli::Row> rows;
    for (const std::string& value : args.GetAll("many")) {
      rows.push_back({value, args.GetBool("yes")});
    }
    for (const std::string& value : args.GetArgs("REST")) rows.push_back({value, nullptr});
    rows.push_back({args.GetString("text"), args.GetInt64("int"), args.GetUint64("uint"),
                    args.GetDouble("real"), args.GetString("pick"), args.GetArg("FIRST")});
    context.PrintTable({"a", "b", "c", "d", "e", "f"}, rows);
    return 0;
  };
  if (!registry.Add(std::move(all)).ok()) std::abort();
  CommandSpec leaf;
  leaf.path = "leaf";
  leaf.summary = "A top-level command";
  leaf.handler = [](CommandContext& context, const ParsedArgs&) {
    context.PrintObject({{"home", context.options().home.string()}});
    return 0;
  };
  if (!registry.Add(std::move(leaf)).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  std::string current;
  for (size_t byte_idx = 0; byte_idx < size; ++byte_idx) {
    if (data[byte_idx] == 0) {
      args.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[byte_idx]));
    }
  }
  args.push_back(std::move(current));

  CommandRegistry registry;
  Register(registry);
  raypipe::cli::AppInfo info;
  info.version = "0.0.0";
  std::ostringstream out, err;
  raypipe::cli::RunEnvironment env{
      out, err, [](const std::string&) -> std::optional<std::string> { return "home"; }, "/w"};
  int exit_code = raypipe::cli::RunCommandLine(registry, info, args, env);
  if (exit_code < 0 || exit_code > 2) std::abort();
  // A usage error always explains itself on the error stream.
  if (exit_code == 2 && err.str().rfind("raypipe: error: ", 0) != 0) std::abort();
  return 0;
}
