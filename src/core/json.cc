#include "core/json.h"

#include <cmath>
#include <limits>

#include "core/env.h"

namespace raypipe::core {
namespace {

using nlohmann::json;

// nlohmann's parser is iterative, but dump() and a few other operations recurse, so absurdly
// deep input is refused up front instead of risking the stack later.
constexpr int kMaxNestingDepth = 512;

struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};

// 1-based line and column of the byte at `offset` (0-based).
TextPosition PositionOf(std::string_view text, size_t offset) {
  std::string_view prefix = text.substr(0, std::min(offset, text.size()));
  TextPosition position;
  size_t last_newline = std::string_view::npos;
  for (size_t char_idx = 0; char_idx < prefix.size(); ++char_idx) {
    if (prefix[char_idx] == '\n') {
      ++position.line;
      last_newline = char_idx;
    }
  }
  position.column =
      prefix.size() - (last_newline == std::string_view::npos ? 0 : last_newline + 1) + 1;
  return position;
}

Status ErrorAt(std::string_view source_name, std::string_view text, size_t offset,
               std::string_view what) {
  TextPosition position = PositionOf(text, offset);
  return InvalidArgumentError(std::string(source_name) + ":" + std::to_string(position.line) + ":" +
                              std::to_string(position.column) + ": " + std::string(what));
}

// Finds the first place where brackets nest deeper than kMaxNestingDepth, skipping strings.
std::optional<size_t> FindExcessiveNesting(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t char_idx = 0; char_idx < text.size(); ++char_idx) {
    char c = text[char_idx];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNestingDepth) return char_idx;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

// nlohmann's messages read "[json.exception.parse_error.101] parse error at line 2, column 8:
// syntax error ..."; we report our own position, so keep only the part after it.
std::string_view StripParseErrorPrefix(std::string_view what) {
  size_t column = what.find("column ");
  if (column != std::string_view::npos) {
    size_t colon = what.find(": ", column);
    if (colon != std::string_view::npos) return what.substr(colon + 2);
  }
  size_t bracket = what.find("] ");
  return bracket == std::string_view::npos ? what : what.substr(bracket + 2);
}

std::string Describe(const json& value) {
  std::string text = CanonicalJson(value);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(JsonTypeName(value)) + " " + text;
}

Status WrongType(std::string_view where, std::string_view key, std::string_view expected,
                 const json& found) {
  return InvalidArgumentError(JoinFieldPath(where, key) + ": expected " + std::string(expected) +
                              ", found " + Describe(found));
}

// The member, nullptr when absent or null, or an error when `object` is not an object.
Result<const json*> FindMember(const json& object, std::string_view key, std::string_view where) {
  if (!object.is_object()) {
    std::string name = where.empty() ? std::string("value") : std::string(where);
    return InvalidArgumentError(name + ": expected an object, found " + Describe(object));
  }
  auto member = object.find(key);
  if (member == object.end() || member->is_null()) return static_cast<const json*>(nullptr);
  return &*member;
}

Result<const json*> RequireMember(const json& object, std::string_view key,
                                  std::string_view where) {
  ASSIGN_OR_RETURN(const json* member, FindMember(object, key, where));
  if (member == nullptr) {
    return InvalidArgumentError(JoinFieldPath(where, key) + ": missing required field");
  }
  return member;
}

Result<std::string> AsString(const json& value, std::string_view key, std::string_view where) {
  if (!value.is_string()) return WrongType(where, key, "a string", value);
  return value.get<std::string>();
}

Result<int64_t> AsInt64(const json& value, std::string_view key, std::string_view where) {
  if (value.is_number_unsigned()) {
    uint64_t unsigned_value = value.get<uint64_t>();
    if (unsigned_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgumentError(JoinFieldPath(where, key) + ": integer " +
                                  std::to_string(unsigned_value) + " is out of range");
    }
    return static_cast<int64_t>(unsigned_value);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    double number = value.get<double>();
    // 2^63 is exactly representable; anything at or above it does not fit.
    if (std::isfinite(number) && number == std::trunc(number) && number >= -9223372036854775808.0 &&
        number < 9223372036854775808.0) {
      return static_cast<int64_t>(number);
    }
  }
  return WrongType(where, key, "an integer", value);
}

Result<double> AsDouble(const json& value, std::string_view key, std::string_view where) {
  if (!value.is_number()) return WrongType(where, key, "a number", value);
  return value.get<double>();
}

Result<bool> AsBool(const json& value, std::string_view key, std::string_view where) {
  if (!value.is_boolean()) return WrongType(where, key, "a boolean", value);
  return value.get<bool>();
}

template <typename T, typename Convert>
Result<std::optional<T>> GetOptional(const json& object, std::string_view key,
                                     std::string_view where, Convert convert) {
  ASSIGN_OR_RETURN(const json* member, FindMember(object, key, where));
  if (member == nullptr) return std::optional<T>();
  ASSIGN_OR_RETURN(T value, convert(*member, key, where));
  return std::optional<T>(std::move(value));
}

}  // namespace

Result<json> ParseJson(std::string_view text, std::string_view source_name) {
  if (std::optional<size_t> offset = FindExcessiveNesting(text)) {
    return ErrorAt(source_name, text, *offset,
                   "nesting deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  }
  try {
    return json::parse(text);
  } catch (const json::parse_error& error) {
    // error.byte is 1-based: the byte at which parsing stopped.
    size_t offset = error.byte == 0 ? 0 : error.byte - 1;
    return ErrorAt(source_name, text, offset, StripParseErrorPrefix(error.what()));
  } catch (const std::exception& error) {
    return InvalidArgumentError(std::string(source_name) + ": " + error.what());
  }
}

Result<json> ReadJsonFile(const std::string& path, Env* env) {
  if (env == nullptr) env = DefaultEnv();
  ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  return ParseJson(text, path);
}

std::string_view JsonTypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::null:
      return "null";
    default:
      return "binary";
  }
}

std::string JoinFieldPath(std::string_view where, std::string_view key) {
  if (where.empty()) return std::string(key);
  std::string path(where);
  path += '.';
  path += key;
  return path;
}

std::string JoinFieldPath(std::string_view where, size_t index) {
  std::string path(where);
  path += '[';
  path += std::to_string(index);
  path += ']';
  return path;
}

Result<std::string> GetString(const json& object, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(const json* member, RequireMember(object, key, where));
  return AsString(*member, key, where);
}

Result<int64_t> GetInt64(const json& object, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(const json* member, RequireMember(object, key, where));
  return AsInt64(*member, key, where);
}

Result<double> GetDouble(const json& object, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(const json* member, RequireMember(object, key, where));
  return AsDouble(*member, key, where);
}

Result<bool> GetBool(const json& object, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(const json* member, RequireMember(object, key, where));
  return AsBool(*member, key, where);
}

Result<std::optional<std::string>> GetOptionalString(const json& object, std::string_view key,
                                                     std::string_view where) {
  return GetOptional<std::string>(object, key, where, AsString);
}

Result<std::optional<int64_t>> GetOptionalInt64(const json& object, std::string_view key,
                                                std::string_view where) {
  return GetOptional<int64_t>(object, key, where, AsInt64);
}

Result<std::optional<double>> GetOptionalDouble(const json& object, std::string_view key,
                                                std::string_view where) {
  return GetOptional<double>(object, key, where, AsDouble);
}

Result<std::optional<bool>> GetOptionalBool(const json& object, std::string_view key,
                                            std::string_view where) {
  return GetOptional<bool>(object, key, where, AsBool);
}

Result<const json*> GetObject(const json& object, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(const json* member, RequireMember(object, key, where));
  if (!member->is_object()) return WrongType(where, key, "an object", *member);
  return member;
}

Result<const json*> GetArray(const json& object, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(const json* member, RequireMember(object, key, where));
  if (!member->is_array()) return WrongType(where, key, "an array", *member);
  return member;
}

std::string CanonicalJson(const json& value) {
  // nlohmann's default object type is a std::map, so keys already come out sorted bytewise;
  // dump() without indentation emits no whitespace and numbers in shortest round-trip form.
  // The replace handler makes dump() total (it would otherwise throw on invalid UTF-8).
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace raypipe::core
