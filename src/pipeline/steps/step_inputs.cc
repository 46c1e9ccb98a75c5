#include "pipeline/steps/step_inputs.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "store/artifact_store.h"

namespace raypipe::pipeline {

namespace fs = std::filesystem;

namespace {

std::string AgainstDir(const std::string& value, const std::string& dir) {
  if (fs::path(value).is_absolute() || dir.empty()) return value;
  return (fs::path(dir) / value).lexically_normal().string();
}

}  // namespace

std::optional<InputDeclaration> DeclarePathInput(const nlohmann::json& arguments,
                                                 std::string_view field,
                                                 const std::string& pipeline_dir) {
  if (!arguments.is_object()) return std::nullopt;
  auto it = arguments.find(field);
  if (it == arguments.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return std::nullopt;
  }
  const std::string& value = it->get_ref<const std::string&>();
  std::string source = IsArtifactUri(value) ? value : AgainstDir(value, pipeline_dir);
  return InputDeclaration{std::string(field), std::move(source),
                          InputDeclaration::Kind::kArtifact};
}

Result<std::string> ResolveInputPath(const StepContext& context, std::string_view field,
                                     const std::string& value) {
  const std::string field_name = "Arguments." + std::string(field);
  if (auto it = context.inputs.find(std::string(field)); it != context.inputs.end()) {
    return it->second.path;
  }
  if (IsArtifactUri(value)) {
    if (context.artifacts == nullptr) {
      return FailedPreconditionError(field_name + ": artifact " + value +
                                     " was not resolved and no artifact store is open");
    }
    Result<std::string> path =
        context.artifacts->PathOf(value.substr(std::string_view("artifact://").size()));
    if (!path.ok()) return path.status().WithContext(field_name);
    return path;
  }
  if (value.empty()) return InvalidArgumentError(field_name + ": empty path");
  std::string path = AgainstDir(value, context.pipeline_dir);
  std::error_code error;
  if (!fs::exists(path, error)) {
    return NotFoundError(field_name + ": '" + path + "' does not exist");
  }
  return path;
}

Result<std::string> FindCsvFile(const std::string& path, std::string_view field_name) {
  std::error_code error;
  if (!fs::is_directory(path, error)) return path;
  std::vector<std::string> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
    if (entry.path().extension() == ".csv" && !entry.is_directory()) {
      found.push_back(entry.path().string());
    }
  }
  if (error) {
    return UnavailableError(std::string(field_name) + ": cannot list '" + path +
                            "': " + error.message());
  }
  if (found.size() != 1) {
    std::sort(found.begin(), found.end());
    std::string names;
    for (const std::string& name : found) {
      names += (names.empty() ? "" : ", ") + fs::path(name).filename().string();
    }
    return InvalidArgumentError(std::string(field_name) + ": the directory '" + path +
                                "' must hold exactly one .csv file, it holds " +
                                (found.empty() ? "none" : names));
  }
  return found[0];
}

}  // namespace raypipe::pipeline
