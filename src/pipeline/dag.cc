#include "pipeline/dag.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <queue>

#include "pipeline/expression.h"

namespace raypipe::pipeline {
namespace {

void SortUnique(std::vector<size_t>* values) {
  std::sort(values->begin(), values->end());
  values->erase(std::unique(values->begin(), values->end()), values->end());
}

// The index of `name` among the string entries of arguments[key], for edge messages.
std::optional<size_t> BranchEntryIndex(const nlohmann::json& arguments, const std::string& key,
                                       const std::string& name) {
  auto it = arguments.find(key);
  if (it == arguments.end() || !it->is_array()) return std::nullopt;
  for (size_t index = 0; index < it->size(); ++index) {
    if ((*it)[index].is_string() && (*it)[index].get<std::string>() == name) return index;
  }
  return std::nullopt;
}

}  // namespace

std::vector<StepReference> StepReferences(const StepDefinition& step) {
  std::vector<Issue> ignored;
  const Expression expression = ParseExpression(step.arguments, FieldPath("Arguments"), &ignored);
  std::vector<StepReference> out;
  for (LocatedReference& located : CollectReferences(expression)) {
    if (located.reference.kind != ReferenceKind::kStep) continue;
    out.push_back({std::move(located.reference.name), std::move(located.field)});
  }
  return out;
}

Dag Dag::Build(const PipelineDefinition& definition) {
  Dag dag;
  const size_t count = definition.steps.size();
  dag.upstream_.resize(count);
  dag.downstream_.resize(count);
  for (size_t step = 0; step < count; ++step) {
    dag.names_.push_back(definition.steps[step].name);
    dag.index_.emplace(definition.steps[step].name, step);  // the first step keeps a name
  }
  auto add = [&dag](size_t from, size_t to, EdgeKind kind, size_t owner, FieldPath field) {
    dag.edges_.push_back({from, to, kind, owner, std::move(field)});
    dag.upstream_[to].push_back(from);
    dag.downstream_[from].push_back(to);
  };
  for (size_t step = 0; step < count; ++step) {
    const StepDefinition& definition_step = definition.steps[step];
    for (size_t index = 0; index < definition_step.depends_on.size(); ++index) {
      if (std::optional<size_t> from = dag.Find(definition_step.depends_on[index])) {
        add(*from, step, EdgeKind::kDependsOn, step, FieldPath("DependsOn").Index(index));
      }
    }
    for (StepReference& reference : StepReferences(definition_step)) {
      if (std::optional<size_t> from = dag.Find(reference.step)) {
        add(*from, step, EdgeKind::kReference, step, std::move(reference.field));
      }
    }
    for (const BranchGuard& guard : definition_step.guards) {
      std::optional<size_t> condition = dag.Find(guard.condition_step);
      if (!condition.has_value()) continue;
      const std::string key(BranchFieldName(guard.branch));
      FieldPath field = FieldPath("Arguments").Key(key);
      if (std::optional<size_t> entry = BranchEntryIndex(definition.steps[*condition].arguments,
                                                         key, definition_step.name)) {
        field = field.Index(*entry);
      }
      add(*condition, step, EdgeKind::kBranch, *condition, std::move(field));
    }
  }
  for (size_t step = 0; step < count; ++step) {
    SortUnique(&dag.upstream_[step]);
    SortUnique(&dag.downstream_[step]);
  }
  return dag;
}

std::optional<size_t> Dag::Find(std::string_view step_name) const {
  auto it = index_.find(std::string(step_name));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

bool Dag::IsUpstream(size_t ancestor, size_t step) const {
  std::vector<bool> seen(size(), false);
  std::vector<size_t> pending = upstream_[step];
  while (!pending.empty()) {
    const size_t current = pending.back();
    pending.pop_back();
    if (current == ancestor) return true;
    if (seen[current]) continue;
    seen[current] = true;
    pending.insert(pending.end(), upstream_[current].begin(), upstream_[current].end());
  }
  return false;
}

const DagEdge* Dag::FindEdge(size_t from, size_t to) const {
  for (const DagEdge& edge : edges_) {
    if (edge.from == from && edge.to == to) return &edge;
  }
  return nullptr;
}

std::vector<std::vector<size_t>> Dag::Cycles() const {
  // Tarjan's strongly connected components, iteratively so that long chains of steps cannot
  // exhaust the stack.
  const size_t count = size();
  constexpr size_t kUnvisited = static_cast<size_t>(-1);
  std::vector<size_t> order(count, kUnvisited), low(count, 0), component(count, kUnvisited);
  std::vector<bool> on_stack(count, false);
  std::vector<size_t> stack;
  size_t next_order = 0;
  size_t components = 0;
  struct Frame {
    size_t step;
    size_t next_child;
  };
  for (size_t root = 0; root < count; ++root) {
    if (order[root] != kUnvisited) continue;
    std::vector<Frame> frames{{root, 0}};
    order[root] = low[root] = next_order++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!frames.empty()) {
      Frame& frame = frames.back();
      const std::vector<size_t>& children = downstream_[frame.step];
      if (frame.next_child < children.size()) {
        const size_t child = children[frame.next_child++];
        if (order[child] == kUnvisited) {
          order[child] = low[child] = next_order++;
          stack.push_back(child);
          on_stack[child] = true;
          frames.push_back({child, 0});
        } else if (on_stack[child]) {
          low[frame.step] = std::min(low[frame.step], order[child]);
        }
        continue;
      }
      const size_t step = frame.step;
      frames.pop_back();
      if (!frames.empty()) low[frames.back().step] = std::min(low[frames.back().step], low[step]);
      if (low[step] != order[step]) continue;
      while (true) {
        const size_t member = stack.back();
        stack.pop_back();
        on_stack[member] = false;
        component[member] = components;
        if (member == step) break;
      }
      ++components;
    }
  }

  std::vector<std::vector<size_t>> members(components);
  for (size_t step = 0; step < count; ++step) members[component[step]].push_back(step);
  std::vector<std::vector<size_t>> cycles;
  for (const std::vector<size_t>& group : members) {
    const size_t start = group.front();  // the group's first step: members are in step order
    const bool self_loop = std::binary_search(downstream_[start].begin(),
                                              downstream_[start].end(), start);
    if (group.size() == 1 && !self_loop) continue;
    if (self_loop) {
      cycles.push_back({start, start});
      continue;
    }
    // Shortest way round from `start` back to itself, inside the group.
    std::vector<size_t> parent(count, kUnvisited);
    std::deque<size_t> queue{start};
    size_t last = kUnvisited;
    while (!queue.empty() && last == kUnvisited) {
      const size_t current = queue.front();
      queue.pop_front();
      for (size_t child : downstream_[current]) {
        if (component[child] != component[start]) continue;
        if (child == start) {
          last = current;
          break;
        }
        if (parent[child] == kUnvisited) {
          parent[child] = current;
          queue.push_back(child);
        }
      }
    }
    std::vector<size_t> cycle{start};  // built backwards from the step that closes it
    for (size_t step = last; step != start && step != kUnvisited; step = parent[step]) {
      cycle.push_back(step);
    }
    cycle.push_back(start);
    std::reverse(cycle.begin(), cycle.end());
    cycles.push_back(std::move(cycle));
  }
  std::sort(cycles.begin(), cycles.end(),
            [](const std::vector<size_t>& a, const std::vector<size_t>& b) {
              return a.front() < b.front();
            });
  return cycles;
}

std::string Dag::FormatCycle(const std::vector<size_t>& cycle) const {
  std::string out;
  for (size_t step : cycle) {
    if (!out.empty()) out += " -> ";
    out += names_[step];
  }
  return out;
}

Result<std::vector<size_t>> Dag::TopologicalOrder() const {
  const size_t count = size();
  std::vector<size_t> waiting(count, 0);
  for (size_t step = 0; step < count; ++step) waiting[step] = upstream_[step].size();
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t step = 0; step < count; ++step) {
    if (waiting[step] == 0) ready.push(step);
  }
  std::vector<size_t> order;
  order.reserve(count);
  while (!ready.empty()) {
    const size_t step = ready.top();
    ready.pop();
    order.push_back(step);
    for (size_t child : downstream_[step]) {
      if (--waiting[child] == 0) ready.push(child);
    }
  }
  if (order.size() != count) {
    const std::vector<std::vector<size_t>> cycles = Cycles();
    return FailedPreconditionError(
        "dependency cycle: " + (cycles.empty() ? std::string("?") : FormatCycle(cycles.front())));
  }
  return order;
}

}  // namespace raypipe::pipeline
