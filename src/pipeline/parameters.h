#pragma once

// Parameter values for one execution: each declared parameter's DefaultValue, replaced by the
// overrides given at start (`raypipe pipeline run FILE --param NAME=VALUE`), type-checked.

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "pipeline/definition.h"

namespace raypipe::pipeline {

// Parameter name -> value typed as declared: a JSON string, integer, float or boolean.
using ParameterValues = std::map<std::string, nlohmann::json, std::less<>>;

// The value of every declared parameter. InvalidArgument listing every problem at once, one
// per line: an override of an undeclared parameter, a value that is not of the declared type
// ("--param RMSEThreshold=abc: expected Float"), a parameter with neither a DefaultValue nor
// an override.
Result<ParameterValues> ResolveParameters(const PipelineDefinition& definition,
                                          const std::map<std::string, std::string>& overrides);

// Reads `text` as a value of `type`: Integer as a whole number in int64 range, Float as a
// finite decimal or exponent number, Boolean as true / false (any case), String as is.
// InvalidArgument "expected Float" otherwise.
Result<nlohmann::json> ParseParameterValue(ParameterType type, std::string_view text);

// Splits "NAME=VALUE" at the first '='. InvalidArgument when there is no '=' or no name.
Result<std::pair<std::string, std::string>> ParseParameterOverride(std::string_view flag);

}  // namespace raypipe::pipeline
