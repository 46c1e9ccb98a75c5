#include "compute/internal/local_scheduler.h"

#include <exception>

#include "compute/internal/local_actor.h"

namespace raypipe::compute::internal {
namespace {

// How many pending requests the scheduler looks past when the first ones do not fit
// (backfilling smaller requests behind a large one). Bounds the cost of each scheduling pass.
constexpr size_t kBackfillWindow = 256;

// How many later requests may overtake one that does not fit before the scheduler stops
// backfilling past it, so that the resources drain until it fits: a large request waits for
// at most this many smaller ones, never for an endless stream of them.
constexpr int kMaxOvertakes = 64;

Result<Value> InvokeKernel(const TaskKernel& kernel, TaskContext& ctx,
                           std::span<const Value> args, std::string_view what) {
  // Kernels must not throw, but one that does must not take the process down.
  try {
    return kernel(ctx, args);
  } catch (const std::exception& error) {
    return InternalError(std::string(what) + " threw an exception: " + error.what());
  } catch (...) {
    return InternalError(std::string(what) + " threw a non-standard exception");
  }
}

}  // namespace

LocalScheduler::LocalScheduler(const Executor* owner, KernelRegistry registry,
                               Resources capacity, int threads, ValueGate gate)
    : owner_(owner),
      registry_(std::move(registry)),
      capacity_(capacity),
      thread_count_(threads),
      gate_(std::move(gate)),
      free_(ResourceUnits::From(capacity)) {}

LocalScheduler::~LocalScheduler() { Shutdown(); }

void LocalScheduler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  workers_.reserve(thread_count_);
  for (int thread_idx = 0; thread_idx < thread_count_; ++thread_idx) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void LocalScheduler::Shutdown() {
  std::vector<std::shared_ptr<Work>> cancelled;
  std::vector<std::shared_ptr<LocalActor>> actors;
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (PendingItem& item : pending_) {
      if (item.task != nullptr) cancelled.push_back(item.task);
    }
    pending_.clear();
    pending_actors_ = 0;
    for (std::shared_ptr<Work>& work : run_queue_) {
      free_ += work->units;
      cancelled.push_back(work);
    }
    run_queue_.clear();
    for (auto& [id, work] : waiting_) cancelled.push_back(work);
    waiting_.clear();
    for (std::shared_ptr<Work>& work : cancelled) work->state = Work::State::kDone;
    for (auto& [id, work] : running_) work->token.Cancel();
    actors.swap(actors_);
    workers.swap(workers_);
  }
  work_cv_.notify_all();
  group_cv_.notify_all();
  for (std::shared_ptr<Work>& work : cancelled) {
    Finish(*work, CancelledError("the executor shut down before " + work->description + " ran"));
  }
  for (std::shared_ptr<LocalActor>& actor : actors) {
    actor->Kill("the executor shut down", /*allow_restart=*/false);
  }
  for (std::thread& worker : workers) worker.join();
  for (std::shared_ptr<LocalActor>& actor : actors) actor->Join();
}

Resources LocalScheduler::Available() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Resources{static_cast<double>(free_.cpu) / kCpuUnitsPerCpu, free_.memory};
}

std::shared_ptr<LocalObject> LocalScheduler::NewObject(std::string description,
                                                       std::weak_ptr<Work> work) {
  return std::make_shared<LocalObject>(NextId(), owner_, std::move(description),
                                       std::move(work));
}

void LocalScheduler::SubmitTask(std::shared_ptr<Work> work) {
  std::vector<LocalObject*> unready;
  for (const Arg& arg : work->args) {
    if (arg.is_ref() && !ObjectOf(arg.ref()).ready()) unready.push_back(&ObjectOf(arg.ref()));
  }
  Status failed = FailedDependency(work->args, work->description);
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
    if (failed.ok() && !stopping) {
      work->pending_deps = static_cast<int>(unready.size());
      if (unready.empty()) {
        EnqueueLocked(work);
        ScheduleLocked();
        return;
      }
      work->state = Work::State::kWaitingDeps;
      waiting_.emplace(work->id, work);
    } else {
      work->state = Work::State::kDone;
    }
  }
  if (!failed.ok()) return Finish(*work, std::move(failed));
  if (stopping) return Finish(*work, CancelledError("the executor is shutting down"));
  // Each counted dependency calls back exactly once, now (when it became ready meanwhile) or
  // when it completes.
  std::weak_ptr<LocalScheduler> weak_self = weak_from_this();
  for (LocalObject* dependency : unready) {
    dependency->OnReady([weak_self, work] {
      if (std::shared_ptr<LocalScheduler> self = weak_self.lock()) self->DependencyReady(work);
    });
  }
}

void LocalScheduler::DependencyReady(const std::shared_ptr<Work>& work) {
  Status failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (work->state != Work::State::kWaitingDeps) return;
    failed = FailedDependency(work->args, work->description);
    if (failed.ok() && !stopping_) {
      if (--work->pending_deps > 0) return;
      waiting_.erase(work->id);
      EnqueueLocked(work);
      ScheduleLocked();
      return;
    }
    waiting_.erase(work->id);
    work->state = Work::State::kDone;
  }
  if (failed.ok()) failed = CancelledError("the executor shut down before " + work->description +
                                           " ran");
  Finish(*work, std::move(failed));
}

void LocalScheduler::CancelTask(const std::shared_ptr<Work>& work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    switch (work->state) {
      case Work::State::kWaitingDeps:
        waiting_.erase(work->id);
        break;
      case Work::State::kQueued:
        pending_.erase(work->pending_pos);
        break;
      case Work::State::kGranted:  // the worker checks the token before running it
      case Work::State::kRunning:
        work->token.Cancel();
        return;
      case Work::State::kDone:
        return;
    }
    work->token.Cancel();
    work->state = Work::State::kDone;
    ScheduleLocked();  // what the cancelled task blocked may fit now
  }
  Finish(*work, CancelledError(work->description + " was cancelled before it started"));
}

void LocalScheduler::EnqueueLocked(const std::shared_ptr<Work>& work) {
  work->state = Work::State::kQueued;
  work->pending_pos = pending_.insert(pending_.end(), PendingItem{work, nullptr, work->units});
}

void LocalScheduler::ScheduleLocked() {
  if (stopping_) return;
  size_t misses = 0;
  PendingItem* first_blocked = nullptr;  // the oldest request that did not fit in this pass
  for (auto it = pending_.begin(); it != pending_.end() && misses < kBackfillWindow;) {
    bool worker_free = run_queue_.size() < idle_workers_;
    if (!worker_free && pending_actors_ == 0) return;
    if (it->group != nullptr && it->actor != nullptr) {
      // An actor in a bundle competes only with the bundle's other actors.
      LocalGroup& group = *it->group;
      ResourceUnits* bundle = group.state == LocalGroup::State::kPlaced
                                  ? &group.bundle_free[static_cast<size_t>(it->bundle)]
                                  : nullptr;
      if (group.state == LocalGroup::State::kPending ||
          (bundle != nullptr && !it->units.FitsIn(*bundle))) {
        ++misses;
        ++it;
        continue;
      }
      --pending_actors_;
      // A removed group grants nothing: its actors are being killed.
      if (bundle != nullptr && it->actor->Grant()) *bundle -= it->units;
      it = pending_.erase(it);
      continue;
    }
    if (!it->units.FitsIn(free_)) {
      // Reserve what frees up for a request overtaken too often, but only when finishing
      // tasks can make room for it: actors hold their resources until they die, and waiting
      // on them could stall everything behind it for good.
      ResourceUnits reachable = ResourceUnits::From(capacity_);
      reachable -= held_by_actors_;
      if (it->overtaken >= kMaxOvertakes && it->units.FitsIn(reachable)) return;
      if (first_blocked == nullptr) first_blocked = &*it;
      ++misses;
      ++it;
      continue;
    }
    if (it->task != nullptr && !worker_free) {
      ++misses;
      ++it;
      continue;
    }
    if (first_blocked != nullptr) ++first_blocked->overtaken;
    if (it->group != nullptr) {
      // A group's reservation: every bundle at once.
      --pending_actors_;
      free_ -= it->units;
      held_by_actors_ += it->units;
      it->group->state = LocalGroup::State::kPlaced;
      it->group->bundle_free = it->group->bundles;
      group_cv_.notify_all();
      // Actors already waiting for its bundles may start now.
      it = pending_.erase(it);
      return ScheduleLocked();
    }
    if (it->actor != nullptr) {
      --pending_actors_;
      // A dead actor (killed while it waited) refuses the grant; its entry just goes.
      if (it->actor->Grant()) {
        free_ -= it->units;
        held_by_actors_ += it->units;
      }
    } else {
      free_ -= it->units;
      it->task->state = Work::State::kGranted;
      run_queue_.push_back(it->task);
      work_cv_.notify_one();
    }
    it = pending_.erase(it);
  }
}

void LocalScheduler::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  ++idle_workers_;
  ScheduleLocked();
  while (true) {
    work_cv_.wait(lock, [this] { return !run_queue_.empty() || stopping_; });
    if (run_queue_.empty()) break;
    std::shared_ptr<Work> work = std::move(run_queue_.front());
    run_queue_.pop_front();
    --idle_workers_;
    work->state = Work::State::kRunning;
    ++work->attempt;
    running_.emplace(work->id, work);
    lock.unlock();

    Result<Value> result = RunTask(*work);

    lock.lock();
    running_.erase(work->id);
    free_ += work->units;
    ++idle_workers_;
    bool retry = !result.ok() && result.status().IsTransient() &&
                 work->attempt <= work->max_retries;
    if (retry && (stopping_ || work->token.cancelled())) {
      // The retry it was due is what the cancellation (or shutdown) stops.
      retry = false;
      result = CancelledError(work->description + " was cancelled before its retry after: " +
                              result.status().ToString());
    }
    if (retry) {
      EnqueueLocked(work);
    } else {
      work->state = Work::State::kDone;
    }
    ScheduleLocked();
    if (!retry) {
      lock.unlock();
      Finish(*work, std::move(result));
      lock.lock();
    }
  }
  --idle_workers_;
}

Result<Value> LocalScheduler::RunTask(Work& work) {
  if (work.token.cancelled()) {
    return CancelledError(work.description + " was cancelled before it started");
  }
  std::string what = work.description + " (attempt " + std::to_string(work.attempt) + " of " +
                     std::to_string(work.max_retries + 1) + ")";
  ASSIGN_OR_RETURN(std::vector<Value> args, ResolveArgs(work.args, gate_, what));
  TaskContext ctx(work.name, work.attempt, work.resources, work.token);
  Result<Value> result = InvokeKernel(*work.kernel, ctx, args, what);
  if (work.token.cancelled()) return CancelledError(work.description + " was cancelled");
  if (!result.ok()) return result.status().WithContext(what);
  return gate_.Cross(*result, what + ": the result");
}

void LocalScheduler::Finish(Work& work, Result<Value> result) {
  work.args.clear();
  work.object->Complete(std::move(result));
  NotifyReady();
}

void LocalScheduler::NotifyReady() {
  // Waiters register in waiters_ before checking readiness, and the object's ready flag is
  // set (seq_cst) before this load, so either the waiter sees the object ready or we see the
  // waiter: no lost wake-up, and no lock taken when nobody waits.
  if (waiters_.load(std::memory_order_seq_cst) == 0) return;
  { std::lock_guard<std::mutex> lock(wait_mu_); }
  wait_cv_.notify_all();
}

std::vector<ObjectRef> LocalScheduler::Wait(const std::vector<ObjectRef>& refs,
                                            size_t num_ready, const Timeout& timeout) {
  auto collect = [&refs] {
    std::vector<ObjectRef> ready;
    for (const ObjectRef& ref : refs) {
      if (ObjectOf(ref).ready()) ready.push_back(ref);
    }
    return ready;
  };
  auto deadline = std::chrono::steady_clock::now() +
                  timeout.value_or(std::chrono::nanoseconds::zero());
  std::unique_lock<std::mutex> lock(wait_mu_);
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  std::vector<ObjectRef> ready = collect();
  while (ready.size() < num_ready) {
    if (!timeout.has_value()) {
      wait_cv_.wait(lock);
    } else if (wait_cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      ready = collect();
      break;
    }
    ready = collect();
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
  return ready;
}

void LocalScheduler::AddActor(std::shared_ptr<LocalActor> actor) {
  std::vector<std::shared_ptr<LocalActor>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = actors_.begin(); it != actors_.end();) {
      if ((*it)->finished()) {
        finished.push_back(std::move(*it));
        it = actors_.erase(it);
      } else {
        ++it;
      }
    }
    actors_.push_back(std::move(actor));
  }
  for (std::shared_ptr<LocalActor>& done : finished) done->Join();
}

void LocalScheduler::RequestActorResources(std::shared_ptr<LocalActor> actor) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;  // Shutdown kills the actor; it never needs the grant
  ResourceUnits units = actor->units();
  PendingItem item{nullptr, actor, units};
  item.group = actor->group();
  item.bundle = actor->bundle();
  pending_.push_back(std::move(item));
  ++pending_actors_;
  ScheduleLocked();
}

void LocalScheduler::DropPendingActor(const LocalActor* actor) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->actor.get() == actor) {
      pending_.erase(it);
      --pending_actors_;
      ScheduleLocked();
      return;
    }
  }
}

void LocalScheduler::ReleaseActorResources(const ResourceUnits& units, LocalGroup* group,
                                           int bundle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (group != nullptr) {
    if (group->state == LocalGroup::State::kPlaced) {
      group->bundle_free[static_cast<size_t>(bundle)] += units;
    }
  } else {
    free_ += units;
    held_by_actors_ -= units;
  }
  ScheduleLocked();
}

void LocalScheduler::RequestGroup(std::shared_ptr<LocalGroup> group) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  ResourceUnits units = group->total;
  PendingItem item{nullptr, nullptr, units};
  item.group = std::move(group);
  pending_.push_back(std::move(item));
  ++pending_actors_;
  ScheduleLocked();
}

LocalGroup::State LocalScheduler::WaitGroup(const LocalGroup& group, const Timeout& timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto settled = [&] { return group.state != LocalGroup::State::kPending || stopping_; };
  if (timeout.has_value()) {
    group_cv_.wait_for(lock, *timeout, settled);
  } else {
    group_cv_.wait(lock, settled);
  }
  return group.state;
}

void LocalScheduler::RemoveGroup(LocalGroup& group) {
  std::lock_guard<std::mutex> lock(mu_);
  if (group.state == LocalGroup::State::kRemoved) return;
  if (group.state == LocalGroup::State::kPlaced) {
    free_ += group.total;
    held_by_actors_ -= group.total;
  } else {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->group.get() == &group && it->actor == nullptr) {
        pending_.erase(it);
        --pending_actors_;
        break;
      }
    }
  }
  group.state = LocalGroup::State::kRemoved;
  group.bundle_free.clear();
  group_cv_.notify_all();
  ScheduleLocked();
}

}  // namespace raypipe::compute::internal
