#pragma once

// The LocalExecutor's engine: a fixed pool of worker threads, a resource-aware admission
// queue shared by tasks and actor creations, and the bookkeeping that cancellation and
// shutdown need. Internal: include only from compute/.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "compute/executor.h"
#include "compute/internal/local_object.h"
#include "compute/kernel.h"
#include "compute/resources.h"

namespace raypipe::compute::internal {

class LocalActor;

// Thread-safe. Owned by the LocalExecutor through a shared_ptr so that callbacks left on
// objects can hold it weakly; Shutdown() must run before the last owner lets go.
class LocalScheduler : public std::enable_shared_from_this<LocalScheduler> {
 public:
  LocalScheduler(const Executor* owner, KernelRegistry registry, Resources capacity,
                 int threads, ValueGate gate);
  ~LocalScheduler();

  // Starts the worker threads.
  void Start();
  // Cancels queued tasks, sets the tokens of running ones, kills every actor, and joins all
  // threads. Idempotent.
  void Shutdown();

  const Executor* owner() const { return owner_; }
  const KernelRegistry& registry() const { return registry_; }
  const ValueGate& gate() const { return gate_; }
  const Resources& capacity() const { return capacity_; }
  int threads() const { return thread_count_; }
  // What is not granted right now.
  Resources Available() const;
  uint64_t NextId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  // A new object (for a Work or a Put value).
  std::shared_ptr<LocalObject> NewObject(std::string description, std::weak_ptr<Work> work);

  // Queues a task; it runs once its ref arguments are ready, its resources free and a worker
  // idle. REQUIRES: `work` fully set up (kernel, object, args, units).
  void SubmitTask(std::shared_ptr<Work> work);
  // Cancels a task (see Executor::Cancel).
  void CancelTask(const std::shared_ptr<Work>& work);

  // Completes `work`'s object with `result`, drops its arguments, and wakes Wait()ers.
  // REQUIRES: no lock held; called once per work.
  void Finish(Work& work, Result<Value> result);
  // Wakes Wait()ers after an object became ready.
  void NotifyReady();
  // See Executor::Wait.
  std::vector<ObjectRef> Wait(const std::vector<ObjectRef>& refs, size_t num_ready,
                              const Timeout& timeout);

  // Registers a new actor (and joins the threads of actors that have finished).
  void AddActor(std::shared_ptr<LocalActor> actor);
  // Queues the actor's creation for its resources; LocalActor::Grant is called when they fit.
  void RequestActorResources(std::shared_ptr<LocalActor> actor);
  // Removes a queued creation of `actor`, if any.
  void DropPendingActor(const LocalActor* actor);
  // Returns the resources granted to an actor (to its bundle when `group` is set).
  void ReleaseActorResources(const ResourceUnits& units, LocalGroup* group = nullptr,
                             int bundle = -1);

  // Queues the reservation of `group`'s bundles; it is placed once they all fit at once.
  void RequestGroup(std::shared_ptr<LocalGroup> group);
  // Waits until `group` is placed or removed, the executor stops, or `timeout` passes; returns
  // the group's state then.
  LocalGroup::State WaitGroup(const LocalGroup& group, const Timeout& timeout);
  // Drops the reservation (queued or placed). Actors in it must be killed by the caller.
  void RemoveGroup(LocalGroup& group);

 private:
  void WorkerLoop();
  Result<Value> RunTask(Work& work);
  // A dependency of a waiting task became ready.
  void DependencyReady(const std::shared_ptr<Work>& work);
  // Moves what fits into the run queue or grants actors. REQUIRES: mu_ held.
  void ScheduleLocked();
  // Appends to pending_. REQUIRES: mu_ held.
  void EnqueueLocked(const std::shared_ptr<Work>& work);

  const Executor* const owner_;
  const KernelRegistry registry_;
  const Resources capacity_;
  const int thread_count_;
  const ValueGate gate_;
  std::atomic<uint64_t> next_id_{1};

  mutable std::mutex mu_;  // guards everything below, and Work state of tasks
  std::condition_variable work_cv_;  // run_queue_ gained an item, or stopping_
  std::condition_variable group_cv_;  // a group was placed or removed, or stopping_
  bool started_ = false;
  bool stopping_ = false;
  ResourceUnits free_;
  ResourceUnits held_by_actors_;  // granted to live actors (part of what free_ lacks)
  std::list<PendingItem> pending_;  // waiting for resources, in submission order
  size_t pending_actors_ = 0;       // actor creations and group reservations in pending_
  std::deque<std::shared_ptr<Work>> run_queue_;  // granted, waiting for a worker
  size_t idle_workers_ = 0;
  std::unordered_map<uint64_t, std::shared_ptr<Work>> waiting_;  // waiting for arguments
  std::unordered_map<uint64_t, std::shared_ptr<Work>> running_;
  std::vector<std::shared_ptr<LocalActor>> actors_;
  std::vector<std::thread> workers_;

  std::mutex wait_mu_;  // pairs with wait_cv_: an object became ready
  std::condition_variable wait_cv_;
  std::atomic<int> waiters_{0};
};

}  // namespace raypipe::compute::internal
