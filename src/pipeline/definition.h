#pragma once

// The pipeline definition model: what a pipeline file says, parsed but not yet resolved.
// Expressions stay raw JSON in StepDefinition::arguments (they are resolved at run time by
// pipeline/expression.h); inline IfSteps / ElseSteps of Condition steps are flattened into
// PipelineDefinition::steps so the engine sees one DAG (pipeline/dag.h).
//
// Plain value types: copyable, not thread-safe to mutate, safe to share read-only.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace raypipe::pipeline {

// The format version of SageMaker Pipelines definitions, the only one accepted.
inline constexpr std::string_view kDefinitionVersion = "2020-12-01";

// Where a value sits inside a step or a document: rendered "Arguments.Command[2]" for messages
// and "/Arguments/Command/2" (a JSON pointer) to look up source positions.
class FieldPath {
 public:
  FieldPath() = default;
  // A path of one key: FieldPath("Arguments").
  explicit FieldPath(std::string_view key) { segments_.emplace_back(std::string(key)); }

  FieldPath Key(std::string_view key) const;
  FieldPath Index(size_t index) const;
  FieldPath Append(const FieldPath& tail) const;

  bool empty() const { return segments_.empty(); }
  bool StartsWith(const FieldPath& prefix) const;

  // "Arguments.Command[2]"; a key that is not a plain word prints as ['a.b'].
  std::string ToString() const;
  // "/Arguments/Command/2", with '~' and '/' escaped as RFC 6901 says.
  std::string ToPointer() const;

  friend bool operator==(const FieldPath&, const FieldPath&) = default;

 private:
  std::vector<std::variant<std::string, size_t>> segments_;
};

// Escapes one JSON-pointer reference token ('~' -> "~0", '/' -> "~1").
std::string EscapePointerToken(std::string_view token);

// 1-based line and column of a value in its source file; 0 when unknown.
struct SourcePosition {
  int line = 0;
  int column = 0;
};

// Source positions of the values of a parsed document, keyed by JSON pointer. For YAML it also
// keeps the text of plain (unquoted) scalars, so a field that the schema wants as a string gets
// "0.60" rather than the number YAML read.
class SourceMap {
 public:
  void Record(std::string pointer, SourcePosition position);
  void RecordPlainText(std::string pointer, std::string text);

  // The position of the value at `pointer`, or of its nearest recorded ancestor.
  SourcePosition Find(std::string_view pointer) const;
  // The source text of the plain YAML scalar at exactly `pointer`, or null.
  const std::string* PlainText(std::string_view pointer) const;

 private:
  std::unordered_map<std::string, SourcePosition> positions_;
  std::unordered_map<std::string, std::string> plain_texts_;
};

// One problem with a definition. ToString():
//   "pipeline.yaml:14: step 'Train', field 'Arguments.Command[2]': must be a string"
struct Diagnostic {
  std::string file;     // the source name given to the parser
  int line = 0;         // 1-based; 0 when unknown
  std::string step;     // empty for pipeline-level fields
  std::string field;    // "Arguments.Command[2]"; empty for the step or document as a whole
  std::string message;  // what is wrong, and what was expected

  std::string ToString() const;
  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

// A problem found while checking one value, before it is placed in a file and a step.
struct Issue {
  FieldPath field;
  std::string message;
};

enum class ParameterType { kString, kInteger, kFloat, kBoolean };

// "String", "Integer", "Float", "Boolean".
std::string_view ParameterTypeName(ParameterType type);
std::optional<ParameterType> ParseParameterType(std::string_view name);

struct ParameterDefinition {
  std::string name;
  ParameterType type = ParameterType::kString;
  // The DefaultValue as written, except that an Integer default of a Float parameter becomes
  // a float and a YAML plain scalar of a String parameter becomes its text; Validate() checks
  // that it has the parameter's type. Absent when the file gives none (or null): the value
  // must then come from an override at start.
  std::optional<nlohmann::json> default_value;
  // Where it is defined: its index in the file's Parameters list, and its 1-based line.
  size_t source_index = 0;
  int line = 0;
};

// PipelineExperimentConfig. Each field is an expression (raw JSON) that yields a string;
// SageMaker's defaults are the pipeline name and the execution id.
struct ExperimentConfig {
  nlohmann::json experiment_name;
  nlohmann::json trial_name;
};

struct CacheConfig {
  bool enabled = false;
  // ExpireAfter as written (an ISO-8601 duration such as "P30D"), and its length. Both absent
  // when not set: cached results then never expire.
  std::optional<std::string> expire_after_text;
  std::optional<std::chrono::seconds> expire_after;
};

// One entry of RetryPolicies, with SageMaker's defaults. Exactly one of max_attempts and
// expire_after_min is set in a valid definition.
struct RetryPolicy {
  std::vector<std::string> exception_types;
  int64_t interval_seconds = 1;
  double backoff_rate = 2.0;
  std::optional<int64_t> max_attempts;
  std::optional<int64_t> expire_after_min;
};

// PropertyFiles entry: a JSON file inside one of the step's outputs, read by Std:JsonGet.
struct PropertyFile {
  std::string name;         // PropertyFileName
  std::string output_name;  // OutputName
  std::string file_path;    // FilePath, relative to that output
};

enum class Branch { kIf, kElse };
std::string_view BranchFieldName(Branch branch);  // "IfSteps" / "ElseSteps"

// Records that a step runs only when a condition took a branch.
struct BranchGuard {
  std::string condition_step;
  Branch branch = Branch::kIf;
  friend bool operator==(const BranchGuard&, const BranchGuard&) = default;
};

struct StepDefinition {
  std::string name;
  std::string type;
  std::string display_name;
  std::string description;
  // Kept raw: expressions inside are resolved at run time. An object. For Condition steps the
  // inline step definitions of IfSteps / ElseSteps are replaced by their names.
  nlohmann::json arguments = nlohmann::json::object();
  std::vector<std::string> depends_on;
  CacheConfig cache_config;
  std::vector<RetryPolicy> retry_policies;
  std::vector<PropertyFile> property_files;

  // Condition steps only: the names of the steps of each branch, in file order.
  std::vector<std::string> if_steps;
  std::vector<std::string> else_steps;
  // The branches this step is listed in (inline or by name); empty for unconditional steps.
  std::vector<BranchGuard> guards;
  // True when defined inside a condition's IfSteps / ElseSteps rather than under Steps.
  bool defined_inline = false;

  // Where the step's object is: a JSON pointer ("/Steps/3") and its 1-based line.
  std::string source_pointer;
  int line = 0;

  const PropertyFile* FindPropertyFile(std::string_view file_name) const;
};

struct PipelineDefinition {
  // The name errors print as the file (usually the path given to LoadDefinitionFile).
  std::string source_name;
  // Metadata.Name, else the file name without its extension. Settable by the caller.
  std::string name;
  std::string version = std::string(kDefinitionVersion);
  nlohmann::json metadata = nlohmann::json::object();
  std::vector<ParameterDefinition> parameters;
  std::optional<ExperimentConfig> experiment_config;
  // ParallelismConfiguration.MaxParallelExecutionSteps; absent means no limit.
  std::optional<int64_t> max_parallel_execution_steps;
  // Top-level steps in file order, each Condition step followed by its inline branch steps.
  std::vector<StepDefinition> steps;

  SourceMap source_map;
  // Problems the parser found in the shape of single fields; Validate() reports them first.
  std::vector<Diagnostic> parse_diagnostics;

  // The first step / parameter of that name, or null. Linear in the number of steps.
  const StepDefinition* FindStep(std::string_view step_name) const;
  const ParameterDefinition* FindParameter(std::string_view parameter_name) const;
};

// True for names matching ^[A-Za-z0-9\-_]{1,max_length}$ (step, parameter, property file names).
bool IsValidName(std::string_view name, size_t max_length = 64);

// The type name used in messages for a JSON value: "String", "Integer", "Float", "Boolean",
// "List", "Object" or "null".
std::string_view JsonTypeName(const nlohmann::json& value);

// A short rendering of a value for messages: strings quoted, long values cut with "...".
std::string DescribeValue(const nlohmann::json& value);

// "a String", "an Integer": the word with its indefinite article, for messages.
std::string WithArticle(std::string_view word);

// Compact JSON text; invalid UTF-8 is replaced rather than thrown about.
std::string SafeDump(const nlohmann::json& value);

}  // namespace raypipe::pipeline
