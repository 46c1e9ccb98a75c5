#include "pipeline/steps/step_arguments.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace raypipe::pipeline {

using nlohmann::json;

namespace {

const json& NullJson() {
  static const json* null = new json();
  return *null;
}

std::string Describe(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// The whole of `text` as a number of type T, or nullopt.
template <typename T>
std::optional<T> WholeNumber(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

StepArguments::StepArguments(const json& arguments, std::string where)
    : arguments_(&arguments), where_(std::move(where)) {}

bool StepArguments::Has(std::string_view field) const {
  if (!arguments_->is_object()) return false;
  auto it = arguments_->find(field);
  return it != arguments_->end() && !it->is_null();
}

const json& StepArguments::Raw(std::string_view field) const {
  if (!arguments_->is_object()) return NullJson();
  auto it = arguments_->find(field);
  return it == arguments_->end() ? NullJson() : *it;
}

std::string StepArguments::FieldName(std::string_view field) const {
  return where_ + "." + std::string(field);
}

Status StepArguments::Error(std::string_view field, std::string_view message) const {
  return InvalidArgumentError(FieldName(field) + ": " + std::string(message));
}

Result<std::string> StepArguments::String(std::string_view field) const {
  if (!Has(field)) return Error(field, "required, a String");
  return String(field, "");
}

Result<std::string> StepArguments::String(std::string_view field, std::string fallback) const {
  if (!Has(field)) return fallback;
  const json& value = Raw(field);
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  return Error(field, "expected a String, found " + Describe(value));
}

Result<int64_t> StepArguments::Integer(std::string_view field) const {
  if (!Has(field)) return Error(field, "required, an Integer");
  return Integer(field, 0);
}

Result<int64_t> StepArguments::Integer(std::string_view field, int64_t fallback) const {
  if (!Has(field)) return fallback;
  const json& value = Raw(field);
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    double number = value.get<double>();
    if (std::isfinite(number) && number == std::floor(number) &&
        std::abs(number) < 9.0e15) {
      return static_cast<int64_t>(number);
    }
  }
  if (value.is_string()) {
    if (auto parsed = WholeNumber<int64_t>(value.get<std::string>())) return *parsed;
  }
  return Error(field, "expected an Integer, found " + Describe(value));
}

Result<double> StepArguments::Float(std::string_view field) const {
  if (!Has(field)) return Error(field, "required, a Float");
  return Float(field, 0.0);
}

Result<double> StepArguments::Float(std::string_view field, double fallback) const {
  if (!Has(field)) return fallback;
  const json& value = Raw(field);
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    if (auto parsed = WholeNumber<double>(value.get<std::string>());
        parsed.has_value() && std::isfinite(*parsed)) {
      return *parsed;
    }
  }
  return Error(field, "expected a Float, found " + Describe(value));
}

Result<bool> StepArguments::Boolean(std::string_view field) const {
  if (!Has(field)) return Error(field, "required, a Boolean");
  return Boolean(field, false);
}

Result<bool> StepArguments::Boolean(std::string_view field, bool fallback) const {
  if (!Has(field)) return fallback;
  const json& value = Raw(field);
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text == "true" || text == "True") return true;
    if (text == "false" || text == "False") return false;
  }
  return Error(field, "expected a Boolean, found " + Describe(value));
}

Result<std::vector<std::string>> StepArguments::StringList(std::string_view field) const {
  std::vector<std::string> out;
  if (!Has(field)) return out;
  const json& value = Raw(field);
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
    return out;
  }
  if (!value.is_array()) return Error(field, "expected a list of Strings, found " + Describe(value));
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      return Error(std::string(field) + "[" + std::to_string(i) + "]",
                   "expected a String, found " + Describe(value[i]));
    }
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

Result<StepArguments> StepArguments::Object(std::string_view field, bool required) const {
  static const json* empty = new json(json::object());
  if (!Has(field)) {
    if (required) return Error(field, "required, an object");
    return StepArguments(*empty, FieldName(field));
  }
  const json& value = Raw(field);
  if (!value.is_object()) return Error(field, "expected an object, found " + Describe(value));
  return StepArguments(value, FieldName(field));
}

Status StepArguments::RejectUnknown(const std::vector<std::string_view>& known) const {
  if (!arguments_->is_object()) return InvalidArgumentError(where_ + ": expected an object");
  for (const auto& [key, value] : arguments_->items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (std::string_view name : known) list += (list.empty() ? "" : ", ") + std::string(name);
    return Error(key, "unknown field (known: " + list + ")");
  }
  return Status::Ok();
}

}  // namespace raypipe::pipeline
