#include "compute/kernel.h"

namespace raypipe::compute {
namespace {

template <typename Map>
std::string JoinNames(const Map& map) {
  std::string names;
  for (const auto& [name, unused] : map) {
    if (!names.empty()) names += ", ";
    names += name;
  }
  return names.empty() ? "none" : names;
}

}  // namespace

Status TaskContext::CheckCancelled() const {
  if (cancelled()) return CancelledError("'" + name_ + "' was cancelled");
  return Status::Ok();
}

Result<Value> MethodActor::Call(TaskContext& ctx, std::string_view method,
                                std::span<const Value> args) {
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    return NotFoundError("no method '" + std::string(method) + "' (methods: " +
                         JoinNames(methods_) + ")");
  }
  return it->second(ctx, args);
}

void MethodActor::AddMethod(std::string name, Method method) {
  methods_[std::move(name)] = std::move(method);
}

Status KernelRegistry::RegisterTask(std::string name, TaskKernel kernel) {
  if (name.empty() || !kernel) {
    return InvalidArgumentError("task kernel '" + name + "': a name and a function are required");
  }
  if (tasks_.count(name) != 0) {
    return AlreadyExistsError("a task kernel named '" + name + "' is already registered");
  }
  tasks_.emplace(std::move(name), std::move(kernel));
  return Status::Ok();
}

Status KernelRegistry::RegisterActor(std::string name, ActorFactory factory) {
  if (name.empty() || !factory) {
    return InvalidArgumentError("actor class '" + name + "': a name and a factory are required");
  }
  if (actors_.count(name) != 0) {
    return AlreadyExistsError("an actor class named '" + name + "' is already registered");
  }
  actors_.emplace(std::move(name), std::move(factory));
  return Status::Ok();
}

const TaskKernel* KernelRegistry::FindTask(std::string_view name) const {
  auto it = tasks_.find(name);
  return it == tasks_.end() ? nullptr : &it->second;
}

const ActorFactory* KernelRegistry::FindActor(std::string_view name) const {
  auto it = actors_.find(name);
  return it == actors_.end() ? nullptr : &it->second;
}

Result<const TaskKernel*> KernelRegistry::GetTask(std::string_view name) const {
  const TaskKernel* kernel = FindTask(name);
  if (kernel == nullptr) {
    return NotFoundError("no task kernel named '" + std::string(name) +
                         "' is registered (tasks: " + JoinNames(tasks_) + ")");
  }
  return kernel;
}

Result<const ActorFactory*> KernelRegistry::GetActor(std::string_view name) const {
  const ActorFactory* factory = FindActor(name);
  if (factory == nullptr) {
    return NotFoundError("no actor class named '" + std::string(name) +
                         "' is registered (actor classes: " + JoinNames(actors_) + ")");
  }
  return factory;
}

std::vector<std::string> KernelRegistry::TaskNames() const {
  std::vector<std::string> names;
  for (const auto& [name, unused] : tasks_) names.push_back(name);
  return names;
}

std::vector<std::string> KernelRegistry::ActorNames() const {
  std::vector<std::string> names;
  for (const auto& [name, unused] : actors_) names.push_back(name);
  return names;
}

Status ExpectArgCount(std::span<const Value> args, size_t min, size_t max) {
  if (args.size() >= min && args.size() <= max) return Status::Ok();
  std::string expected = min == max ? std::to_string(min)
                                    : std::to_string(min) + " to " + std::to_string(max);
  return InvalidArgumentError("expected " + expected + " argument" + (max == 1 ? "" : "s") +
                              ", got " + std::to_string(args.size()));
}

}  // namespace raypipe::compute
