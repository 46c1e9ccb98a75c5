#pragma once

// What a command declares (its path, flags, positional arguments, handler) and what its handler
// receives (ParsedArgs). The framework validates every flag against its declaration before the
// handler runs, so a handler reads typed values without checking them again.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace raypipe::cli {

class CommandContext;
class ParsedArgs;

// Exit codes of the `raypipe` command (DESIGN.md section 10).
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed
inline constexpr int kExitUsage = 2;    // the command line was wrong; nothing was done

// The type of a flag's value; the parser rejects a value that does not parse as this type.
enum class FlagType {
  kBool,    // --flag (true) or --flag=true|false; never consumes the next argument
  kString,  // any text, including "-" and text that starts with "-"
  kInt64,   // a decimal integer
  kUint64,  // a non-negative decimal integer (e.g. a seed)
  kDouble,  // a finite decimal number
};

// A flag's declaration. Build one with the factories and the chainable setters (GCC warns about
// designated initializers that leave members out):
//   FlagSpec::Value("rows", FlagType::kInt64, "N", "Rows to generate").Default("10000").Min(1)
struct FlagSpec {
  static FlagSpec Value(std::string name, FlagType type, std::string value_name,
                        std::string help);
  static FlagSpec Bool(std::string name, std::string help);

  FlagSpec Default(std::string value) &&;
  FlagSpec Required() &&;
  FlagSpec Repeated() &&;
  FlagSpec Min(double bound) &&;
  FlagSpec Max(double bound) &&;
  FlagSpec OneOf(std::vector<std::string> values) &&;

  std::string name;        // without the dashes: "rows" is given as --rows
  FlagType type = FlagType::kString;
  std::string value_name;  // shown in help ("N", "FILE"); empty: derived from the type
  std::string help;        // one line
  bool required = false;   // REQUIRES: a required flag has no default_value
  std::optional<std::string> default_value;  // text, parsed like a given value
  bool repeated = false;   // may be given several times (--param A=1 --param B=2)
  std::optional<double> min_value;  // numeric flags: inclusive bounds
  std::optional<double> max_value;
  std::vector<std::string> choices;  // kString: when not empty, the only values accepted
};

struct ArgSpec {
  static ArgSpec Required(std::string name, std::string help);
  static ArgSpec Optional(std::string name, std::string help);
  ArgSpec Variadic() &&;

  std::string name;        // shown in help, upper case by convention: "FILE"
  std::string help;        // one line
  bool required = true;    // REQUIRES: required arguments come before optional ones
  bool variadic = false;   // takes every remaining argument; REQUIRES: the last one
};

// A command's handler returns the process exit code (kExitSuccess, kExitFailure, kExitUsage).
using Handler = std::function<int(CommandContext&, const ParsedArgs&)>;

struct CommandSpec {
  std::string path;        // words separated by single spaces: "datasets housing"
  std::string summary;     // one line, shown in the parent's command list
  std::string description; // paragraphs shown by --help; may be empty
  std::vector<FlagSpec> flags;
  std::vector<ArgSpec> args;
  std::vector<std::string> examples;  // full command lines, shown by --help
  Handler handler;
  // Runs with malloc's transparent huge pages (core/huge_pages.h). Only `raypipe train`: one
  // XGBoost training measured 10-16% faster with them, while tuning (several jobs one after
  // another or at once) and ingestion measured 5-10% slower (src/ml/README.md).
  bool huge_pages = false;
};

// The values of one invocation's flags and positional arguments, already validated against the
// CommandSpec. Asking for a flag or an argument the spec does not declare, or with the wrong
// type, is a programmer error (asserted; release builds answer the type's zero value).
// Thread-compatible.
class ParsedArgs {
 public:
  ParsedArgs() = default;

  // True when the flag was given on the command line (a default does not count).
  bool Has(std::string_view flag) const;

  // The flag's value: the last one given, else its default, else the type's zero value.
  bool GetBool(std::string_view flag) const;
  std::string GetString(std::string_view flag) const;
  int64_t GetInt64(std::string_view flag) const;
  uint64_t GetUint64(std::string_view flag) const;
  double GetDouble(std::string_view flag) const;

  // Every value of a repeated flag, in command-line order (the default when none was given).
  std::vector<std::string> GetAll(std::string_view flag) const;

  // A positional argument by its declared name: the value, or "" when an optional one is
  // absent. For a variadic argument, GetArgs answers every value.
  std::string GetArg(std::string_view name) const;
  std::vector<std::string> GetArgs(std::string_view name) const;

  // Used by the parser.
  void SetFlagType(const std::string& flag, FlagType type, std::optional<std::string> fallback);
  void AddFlagValue(const std::string& flag, std::string value);
  void AddArg(const std::string& name, std::string value);

 private:
  struct FlagValues {
    FlagType type = FlagType::kString;
    std::optional<std::string> fallback;  // the declared default
    std::vector<std::string> given;       // validated text, command-line order
  };
  const FlagValues* Find(std::string_view flag, FlagType type) const;
  std::optional<std::string> Last(std::string_view flag, FlagType type) const;

  std::map<std::string, FlagValues, std::less<>> flags_;
  std::map<std::string, std::vector<std::string>, std::less<>> args_;
};

// Parses `text` as a value of `type` (for kBool: true/false/1/0/yes/no). Used by the parser and
// by ParsedArgs; the answer is nullopt when the text is not such a value.
std::optional<bool> ParseBool(std::string_view text);
std::optional<int64_t> ParseInt64(std::string_view text);
std::optional<uint64_t> ParseUint64(std::string_view text);
std::optional<double> ParseDouble(std::string_view text);

// OK when `value` is acceptable for `flag` (parses as its type, within its bounds, one of its
// choices); else InvalidArgument naming the flag, the value and what was expected.
Status CheckFlagValue(const FlagSpec& flag, std::string_view value);

// "N" for numbers, "TEXT" for strings, "" for booleans; a declared value_name wins.
std::string ValueName(const FlagSpec& flag);

}  // namespace raypipe::cli
