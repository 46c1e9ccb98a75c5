#include "pipeline/parser.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline/cache_lifetime.h"
#include "pipeline/source_document.h"

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

// Where diagnostics of the value being parsed go: a step (by name) and the field path of the
// value relative to that step, or, for a step without a usable name, the document.
struct Scope {
  std::string step;
  FieldPath base_field;
  std::string base_pointer;

  Scope Nested(const FieldPath& relative) const {
    return {step, base_field.Append(relative), base_pointer + relative.ToPointer()};
  }
};

std::string Join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

class DefinitionParser {
 public:
  DefinitionParser(SourceDocument document, std::string_view source_name,
                   const StepTypeRegistry& types)
      : document_(std::move(document)), types_(types) {
    definition_.source_name = std::string(source_name);
    definition_.name = PipelineNameFromSource(source_name);
  }

  Result<PipelineDefinition> Parse() {
    // Steps are moved out of the document as they are parsed: with aliases a document can be
    // large, and nested inline steps must not be copied once per level.
    json& root = document_.root;
    if (!root.is_object()) {
      return InvalidArgumentError(definition_.source_name +
                                  ": a pipeline definition must be an object with Steps, got " +
                                  DescribeValue(root));
    }
    const Scope top{"", FieldPath(), ""};
    CheckKeys(top, root, "a pipeline definition",
              {"Version", "Metadata", "Parameters", "PipelineExperimentConfig",
               "ParallelismConfiguration", "Steps"});
    if (std::optional<std::string> version = String(top, root, "Version", false)) {
      definition_.version = *version;
    }
    if (auto it = root.find("Metadata"); it != root.end()) {
      if (!it->is_object()) {
        Error(top, FieldPath("Metadata"), "Metadata must be an object, got " + DescribeValue(*it));
      } else {
        definition_.metadata = *it;
        if (std::optional<std::string> name =
                String(top.Nested(FieldPath("Metadata")), *it, "Name", false)) {
          definition_.name = *name;
        }
      }
    }
    if (auto it = root.find("Parameters"); it != root.end()) ParseParameters(*it);
    if (auto it = root.find("PipelineExperimentConfig"); it != root.end()) {
      const Scope scope = top.Nested(FieldPath("PipelineExperimentConfig"));
      if (CheckKeys(scope, *it, "PipelineExperimentConfig", {"ExperimentName", "TrialName"})) {
        definition_.experiment_config = ExperimentConfig{it->value("ExperimentName", json()),
                                                         it->value("TrialName", json())};
      }
    }
    if (auto it = root.find("ParallelismConfiguration"); it != root.end()) {
      const Scope scope = top.Nested(FieldPath("ParallelismConfiguration"));
      if (CheckKeys(scope, *it, "ParallelismConfiguration", {"MaxParallelExecutionSteps"})) {
        definition_.max_parallel_execution_steps =
            Integer(scope, *it, "MaxParallelExecutionSteps", true);
      }
    }
    auto steps_it = root.find("Steps");
    if (steps_it == root.end()) {
      Error(top, FieldPath("Steps"), "a pipeline needs Steps, a list of at least one step");
    } else if (!steps_it->is_array()) {
      Error(top, FieldPath("Steps"), "Steps must be a list of steps, got " +
                                         DescribeValue(*steps_it));
    } else {
      for (size_t index = 0; index < steps_it->size(); ++index) {
        const FieldPath location = FieldPath("Steps").Index(index);
        ParseStep(std::move((*steps_it)[index]), top.Nested(location), std::nullopt);
      }
    }
    AddNamedBranchGuards();
    definition_.source_map = std::move(document_.positions);
    return std::move(definition_);
  }

 private:
  void Error(const Scope& scope, const FieldPath& relative, std::string message) {
    const FieldPath field = scope.base_field.Append(relative);
    const std::string pointer = scope.base_pointer + relative.ToPointer();
    definition_.parse_diagnostics.push_back({definition_.source_name,
                                             document_.positions.Find(pointer).line, scope.step,
                                             field.ToString(), std::move(message)});
  }

  // Reports keys of `object` outside `allowed`. False (and reported) when not an object.
  bool CheckKeys(const Scope& scope, const json& object, std::string_view what,
                 std::initializer_list<std::string_view> allowed) {
    if (!object.is_object()) {
      Error(scope, FieldPath(), std::string(what) + " must be an object, got " +
                                    DescribeValue(object));
      return false;
    }
    for (const auto& [key, unused] : object.items()) {
      bool known = false;
      for (std::string_view name : allowed) known = known || key == name;
      if (!known) {
        Error(scope, FieldPath(key),
              "unknown field of " + std::string(what) + "; expected " + Join(allowed));
      }
    }
    return true;
  }

  // A string field. A YAML plain scalar that YAML read as a number or boolean counts as the
  // text written.
  std::optional<std::string> String(const Scope& scope, const json& object, std::string_view key,
                                    bool required) {
    auto it = object.find(key);
    if (it == object.end()) {
      if (required) Error(scope, FieldPath(key), "missing " + std::string(key));
      return std::nullopt;
    }
    if (it->is_string()) return it->get<std::string>();
    const std::string pointer = scope.base_pointer + FieldPath(key).ToPointer();
    if (const std::string* text = document_.positions.PlainText(pointer)) return *text;
    Error(scope, FieldPath(key), std::string(key) + " must be a string, got " +
                                     DescribeValue(*it));
    return std::nullopt;
  }

  std::optional<int64_t> Integer(const Scope& scope, const json& object, std::string_view key,
                                 bool required) {
    auto it = object.find(key);
    if (it == object.end()) {
      if (required) Error(scope, FieldPath(key), "missing " + std::string(key));
      return std::nullopt;
    }
    if (it->is_number_unsigned() &&
        it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Error(scope, FieldPath(key), std::string(key) + " " + DescribeValue(*it) + " is too large");
      return std::nullopt;
    }
    if (!it->is_number_integer()) {
      Error(scope, FieldPath(key), std::string(key) + " must be an Integer, got " +
                                       DescribeValue(*it));
      return std::nullopt;
    }
    return it->get<int64_t>();
  }

  std::optional<double> Number(const Scope& scope, const json& object, std::string_view key) {
    auto it = object.find(key);
    if (it == object.end()) return std::nullopt;
    if (!it->is_number()) {
      Error(scope, FieldPath(key), std::string(key) + " must be a number, got " +
                                       DescribeValue(*it));
      return std::nullopt;
    }
    return it->get<double>();
  }

  std::vector<std::string> StringList(const Scope& scope, const json& object,
                                      std::string_view key) {
    std::vector<std::string> out;
    auto it = object.find(key);
    if (it == object.end()) return out;
    if (!it->is_array()) {
      Error(scope, FieldPath(key), std::string(key) + " must be a list of strings, got " +
                                       DescribeValue(*it));
      return out;
    }
    const Scope list_scope = scope.Nested(FieldPath(key));
    for (size_t index = 0; index < it->size(); ++index) {
      const json& item = (*it)[index];
      const std::string pointer = list_scope.base_pointer + "/" + std::to_string(index);
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      } else if (const std::string* text = document_.positions.PlainText(pointer)) {
        out.push_back(*text);
      } else {
        Error(list_scope, FieldPath().Index(index),
              "an entry of " + std::string(key) + " must be a string, got " + DescribeValue(item));
      }
    }
    return out;
  }

  void ParseParameters(const json& list) {
    const Scope top{"", FieldPath(), ""};
    if (!list.is_array()) {
      Error(top, FieldPath("Parameters"),
            "Parameters must be a list of {Name, Type, DefaultValue}, got " + DescribeValue(list));
      return;
    }
    for (size_t index = 0; index < list.size(); ++index) {
      const Scope scope = top.Nested(FieldPath("Parameters").Index(index));
      const json& entry = list[index];
      if (!CheckKeys(scope, entry, "a parameter", {"Name", "Type", "DefaultValue"})) continue;
      ParameterDefinition parameter;
      parameter.source_index = index;
      parameter.line = document_.positions.Find(scope.base_pointer).line;
      std::optional<std::string> name = String(scope, entry, "Name", true);
      std::optional<std::string> type_name = String(scope, entry, "Type", true);
      if (!name.has_value() || !type_name.has_value()) continue;
      parameter.name = *name;
      std::optional<ParameterType> type = ParseParameterType(*type_name);
      if (!type.has_value()) {
        Error(scope, FieldPath("Type"), "unknown parameter type '" + *type_name +
                                            "'; expected String, Integer, Float or Boolean");
        continue;
      }
      parameter.type = *type;
      auto default_it = entry.find("DefaultValue");
      if (default_it != entry.end() && !default_it->is_null()) {
        json value = *default_it;
        const std::string pointer = scope.base_pointer + "/DefaultValue";
        const std::string* plain = document_.positions.PlainText(pointer);
        if (*type == ParameterType::kString && !value.is_string() && plain != nullptr) {
          value = *plain;
        } else if (*type == ParameterType::kFloat && value.is_number_integer()) {
          value = value.get<double>();
        }
        parameter.default_value = std::move(value);
      }
      definition_.parameters.push_back(std::move(parameter));
    }
  }

  void ParseCacheConfig(const Scope& scope, const json& value, CacheConfig* out) {
    if (!CheckKeys(scope, value, "CacheConfig", {"Enabled", "ExpireAfter"})) return;
    auto enabled_it = value.find("Enabled");
    if (enabled_it == value.end()) {
      Error(scope, FieldPath("Enabled"), "CacheConfig needs Enabled (true or false)");
    } else if (!enabled_it->is_boolean()) {
      Error(scope, FieldPath("Enabled"), "Enabled must be true or false, got " +
                                             DescribeValue(*enabled_it));
    } else {
      out->enabled = enabled_it->get<bool>();
    }
    if (std::optional<std::string> text = String(scope, value, "ExpireAfter", false)) {
      out->expire_after_text = *text;
      Result<std::chrono::seconds> duration = ParseCacheLifetime(*text);
      if (duration.ok()) out->expire_after = *duration;
    }
  }

  void ParseRetryPolicies(const Scope& scope, const json& list, std::vector<RetryPolicy>* out) {
    if (!list.is_array()) {
      Error(scope, FieldPath(), "RetryPolicies must be a list, got " + DescribeValue(list));
      return;
    }
    for (size_t index = 0; index < list.size(); ++index) {
      const Scope entry_scope = scope.Nested(FieldPath().Index(index));
      const json& entry = list[index];
      if (!CheckKeys(entry_scope, entry, "a retry policy",
                     {"ExceptionType", "IntervalSeconds", "BackoffRate", "MaxAttempts",
                      "ExpireAfterMin"})) {
        continue;
      }
      RetryPolicy policy;
      if (!entry.contains("ExceptionType")) {
        Error(entry_scope, FieldPath("ExceptionType"),
              "a retry policy needs ExceptionType, a list such as [\"Step.SERVICE_FAULT\"]");
      }
      policy.exception_types = StringList(entry_scope, entry, "ExceptionType");
      policy.interval_seconds = Integer(entry_scope, entry, "IntervalSeconds", false).value_or(1);
      policy.backoff_rate = Number(entry_scope, entry, "BackoffRate").value_or(2.0);
      policy.max_attempts = Integer(entry_scope, entry, "MaxAttempts", false);
      policy.expire_after_min = Integer(entry_scope, entry, "ExpireAfterMin", false);
      out->push_back(std::move(policy));
    }
  }

  void ParsePropertyFiles(const Scope& scope, const json& list, std::vector<PropertyFile>* out) {
    if (!list.is_array()) {
      Error(scope, FieldPath(), "PropertyFiles must be a list, got " + DescribeValue(list));
      return;
    }
    for (size_t index = 0; index < list.size(); ++index) {
      const Scope entry_scope = scope.Nested(FieldPath().Index(index));
      const json& entry = list[index];
      if (!CheckKeys(entry_scope, entry, "a property file",
                     {"PropertyFileName", "OutputName", "FilePath"})) {
        continue;
      }
      PropertyFile file;
      file.name = String(entry_scope, entry, "PropertyFileName", true).value_or("");
      file.output_name = String(entry_scope, entry, "OutputName", true).value_or("");
      file.file_path = String(entry_scope, entry, "FilePath", true).value_or("");
      out->push_back(std::move(file));
    }
  }

  // Parses the step at `value` (the top-level list entry or an inline branch step) into
  // definition_.steps, followed by the inline steps of its branches. `nameless` is where its
  // diagnostics go until its Name is known.
  void ParseStep(json value, const Scope& nameless, std::optional<BranchGuard> guard) {
    if (!value.is_object()) {
      Error(nameless, FieldPath(), "a step must be an object with Name and Type, got " +
                                       DescribeValue(value));
      return;
    }
    StepDefinition step;
    step.source_pointer = nameless.base_pointer;
    step.line = document_.positions.Find(step.source_pointer).line;
    step.defined_inline = guard.has_value();
    if (guard.has_value() && !guard->condition_step.empty()) step.guards.push_back(*guard);
    const std::optional<std::string> name = String(nameless, value, "Name", true);
    const bool named = name.has_value();
    const Scope scope = named ? Scope{*name, FieldPath(), step.source_pointer} : nameless;
    if (named) step.name = *name;
    CheckKeys(scope, value, "a step",
              {"Name", "Type", "Arguments", "DependsOn", "DisplayName", "Description",
               "CacheConfig", "RetryPolicies", "PropertyFiles"});
    step.type = String(scope, value, "Type", false).value_or("");
    step.display_name = String(scope, value, "DisplayName", false).value_or("");
    step.description = String(scope, value, "Description", false).value_or("");
    if (auto it = value.find("Arguments"); it != value.end()) {
      if (it->is_object()) {
        step.arguments = std::move(*it);
      } else {
        Error(scope, FieldPath("Arguments"), "Arguments must be an object, got " +
                                                 DescribeValue(*it));
      }
    }
    step.depends_on = StringList(scope, value, "DependsOn");
    if (auto it = value.find("CacheConfig"); it != value.end()) {
      ParseCacheConfig(scope.Nested(FieldPath("CacheConfig")), *it, &step.cache_config);
    }
    if (auto it = value.find("RetryPolicies"); it != value.end()) {
      ParseRetryPolicies(scope.Nested(FieldPath("RetryPolicies")), *it, &step.retry_policies);
    }
    if (auto it = value.find("PropertyFiles"); it != value.end()) {
      ParsePropertyFiles(scope.Nested(FieldPath("PropertyFiles")), *it, &step.property_files);
    }
    if (const StepTypeSpec* spec = types_.Find(step.type)) {
      KeepStringFieldsAsWritten(types_, *spec, step.source_pointer + "/Arguments",
                                document_.positions, &step.arguments);
    }

    // Condition branches: names stay, inline definitions are parsed as steps of their own and
    // replaced by their names, so the arguments read the same either way.
    std::vector<std::pair<json, Scope>> inline_steps;
    std::vector<BranchGuard> inline_guards;
    if (step.type == "Condition") {
      for (Branch branch : {Branch::kIf, Branch::kElse}) {
        const std::string key(BranchFieldName(branch));
        auto list_it = step.arguments.find(key);
        if (list_it == step.arguments.end() || !list_it->is_array()) continue;
        std::vector<std::string>& names = branch == Branch::kIf ? step.if_steps : step.else_steps;
        for (size_t index = 0; index < list_it->size(); ++index) {
          json& entry = (*list_it)[index];
          if (entry.is_string()) {
            names.push_back(entry.get<std::string>());
            continue;
          }
          if (!entry.is_object()) continue;  // Validate() reports it
          const FieldPath relative = FieldPath("Arguments").Key(key).Index(index);
          std::optional<std::string> inline_name;
          if (auto name_it = entry.find("Name"); name_it != entry.end() && name_it->is_string()) {
            inline_name = name_it->get<std::string>();
          }
          inline_steps.emplace_back(std::move(entry), scope.Nested(relative));
          inline_guards.push_back({step.name, branch});
          if (inline_name.has_value()) {
            names.push_back(*inline_name);
            entry = *inline_name;
          } else {
            entry = json::object();  // Validate() skips it: the parser reported it
          }
        }
      }
    }
    if (named) definition_.steps.push_back(std::move(step));
    for (size_t index = 0; index < inline_steps.size(); ++index) {
      ParseStep(std::move(inline_steps[index].first), inline_steps[index].second,
                inline_guards[index]);
    }
  }

  // Steps listed by name in a condition's branches get the guard the inline ones got.
  void AddNamedBranchGuards() {
    std::unordered_map<std::string, size_t> first_by_name;
    for (size_t index = 0; index < definition_.steps.size(); ++index) {
      first_by_name.emplace(definition_.steps[index].name, index);
    }
    for (size_t condition = 0; condition < definition_.steps.size(); ++condition) {
      if (definition_.steps[condition].type != "Condition") continue;
      for (Branch branch : {Branch::kIf, Branch::kElse}) {
        const StepDefinition& step = definition_.steps[condition];
        const std::vector<std::string>& names =
            branch == Branch::kIf ? step.if_steps : step.else_steps;
        for (const std::string& name : names) {
          auto target = first_by_name.find(name);
          if (target == first_by_name.end() || target->second == condition) continue;
          const BranchGuard guard{step.name, branch};
          std::vector<BranchGuard>& guards = definition_.steps[target->second].guards;
          if (std::find(guards.begin(), guards.end(), guard) == guards.end()) {
            guards.push_back(guard);
          }
        }
      }
    }
  }

  SourceDocument document_;
  const StepTypeRegistry& types_;
  PipelineDefinition definition_;
};

}  // namespace

std::string PipelineNameFromSource(std::string_view source_name) {
  std::string_view base = source_name;
  const size_t slash = base.find_last_of("/\\");
  if (slash != std::string_view::npos) base.remove_prefix(slash + 1);
  const size_t dot = base.find('.');
  return std::string(base.substr(0, dot));
}

Result<PipelineDefinition> ParseDefinition(std::string_view text, std::string_view source_name,
                                           const StepTypeRegistry& types) {
  ASSIGN_OR_RETURN(SourceDocument document, ParseSourceDocument(text, source_name));
  DefinitionParser parser(std::move(document), source_name, types);
  return parser.Parse();
}

Result<PipelineDefinition> ParseDefinition(std::string_view text, std::string_view source_name) {
  const StepTypeRegistry types = BuiltinStepTypes();
  return ParseDefinition(text, source_name, types);
}

Result<PipelineDefinition> LoadDefinitionFile(const std::filesystem::path& path,
                                              const StepTypeRegistry& types) {
  std::error_code error;
  const bool exists = std::filesystem::exists(path, error);
  if (!exists) return NotFoundError("no pipeline definition at " + path.string());
  const auto size = std::filesystem::file_size(path, error);
  if (error) return UnavailableError("cannot read " + path.string() + ": " + error.message());
  if (size > kMaxDefinitionBytes) {
    return InvalidArgumentError(path.string() + ": definition too large: " + std::to_string(size) +
                                " bytes; the limit is " + std::to_string(kMaxDefinitionBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("cannot open " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return UnavailableError("cannot read " + path.string());
  return ParseDefinition(text.str(), path.string(), types);
}

Result<PipelineDefinition> LoadDefinitionFile(const std::filesystem::path& path) {
  const StepTypeRegistry types = BuiltinStepTypes();
  return LoadDefinitionFile(path, types);
}

}  // namespace raypipe::pipeline
