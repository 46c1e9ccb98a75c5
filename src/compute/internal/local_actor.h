#pragma once

// One actor of the LocalExecutor: a dedicated thread that creates the instance once the
// actor's resources are granted, then runs its calls one at a time in the order they were
// made. Internal: include only from compute/.
//
// Why a dedicated thread rather than a serial queue on the shared pool: an actor is a
// long-lived worker (a feature writer, an XGBoost training rank), like a Ray actor process.
// Actors that coordinate (W training ranks inside one allreduce) must all be inside a call at
// once; on a shared pool with fewer threads than actors they would deadlock, and tasks could
// starve them. A thread per actor makes "it holds its resources, so it can run" true.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "compute/executor.h"
#include "compute/internal/local_object.h"
#include "compute/kernel.h"

namespace raypipe::compute::internal {

class LocalScheduler;

// Thread-safe. Lifetime: owned by shared_ptr (the scheduler's list, the handles); the
// scheduler joins the thread before dropping its reference.
class LocalActor : public std::enable_shared_from_this<LocalActor> {
 public:
  LocalActor(LocalScheduler* scheduler, uint64_t id, std::string name, std::string class_name,
             const ActorFactory* factory, std::vector<Arg> args, ActorOptions options);
  ~LocalActor();

  uint64_t id() const { return id_; }
  const std::string& name() const { return name_; }
  const ResourceUnits& units() const { return units_; }
  // The placement group (and bundle) whose reservation the actor draws on; null for none.
  const std::shared_ptr<LocalGroup>& group() const { return group_; }
  int bundle() const { return bundle_; }

  // Places the actor in bundle `bundle` of `group`. REQUIRES: called before Start.
  void PlaceIn(std::shared_ptr<LocalGroup> group, int bundle);

  // Starts the thread. REQUIRES: called once, after the scheduler knows the actor (AddActor).
  void Start();
  // Waits for the thread to end (after a kill, a death, or the last handle's release).
  void Join();
  // True once the thread has done all its work (Join will not block).
  bool finished() const { return finished_.load(std::memory_order_acquire); }

  // Queues a call (fails it at once with the death status when the actor is dead).
  void Enqueue(std::shared_ptr<Work> call);
  // Cancels a call: removed when queued, token set when running.
  void Cancel(const std::shared_ptr<Work>& call);
  // Kills the actor or, when allowed and restarts are left, restarts it.
  void Kill(const std::string& reason, bool allow_restart);
  // The last handle is gone: finish the queued calls, then stop.
  void ReleaseHandle();
  // The scheduler grants the actor's resources; false (nothing taken) when already dead.
  // REQUIRES: the scheduler's mutex held.
  bool Grant();

 private:
  enum class Phase { kStarting, kAlive, kDead };

  void Run();
  // Waits for the constructor's ref arguments, then for resources. False when killed first.
  bool AwaitStart();
  // Runs the factory, retrying transient failures while restarts are left.
  Status Create();
  // Runs one call; sets `crashed` when the method threw.
  Result<Value> RunCall(Work& call, std::string& crash);
  void Die(Status why);
  // A ref argument of `work` (a call or the creation) became ready.
  void DependencyReady(const std::shared_ptr<Work>& work);
  // Registers DependencyReady for the unready ref arguments counted in work->pending_deps.
  void WatchDependencies(const std::shared_ptr<Work>& work,
                         const std::vector<LocalObject*>& unready);
  // Whether the next call can run now. REQUIRES: mu_ held.
  bool HeadReadyLocked() const;

  LocalScheduler* const scheduler_;
  const uint64_t id_;
  const std::string name_;
  const std::string class_name_;
  const ActorFactory* const factory_;
  const ActorOptions options_;
  const ResourceUnits units_;
  std::shared_ptr<LocalGroup> group_;  // set before Start, then fixed
  int bundle_ = -1;
  std::shared_ptr<Work> creation_;  // the constructor's arguments and cancellation token
  std::thread thread_;
  std::atomic<bool> finished_{false};
  std::unique_ptr<ActorInstance> instance_;  // touched only by the actor's thread

  mutable std::mutex mu_;  // guards everything below, and the Work state of calls
  std::condition_variable cv_;
  Phase phase_ = Phase::kStarting;
  bool granted_ = false;
  bool killed_ = false;
  bool restart_requested_ = false;
  bool handle_released_ = false;
  std::string kill_reason_;
  int restarts_used_ = 0;
  std::deque<std::shared_ptr<Work>> calls_;
  std::shared_ptr<Work> running_call_;
  Status death_;
};

// The handle state given out by the LocalExecutor: releases the actor when the last handle
// copy goes.
class LocalActorHandle final : public ActorHandleState {
 public:
  LocalActorHandle(const Executor* owner, std::shared_ptr<LocalActor> actor)
      : ActorHandleState(actor->id(), owner, actor->name()), actor_(std::move(actor)) {}
  ~LocalActorHandle() override { actor_->ReleaseHandle(); }

  const std::shared_ptr<LocalActor>& actor() const { return actor_; }

 private:
  std::shared_ptr<LocalActor> actor_;
};

}  // namespace raypipe::compute::internal
