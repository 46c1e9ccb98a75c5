#pragma once

// The LocalExecutor's objects and units of work. Internal: include only from compute/.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "compute/codec.h"
#include "compute/executor.h"
#include "compute/kernel.h"
#include "compute/resources.h"
#include "compute/value.h"
#include "core/status.h"

namespace raypipe::compute::internal {

struct Work;
class LocalActor;

// The slot behind an ObjectRef: filled once with a result, then immutable. Thread-safe.
class LocalObject final : public ObjectRefState {
 public:
  LocalObject(uint64_t id, const Executor* owner, std::string description,
              std::weak_ptr<Work> work)
      : ObjectRefState(id, owner, std::move(description)), work_(std::move(work)) {}

  bool ready() const { return ready_.load(std::memory_order_seq_cst); }

  // Fills the slot, wakes Get()ers and runs the OnReady callbacks (on this thread, no lock
  // held). Returns false (and changes nothing) when already filled.
  bool Complete(Result<Value> result);

  // Blocks until ready or `timeout` passes; returns ready().
  bool WaitReady(const Timeout& timeout) const;

  // REQUIRES: ready(). The final result.
  const Result<Value>& result() const { return *result_; }

  // Runs `callback` once ready: right now on this thread if already ready, else on the
  // completing thread. Each callback runs exactly once.
  void OnReady(std::function<void()> callback);

  // The work that produces this object, while it exists (null for Put objects).
  std::shared_ptr<Work> work() const { return work_.lock(); }

 private:
  const std::weak_ptr<Work> work_;
  std::atomic<bool> ready_{false};
  mutable std::mutex mu_;  // guards result_ (until ready_), callbacks_; pairs with cv_
  mutable std::condition_variable cv_;
  std::optional<Result<Value>> result_;
  std::vector<std::function<void()>> callbacks_;
};

// The LocalObject behind a ref that the Executor base class checked belongs to us.
inline LocalObject& ObjectOf(const ObjectRef& ref) {
  return static_cast<LocalObject&>(*ref.state());
}

// A placement group's reservation in the scheduler: placed when all its bundles fit the free
// resources at once (gang scheduling); actors in a bundle then take their resources from it.
struct LocalGroup {
  enum class State { kPending, kPlaced, kRemoved };

  explicit LocalGroup(std::vector<ResourceUnits> bundle_units) : bundles(std::move(bundle_units)) {
    for (const ResourceUnits& bundle : bundles) total += bundle;
  }

  const std::vector<ResourceUnits> bundles;
  ResourceUnits total;  // fixed after construction
  // Guarded by the scheduler's mutex:
  State state = State::kPending;
  std::vector<ResourceUnits> bundle_free;  // while placed: what each bundle has left
};

// A request waiting for resources in the scheduler: a task, an actor's creation (from the
// free resources, or from bundle `bundle` of `group`), or a group's reservation (`group` with
// no actor).
struct PendingItem {
  std::shared_ptr<Work> task;
  std::shared_ptr<LocalActor> actor;
  ResourceUnits units;
  int overtaken = 0;  // later requests granted while this one did not fit
  std::shared_ptr<LocalGroup> group = nullptr;
  int bundle = -1;
};

// One task or actor call. The fields above the line are fixed once submitted; those below
// are guarded by the owner's mutex: the scheduler's for tasks, the actor's for calls.
struct Work {
  enum class State { kWaitingDeps, kQueued, kGranted, kRunning, kDone };

  uint64_t id = 0;
  std::string name;         // TaskContext::name()
  std::string description;  // "task 'train'", "call 'Writer#1.Write'"
  const TaskKernel* kernel = nullptr;  // tasks only; points into the executor's registry copy
  std::string method;                  // actor calls only
  std::weak_ptr<LocalActor> actor;     // actor calls only
  Resources resources;
  ResourceUnits units;
  int max_retries = 0;
  CancellationToken token;
  std::shared_ptr<LocalObject> object;
  std::vector<Arg> args;  // cleared when finished, releasing the refs it holds
  // -------------------------------------------------------------------------------------
  State state = State::kWaitingDeps;
  int pending_deps = 0;
  int attempt = 0;
  std::list<PendingItem>::iterator pending_pos;  // valid while kQueued (tasks)
};

// Applies a CodecCheck to the values crossing into and out of kernels.
class ValueGate {
 public:
  ValueGate(CodecCheck mode, CodecRegistry codecs) : mode_(mode), codecs_(std::move(codecs)) {}

  // InvalidArgument naming `what` and the argument when an immediate argument's type has no
  // codec (kTypes and kRoundTrip); OK otherwise.
  Status CheckArgs(const std::vector<Arg>& args, std::string_view what) const;
  // `value` as the kernel (or the caller) receives it: itself, or its round-tripped copy.
  Result<Value> Cross(const Value& value, std::string_view what) const;

 private:
  CodecCheck mode_;
  CodecRegistry codecs_;
};

// The values of `args` for a kernel: immediate values through the gate, refs' values once
// ready. An argument ref that failed gives its error, naming the argument.
// REQUIRES: every ref argument is ready.
Result<std::vector<Value>> ResolveArgs(const std::vector<Arg>& args, const ValueGate& gate,
                                       std::string_view what);

// The first failed ref argument's error (naming it), or OK. Only ready refs are looked at.
Status FailedDependency(const std::vector<Arg>& args, std::string_view what);

}  // namespace raypipe::compute::internal
