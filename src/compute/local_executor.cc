#include "compute/local_executor.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "compute/internal/local_actor.h"
#include "compute/internal/local_scheduler.h"

namespace raypipe::compute {
namespace {

using internal::LocalActor;
using internal::LocalActorHandle;
using internal::LocalGroup;
using internal::LocalObject;
using internal::ObjectOf;
using internal::Work;

constexpr int kMaxThreads = 1024;

// A placement group of the LocalExecutor: its reservation in the scheduler and the actors
// placed in it (killed when it is removed). Removed when the last handle goes.
class LocalGroupState final : public PlacementGroupState {
 public:
  LocalGroupState(uint64_t id, const Executor* owner, PlacementGroupOptions options,
                  std::weak_ptr<internal::LocalScheduler> scheduler,
                  std::shared_ptr<LocalGroup> group)
      : PlacementGroupState(id, owner, std::move(options)),
        scheduler_(std::move(scheduler)),
        group_(std::move(group)) {}
  ~LocalGroupState() override { Remove(); }

  const std::shared_ptr<LocalGroup>& group() const { return group_; }

  // Records an actor placed in the group; false when the group is already removed.
  bool AddActor(const std::shared_ptr<LocalActor>& actor) {
    std::lock_guard<std::mutex> lock(mu_);
    if (removed_) return false;
    actors_.push_back(actor);
    return true;
  }

  void Remove() {
    std::vector<std::weak_ptr<LocalActor>> actors;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (removed_) return;
      removed_ = true;
      actors.swap(actors_);
    }
    // Once the executor is gone, its shutdown has killed every actor already.
    std::shared_ptr<internal::LocalScheduler> scheduler = scheduler_.lock();
    if (scheduler == nullptr) return;
    scheduler->RemoveGroup(*group_);
    for (const std::weak_ptr<LocalActor>& weak : actors) {
      if (std::shared_ptr<LocalActor> actor = weak.lock()) {
        actor->Kill("its " + ToString() + " was removed", /*allow_restart=*/false);
      }
    }
  }

 private:
  const std::weak_ptr<internal::LocalScheduler> scheduler_;
  const std::shared_ptr<LocalGroup> group_;
  std::mutex mu_;  // guards removed_ and actors_
  bool removed_ = false;
  std::vector<std::weak_ptr<LocalActor>> actors_;
};

Resources MachineCapacity() {
  Resources capacity;
  capacity.cpus = std::max(1u, std::thread::hardware_concurrency());
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGE_SIZE);
  capacity.memory_bytes = pages > 0 && page_size > 0 ? static_cast<int64_t>(pages) * page_size : 0;
  return capacity;
}

}  // namespace

Result<std::unique_ptr<LocalExecutor>> LocalExecutor::Open(LocalExecutorOptions options) {
  if (options.registry == nullptr) {
    return InvalidArgumentError("LocalExecutorOptions.registry is required");
  }
  Resources capacity = options.capacity.value_or(MachineCapacity());
  RETURN_IF_ERROR(ValidateRequest(capacity, "LocalExecutorOptions.capacity"));
  int threads = options.threads;
  if (threads < 0 || threads > kMaxThreads) {
    return InvalidArgumentError("LocalExecutorOptions.threads must be in 0.." +
                                std::to_string(kMaxThreads) + ", got " +
                                std::to_string(threads));
  }
  if (threads == 0) {
    threads = static_cast<int>(
        std::clamp(std::ceil(capacity.cpus * 2), 2.0, static_cast<double>(kMaxThreads)));
  }
  CodecRegistry codecs =
      options.codecs != nullptr ? *options.codecs : CodecRegistry::WithBuiltins();

  std::unique_ptr<LocalExecutor> executor(new LocalExecutor());
  executor->scheduler_ = std::make_shared<internal::LocalScheduler>(
      executor.get(), *options.registry, capacity, threads,
      internal::ValueGate(options.codec_check, std::move(codecs)));
  executor->scheduler_->Start();
  return executor;
}

LocalExecutor::~LocalExecutor() {
  if (scheduler_ != nullptr) scheduler_->Shutdown();
}

Resources LocalExecutor::Capacity() const { return scheduler_->capacity(); }

Resources LocalExecutor::Available() const { return scheduler_->Available(); }

int LocalExecutor::threads() const { return scheduler_->threads(); }

Result<ObjectRef> LocalExecutor::DoSubmit(std::string_view kernel, std::vector<Arg> args,
                                          TaskOptions options) {
  ASSIGN_OR_RETURN(const TaskKernel* task_kernel, scheduler_->registry().GetTask(kernel));
  auto work = std::make_shared<Work>();
  work->id = scheduler_->NextId();
  work->description = "task '" + options.name + "'";
  RETURN_IF_ERROR(scheduler_->gate().CheckArgs(args, work->description));
  work->name = std::move(options.name);
  work->kernel = task_kernel;
  work->resources = options.resources;
  work->units = ResourceUnits::From(options.resources);
  work->max_retries = options.max_retries;
  work->args = std::move(args);
  work->object = scheduler_->NewObject(work->description, work);
  ObjectRef ref(work->object);
  scheduler_->SubmitTask(std::move(work));
  return ref;
}

Result<Value> LocalExecutor::DoGet(const ObjectRef& ref, Timeout timeout) {
  const LocalObject& object = ObjectOf(ref);
  if (!object.WaitReady(timeout)) {
    return DeadlineExceededError(
        ref.ToString() + " is not ready after " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*timeout).count()) +
        " ms");
  }
  return object.result();
}

Result<std::vector<ObjectRef>> LocalExecutor::DoWait(const std::vector<ObjectRef>& refs,
                                                     size_t num_ready, Timeout timeout) {
  return scheduler_->Wait(refs, num_ready, timeout);
}

Status LocalExecutor::DoCancel(const ObjectRef& ref) {
  std::shared_ptr<Work> work = ObjectOf(ref).work();
  if (work == nullptr) return Status::Ok();  // finished (or a Put value): nothing to cancel
  if (work->kernel != nullptr) {
    scheduler_->CancelTask(work);
    return Status::Ok();
  }
  // An actor call: its LocalObject outlives the actor only when the call is done.
  if (std::shared_ptr<LocalActor> actor = work->actor.lock()) actor->Cancel(work);
  return Status::Ok();
}

Result<ObjectRef> LocalExecutor::DoPut(Value value) {
  RETURN_IF_ERROR(scheduler_->gate().Cross(value, "Put").status());
  std::shared_ptr<LocalObject> object = scheduler_->NewObject("put", {});
  object->Complete(std::move(value));
  return ObjectRef(std::move(object));
}

Result<ActorHandle> LocalExecutor::DoCreateActor(std::string_view actor_class,
                                                 std::vector<Arg> args, ActorOptions options) {
  ASSIGN_OR_RETURN(const ActorFactory* factory, scheduler_->registry().GetActor(actor_class));
  uint64_t id = scheduler_->NextId();
  std::string name = options.name.empty() ? std::string(actor_class) + "#" + std::to_string(id)
                                          : options.name;
  RETURN_IF_ERROR(scheduler_->gate().CheckArgs(args, "actor '" + name + "'"));
  PlacementGroup group = std::move(options.placement_group);
  options.placement_group = PlacementGroup();  // the actor must not keep its group alive
  int bundle = options.bundle_index;
  auto actor = std::make_shared<LocalActor>(scheduler_.get(), id, name, std::string(actor_class),
                                            factory, std::move(args), std::move(options));
  if (group.valid()) {
    auto& group_state = static_cast<LocalGroupState&>(*group.state());
    if (!group_state.AddActor(actor)) {
      return FailedPreconditionError("actor '" + name + "': " + group.ToString() +
                                     " was removed");
    }
    actor->PlaceIn(group_state.group(), bundle);
  }
  scheduler_->AddActor(actor);
  actor->Start();
  return ActorHandle(std::make_shared<LocalActorHandle>(this, std::move(actor)));
}

Result<ObjectRef> LocalExecutor::DoCallActor(const ActorHandle& handle, std::string_view method,
                                             std::vector<Arg> args, CallOptions options) {
  const std::shared_ptr<LocalActor>& actor =
      static_cast<const LocalActorHandle&>(*handle.state()).actor();
  auto work = std::make_shared<Work>();
  work->id = scheduler_->NextId();
  work->name = actor->name() + "." + std::string(method);
  work->description = "call '" + work->name + "'";
  RETURN_IF_ERROR(scheduler_->gate().CheckArgs(args, work->description));
  work->method = std::string(method);
  work->max_retries = options.max_retries;
  work->args = std::move(args);
  work->actor = actor;
  work->object = scheduler_->NewObject(work->description, work);
  ObjectRef ref(work->object);
  actor->Enqueue(std::move(work));
  return ref;
}

Status LocalExecutor::DoKillActor(const ActorHandle& handle, bool no_restart) {
  const std::shared_ptr<LocalActor>& actor =
      static_cast<const LocalActorHandle&>(*handle.state()).actor();
  actor->Kill(no_restart ? "killed" : "killed (restart requested)", !no_restart);
  return Status::Ok();
}

Result<PlacementGroup> LocalExecutor::DoCreatePlacementGroup(uint64_t id,
                                                             PlacementGroupOptions options) {
  if (options.strategy == PlacementStrategy::kStrictSpread && options.bundles.size() > 1) {
    return InvalidArgumentError(
        "placement group '" + options.name + "' can never be placed: STRICT_SPREAD needs a node "
        "for each of its " + std::to_string(options.bundles.size()) +
        " bundles, and the LocalExecutor is one node");
  }
  std::vector<ResourceUnits> bundles;
  for (const Resources& bundle : options.bundles) bundles.push_back(ResourceUnits::From(bundle));
  auto group = std::make_shared<LocalGroup>(std::move(bundles));
  auto state = std::make_shared<LocalGroupState>(id, this, std::move(options), scheduler_, group);
  scheduler_->RequestGroup(group);
  return PlacementGroup(std::move(state));
}

Status LocalExecutor::DoWaitPlacementGroup(const PlacementGroup& group, Timeout timeout) {
  const auto& state = static_cast<const LocalGroupState&>(*group.state());
  LocalGroup::State placed = scheduler_->WaitGroup(*state.group(), timeout);
  if (placed == LocalGroup::State::kPlaced) return Status::Ok();
  if (placed == LocalGroup::State::kPending && timeout.has_value()) {
    return DeadlineExceededError(
        group.ToString() + " is not placed after " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*timeout).count()) +
        " ms: its bundles do not fit what is free now (" + Available().ToString() + " of " +
        Capacity().ToString() + ")");
  }
  return FailedPreconditionError(group.ToString() + " was removed (or the executor stopped)");
}

Status LocalExecutor::DoRemovePlacementGroup(const PlacementGroup& group) {
  static_cast<LocalGroupState&>(*group.state()).Remove();
  return Status::Ok();
}

}  // namespace raypipe::compute
