#pragma once

// The dependency graph of a pipeline's steps: an edge from A to B when B must wait for A,
// because B lists A in DependsOn, B's Arguments refer to {"Get": "Steps.A...."} anywhere
// (inside conditions and ForEach templates too), or A is a Condition step that lists B in its
// IfSteps / ElseSteps.
//
// Steps are numbered as in PipelineDefinition::steps. Names that match no step make no edge
// (Validate reports them); with duplicate names the first step takes the name.
// Immutable after Build; safe to share between threads.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "pipeline/definition.h"

namespace raypipe::pipeline {

enum class EdgeKind { kDependsOn, kReference, kBranch };

struct DagEdge {
  size_t from = 0;   // the upstream step
  size_t to = 0;     // the step that waits for it
  EdgeKind kind = EdgeKind::kDependsOn;
  size_t owner = 0;  // the step whose definition states the edge: `to`, or the condition
  FieldPath field;   // where in `owner` ("DependsOn[0]", "Arguments.Command[3]",
                     // "Arguments.IfSteps[1]")
};

class Dag {
 public:
  static Dag Build(const PipelineDefinition& definition);

  size_t size() const { return names_.size(); }
  const std::string& name(size_t step) const { return names_[step]; }
  std::optional<size_t> Find(std::string_view step_name) const;
  const std::vector<DagEdge>& edges() const { return edges_; }

  // Direct upstream / downstream steps, each once, in step order.
  const std::vector<size_t>& Upstream(size_t step) const { return upstream_[step]; }
  const std::vector<size_t>& Downstream(size_t step) const { return downstream_[step]; }
  // True when `ancestor` must finish before `step` starts, directly or through other steps.
  bool IsUpstream(size_t ancestor, size_t step) const;
  // The first edge from `from` to `to`, or null.
  const DagEdge* FindEdge(size_t from, size_t to) const;

  // One cycle for each group of steps that wait for each other (a step that waits for itself
  // included), as the steps along it starting from the group's first step, in step order.
  std::vector<std::vector<size_t>> Cycles() const;
  // "A -> B -> C -> A", following the edges.
  std::string FormatCycle(const std::vector<size_t>& cycle) const;

  // Every step after all of its upstream steps, ties broken by step order. FailedPrecondition
  // "dependency cycle: A -> B -> A" when there is a cycle.
  Result<std::vector<size_t>> TopologicalOrder() const;

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<DagEdge> edges_;
  std::vector<std::vector<size_t>> upstream_;
  std::vector<std::vector<size_t>> downstream_;
};

// The references to other steps in a step's Arguments, with where each sits
// ("Arguments.Command[3]"). Malformed expressions are skipped (Validate reports them).
struct StepReference {
  std::string step;
  FieldPath field;
};
std::vector<StepReference> StepReferences(const StepDefinition& step);

}  // namespace raypipe::pipeline
