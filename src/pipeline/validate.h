#pragma once

// Validation of a parsed definition before anything runs. Every problem is reported at once,
// each naming the file, line, step and field:
//   - the parser's shape problems (PipelineDefinition::parse_diagnostics), first;
//   - the document: Version, the pipeline name, ParallelismConfiguration,
//     PipelineExperimentConfig;
//   - parameters: names, duplicates, DefaultValue of the declared type;
//   - steps: names (^[A-Za-z0-9\-_]{1,64}$) and duplicates, known Type, DependsOn, CacheConfig
//     (ISO-8601 ExpireAfter), RetryPolicies within SageMaker's limits, PropertyFiles, and the
//     type's own argument checks (StepTypeSpec::validate_arguments);
//   - expressions: well formed, naming known parameters, execution variables, steps, step
//     properties and property files; {"Get": "Item"} only inside a ForEach template; static
//     type mismatches (conditions comparing a Float with a String, ...);
//   - the graph: cycles (printed "A -> B -> A"), and steps that can never run because they
//     need both branches of one condition.
//
// References to other steps add edges to the DAG (pipeline/dag.h), so a referenced step is
// always upstream of the step that refers to it; what is left to reject is a reference that
// closes a cycle, a step that refers to itself, and one that needs steps from both branches
// of a condition (a step that waits for a step of a branch not taken is skipped with it).

#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/definition.h"
#include "pipeline/step_types.h"

namespace raypipe::pipeline {

struct ValidationReport {
  std::vector<Diagnostic> errors;

  bool ok() const { return errors.empty(); }
  // One error per line, in report order.
  std::string ToString() const;
  // OK, or InvalidArgument whose message is "N errors in FILE:\n" + ToString().
  Status ToStatus() const;
};

// Validates with BuiltinStepTypes().
ValidationReport Validate(const PipelineDefinition& definition);
ValidationReport Validate(const PipelineDefinition& definition, const StepTypeRegistry& types);

// SageMaker's retry exception types: Step.SERVICE_FAULT, Step.THROTTLING,
// SageMaker.JOB_INTERNAL_ERROR, SageMaker.CAPACITY_ERROR, SageMaker.RESOURCE_LIMIT.
const std::vector<std::string>& RetryExceptionTypes();

}  // namespace raypipe::pipeline
