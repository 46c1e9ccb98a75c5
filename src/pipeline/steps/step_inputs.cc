#include "pipeline/steps/step_inputs.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "ml/preprocess_task.h"
#include "store/artifact_store.h"

namespace raypipe::pipeline {

namespace fs = std::filesystem;

namespace {

std::string AgainstDir(const std::string& value, const std::string& dir) {
  if (fs::path(value).is_absolute() || dir.empty()) return value;
  return (fs::path(dir) / value).lexically_normal().string();
}

// The files of `dir` with each extension, sorted.
Status ListByExtension(const std::string& dir, std::string_view field_name,
                       const std::vector<std::string>& extensions,
                       std::vector<std::vector<std::string>>* found) {
  std::error_code error;
  found->assign(extensions.size(), {});
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_directory()) continue;
    for (size_t i = 0; i < extensions.size(); ++i) {
      if (entry.path().extension() == extensions[i]) (*found)[i].push_back(entry.path().string());
    }
  }
  if (error) {
    return UnavailableError(std::string(field_name) + ": cannot list '" + dir +
                            "': " + error.message());
  }
  for (std::vector<std::string>& files : *found) std::sort(files.begin(), files.end());
  return Status::Ok();
}

Status NotExactlyOne(const std::string& dir, std::string_view field_name,
                     std::string_view what, const std::vector<std::string>& found) {
  std::string names;
  for (const std::string& name : found) {
    names += (names.empty() ? "" : ", ") + fs::path(name).filename().string();
  }
  return InvalidArgumentError(std::string(field_name) + ": the directory '" + dir +
                              "' must hold exactly one " + std::string(what) + ", it holds " +
                              (found.empty() ? "none" : names));
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
  std::vector<std::vector<std::string>> found;
  RETURN_IF_ERROR(ListByExtension(path, field_name, {".csv"}, &found));
  if (found[0].size() != 1) return NotExactlyOne(path, field_name, ".csv file", found[0]);
  return found[0][0];
}

Result<std::string> FindTableFile(const std::string& path, std::string_view field_name) {
  std::error_code error;
  if (!fs::is_directory(path, error)) return path;
  std::vector<std::vector<std::string>> found;
  RETURN_IF_ERROR(ListByExtension(path, field_name, {".rpcol", ".csv"}, &found));
  if (!found[0].empty()) {
    if (found[0].size() != 1) return NotExactlyOne(path, field_name, ".rpcol file", found[0]);
    return found[0][0];
  }
  if (found[1].size() != 1) {
    return NotExactlyOne(path, field_name, "table file (.rpcol or .csv)", found[1]);
  }
  return found[1][0];
}

Result<data::Table> ReadTableInput(const std::string& path, std::string_view field_name) {
  ASSIGN_OR_RETURN(std::string file, FindTableFile(path, field_name));
  Result<data::Table> table = ml::ReadTableAnyFormat(file);
  if (!table.ok()) return table.status().WithContext(field_name);
  return table;
}

}  // namespace raypipe::pipeline
