#pragma once

// Helpers over nlohmann::json: parsing that reports where input went wrong, typed getters whose
// errors name the field path, and the canonical serialization used for cache keys and digests.
// Nothing here throws: nlohmann's exceptions stop at this adapter and become Status.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace raypipe::core {

class Env;

// Parses `text`. Errors are InvalidArgument and read "<source_name>:<line>:<column>: <what>",
// with 1-based line and column.
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view source_name);

// Reads and parses the file at `path` (NotFound when it does not exist). `env` defaults to
// DefaultEnv().
Result<nlohmann::json> ReadJsonFile(const std::string& path, Env* env = nullptr);

// "object", "array", "string", "integer", "number", "boolean" or "null".
std::string_view JsonTypeName(const nlohmann::json& value);

// Field paths for error messages: JoinFieldPath("Steps[2]", "Name") -> "Steps[2].Name",
// JoinFieldPath("Steps", 2) -> "Steps[2]"; an empty `where` yields the key alone.
std::string JoinFieldPath(std::string_view where, std::string_view key);
std::string JoinFieldPath(std::string_view where, size_t index);

// Typed getters for the member `key` of the object `object`. `where` names the object in
// errors (e.g. "pipeline.json: Steps[2].Arguments"); errors are InvalidArgument and read
// "<where>.<key>: missing required field" or "<where>.<key>: expected a string, found integer 5".
// GetInt64 accepts integers and integral floating-point values inside int64's range; GetDouble
// accepts any number. The Optional variants return nullopt when the member is absent or null
// and fail only when it is present with the wrong type.
Result<std::string> GetString(const nlohmann::json& object, std::string_view key,
                              std::string_view where);
Result<int64_t> GetInt64(const nlohmann::json& object, std::string_view key,
                         std::string_view where);
Result<double> GetDouble(const nlohmann::json& object, std::string_view key,
                         std::string_view where);
Result<bool> GetBool(const nlohmann::json& object, std::string_view key, std::string_view where);
Result<std::optional<std::string>> GetOptionalString(const nlohmann::json& object,
                                                     std::string_view key, std::string_view where);
Result<std::optional<int64_t>> GetOptionalInt64(const nlohmann::json& object, std::string_view key,
                                                std::string_view where);
Result<std::optional<double>> GetOptionalDouble(const nlohmann::json& object, std::string_view key,
                                                std::string_view where);
Result<std::optional<bool>> GetOptionalBool(const nlohmann::json& object, std::string_view key,
                                            std::string_view where);

// The member `key` when it is an object / an array. The pointer refers into `object` and is
// valid as long as `object` is alive and unmodified.
Result<const nlohmann::json*> GetObject(const nlohmann::json& object, std::string_view key,
                                        std::string_view where);
Result<const nlohmann::json*> GetArray(const nlohmann::json& object, std::string_view key,
                                       std::string_view where);

// The canonical text of `value`: object keys sorted by their UTF-8 bytes, no whitespace,
// integers as integers, other numbers in their shortest round-trip form (1.0 stays "1.0"),
// NaN and infinities as null, invalid UTF-8 replaced by U+FFFD. Equal values give equal text on
// every machine, so the text is fit for cache keys and content digests.
std::string CanonicalJson(const nlohmann::json& value);

}  // namespace raypipe::core
