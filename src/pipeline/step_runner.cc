#include "pipeline/step_runner.h"

#include <algorithm>
#include <utility>

namespace raypipe::pipeline {
namespace {

void CollectArtifactUris(const nlohmann::json& value, const FieldPath& at,
                         std::vector<InputDeclaration>* out) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (IsArtifactUri(text)) {
      std::string name = at.empty() ? "Input" : at.ToString();
      out->push_back({std::move(name), text, InputDeclaration::Kind::kArtifact});
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) CollectArtifactUris(value[i], at.Index(i), out);
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) CollectArtifactUris(item, at.Key(key), out);
  }
}

}  // namespace

void MemoryStepLog::Line(std::string_view line) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t start = 0;
  while (true) {
    size_t end = line.find('\n', start);
    if (end == std::string_view::npos) {
      lines_.emplace_back(line.substr(start));
      return;
    }
    lines_.emplace_back(line.substr(start, end - start));
    start = end + 1;
  }
}

std::vector<std::string> MemoryStepLog::Lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_;
}

Result<std::vector<InputDeclaration>> StepRunner::DeclareInputs(
    const nlohmann::json& arguments, const std::string& /*pipeline_dir*/) const {
  std::vector<InputDeclaration> inputs;
  CollectArtifactUris(arguments, FieldPath(), &inputs);
  return inputs;
}

Status StepRunnerRegistry::Register(std::unique_ptr<StepRunner> runner) {
  if (runner == nullptr) return InvalidArgumentError("cannot register a null step runner");
  std::string type(runner->Type());
  if (runners_.count(type) != 0) {
    return AlreadyExistsError("a step runner for type '" + type + "' is already registered");
  }
  runners_.emplace(std::move(type), std::move(runner));
  return Status::Ok();
}

StepRunner* StepRunnerRegistry::Find(std::string_view type) const {
  auto it = runners_.find(type);
  return it == runners_.end() ? nullptr : it->second.get();
}

std::vector<std::string> StepRunnerRegistry::Types() const {
  std::vector<std::string> types;
  for (const auto& [type, runner] : runners_) types.push_back(type);
  return types;
}

StepTypeRegistry StepRunnerRegistry::ValidationTypes() const {
  StepTypeRegistry types = BuiltinStepTypes();
  for (const auto& [type, runner] : runners_) {
    std::optional<StepTypeSpec> spec = runner->TypeSpec();
    if (spec.has_value()) types.Register(std::move(*spec));
  }
  return types;
}

std::string_view RetryExceptionType(const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
      return "Step.SERVICE_FAULT";
    case StatusCode::kDeadlineExceeded:
      return "Step.THROTTLING";
    case StatusCode::kAborted:
      return "SageMaker.JOB_INTERNAL_ERROR";
    case StatusCode::kResourceExhausted:
      if (status.message().find("limit") != std::string::npos) return "SageMaker.RESOURCE_LIMIT";
      return "SageMaker.CAPACITY_ERROR";
    default:
      return "";
  }
}

bool IsArtifactUri(std::string_view text) {
  constexpr std::string_view kPrefix = "artifact://sha256:";
  if (text.size() != kPrefix.size() + 64 || text.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  return std::all_of(text.begin() + kPrefix.size(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace raypipe::pipeline
