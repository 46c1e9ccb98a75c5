#include "cli/command.h"

#include <cassert>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>

namespace raypipe::cli {

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  return std::nullopt;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  // from_chars accepts neither a leading '+' nor whitespace, which is the strictness wanted:
  // "10x", " 10" and "" are all rejected rather than read as a prefix.
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseUint64(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> ParseDouble(std::string_view text) {
  // strtod rather than from_chars<double>: the latter is missing from some libstdc++ builds the
  // project must compile with. The copy gives strtod its terminating NUL.
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

namespace {

// Bounds are declared as doubles; show 100000000 rather than 1e+08 when they are integral.
std::string FormatBound(double bound) {
  if (std::nearbyint(bound) == bound && std::fabs(bound) < 1e18) {
    return std::to_string(static_cast<int64_t>(bound));
  }
  std::string text = std::to_string(bound);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

std::string Expected(FlagType type) {
  switch (type) {
    case FlagType::kBool:
      return "true or false";
    case FlagType::kString:
      return "text";
    case FlagType::kInt64:
      return "an integer";
    case FlagType::kUint64:
      return "a non-negative integer";
    case FlagType::kDouble:
      return "a number";
  }
  return "a value";
}

}  // namespace

Status CheckFlagValue(const FlagSpec& flag, std::string_view value) {
  auto invalid = [&](const std::string& why) {
    return InvalidArgumentError("invalid value '" + std::string(value) + "' for --" + flag.name +
                                ": " + why);
  };
  std::optional<double> number;
  switch (flag.type) {
    case FlagType::kBool:
      if (!ParseBool(value)) return invalid("expected " + Expected(flag.type));
      return Status::Ok();
    case FlagType::kString:
      if (!flag.choices.empty()) {
        for (const std::string& choice : flag.choices) {
          if (choice == value) return Status::Ok();
        }
        std::string list;
        for (const std::string& choice : flag.choices) {
          list += list.empty() ? choice : ", " + choice;
        }
        return invalid("expected one of " + list);
      }
      return Status::Ok();
    case FlagType::kInt64:
      if (auto parsed = ParseInt64(value)) number = static_cast<double>(*parsed);
      break;
    case FlagType::kUint64:
      if (auto parsed = ParseUint64(value)) number = static_cast<double>(*parsed);
      break;
    case FlagType::kDouble:
      number = ParseDouble(value);
      break;
  }
  if (!number) return invalid("expected " + Expected(flag.type));
  if (flag.min_value && *number < *flag.min_value) {
    return invalid("must be at least " + FormatBound(*flag.min_value));
  }
  if (flag.max_value && *number > *flag.max_value) {
    return invalid("must be at most " + FormatBound(*flag.max_value));
  }
  return Status::Ok();
}

std::string ValueName(const FlagSpec& flag) {
  if (!flag.value_name.empty()) return flag.value_name;
  if (!flag.choices.empty()) {
    std::string joined;
    for (const std::string& choice : flag.choices) {
      if (!joined.empty()) joined += '|';
      joined += choice;
    }
    return joined;
  }
  switch (flag.type) {
    case FlagType::kBool:
      return "";
    case FlagType::kString:
      return "TEXT";
    case FlagType::kInt64:
    case FlagType::kUint64:
    case FlagType::kDouble:
      return "N";
  }
  return "VALUE";
}

FlagSpec FlagSpec::Value(std::string name, FlagType type, std::string value_name,
                         std::string help) {
  FlagSpec flag;
  flag.name = std::move(name);
  flag.type = type;
  flag.value_name = std::move(value_name);
  flag.help = std::move(help);
  return flag;
}

FlagSpec FlagSpec::Bool(std::string name, std::string help) {
  FlagSpec flag;
  flag.name = std::move(name);
  flag.type = FlagType::kBool;
  flag.help = std::move(help);
  return flag;
}

FlagSpec FlagSpec::Default(std::string value) && {
  default_value = std::move(value);
  return std::move(*this);
}

FlagSpec FlagSpec::Required() && {
  required = true;
  return std::move(*this);
}

FlagSpec FlagSpec::Repeated() && {
  repeated = true;
  return std::move(*this);
}

FlagSpec FlagSpec::Min(double bound) && {
  min_value = bound;
  return std::move(*this);
}

FlagSpec FlagSpec::Max(double bound) && {
  max_value = bound;
  return std::move(*this);
}

FlagSpec FlagSpec::OneOf(std::vector<std::string> values) && {
  choices = std::move(values);
  return std::move(*this);
}

ArgSpec ArgSpec::Required(std::string name, std::string help) {
  ArgSpec arg;
  arg.name = std::move(name);
  arg.help = std::move(help);
  return arg;
}

ArgSpec ArgSpec::Optional(std::string name, std::string help) {
  ArgSpec arg = Required(std::move(name), std::move(help));
  arg.required = false;
  return arg;
}

ArgSpec ArgSpec::Variadic() && {
  variadic = true;
  return std::move(*this);
}

bool ParsedArgs::Has(std::string_view flag) const {
  auto it = flags_.find(flag);
  assert(it != flags_.end() && "flag not declared by the command");
  return it != flags_.end() && !it->second.given.empty();
}

const ParsedArgs::FlagValues* ParsedArgs::Find(std::string_view flag, FlagType type) const {
  auto it = flags_.find(flag);
  assert(it != flags_.end() && "flag not declared by the command");
  if (it == flags_.end()) return nullptr;
  assert(it->second.type == type && "flag read with a type other than its declared one");
  if (it->second.type != type) return nullptr;
  return &it->second;
}

std::optional<std::string> ParsedArgs::Last(std::string_view flag, FlagType type) const {
  const FlagValues* values = Find(flag, type);
  if (values == nullptr) return std::nullopt;
  if (!values->given.empty()) return values->given.back();
  return values->fallback;
}

bool ParsedArgs::GetBool(std::string_view flag) const {
  std::optional<std::string> text = Last(flag, FlagType::kBool);
  return text ? ParseBool(*text).value_or(false) : false;
}

std::string ParsedArgs::GetString(std::string_view flag) const {
  return Last(flag, FlagType::kString).value_or("");
}

int64_t ParsedArgs::GetInt64(std::string_view flag) const {
  std::optional<std::string> text = Last(flag, FlagType::kInt64);
  return text ? ParseInt64(*text).value_or(0) : 0;
}

uint64_t ParsedArgs::GetUint64(std::string_view flag) const {
  std::optional<std::string> text = Last(flag, FlagType::kUint64);
  return text ? ParseUint64(*text).value_or(0) : 0;
}

double ParsedArgs::GetDouble(std::string_view flag) const {
  std::optional<std::string> text = Last(flag, FlagType::kDouble);
  return text ? ParseDouble(*text).value_or(0.0) : 0.0;
}

std::vector<std::string> ParsedArgs::GetAll(std::string_view flag) const {
  auto it = flags_.find(flag);
  assert(it != flags_.end() && "flag not declared by the command");
  if (it == flags_.end()) return {};
  if (!it->second.given.empty()) return it->second.given;
  if (it->second.fallback) return {*it->second.fallback};
  return {};
}

std::string ParsedArgs::GetArg(std::string_view name) const {
  auto it = args_.find(name);
  if (it == args_.end() || it->second.empty()) return "";
  return it->second.front();
}

std::vector<std::string> ParsedArgs::GetArgs(std::string_view name) const {
  auto it = args_.find(name);
  if (it == args_.end()) return {};
  return it->second;
}

void ParsedArgs::SetFlagType(const std::string& flag, FlagType type,
                             std::optional<std::string> fallback) {
  FlagValues& values = flags_[flag];
  values.type = type;
  values.fallback = std::move(fallback);
}

void ParsedArgs::AddFlagValue(const std::string& flag, std::string value) {
  flags_[flag].given.push_back(std::move(value));
}

void ParsedArgs::AddArg(const std::string& name, std::string value) {
  args_[name].push_back(std::move(value));
}

}  // namespace raypipe::cli
