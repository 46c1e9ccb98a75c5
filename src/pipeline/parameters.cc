#include "pipeline/parameters.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

namespace raypipe::pipeline {

Result<nlohmann::json> ParseParameterValue(ParameterType type, std::string_view text) {
  const std::string expected = "expected " + std::string(ParameterTypeName(type));
  switch (type) {
    case ParameterType::kString:
      return nlohmann::json(std::string(text));
    case ParameterType::kInteger: {
      int64_t value = 0;
      const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
      auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
      if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return InvalidArgumentError(expected);
      }
      return nlohmann::json(value);
    }
    case ParameterType::kFloat: {
      double value = 0;
      const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
      auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
      if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
          !std::isfinite(value)) {
        return InvalidArgumentError(expected);
      }
      return nlohmann::json(value);
    }
    case ParameterType::kBoolean: {
      std::string lower;
      for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "true") return nlohmann::json(true);
      if (lower == "false") return nlohmann::json(false);
      return InvalidArgumentError(expected + " (true or false)");
    }
  }
  return InvalidArgumentError(expected);
}

Result<std::pair<std::string, std::string>> ParseParameterOverride(std::string_view flag) {
  const size_t equals = flag.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return InvalidArgumentError("--param " + std::string(flag) + ": expected NAME=VALUE");
  }
  return std::make_pair(std::string(flag.substr(0, equals)), std::string(flag.substr(equals + 1)));
}

Result<ParameterValues> ResolveParameters(const PipelineDefinition& definition,
                                          const std::map<std::string, std::string>& overrides) {
  ParameterValues values;
  std::vector<std::string> problems;
  for (const auto& [name, text] : overrides) {
    const ParameterDefinition* parameter = definition.FindParameter(name);
    if (parameter == nullptr) {
      std::string known;
      for (const ParameterDefinition& declared : definition.parameters) {
        known += (known.empty() ? "" : ", ") + declared.name;
      }
      problems.push_back("--param " + name + "=" + text + ": pipeline '" + definition.name +
                         "' has no parameter '" + name + "' (it declares " +
                         (known.empty() ? std::string("none") : known) + ")");
      continue;
    }
    Result<nlohmann::json> value = ParseParameterValue(parameter->type, text);
    if (!value.ok()) {
      problems.push_back("--param " + name + "=" + text + ": " +
                         std::string(value.status().message()));
      continue;
    }
    values[name] = std::move(value).value();
  }
  for (const ParameterDefinition& parameter : definition.parameters) {
    if (values.count(parameter.name) > 0 || overrides.count(parameter.name) > 0) continue;
    if (!parameter.default_value.has_value()) {
      problems.push_back("parameter '" + parameter.name + "' has no DefaultValue; pass --param " +
                         parameter.name + "=VALUE (" +
                         std::string(ParameterTypeName(parameter.type)) + ")");
      continue;
    }
    values[parameter.name] = *parameter.default_value;
  }
  if (!problems.empty()) {
    std::string message;
    for (const std::string& problem : problems) message += (message.empty() ? "" : "\n") + problem;
    return InvalidArgumentError(std::move(message));
  }
  return values;
}

}  // namespace raypipe::pipeline
