#pragma once

// Kernels: the named functions and actor classes an Executor runs. They are registered
// explicitly at start-up in a KernelRegistry (no static self-registration), which the
// executor copies when it opens.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compute/resources.h"
#include "compute/value.h"
#include "core/status.h"

namespace raypipe::compute {

// A cancellation flag shared by the executor (which sets it) and a running kernel (which polls
// it). Copies share the flag. Thread-safe.
class CancellationToken {
 public:
  CancellationToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void Cancel() { flag_->store(true, std::memory_order_release); }
  bool cancelled() const { return flag_->load(std::memory_order_acquire); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// What a kernel learns about the run it is part of. Owned by the executor for the duration of
// one call; kernels get it by reference and must not keep it.
class TaskContext {
 public:
  TaskContext(std::string name, int attempt, Resources resources, CancellationToken token)
      : name_(std::move(name)),
        attempt_(attempt),
        resources_(resources),
        token_(std::move(token)) {}

  // The task's or call's name for messages ("train", "Writer#3.Write").
  const std::string& name() const { return name_; }
  // 1 on the first run, 2 on the first retry, ...
  int attempt() const { return attempt_; }
  // What was granted: the task's resources, or the actor's for an actor's factory and methods.
  const Resources& resources() const { return resources_; }
  // True once the run was cancelled (or the executor is shutting down, or the actor killed).
  // Long kernels poll it and return early; their result is Cancelled whatever they return.
  bool cancelled() const { return token_.cancelled(); }
  // Cancelled when cancelled(), else OK: `RETURN_IF_ERROR(ctx.CheckCancelled());`.
  Status CheckCancelled() const;

 private:
  std::string name_;
  int attempt_;
  Resources resources_;
  CancellationToken token_;
};

// A task kernel: arguments in, one Value (or an error) out. Called concurrently from several
// threads: it must be thread-safe. A transient error (Status::IsTransient) is retried when the
// task allows retries; exceptions are caught and become Internal errors.
using TaskKernel = std::function<Result<Value>(TaskContext& ctx, std::span<const Value> args)>;

// One live actor: state plus methods. The executor calls it from one thread at a time, in the
// order the calls were made, so it needs no locking of its own. A method's error goes back to
// its caller and the actor lives on; an exception escaping a method is a crash (the actor is
// restarted when its options allow, else it dies).
class ActorInstance {
 public:
  virtual ~ActorInstance() = default;
  virtual Result<Value> Call(TaskContext& ctx, std::string_view method,
                             std::span<const Value> args) = 0;
};

// Creates an actor instance from its constructor arguments. A failure kills the actor (its
// calls then fail with Unavailable "actor X died: creation failed: ...").
using ActorFactory = std::function<Result<std::unique_ptr<ActorInstance>>(
    TaskContext& ctx, std::span<const Value> args)>;

// An ActorInstance whose methods are registered by name, usually in the constructor:
//   class Counter : public MethodActor {
//    public:
//     Counter() { AddMethod("Add", [this](TaskContext&, std::span<const Value> args) {...}); }
//   };
class MethodActor : public ActorInstance {
 public:
  using Method = std::function<Result<Value>(TaskContext& ctx, std::span<const Value> args)>;

  // NotFound "no method 'x' (methods: A, B)" for an unknown name.
  Result<Value> Call(TaskContext& ctx, std::string_view method,
                     std::span<const Value> args) final;

 protected:
  // REQUIRES: `name` not added before (a later one replaces it).
  void AddMethod(std::string name, Method method);

 private:
  std::map<std::string, Method, std::less<>> methods_;
};

// Name -> task kernel and name -> actor factory. Fill it at start-up; executors copy it when
// they open. Not thread-safe for writes.
class KernelRegistry {
 public:
  // InvalidArgument for an empty name or a null function; AlreadyExists for a name taken
  // (tasks and actor classes have separate name spaces).
  Status RegisterTask(std::string name, TaskKernel kernel);
  Status RegisterActor(std::string name, ActorFactory factory);

  // nullptr when unknown. The pointer lives as long as the registry.
  const TaskKernel* FindTask(std::string_view name) const;
  const ActorFactory* FindActor(std::string_view name) const;

  // NotFound "no task kernel named 'x' is registered (tasks: a, b)".
  Result<const TaskKernel*> GetTask(std::string_view name) const;
  Result<const ActorFactory*> GetActor(std::string_view name) const;

  std::vector<std::string> TaskNames() const;
  std::vector<std::string> ActorNames() const;

 private:
  std::map<std::string, TaskKernel, std::less<>> tasks_;
  std::map<std::string, ActorFactory, std::less<>> actors_;
};

// Kernel-side argument checking, with errors that name the argument.

// InvalidArgument "expected 2 arguments, got 1" unless min <= args.size() <= max.
Status ExpectArgCount(std::span<const Value> args, size_t min, size_t max);
inline Status ExpectArgCount(std::span<const Value> args, size_t count) {
  return ExpectArgCount(args, count, count);
}

// The argument at `index` as a T: InvalidArgument "argument 1: value holds string, not int64"
// or "argument 3 missing (got 2)".
template <typename T>
Result<const T*> ArgAs(std::span<const Value> args, size_t index) {
  if (index >= args.size()) {
    return InvalidArgumentError("argument " + std::to_string(index) + " missing (got " +
                                std::to_string(args.size()) + ")");
  }
  Result<const T*> object = args[index].Get<T>();
  if (!object.ok()) return object.status().WithContext("argument " + std::to_string(index));
  return object;
}

}  // namespace raypipe::compute
