#include "compute/internal/local_actor.h"

#include <exception>

#include "compute/internal/local_scheduler.h"

namespace raypipe::compute::internal {

LocalActor::LocalActor(LocalScheduler* scheduler, uint64_t id, std::string name,
                       std::string class_name, const ActorFactory* factory,
                       std::vector<Arg> args, ActorOptions options)
    : scheduler_(scheduler),
      id_(id),
      name_(std::move(name)),
      class_name_(std::move(class_name)),
      factory_(factory),
      options_(std::move(options)),
      units_(ResourceUnits::From(options_.resources)),
      creation_(std::make_shared<Work>()) {
  creation_->id = id_;
  creation_->name = name_;
  creation_->description = "actor '" + name_ + "' (class " + class_name_ + ")";
  creation_->resources = options_.resources;
  creation_->units = units_;
  creation_->args = std::move(args);
  creation_->state = Work::State::kQueued;
}

LocalActor::~LocalActor() {
  // The scheduler joins every actor it started; this only guards against a thread left
  // joinable by a failure between Start and AddActor.
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }
}

void LocalActor::PlaceIn(std::shared_ptr<LocalGroup> group, int bundle) {
  group_ = std::move(group);
  bundle_ = bundle;
}

void LocalActor::Start() {
  std::vector<LocalObject*> unready;
  for (const Arg& arg : creation_->args) {
    if (arg.is_ref() && !ObjectOf(arg.ref()).ready()) unready.push_back(&ObjectOf(arg.ref()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    creation_->pending_deps = static_cast<int>(unready.size());
  }
  WatchDependencies(creation_, unready);
  // The thread captures a raw pointer: the scheduler holds the actor until it has joined it.
  thread_ = std::thread([this] { Run(); });
}

void LocalActor::Join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void LocalActor::WatchDependencies(const std::shared_ptr<Work>& work,
                                   const std::vector<LocalObject*>& unready) {
  std::weak_ptr<LocalActor> weak_self = weak_from_this();
  for (LocalObject* dependency : unready) {
    dependency->OnReady([weak_self, work] {
      if (std::shared_ptr<LocalActor> self = weak_self.lock()) self->DependencyReady(work);
    });
  }
}

void LocalActor::DependencyReady(const std::shared_ptr<Work>& work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (work->state != Work::State::kQueued) return;
    --work->pending_deps;
  }
  cv_.notify_all();
}

bool LocalActor::HeadReadyLocked() const {
  return !calls_.empty() && calls_.front()->pending_deps == 0;
}

bool LocalActor::Grant() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (phase_ == Phase::kDead || killed_) return false;
    granted_ = true;
  }
  cv_.notify_all();
  return true;
}

void LocalActor::Enqueue(std::shared_ptr<Work> call) {
  std::vector<LocalObject*> unready;
  for (const Arg& arg : call->args) {
    if (arg.is_ref() && !ObjectOf(arg.ref()).ready()) unready.push_back(&ObjectOf(arg.ref()));
  }
  Status dead;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (phase_ == Phase::kDead) {
      dead = death_;
      call->state = Work::State::kDone;
    } else {
      call->state = Work::State::kQueued;
      call->pending_deps = static_cast<int>(unready.size());
      calls_.push_back(call);
    }
  }
  if (!dead.ok()) return scheduler_->Finish(*call, std::move(dead));
  cv_.notify_all();
  WatchDependencies(call, unready);
}

void LocalActor::Cancel(const std::shared_ptr<Work>& call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (call->state == Work::State::kRunning) {
      call->token.Cancel();
      return;
    }
    if (call->state != Work::State::kQueued) return;
    for (auto it = calls_.begin(); it != calls_.end(); ++it) {
      if (*it == call) {
        calls_.erase(it);
        break;
      }
    }
    call->state = Work::State::kDone;
    call->token.Cancel();
  }
  cv_.notify_all();  // the head of the queue may have changed
  scheduler_->Finish(*call, CancelledError(call->description + " was cancelled before it started"));
}

void LocalActor::Kill(const std::string& reason, bool allow_restart) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (phase_ == Phase::kDead || killed_) return;
    bool restarts_left = restarts_used_ < options_.max_restarts;
    if (allow_restart && restarts_left) {
      // Before the instance exists there is nothing to restart: it is about to be created.
      if (phase_ != Phase::kAlive || restart_requested_) return;
      restart_requested_ = true;
      kill_reason_ = reason;
    } else {
      killed_ = true;
      kill_reason_ = reason;
      creation_->token.Cancel();
    }
    if (running_call_ != nullptr) running_call_->token.Cancel();
  }
  cv_.notify_all();
}

void LocalActor::ReleaseHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    handle_released_ = true;
  }
  cv_.notify_all();
}

bool LocalActor::AwaitStart() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return killed_ || creation_->pending_deps == 0; });
    if (killed_) return false;
  }
  scheduler_->RequestActorResources(shared_from_this());
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return killed_ || granted_; });
  return !killed_;
}

Status LocalActor::Create() {
  ASSIGN_OR_RETURN(std::vector<Value> args,
                   ResolveArgs(creation_->args, scheduler_->gate(), creation_->description));
  while (true) {
    CancellationToken token;
    int attempt = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (killed_) return CancelledError("killed before it was created: " + kill_reason_);
      creation_->token = token;  // Kill cancels the creation in progress through it
      attempt = ++creation_->attempt;
    }
    TaskContext ctx(name_, attempt, options_.resources, token);
    Result<std::unique_ptr<ActorInstance>> made = [&]() -> Result<std::unique_ptr<ActorInstance>> {
      try {
        return (*factory_)(ctx, args);
      } catch (const std::exception& error) {
        return InternalError("the factory threw an exception: " + std::string(error.what()));
      } catch (...) {
        return InternalError("the factory threw a non-standard exception");
      }
    }();
    Status error;
    if (made.ok() && *made != nullptr) {
      instance_ = std::move(*made);
      std::lock_guard<std::mutex> lock(mu_);
      if (killed_) return CancelledError("killed while it was being created: " + kill_reason_);
      phase_ = Phase::kAlive;
      return Status::Ok();
    }
    error = made.ok() ? InternalError("the factory returned no instance") : made.status();
    std::lock_guard<std::mutex> lock(mu_);
    if (killed_ || !error.IsTransient() || restarts_used_ >= options_.max_restarts) return error;
    ++restarts_used_;
  }
}

Result<Value> LocalActor::RunCall(Work& call, std::string& crash) {
  ASSIGN_OR_RETURN(std::vector<Value> args,
                   ResolveArgs(call.args, scheduler_->gate(), call.description));
  while (true) {
    ++call.attempt;
    std::string what = call.description + " (attempt " + std::to_string(call.attempt) + " of " +
                       std::to_string(call.max_retries + 1) + ")";
    TaskContext ctx(call.name, call.attempt, options_.resources, call.token);
    Result<Value> result = [&]() -> Result<Value> {
      // An exception escaping a method is a crash: the instance may be half-updated.
      try {
        return instance_->Call(ctx, call.method, args);
      } catch (const std::exception& error) {
        crash = std::string("an exception: ") + error.what();
      } catch (...) {
        crash = "a non-standard exception";
      }
      return InternalError(what + " threw " + crash);
    }();
    if (!crash.empty() || call.token.cancelled()) return result;
    if (result.ok()) return scheduler_->gate().Cross(*result, what + ": the result");
    if (!result.status().IsTransient() || call.attempt > call.max_retries) {
      return result.status().WithContext(what);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (killed_ || restart_requested_) return result.status().WithContext(what);
  }
}

void LocalActor::Run() {
  if (!AwaitStart()) {
    Die(UnavailableError("actor '" + name_ + "' died: " + kill_reason_));
    return;
  }
  Status created = Create();
  if (!created.ok()) {
    std::string reason;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reason = killed_ ? kill_reason_ : "creation failed: " + created.ToString();
    }
    Die(UnavailableError("actor '" + name_ + "' died: " + reason));
    return;
  }
  std::string death_reason;
  while (true) {
    std::shared_ptr<Work> call;
    bool restart = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] {
        return killed_ || restart_requested_ || HeadReadyLocked() ||
               (calls_.empty() && handle_released_);
      });
      if (killed_) {
        death_reason = kill_reason_;
        break;
      }
      if (restart_requested_) {
        restart_requested_ = false;
        ++restarts_used_;
        restart = true;
      } else if (!HeadReadyLocked()) {
        death_reason = "all its handles were dropped";
        break;
      } else {
        call = std::move(calls_.front());
        calls_.pop_front();
        call->state = Work::State::kRunning;
        running_call_ = call;
      }
    }
    if (restart) {
      instance_.reset();  // the old state goes before the new instance is built
      Status recreated = Create();
      if (!recreated.ok()) {
        Die(UnavailableError("actor '" + name_ + "' died: restart failed: " +
                             recreated.ToString()));
        return;
      }
      continue;
    }

    std::string crash;
    Result<Value> result = RunCall(*call, crash);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_call_.reset();
      call->state = Work::State::kDone;
      std::string prefix = "actor '" + name_ + "'";
      if (!crash.empty()) {
        std::string what = "crashed in " + call->description + " with " + crash;
        if (!killed_ && restarts_used_ < options_.max_restarts) {
          restart_requested_ = true;
          result = UnavailableError(prefix + " " + what + "; restarting it");
        } else if (!killed_) {
          killed_ = true;
          kill_reason_ = what;
          result = UnavailableError(prefix + " died: " + what);
        } else {
          result = UnavailableError(prefix + " died: " + kill_reason_);
        }
      } else if (killed_) {
        result = UnavailableError(prefix + " died while running " + call->description + ": " +
                                  kill_reason_);
      } else if (restart_requested_) {
        result = UnavailableError(prefix + " was restarted while running " + call->description +
                                  ": " + kill_reason_);
      } else if (call->token.cancelled()) {
        result = CancelledError(call->description + " was cancelled");
      }
    }
    scheduler_->Finish(*call, std::move(result));
  }
  Die(UnavailableError("actor '" + name_ + "' died: " + death_reason));
}

void LocalActor::Die(Status why) {
  std::deque<std::shared_ptr<Work>> orphans;
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    phase_ = Phase::kDead;
    death_ = why;
    orphans.swap(calls_);
    for (std::shared_ptr<Work>& orphan : orphans) orphan->state = Work::State::kDone;
    creation_->state = Work::State::kDone;
    release = granted_;
    granted_ = false;
  }
  cv_.notify_all();
  instance_.reset();  // destroyed on the actor's own thread, like every use of it
  creation_->args.clear();
  if (!release) scheduler_->DropPendingActor(this);
  for (std::shared_ptr<Work>& orphan : orphans) scheduler_->Finish(*orphan, why);
  if (release) scheduler_->ReleaseActorResources(units_, group_.get(), bundle_);
  finished_.store(true, std::memory_order_release);
}

}  // namespace raypipe::compute::internal
