#include "pipeline/validate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "pipeline/dag.h"
#include "pipeline/expression.h"
#include "pipeline/cache_lifetime.h"

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

// SageMaker's limits for retry policies (sagemaker.workflow.retry and the Pipelines guide).
constexpr int64_t kMaxIntervalSeconds = 43200;
constexpr int64_t kMaxAttempts = 20;
constexpr int64_t kMaxExpireAfterMin = 14400;
// SageMaker's limits for step display names and descriptions.
constexpr size_t kMaxDisplayName = 82;
constexpr size_t kMaxDescription = 3072;

std::string QuotedList(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

class Validator {
 public:
  Validator(const PipelineDefinition& definition, const StepTypeRegistry& types)
      : definition_(definition), types_(types) {
    reference_type_ = [this](const Reference& reference) { return ReferenceType(reference); };
    for (const StepDefinition& step : definition_.steps) steps_by_name_.emplace(step.name, &step);
    for (const ParameterDefinition& parameter : definition_.parameters) {
      parameters_by_name_.emplace(parameter.name, &parameter);
    }
  }

  ValidationReport Run() {
    report_.errors = definition_.parse_diagnostics;
    CheckDocument();
    CheckParameters();
    std::map<std::string, size_t> first_by_name;
    for (size_t index = 0; index < definition_.steps.size(); ++index) {
      const StepDefinition& step = definition_.steps[index];
      auto [it, inserted] = first_by_name.emplace(step.name, index);
      if (!inserted) {
        const int first_line = definition_.steps[it->second].line;
        Report(step, FieldPath("Name"),
               "duplicate step name '" + step.name + "'" +
                   (first_line > 0 ? "; first defined at line " + std::to_string(first_line)
                                   : std::string()));
      }
      CheckStep(step);
    }
    CheckGraph();
    // Read top to bottom: by line, problems on one line in the order found.
    std::stable_sort(report_.errors.begin(), report_.errors.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    // The same problem can be found twice (a condition's expression is also an argument).
    std::vector<Diagnostic> unique;
    std::set<std::string> seen;
    for (Diagnostic& error : report_.errors) {
      if (seen.insert(error.ToString()).second) unique.push_back(std::move(error));
    }
    report_.errors = std::move(unique);
    return std::move(report_);
  }

 private:
  void ReportAt(const std::string& step, const std::string& pointer, const FieldPath& field,
                std::string message) {
    report_.errors.push_back({definition_.source_name, definition_.source_map.Find(pointer).line,
                              step, field.ToString(), std::move(message)});
  }
  void Report(const StepDefinition& step, const FieldPath& field, std::string message) {
    const std::string pointer = step.source_pointer + field.ToPointer();
    if (!step.name.empty()) {
      ReportAt(step.name, pointer, field, std::move(message));
      return;
    }
    // A step without a name is named by where it is: "Steps[3].Name".
    FieldPath location;
    size_t start = 1;
    while (start <= step.source_pointer.size()) {
      size_t end = step.source_pointer.find('/', start);
      if (end == std::string::npos) end = step.source_pointer.size();
      const std::string token = step.source_pointer.substr(start, end - start);
      const bool index =
          !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
      location = index ? location.Index(std::stoul(token)) : location.Key(token);
      start = end + 1;
    }
    ReportAt("", pointer, location.Append(field), std::move(message));
  }
  void ReportDocument(const FieldPath& field, std::string message) {
    ReportAt("", field.ToPointer(), field, std::move(message));
  }
  void ReportIssues(const StepDefinition& step, const std::vector<Issue>& issues) {
    for (const Issue& issue : issues) Report(step, issue.field, issue.message);
  }

  // Like PipelineDefinition::FindStep / FindParameter, in constant time.
  const StepDefinition* FindStep(const std::string& name) const {
    auto it = steps_by_name_.find(name);
    return it == steps_by_name_.end() ? nullptr : it->second;
  }
  const ParameterDefinition* FindParameter(const std::string& name) const {
    auto it = parameters_by_name_.find(name);
    return it == parameters_by_name_.end() ? nullptr : it->second;
  }

  ValueType ReferenceType(const Reference& reference) const {
    switch (reference.kind) {
      case ReferenceKind::kParameter: {
        const ParameterDefinition* parameter = FindParameter(reference.name);
        return parameter == nullptr ? ValueType::kUnknown : ValueTypeOf(parameter->type);
      }
      case ReferenceKind::kExecution:
        return ValueType::kString;
      case ReferenceKind::kItem:
        return ValueType::kUnknown;
      case ReferenceKind::kItemIndex:
        return ValueType::kInteger;
      case ReferenceKind::kStep: {
        const StepDefinition* target = FindStep(reference.name);
        if (target == nullptr) return ValueType::kUnknown;
        if (reference.IsPropertyFile()) {
          return target->FindPropertyFile(reference.PropertyFileName()) != nullptr
                     ? ValueType::kObject
                     : ValueType::kUnknown;
        }
        const StepTypeSpec* spec = types_.Find(target->type);
        if (spec == nullptr || !spec->property_type) return ValueType::kUnknown;
        Result<ValueType> type = spec->property_type(*target, reference.property);
        return type.ok() ? *type : ValueType::kUnknown;
      }
    }
    return ValueType::kUnknown;
  }

  void CheckDocument() {
    if (definition_.version != kDefinitionVersion) {
      ReportDocument(FieldPath("Version"), "unsupported Version '" + definition_.version +
                                               "'; expected '" + std::string(kDefinitionVersion) +
                                               "'");
    }
    if (!IsValidName(definition_.name, 256)) {
      const bool from_metadata = definition_.metadata.contains("Name");
      ReportDocument(from_metadata ? FieldPath("Metadata").Key("Name") : FieldPath(),
                     "pipeline name '" + definition_.name +
                         "' must match ^[A-Za-z0-9\\-_]{1,256}$" +
                         (from_metadata ? "" : "; set Metadata.Name"));
    }
    if (definition_.max_parallel_execution_steps.has_value() &&
        *definition_.max_parallel_execution_steps < 1) {
      ReportDocument(FieldPath("ParallelismConfiguration").Key("MaxParallelExecutionSteps"),
                     "MaxParallelExecutionSteps must be at least 1, got " +
                         std::to_string(*definition_.max_parallel_execution_steps));
    }
    if (definition_.steps.empty() && definition_.parse_diagnostics.empty()) {
      ReportDocument(FieldPath("Steps"), "a pipeline needs at least one step");
    }
    if (definition_.experiment_config.has_value()) {
      const FieldPath base("PipelineExperimentConfig");
      CheckExperimentField(base.Key("ExperimentName"),
                           definition_.experiment_config->experiment_name);
      CheckExperimentField(base.Key("TrialName"), definition_.experiment_config->trial_name);
    }
  }

  void CheckExperimentField(const FieldPath& field, const json& value) {
    if (value.is_null()) return;
    std::vector<Issue> issues;
    const Expression expression = ParseExpression(value, field, &issues);
    for (const Issue& issue : issues) ReportDocument(issue.field, issue.message);
    for (const LocatedReference& located : CollectReferences(expression)) {
      const Reference& reference = located.reference;
      if (reference.kind == ReferenceKind::kParameter) {
        if (FindParameter(reference.name) == nullptr) {
          ReportDocument(located.field, "unknown parameter '" + reference.name + "'");
        }
      } else if (reference.kind != ReferenceKind::kExecution) {
        ReportDocument(located.field, "only Parameters.* and Execution.* are known before "
                                      "the steps run; got " +
                                          reference.ToString());
      }
    }
    const ValueType type = InferType(expression, reference_type_);
    if (issues.empty() && type != ValueType::kString && type != ValueType::kUnknown) {
      ReportDocument(field, "must be a String, got " + std::string(ValueTypeName(type)));
    }
  }

  void CheckParameters() {
    std::map<std::string, size_t> first_by_name;
    for (const ParameterDefinition& parameter : definition_.parameters) {
      const FieldPath base = FieldPath("Parameters").Index(parameter.source_index);
      if (!IsValidName(parameter.name, 256)) {
        ReportDocument(base.Key("Name"), "parameter name '" + parameter.name +
                                             "' must match ^[A-Za-z0-9\\-_]{1,256}$");
      }
      auto [it, inserted] = first_by_name.emplace(parameter.name, parameter.line);
      if (!inserted) {
        ReportDocument(base.Key("Name"), "duplicate parameter '" + parameter.name +
                                             "'; first defined at line " +
                                             std::to_string(it->second));
      }
      if (!parameter.default_value.has_value()) continue;
      const json& value = *parameter.default_value;
      bool matches = false;
      switch (parameter.type) {
        case ParameterType::kString:
          matches = value.is_string();
          break;
        case ParameterType::kInteger:
          matches = value.is_number_integer() &&
                    !(value.is_number_unsigned() &&
                      value.get<uint64_t>() >
                          static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
          break;
        case ParameterType::kFloat:
          matches = value.is_number();
          break;
        case ParameterType::kBoolean:
          matches = value.is_boolean();
          break;
      }
      if (!matches) {
        ReportDocument(base.Key("DefaultValue"),
                       "DefaultValue " + DescribeValue(value) + " is not " +
                           WithArticle(ParameterTypeName(parameter.type)) + " (got " +
                           std::string(JsonTypeName(value)) + ")");
      }
    }
  }

  void CheckStep(const StepDefinition& step) {
    if (!IsValidName(step.name)) {
      Report(step, FieldPath("Name"),
             "step name '" + step.name + "' must match ^[A-Za-z0-9\\-_]{1,64}$");
    }
    const StepTypeSpec* spec = types_.Find(step.type);
    if (spec == nullptr) {
      std::string known;
      for (const std::string& name : types_.TypeNames()) {
        known += (known.empty() ? "" : ", ") + name;
      }
      Report(step, FieldPath("Type"),
             step.type.empty() ? "a step needs a Type, one of " + known
                               : "unknown step type '" + step.type + "'; expected one of " + known);
    }
    if (step.display_name.size() > kMaxDisplayName) {
      Report(step, FieldPath("DisplayName"),
             "DisplayName is longer than " + std::to_string(kMaxDisplayName) + " characters");
    }
    if (step.description.size() > kMaxDescription) {
      Report(step, FieldPath("Description"),
             "Description is longer than " + std::to_string(kMaxDescription) + " characters");
    }
    for (size_t index = 0; index < step.depends_on.size(); ++index) {
      const std::string& name = step.depends_on[index];
      if (FindStep(name) == nullptr) {
        Report(step, FieldPath("DependsOn").Index(index), "unknown step '" + name + "'");
      }
    }
    CheckCacheConfig(step, spec);
    CheckRetryPolicies(step, spec);
    CheckPropertyFiles(step);
    CheckArguments(step, spec);
  }

  void CheckCacheConfig(const StepDefinition& step, const StepTypeSpec* spec) {
    const CacheConfig& cache = step.cache_config;
    if (cache.expire_after_text.has_value()) {
      Result<std::chrono::seconds> duration = ParseCacheLifetime(*cache.expire_after_text);
      if (!duration.ok()) {
        Report(step, FieldPath("CacheConfig").Key("ExpireAfter"),
               std::string(duration.status().message()));
      }
    }
    if (spec != nullptr && !spec->cacheable && cache.enabled) {
      Report(step, FieldPath("CacheConfig"),
             step.type + " steps are not cached; remove CacheConfig");
    }
  }

  void CheckRetryPolicies(const StepDefinition& step, const StepTypeSpec* spec) {
    if (spec != nullptr && !spec->retryable && !step.retry_policies.empty()) {
      Report(step, FieldPath("RetryPolicies"),
             step.type + " steps are not retried; remove RetryPolicies");
      return;
    }
    const std::vector<std::string>& known = RetryExceptionTypes();
    std::map<std::string, size_t> covered;
    for (size_t index = 0; index < step.retry_policies.size(); ++index) {
      const RetryPolicy& policy = step.retry_policies[index];
      const FieldPath base = FieldPath("RetryPolicies").Index(index);
      for (size_t type_index = 0; type_index < policy.exception_types.size(); ++type_index) {
        const std::string& type = policy.exception_types[type_index];
        const FieldPath field = base.Key("ExceptionType").Index(type_index);
        if (std::find(known.begin(), known.end(), type) == known.end()) {
          Report(step, field,
                 "unknown exception type '" + type + "'; expected one of " + QuotedList(known));
          continue;
        }
        auto [it, inserted] = covered.emplace(type, index);
        if (!inserted) {
          Report(step, field, "'" + type + "' is already covered by RetryPolicies[" +
                                  std::to_string(it->second) + "]");
        }
      }
      if (policy.interval_seconds < 1 || policy.interval_seconds > kMaxIntervalSeconds) {
        Report(step, base.Key("IntervalSeconds"),
               "IntervalSeconds must be between 1 and " + std::to_string(kMaxIntervalSeconds) +
                   ", got " + std::to_string(policy.interval_seconds));
      }
      if (!std::isfinite(policy.backoff_rate) || policy.backoff_rate < 0) {
        Report(step, base.Key("BackoffRate"),
               "BackoffRate must be a non-negative number, got " +
                   DescribeValue(json(policy.backoff_rate)));
      }
      if (policy.max_attempts.has_value() == policy.expire_after_min.has_value()) {
        Report(step, base, policy.max_attempts.has_value()
                               ? "set MaxAttempts or ExpireAfterMin, not both"
                               : "a retry policy needs MaxAttempts (1-20) or ExpireAfterMin "
                                 "(0-14400 minutes)");
      }
      if (policy.max_attempts.has_value() &&
          (*policy.max_attempts < 1 || *policy.max_attempts > kMaxAttempts)) {
        Report(step, base.Key("MaxAttempts"), "MaxAttempts must be between 1 and " +
                                                  std::to_string(kMaxAttempts) + ", got " +
                                                  std::to_string(*policy.max_attempts));
      }
      if (policy.expire_after_min.has_value() &&
          (*policy.expire_after_min < 0 || *policy.expire_after_min > kMaxExpireAfterMin)) {
        Report(step, base.Key("ExpireAfterMin"),
               "ExpireAfterMin must be between 0 and " + std::to_string(kMaxExpireAfterMin) +
                   ", got " + std::to_string(*policy.expire_after_min));
      }
    }
  }

  void CheckPropertyFiles(const StepDefinition& step) {
    std::set<std::string> names;
    for (size_t index = 0; index < step.property_files.size(); ++index) {
      const PropertyFile& file = step.property_files[index];
      const FieldPath base = FieldPath("PropertyFiles").Index(index);
      if (!IsValidName(file.name)) {
        Report(step, base.Key("PropertyFileName"),
               "property file name '" + file.name + "' must match ^[A-Za-z0-9\\-_]{1,64}$");
      } else if (!names.insert(file.name).second) {
        Report(step, base.Key("PropertyFileName"),
               "duplicate property file '" + file.name + "'");
      }
      if (file.output_name.empty()) {
        Report(step, base.Key("OutputName"), "OutputName is empty");
      }
      const std::string& path = file.file_path;
      bool escapes = path.empty() || path.front() == '/' || path == ".." ||
                     path.rfind("../", 0) == 0 || path.find("/../") != std::string::npos ||
                     (path.size() >= 3 && path.substr(path.size() - 3) == "/..");
      if (escapes) {
        Report(step, base.Key("FilePath"),
               "FilePath '" + path + "' must be a relative path inside the output");
      }
    }
  }

  void CheckArguments(const StepDefinition& step, const StepTypeSpec* spec) {
    std::vector<Issue> issues;
    const Expression expression = ParseExpression(step.arguments, FieldPath("Arguments"), &issues);
    CheckExpressionTypes(expression, reference_type_, &issues);
    ReportIssues(step, issues);
    const FieldPath template_field = FieldPath("Arguments").Key("Step").Key("Arguments");
    for (const LocatedReference& located : CollectReferences(expression)) {
      CheckReference(step, located,
                     step.type == "ForEach" && located.field.StartsWith(template_field));
    }
    if (spec != nullptr && spec->validate_arguments) {
      std::vector<Issue> type_issues;
      ArgumentsContext context{definition_, step,  step.arguments,  FieldPath("Arguments"),
                               false,       types_, reference_type_, &type_issues};
      spec->validate_arguments(context);
      ReportIssues(step, type_issues);
    }
  }

  void CheckReference(const StepDefinition& step, const LocatedReference& located,
                      bool in_template) {
    const Reference& reference = located.reference;
    const std::string text = reference.ToString();
    switch (reference.kind) {
      case ReferenceKind::kExecution:
        return;
      case ReferenceKind::kParameter:
        if (FindParameter(reference.name) == nullptr) {
          std::vector<std::string> known;
          for (const ParameterDefinition& parameter : definition_.parameters) {
            known.push_back(parameter.name);
          }
          Report(step, located.field, "unknown parameter '" + reference.name +
                                          "'; the pipeline declares " + QuotedList(known));
        }
        return;
      case ReferenceKind::kItem:
      case ReferenceKind::kItemIndex:
        if (!in_template) {
          Report(step, located.field, "{\"Get\": \"" + text +
                                          "\"} is only defined inside the Step template of "
                                          "a ForEach step");
        }
        return;
      case ReferenceKind::kStep:
        break;
    }
    const StepDefinition* target = FindStep(reference.name);
    if (target == nullptr) {
      Report(step, located.field,
             "reference '" + text + "' names unknown step '" + reference.name + "'");
      return;
    }
    if (target == &step) return;  // reported as a step that depends on itself
    if (!reference.property.empty() && reference.property[0].key == "PropertyFiles" &&
        reference.property[0].kind == PathSegment::Kind::kKey) {
      if (!reference.IsPropertyFile()) {
        Report(step, located.field, "reference '" + text +
                                        "': expected Steps.<step>.PropertyFiles.<name>");
      } else if (target->FindPropertyFile(reference.PropertyFileName()) == nullptr) {
        std::vector<std::string> declared;
        for (const PropertyFile& file : target->property_files) declared.push_back(file.name);
        Report(step, located.field,
               "reference '" + text + "': step '" + target->name + "' has no property file '" +
                   reference.PropertyFileName() + "'; it declares " + QuotedList(declared));
      }
      return;
    }
    const StepTypeSpec* spec = types_.Find(target->type);
    if (spec == nullptr) return;  // its unknown type is reported on its own
    Result<ValueType> type =
        spec->property_type ? spec->property_type(*target, reference.property)
                            : Result<ValueType>(InvalidArgumentError(
                                  "has no property '" + FormatPropertyPath(reference.property) +
                                  "'"));
    if (!type.ok()) {
      Report(step, located.field, "reference '" + text + "': step '" + target->name + "' " +
                                      std::string(type.status().message()));
    }
  }

  void CheckGraph() {
    const Dag dag = Dag::Build(definition_);
    const std::vector<std::vector<size_t>> cycles = dag.Cycles();
    for (const std::vector<size_t>& cycle : cycles) {
      const size_t start = cycle.front();
      const DagEdge* closing = dag.FindEdge(cycle[cycle.size() - 2], start);
      if (closing == nullptr) continue;  // cannot happen: the cycle follows edges
      const StepDefinition& owner = definition_.steps[closing->owner];
      if (cycle.size() == 2) {  // a step that waits for itself
        if (closing->kind == EdgeKind::kBranch) continue;  // the condition check reports it
        Report(owner, closing->field, closing->kind == EdgeKind::kDependsOn
                                          ? "a step cannot depend on itself"
                                          : "a step cannot refer to its own properties");
        continue;
      }
      Report(owner, closing->field, "dependency cycle: " + dag.FormatCycle(cycle));
    }
    CheckBranchConflicts(dag);
  }

  // The steps in an order where each follows its upstream steps, leaving out the steps of
  // cycles and those downstream of them.
  static std::vector<size_t> PartialOrder(const Dag& dag) {
    std::vector<size_t> waiting(dag.size());
    std::vector<size_t> order;
    for (size_t step = 0; step < dag.size(); ++step) {
      waiting[step] = dag.Upstream(step).size();
      if (waiting[step] == 0) order.push_back(step);
    }
    for (size_t next = 0; next < order.size(); ++next) {
      for (size_t child : dag.Downstream(order[next])) {
        if (--waiting[child] == 0) order.push_back(child);
      }
    }
    return order;
  }

  // A step that waits for steps of both branches of one condition never runs.
  void CheckBranchConflicts(const Dag& dag) {
    // Per step: the branches it needs, each with the step that brings the need.
    std::vector<std::map<std::pair<std::string, Branch>, size_t>> needs(dag.size());
    for (size_t step : PartialOrder(dag)) {
      const StepDefinition& definition_step = definition_.steps[step];
      auto& mine = needs[step];
      for (const BranchGuard& guard : definition_step.guards) {
        mine.emplace(std::make_pair(guard.condition_step, guard.branch), step);
      }
      std::set<std::string> inherited_conflicts;
      for (size_t upstream : dag.Upstream(step)) {
        for (const auto& [need, unused] : needs[upstream]) {
          mine.emplace(need, upstream);
          const Branch other = need.second == Branch::kIf ? Branch::kElse : Branch::kIf;
          if (needs[upstream].count({need.first, other}) > 0) {
            inherited_conflicts.insert(need.first);
          }
        }
      }
      for (const auto& [need, source] : mine) {
        if (need.second != Branch::kIf) continue;
        auto other = mine.find({need.first, Branch::kElse});
        if (other == mine.end() || inherited_conflicts.count(need.first) > 0) continue;
        // Listed in both branches itself: the condition's own check reports it.
        if (source == step && other->second == step) continue;
        auto describe = [&](size_t from, Branch branch) {
          const std::string list(BranchFieldName(branch));
          return from == step ? "it is in " + list
                              : "it waits for '" + dag.name(from) + "' (" + list + ")";
        };
        FieldPath field;
        const size_t blamed = other->second != step ? other->second : source;
        const DagEdge* edge = dag.FindEdge(blamed, step);
        if (edge != nullptr && edge->owner == step) {
          field = edge->field;
        }
        Report(definition_step, field,
               "can never run: it needs both branches of condition '" + need.first + "': " +
                   describe(source, Branch::kIf) + " and " +
                   describe(other->second, Branch::kElse));
      }
    }
  }

  const PipelineDefinition& definition_;
  const StepTypeRegistry& types_;
  ReferenceTypeFn reference_type_;
  // The first step / parameter of each name.
  std::unordered_map<std::string, const StepDefinition*> steps_by_name_;
  std::unordered_map<std::string, const ParameterDefinition*> parameters_by_name_;
  ValidationReport report_;
};

}  // namespace

std::string ValidationReport::ToString() const {
  std::string out;
  for (const Diagnostic& error : errors) out += error.ToString() + "\n";
  return out;
}

Status ValidationReport::ToStatus() const {
  if (ok()) return Status::Ok();
  const std::string file = errors.front().file;
  return InvalidArgumentError(std::to_string(errors.size()) +
                              (errors.size() == 1 ? " error" : " errors") + " in " + file +
                              ":\n" + ToString());
}

const std::vector<std::string>& RetryExceptionTypes() {
  static const std::vector<std::string> kTypes = {
      "Step.SERVICE_FAULT", "Step.THROTTLING", "SageMaker.JOB_INTERNAL_ERROR",
      "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT"};
  return kTypes;
}

ValidationReport Validate(const PipelineDefinition& definition) {
  const StepTypeRegistry types = BuiltinStepTypes();
  return Validate(definition, types);
}

ValidationReport Validate(const PipelineDefinition& definition, const StepTypeRegistry& types) {
  Validator validator(definition, types);
  return validator.Run();
}

}  // namespace raypipe::pipeline
