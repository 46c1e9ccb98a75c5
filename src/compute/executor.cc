#include "compute/executor.h"

namespace raypipe::compute {
namespace {

constexpr int kMaxRetries = 1000;
constexpr size_t kMaxBundles = 1000;

Status CheckCount(int count, std::string_view field, std::string_view what) {
  if (count < 0 || count > kMaxRetries) {
    return InvalidArgumentError(std::string(what) + ": " + std::string(field) +
                                " must be in 0.." + std::to_string(kMaxRetries) + ", got " +
                                std::to_string(count));
  }
  return Status::Ok();
}

Status CheckTimeout(const Timeout& timeout) {
  if (timeout.has_value() && timeout->count() < 0) {
    return InvalidArgumentError("timeout must be >= 0, got " + std::to_string(timeout->count()) +
                                " ns");
  }
  return Status::Ok();
}

}  // namespace

std::string_view PlacementStrategyName(PlacementStrategy strategy) {
  switch (strategy) {
    case PlacementStrategy::kPack:
      return "PACK";
    case PlacementStrategy::kSpread:
      return "SPREAD";
    case PlacementStrategy::kStrictSpread:
      return "STRICT_SPREAD";
  }
  return "?";
}

std::string PlacementGroup::ToString() const {
  return state_ ? state_->ToString() : std::string("invalid placement group");
}

std::string PlacementGroupState::ToString() const {
  const PlacementGroupOptions& options = options_;
  std::string text = "placement group '" + options.name + "' (" +
                     std::string(PlacementStrategyName(options.strategy)) + ", " +
                     std::to_string(options.bundles.size()) + " bundle" +
                     (options.bundles.size() == 1 ? "" : "s") + ":";
  for (size_t bundle_idx = 0; bundle_idx < options.bundles.size(); ++bundle_idx) {
    text += (bundle_idx == 0 ? " " : ", ") + options.bundles[bundle_idx].ToString();
  }
  return text + ")";
}

std::string ObjectRef::ToString() const {
  if (!state_) return "invalid ref";
  return "obj-" + std::to_string(state_->id()) + " (" + state_->description() + ")";
}

Status Executor::CheckRef(const ObjectRef& ref, std::string_view what) const {
  if (!ref.valid()) return InvalidArgumentError(std::string(what) + " is an invalid ObjectRef");
  if (ref.state()->owner() != this) {
    return InvalidArgumentError(std::string(what) + " " + ref.ToString() +
                                " belongs to another executor");
  }
  return Status::Ok();
}

Status Executor::CheckArgs(const std::vector<Arg>& args, std::string_view what) const {
  for (size_t arg_idx = 0; arg_idx < args.size(); ++arg_idx) {
    if (!args[arg_idx].is_ref()) continue;
    RETURN_IF_ERROR(
        CheckRef(args[arg_idx].ref(), std::string(what) + ": argument " + std::to_string(arg_idx)));
  }
  return Status::Ok();
}

Status Executor::CheckActor(const ActorHandle& actor) const {
  if (!actor.valid()) return InvalidArgumentError("invalid ActorHandle");
  if (actor.state()->owner() != this) {
    return InvalidArgumentError("actor '" + actor.name() + "' belongs to another executor");
  }
  return Status::Ok();
}

Status Executor::CheckGroup(const PlacementGroup& group, std::string_view what) const {
  if (!group.valid()) return InvalidArgumentError(std::string(what) + ": invalid PlacementGroup");
  if (group.state()->owner() != this) {
    return InvalidArgumentError(std::string(what) + ": " + group.ToString() +
                                " belongs to another executor");
  }
  return Status::Ok();
}

Result<ObjectRef> Executor::Submit(std::string_view kernel, std::vector<Arg> args,
                                   TaskOptions options) {
  if (kernel.empty()) return InvalidArgumentError("Submit: the kernel name is empty");
  if (options.name.empty()) options.name = std::string(kernel);
  std::string what = "task '" + options.name + "'";
  RETURN_IF_ERROR(ValidateRequest(options.resources, what));
  RETURN_IF_ERROR(CheckFits(options.resources, Capacity(), what));
  RETURN_IF_ERROR(CheckCount(options.max_retries, "max_retries", what));
  RETURN_IF_ERROR(CheckArgs(args, what));
  return DoSubmit(kernel, std::move(args), std::move(options));
}

Result<Value> Executor::Get(const ObjectRef& ref, Timeout timeout) {
  RETURN_IF_ERROR(CheckRef(ref, "Get"));
  RETURN_IF_ERROR(CheckTimeout(timeout));
  return DoGet(ref, timeout);
}

Result<std::vector<ObjectRef>> Executor::Wait(const std::vector<ObjectRef>& refs,
                                              size_t num_ready, Timeout timeout) {
  if (num_ready > refs.size()) {
    return InvalidArgumentError("Wait: num_ready " + std::to_string(num_ready) +
                                " exceeds the " + std::to_string(refs.size()) + " refs given");
  }
  for (size_t ref_idx = 0; ref_idx < refs.size(); ++ref_idx) {
    RETURN_IF_ERROR(CheckRef(refs[ref_idx], "Wait: ref " + std::to_string(ref_idx)));
  }
  RETURN_IF_ERROR(CheckTimeout(timeout));
  return DoWait(refs, num_ready, timeout);
}

Status Executor::Cancel(const ObjectRef& ref) {
  RETURN_IF_ERROR(CheckRef(ref, "Cancel"));
  return DoCancel(ref);
}

Result<ObjectRef> Executor::Put(Value value) { return DoPut(std::move(value)); }

Result<ActorHandle> Executor::CreateActor(std::string_view actor_class, std::vector<Arg> args,
                                          ActorOptions options) {
  if (actor_class.empty()) return InvalidArgumentError("CreateActor: the class name is empty");
  std::string what = "actor '" + (options.name.empty() ? std::string(actor_class) : options.name) +
                     "' (class " + std::string(actor_class) + ")";
  RETURN_IF_ERROR(ValidateRequest(options.resources, what));
  RETURN_IF_ERROR(CheckFits(options.resources, Capacity(), what));
  RETURN_IF_ERROR(CheckCount(options.max_restarts, "max_restarts", what));
  if (options.placement_group.valid()) {
    RETURN_IF_ERROR(CheckGroup(options.placement_group, what));
    const PlacementGroupOptions& group = options.placement_group.state()->options();
    if (options.bundle_index < 0 ||
        static_cast<size_t>(options.bundle_index) >= group.bundles.size()) {
      return InvalidArgumentError(what + ": bundle_index " + std::to_string(options.bundle_index) +
                                  " is not a bundle of " + options.placement_group.ToString());
    }
    const Resources& bundle = group.bundles[static_cast<size_t>(options.bundle_index)];
    if (!ResourceUnits::From(options.resources).FitsIn(ResourceUnits::From(bundle))) {
      return InvalidArgumentError(what + " asks for " + options.resources.ToString() +
                                  ", more than bundle " + std::to_string(options.bundle_index) +
                                  " of " + options.placement_group.ToString() + " holds");
    }
  }
  RETURN_IF_ERROR(CheckArgs(args, what));
  return DoCreateActor(actor_class, std::move(args), std::move(options));
}

Result<ObjectRef> Executor::CallActor(const ActorHandle& actor, std::string_view method,
                                      std::vector<Arg> args, CallOptions options) {
  RETURN_IF_ERROR(CheckActor(actor));
  std::string what = "call '" + actor.name() + "." + std::string(method) + "'";
  if (method.empty()) return InvalidArgumentError(what + ": the method name is empty");
  RETURN_IF_ERROR(CheckCount(options.max_retries, "max_retries", what));
  RETURN_IF_ERROR(CheckArgs(args, what));
  return DoCallActor(actor, method, std::move(args), options);
}

Status Executor::KillActor(const ActorHandle& actor, bool no_restart) {
  RETURN_IF_ERROR(CheckActor(actor));
  return DoKillActor(actor, no_restart);
}

Result<PlacementGroup> Executor::CreatePlacementGroup(PlacementGroupOptions options) {
  uint64_t id = next_group_id_.fetch_add(1, std::memory_order_relaxed);
  if (options.name.empty()) options.name = "group#" + std::to_string(id);
  std::string what = "placement group '" + options.name + "'";
  if (options.bundles.empty() || options.bundles.size() > kMaxBundles) {
    return InvalidArgumentError(what + " must have 1.." + std::to_string(kMaxBundles) +
                                " bundles, got " + std::to_string(options.bundles.size()));
  }
  Resources total{0, 0};
  for (size_t bundle_idx = 0; bundle_idx < options.bundles.size(); ++bundle_idx) {
    std::string bundle = what + " bundle " + std::to_string(bundle_idx);
    RETURN_IF_ERROR(ValidateRequest(options.bundles[bundle_idx], bundle));
    RETURN_IF_ERROR(CheckFits(options.bundles[bundle_idx], Capacity(), bundle));
    total.cpus += options.bundles[bundle_idx].cpus;
    total.memory_bytes += options.bundles[bundle_idx].memory_bytes;
  }
  RETURN_IF_ERROR(CheckFits(total, Capacity(),
                            what + " (" + std::to_string(options.bundles.size()) +
                                " bundles reserved at once)"));
  return DoCreatePlacementGroup(id, std::move(options));
}

Status Executor::WaitPlacementGroup(const PlacementGroup& group, Timeout timeout) {
  RETURN_IF_ERROR(CheckGroup(group, "WaitPlacementGroup"));
  RETURN_IF_ERROR(CheckTimeout(timeout));
  return DoWaitPlacementGroup(group, timeout);
}

Status Executor::RemovePlacementGroup(const PlacementGroup& group) {
  RETURN_IF_ERROR(CheckGroup(group, "RemovePlacementGroup"));
  return DoRemovePlacementGroup(group);
}

}  // namespace raypipe::compute
