#include "pipeline/definition.h"

#include <algorithm>
#include <cctype>

namespace raypipe::pipeline {
namespace {

bool IsWordKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':';
  });
}

}  // namespace

FieldPath FieldPath::Key(std::string_view key) const {
  FieldPath out = *this;
  out.segments_.emplace_back(std::string(key));
  return out;
}

FieldPath FieldPath::Index(size_t index) const {
  FieldPath out = *this;
  out.segments_.emplace_back(index);
  return out;
}

FieldPath FieldPath::Append(const FieldPath& tail) const {
  FieldPath out = *this;
  out.segments_.insert(out.segments_.end(), tail.segments_.begin(), tail.segments_.end());
  return out;
}

bool FieldPath::StartsWith(const FieldPath& prefix) const {
  if (prefix.segments_.size() > segments_.size()) return false;
  return std::equal(prefix.segments_.begin(), prefix.segments_.end(), segments_.begin());
}

std::string FieldPath::ToString() const {
  std::string out;
  for (const auto& segment : segments_) {
    if (const auto* index = std::get_if<size_t>(&segment)) {
      out += "[" + std::to_string(*index) + "]";
      continue;
    }
    const std::string& key = std::get<std::string>(segment);
    if (IsWordKey(key)) {
      if (!out.empty()) out += ".";
      out += key;
    } else {
      out += "['" + key + "']";
    }
  }
  return out;
}

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FieldPath::ToPointer() const {
  std::string out;
  for (const auto& segment : segments_) {
    out += "/";
    if (const auto* index = std::get_if<size_t>(&segment)) {
      out += std::to_string(*index);
    } else {
      out += EscapePointerToken(std::get<std::string>(segment));
    }
  }
  return out;
}

void SourceMap::Record(std::string pointer, SourcePosition position) {
  positions_.insert_or_assign(std::move(pointer), position);
}

void SourceMap::RecordPlainText(std::string pointer, std::string text) {
  plain_texts_.insert_or_assign(std::move(pointer), std::move(text));
}

SourcePosition SourceMap::Find(std::string_view pointer) const {
  std::string key(pointer);
  while (true) {
    auto it = positions_.find(key);
    if (it != positions_.end()) return it->second;
    if (key.empty()) return {};
    size_t slash = key.rfind('/');
    key.erase(slash == std::string::npos ? 0 : slash);
  }
}

const std::string* SourceMap::PlainText(std::string_view pointer) const {
  auto it = plain_texts_.find(std::string(pointer));
  return it == plain_texts_.end() ? nullptr : &it->second;
}

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!step.empty()) {
    out += "step '" + step + "'";
    out += field.empty() ? ": " : ", ";
  }
  if (!field.empty()) out += "field '" + field + "': ";
  out += message;
  return out;
}

std::string_view ParameterTypeName(ParameterType type) {
  switch (type) {
    case ParameterType::kString:
      return "String";
    case ParameterType::kInteger:
      return "Integer";
    case ParameterType::kFloat:
      return "Float";
    case ParameterType::kBoolean:
      return "Boolean";
  }
  return "String";
}

std::optional<ParameterType> ParseParameterType(std::string_view name) {
  for (ParameterType type : {ParameterType::kString, ParameterType::kInteger,
                             ParameterType::kFloat, ParameterType::kBoolean}) {
    if (ParameterTypeName(type) == name) return type;
  }
  return std::nullopt;
}

std::string_view BranchFieldName(Branch branch) {
  return branch == Branch::kIf ? "IfSteps" : "ElseSteps";
}

const PropertyFile* StepDefinition::FindPropertyFile(std::string_view file_name) const {
  for (const PropertyFile& file : property_files) {
    if (file.name == file_name) return &file;
  }
  return nullptr;
}

const StepDefinition* PipelineDefinition::FindStep(std::string_view step_name) const {
  for (const StepDefinition& step : steps) {
    if (step.name == step_name) return &step;
  }
  return nullptr;
}

const ParameterDefinition* PipelineDefinition::FindParameter(
    std::string_view parameter_name) const {
  for (const ParameterDefinition& parameter : parameters) {
    if (parameter.name == parameter_name) return &parameter;
  }
  return nullptr;
}

bool IsValidName(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string_view JsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      return "String";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "Integer";
    case nlohmann::json::value_t::number_float:
      return "Float";
    case nlohmann::json::value_t::boolean:
      return "Boolean";
    case nlohmann::json::value_t::array:
      return "List";
    case nlohmann::json::value_t::object:
      return "Object";
    default:
      return "null";
  }
}

std::string WithArticle(std::string_view word) {
  const bool vowel = !word.empty() && std::string_view("AEIOUaeiou").find(word[0]) !=
                                           std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(word);
}

std::string SafeDump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DescribeValue(const nlohmann::json& value) {
  constexpr size_t kMaxLength = 60;
  std::string text = SafeDump(value);
  if (text.size() > kMaxLength) {
    size_t cut = kMaxLength - 3;
    // Cut on a UTF-8 character boundary.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  if (value.is_array() || value.is_object()) return std::string(JsonTypeName(value)) + " " + text;
  return text;
}

}  // namespace raypipe::pipeline
