#include "pipeline/steps/argument_checks.h"

#include <charconv>
#include <cmath>

namespace raypipe::pipeline {

using nlohmann::json;

namespace {

std::optional<double> NumberIn(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::string_view KindName(ArgumentKind kind) {
  switch (kind) {
    case ArgumentKind::kString:
      return "a String";
    case ArgumentKind::kInteger:
      return "an Integer";
    case ArgumentKind::kFloat:
      return "a Float";
    case ArgumentKind::kBoolean:
      return "a Boolean";
    case ArgumentKind::kStringList:
      return "a list of Strings";
    case ArgumentKind::kStringOrObject:
      return "a String (a path) or an object";
  }
  return "a value";
}

// Whether an expression of static type `type` can hold a value of `kind`.
bool TypeFits(ValueType type, ArgumentKind kind) {
  if (type == ValueType::kUnknown) return true;
  switch (kind) {
    case ArgumentKind::kString:
      return type == ValueType::kString;
    case ArgumentKind::kInteger:
      return type == ValueType::kInteger || type == ValueType::kString;
    case ArgumentKind::kFloat:
      return IsNumber(type) || type == ValueType::kString;
    case ArgumentKind::kBoolean:
      return type == ValueType::kBoolean;
    case ArgumentKind::kStringList:
      return type == ValueType::kList || type == ValueType::kString;
    case ArgumentKind::kStringOrObject:
      return type == ValueType::kString || type == ValueType::kObject;
  }
  return false;
}

}  // namespace

bool IsExpression(const json& value) {
  if (!value.is_object() || value.size() != 1) return false;
  const std::string& key = value.begin().key();
  return key == "Get" || key == "Std:Join" || key == "Std:JsonGet";
}

std::optional<double> LiteralNumber(const json& value) {
  if (value.is_number()) {
    const double number = value.get<double>();
    if (std::isfinite(number)) return number;
    return std::nullopt;
  }
  if (value.is_string()) return NumberIn(value.get_ref<const std::string&>());
  return std::nullopt;
}

bool CheckArgumentKind(const ArgumentsContext& context, const json& value,
                       const FieldPath& field, ArgumentKind kind) {
  auto fail = [&](std::string found) {
    context.Error(field, "expected " + std::string(KindName(kind)) + ", found " + found);
    return false;
  };
  if (IsExpression(value)) {
    const ValueType type = context.TypeOf(value);
    if (TypeFits(type, kind)) return true;
    return fail("an expression of type " + std::string(ValueTypeName(type)));
  }
  switch (kind) {
    case ArgumentKind::kString:
      if (value.is_string()) return true;
      break;
    case ArgumentKind::kInteger:
      if (value.is_number_integer()) return true;
      if (value.is_number_float() || value.is_string()) {
        std::optional<double> number = LiteralNumber(value);
        if (number && *number == std::trunc(*number) && std::fabs(*number) < 9.0e15) return true;
      }
      break;
    case ArgumentKind::kFloat:
      if (LiteralNumber(value)) return true;
      break;
    case ArgumentKind::kBoolean:
      if (value.is_boolean()) return true;
      break;
    case ArgumentKind::kStringList:
      if (value.is_string()) return true;
      if (value.is_array()) {
        bool ok = true;
        for (size_t i = 0; i < value.size(); ++i) {
          ok = CheckArgumentKind(context, value[i], field.Index(i), ArgumentKind::kString) && ok;
        }
        return ok;
      }
      break;
    case ArgumentKind::kStringOrObject:
      if (value.is_string() || value.is_object()) return true;
      break;
  }
  return fail(DescribeValue(value));
}

bool CheckArgumentFields(const ArgumentsContext& context, const json& arguments,
                         std::span<const ArgumentField> fields, std::string_view what) {
  if (!arguments.is_object()) {
    context.Error(FieldPath(), std::string(what) + " must be an object, found " +
                                   DescribeValue(arguments));
    return false;
  }
  for (const auto& [key, value] : arguments.items()) {
    const ArgumentField* known = nullptr;
    for (const ArgumentField& field : fields) {
      if (field.name == key) known = &field;
    }
    if (known == nullptr) {
      std::string names;
      for (const ArgumentField& field : fields) {
        names += (names.empty() ? "" : ", ") + std::string(field.name);
      }
      context.Error(FieldPath(key), "unknown field of " + std::string(what) + "; expected " +
                                        names);
      continue;
    }
    CheckArgumentKind(context, value, FieldPath(key), known->kind);
  }
  for (const ArgumentField& field : fields) {
    if (field.required && !arguments.contains(field.name)) {
      context.Error(FieldPath(field.name), "missing; " + std::string(what) + " needs " +
                                               std::string(field.name) + ", " +
                                               std::string(KindName(field.kind)));
    }
  }
  return true;
}

}  // namespace raypipe::pipeline
