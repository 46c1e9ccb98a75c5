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
using internal::LocalObject;
using internal::ObjectOf;
using internal::Work;

constexpr int kMaxThreads = 1024;

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
  auto actor = std::make_shared<LocalActor>(scheduler_.get(), id, name, std::string(actor_class),
                                            factory, std::move(args), std::move(options));
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

}  // namespace raypipe::compute
