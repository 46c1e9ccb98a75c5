#pragma once

// The Executor: runs registered kernels as tasks and actors (DESIGN.md section 6). Two
// backends implement it: LocalExecutor (threads in this process) and, later, RayExecutor.
//
// Shape (after Ray): Submit(kernel, args) returns an ObjectRef at once; Get blocks for the
// result; refs can be arguments of later tasks (the executor waits for them and hands their
// values over). An actor is a named kernel class with state whose calls run one at a time, in
// order. Every request names its Resources (fractional CPUs, memory); one that can never fit
// the executor is refused at once.
//
// The public methods validate what any backend would refuse (resources, counts, refs that
// belong to another executor) and then call the backend's protected Do* method.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "compute/resources.h"
#include "compute/value.h"
#include "core/status.h"

namespace raypipe::compute {

class Executor;

// How long to block; nullopt blocks until done. Durations convert implicitly:
// executor.Get(ref, std::chrono::seconds(5)).
using Timeout = std::optional<std::chrono::nanoseconds>;

// Backend state behind an ObjectRef. Backends subclass it.
class ObjectRefState {
 public:
  ObjectRefState(uint64_t id, const Executor* owner, std::string description)
      : id_(id), owner_(owner), description_(std::move(description)) {}
  virtual ~ObjectRefState() = default;
  ObjectRefState(const ObjectRefState&) = delete;
  ObjectRefState& operator=(const ObjectRefState&) = delete;

  uint64_t id() const { return id_; }
  const Executor* owner() const { return owner_; }
  // What produces the object, for messages: "task 'train'", "put".
  const std::string& description() const { return description_; }

 private:
  uint64_t id_;
  const Executor* owner_;
  std::string description_;
};

// A future result (or a Put value) of one executor. Copies share the object; the executor
// frees the object's value once no ref to it is left and no pending task needs it.
class ObjectRef {
 public:
  // An invalid ref.
  ObjectRef() = default;
  explicit ObjectRef(std::shared_ptr<ObjectRefState> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }
  // Unique within its executor; 0 for an invalid ref.
  uint64_t id() const { return state_ ? state_->id() : 0; }
  // "obj-12 (task 'train')", or "invalid ref".
  std::string ToString() const;

  // For backends.
  ObjectRefState* state() const { return state_.get(); }

  friend bool operator==(const ObjectRef& a, const ObjectRef& b) { return a.state_ == b.state_; }

 private:
  std::shared_ptr<ObjectRefState> state_;
};

// Backend state behind an ActorHandle. Backends subclass it.
class ActorHandleState {
 public:
  ActorHandleState(uint64_t id, const Executor* owner, std::string name)
      : id_(id), owner_(owner), name_(std::move(name)) {}
  virtual ~ActorHandleState() = default;
  ActorHandleState(const ActorHandleState&) = delete;
  ActorHandleState& operator=(const ActorHandleState&) = delete;

  uint64_t id() const { return id_; }
  const Executor* owner() const { return owner_; }
  const std::string& name() const { return name_; }

 private:
  uint64_t id_;
  const Executor* owner_;
  std::string name_;
};

// A live actor. Copies share it; when the last copy is gone the actor finishes the calls
// already made and then stops, releasing its resources.
class ActorHandle {
 public:
  ActorHandle() = default;
  explicit ActorHandle(std::shared_ptr<ActorHandleState> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }
  uint64_t id() const { return state_ ? state_->id() : 0; }
  // ActorOptions::name, or "<class>#<id>".
  std::string name() const { return state_ ? state_->name() : std::string(); }

  // For backends.
  ActorHandleState* state() const { return state_.get(); }

 private:
  std::shared_ptr<ActorHandleState> state_;
};

// How a placement group spreads its bundles over the cluster's nodes (Ray's strategies).
enum class PlacementStrategy {
  kPack,          // as few nodes as possible (best effort)
  kSpread,        // each bundle on another node where possible (best effort)
  kStrictSpread,  // each bundle on another node, or the group is never placed
};

// "PACK", "SPREAD", "STRICT_SPREAD".
std::string_view PlacementStrategyName(PlacementStrategy strategy);

struct PlacementGroupOptions {
  // What each bundle reserves. Required: 1..1000 bundles, each a valid request.
  std::vector<Resources> bundles;
  PlacementStrategy strategy = PlacementStrategy::kPack;
  // The group's name in messages; default "group#<id>".
  std::string name;
};

// Backend state behind a PlacementGroup. Backends subclass it; their destructor removes the
// group.
class PlacementGroupState {
 public:
  PlacementGroupState(uint64_t id, const Executor* owner, PlacementGroupOptions options)
      : id_(id), owner_(owner), options_(std::move(options)) {}
  virtual ~PlacementGroupState() = default;
  PlacementGroupState(const PlacementGroupState&) = delete;
  PlacementGroupState& operator=(const PlacementGroupState&) = delete;

  uint64_t id() const { return id_; }
  const Executor* owner() const { return owner_; }
  // The options as given, with the name set.
  const PlacementGroupOptions& options() const { return options_; }
  // "placement group 'train' (SPREAD, 2 bundles: 1 CPU, 1 CPU)".
  std::string ToString() const;

 private:
  uint64_t id_;
  const Executor* owner_;
  PlacementGroupOptions options_;
};

// A gang of resource bundles reserved all at once (Ray's placement group): the group is placed
// when every bundle fits, never in part, so W actors that must all run together (the ranks of
// one training) either all get their resources or none holds any while waiting. Copies share
// the group; when the last copy is gone the group is removed (see RemovePlacementGroup).
class PlacementGroup {
 public:
  PlacementGroup() = default;
  explicit PlacementGroup(std::shared_ptr<PlacementGroupState> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }
  uint64_t id() const { return state_ ? state_->id() : 0; }
  std::string name() const { return state_ ? state_->options().name : std::string(); }
  size_t num_bundles() const { return state_ ? state_->options().bundles.size() : 0; }
  // "placement group 'train' (SPREAD, 2 bundles: 1 CPU, 1 CPU)", or "invalid placement group".
  std::string ToString() const;

  // For backends.
  PlacementGroupState* state() const { return state_.get(); }

 private:
  std::shared_ptr<PlacementGroupState> state_;
};

// A task or call argument: a Value, or an ObjectRef whose value the executor waits for.
class Arg {
 public:
  Arg(Value value) : arg_(std::move(value)) {}    // NOLINT: implicit by design
  Arg(ObjectRef ref) : arg_(std::move(ref)) {}    // NOLINT: implicit by design

  bool is_ref() const { return std::holds_alternative<ObjectRef>(arg_); }
  // REQUIRES: !is_ref().
  const Value& value() const { return std::get<Value>(arg_); }
  // REQUIRES: is_ref().
  const ObjectRef& ref() const { return std::get<ObjectRef>(arg_); }

 private:
  std::variant<Value, ObjectRef> arg_;
};

struct TaskOptions {
  // What the task holds while it runs. Default 1 CPU.
  Resources resources;
  // How many times a transient failure (Status::IsTransient) is retried; 0..1000. Default 0.
  int max_retries = 0;
  // The task's name in messages and in TaskContext::name(); default the kernel's name.
  std::string name;
};

struct ActorOptions {
  // What the actor holds for its whole life. Default 1 CPU.
  Resources resources;
  // The actor's name in messages; default "<class>#<id>".
  std::string name;
  // How many times the actor is re-created after a crash (an exception escaping a method), a
  // transient creation failure, or KillActor(..., /*no_restart=*/false); 0..1000. Default 0.
  int max_restarts = 0;
  // When valid: the actor runs in bundle `bundle_index` of this placement group (of the same
  // executor) and takes its resources from that bundle's reservation, so they must fit the
  // bundle. It starts once the group is placed and dies when the group is removed.
  PlacementGroup placement_group{};
  int bundle_index = 0;
};

struct CallOptions {
  // How many times a transient failure of the method is retried (on the same actor, before
  // any later call); 0..1000. Default 0.
  int max_retries = 0;
};

// Thread-safe: every method may be called from any thread. Kernels must not block on results
// of the same executor (a task that Gets another task's result can starve the pool).
class Executor {
 public:
  virtual ~Executor() = default;

  // Runs task kernel `kernel` on `args` with `options`. NotFound for an unknown kernel;
  // InvalidArgument for bad options, a request larger than Capacity(), or a ref of another
  // executor. A ref argument that fails fails the task (without running it) with that error.
  Result<ObjectRef> Submit(std::string_view kernel, std::vector<Arg> args,
                           TaskOptions options = {});

  // The ref's value, once ready: the kernel's error if it failed, Cancelled if it was
  // cancelled, DeadlineExceeded when `timeout` passes first.
  Result<Value> Get(const ObjectRef& ref, Timeout timeout = std::nullopt);

  // Get, then Value::GetShared<T>.
  template <typename T>
  Result<std::shared_ptr<const T>> GetAs(const ObjectRef& ref, Timeout timeout = std::nullopt) {
    ASSIGN_OR_RETURN(Value value, Get(ref, timeout));
    return value.GetShared<T>();
  }

  // Blocks until at least `num_ready` of `refs` are ready (succeeded or failed) or `timeout`
  // passes, then returns the refs that are ready, in the order given: fewer than `num_ready`
  // on timeout, never an error for that. InvalidArgument when num_ready > refs.size().
  Result<std::vector<ObjectRef>> Wait(const std::vector<ObjectRef>& refs, size_t num_ready,
                                      Timeout timeout = std::nullopt);

  // Cancels the task or actor call behind `ref`: a queued one never runs; a running one sees
  // TaskContext::cancelled(). Either way its result is Cancelled. A no-op for a finished one.
  Status Cancel(const ObjectRef& ref);

  // A ref holding `value`, for sharing one object among many tasks.
  Result<ObjectRef> Put(Value value);

  // Starts an actor of class `actor_class`, constructed from `args`. Returns at once; calls
  // made before the actor is up wait for it. NotFound for an unknown class; InvalidArgument as
  // for Submit.
  Result<ActorHandle> CreateActor(std::string_view actor_class, std::vector<Arg> args,
                                  ActorOptions options = {});

  // Calls `method` of the actor: calls run one at a time in the order made. The method's error
  // comes back through the ref and the actor keeps its state; once the actor is dead, calls
  // fail with Unavailable "actor X died: <why>".
  Result<ObjectRef> CallActor(const ActorHandle& actor, std::string_view method,
                              std::vector<Arg> args, CallOptions options = {});

  // Kills the actor: a running call is cancelled and fails with Unavailable, queued calls fail
  // with Unavailable. With no_restart false and restarts left, the actor is re-created instead
  // and the queued calls run on the new instance. A no-op for a dead actor.
  Status KillActor(const ActorHandle& actor, bool no_restart);

  // Reserves the bundles of `options` all at once (gang scheduling): the group is placed once
  // every bundle fits, never in part. Returns at once. InvalidArgument for bad options and for
  // a group that can never be placed here (naming the bundle or the sum that does not fit).
  Result<PlacementGroup> CreatePlacementGroup(PlacementGroupOptions options);

  // OK once the group is placed; DeadlineExceeded, naming the group and what it asks, when
  // `timeout` passes first; FailedPrecondition for a removed group.
  Status WaitPlacementGroup(const PlacementGroup& group, Timeout timeout = std::nullopt);

  // Releases the group's reservation and kills the actors placed in it. Idempotent.
  Status RemovePlacementGroup(const PlacementGroup& group);

  // Everything this executor can grant at once.
  virtual Resources Capacity() const = 0;

 protected:
  // The backend's part of each public method, called after validation: `options.name` is set,
  // resources are valid and fit Capacity(), every ref and handle belongs to this executor.
  virtual Result<ObjectRef> DoSubmit(std::string_view kernel, std::vector<Arg> args,
                                     TaskOptions options) = 0;
  virtual Result<Value> DoGet(const ObjectRef& ref, Timeout timeout) = 0;
  virtual Result<std::vector<ObjectRef>> DoWait(const std::vector<ObjectRef>& refs,
                                                size_t num_ready, Timeout timeout) = 0;
  virtual Status DoCancel(const ObjectRef& ref) = 0;
  virtual Result<ObjectRef> DoPut(Value value) = 0;
  // `options.name` may be empty here: the backend names the actor "<class>#<id>".
  virtual Result<ActorHandle> DoCreateActor(std::string_view actor_class, std::vector<Arg> args,
                                            ActorOptions options) = 0;
  virtual Result<ObjectRef> DoCallActor(const ActorHandle& actor, std::string_view method,
                                        std::vector<Arg> args, CallOptions options) = 0;
  virtual Status DoKillActor(const ActorHandle& actor, bool no_restart) = 0;
  // `options` are valid (1..1000 valid bundles, each and their sum within Capacity()) and
  // named; `id` is the group's id.
  virtual Result<PlacementGroup> DoCreatePlacementGroup(uint64_t id,
                                                        PlacementGroupOptions options) = 0;
  virtual Status DoWaitPlacementGroup(const PlacementGroup& group, Timeout timeout) = 0;
  virtual Status DoRemovePlacementGroup(const PlacementGroup& group) = 0;

 private:
  Status CheckRef(const ObjectRef& ref, std::string_view what) const;
  Status CheckArgs(const std::vector<Arg>& args, std::string_view what) const;
  Status CheckActor(const ActorHandle& actor) const;
  Status CheckGroup(const PlacementGroup& group, std::string_view what) const;

  std::atomic<uint64_t> next_group_id_{1};
};

}  // namespace raypipe::compute
