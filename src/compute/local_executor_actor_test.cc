// Actors on the LocalExecutor: state, order, resources held for life, failures and kills.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "compute/internal/local_object.h"
#include "compute/local_executor.h"
#include "compute/test_util.h"

namespace raypipe::compute {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using Args = std::span<const Value>;

constexpr auto kLong = 20s;  // a bound that only a hang reaches

std::string Message(const Status& status) { return std::string(status.message()); }

// Shared by the test and the actors it creates.
struct World {
  testing::Rendezvous* rendezvous = nullptr;
  testing::Signal blocked;
  std::atomic<int> factory_calls{0};
  std::atomic<int> factory_failures_left{0};
  std::atomic<int> destroyed{0};
  std::atomic<const void*> seen{nullptr};
};

class Counter : public MethodActor {
 public:
  Counter(World* world, int64_t start) : world_(world), total_(start) {
    AddMethod("Add", [this](TaskContext&, std::span<const Value> args) -> Result<Value> {
      ASSIGN_OR_RETURN(const int64_t* delta, ArgAs<int64_t>(args, 0));
      total_ += *delta;
      return Value::Of<int64_t>(total_);
    });
    AddMethod("Get", [this](TaskContext&, std::span<const Value>) -> Result<Value> {
      return Value::Of<int64_t>(total_);
    });
    AddMethod("Fail", [](TaskContext&, std::span<const Value>) -> Result<Value> {
      return FailedPreconditionError("the ledger is closed");
    });
    AddMethod("Crash", [](TaskContext&, std::span<const Value>) -> Result<Value> {
      throw std::runtime_error("segfault stand-in");
    });
    AddMethod("Flaky", [](TaskContext& ctx, std::span<const Value>) -> Result<Value> {
      if (ctx.attempt() == 1) return UnavailableError("lost the connection");
      return Value::Of<int64_t>(ctx.attempt());
    });
    AddMethod("Block", [this](TaskContext& ctx, std::span<const Value>) -> Result<Value> {
      world_->blocked.Raise();
      auto until = std::chrono::steady_clock::now() + kLong;
      while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
      }
      return Value::Of<std::string>("unblocked");
    });
    AddMethod("Meet", [this](TaskContext&, std::span<const Value>) -> Result<Value> {
      if (!world_->rendezvous->ArriveAndWait(10000ms)) {
        return DeadlineExceededError("the others never arrived");
      }
      return Value::Of<int64_t>(1);
    });
    AddMethod("Address", [this](TaskContext&, std::span<const Value> args) -> Result<Value> {
      world_->seen = args.empty() ? nullptr : args[0].address();
      return Value();
    });
  }
  ~Counter() override { ++world_->destroyed; }

 private:
  World* world_;
  int64_t total_;
};

class LocalActorTest : public ::testing::Test {
 protected:
  void AddTask(std::string name, TaskKernel kernel) {
    ASSERT_TRUE(kernels_.RegisterTask(std::move(name), std::move(kernel)).ok());
  }
  void AddActor(std::string name, ActorFactory factory) {
    ASSERT_TRUE(kernels_.RegisterActor(std::move(name), std::move(factory)).ok());
  }

  void SetUp() override {
    World* world = &world_;
    AddActor("Counter", [world](TaskContext&, Args args)
        -> Result<std::unique_ptr<ActorInstance>> {
      ++world->factory_calls;
      if (world->factory_failures_left.fetch_sub(1) > 0) {
        return UnavailableError("the GPU is warming up");
      }
      int64_t start = 0;
      if (!args.empty()) {
        ASSIGN_OR_RETURN(const int64_t* given, ArgAs<int64_t>(args, 0));
        start = *given;
        world->seen = args[0].address();
      }
      return std::unique_ptr<ActorInstance>(new Counter(world, start));
    });
    AddActor("Broken", [](TaskContext&, Args)
        -> Result<std::unique_ptr<ActorInstance>> {
      return InvalidArgumentError("bad config key 'depth'");
    });
    AddTask("make", [](TaskContext&, Args) -> Result<Value> {
      return Value::Of<int64_t>(7);
    });
  }

  std::unique_ptr<LocalExecutor> Open(double cpus = 2) {
    LocalExecutorOptions options;
    options.registry = &kernels_;
    options.capacity = Resources{cpus, 0};
    Result<std::unique_ptr<LocalExecutor>> executor = LocalExecutor::Open(options);
    EXPECT_TRUE(executor.ok()) << executor.status();
    return std::move(executor).value();
  }

  ActorHandle Create(Executor& executor, ActorOptions options = {}, std::vector<Arg> args = {}) {
    Result<ActorHandle> actor = executor.CreateActor("Counter", std::move(args), options);
    EXPECT_TRUE(actor.ok()) << actor.status();
    return actor.ok() ? *actor : ActorHandle();
  }

  Result<Value> Call(Executor& executor, const ActorHandle& actor, std::string_view method,
                     std::vector<Arg> args = {}, CallOptions options = {}) {
    ASSIGN_OR_RETURN(ObjectRef ref, executor.CallActor(actor, method, std::move(args), options));
    return executor.Get(ref, kLong);
  }

  int64_t Int(const Result<Value>& value) {
    EXPECT_TRUE(value.ok()) << value.status();
    if (!value.ok()) return -1;
    Result<const int64_t*> number = value->Get<int64_t>();
    EXPECT_TRUE(number.ok()) << number.status();
    return number.ok() ? **number : -1;
  }

  // Polls until the executor has `cpus` free (resources come back asynchronously).
  bool EventuallyFree(LocalExecutor& executor, double cpus) {
    auto until = std::chrono::steady_clock::now() + kLong;
    while (std::chrono::steady_clock::now() < until) {
      if (executor.Available().cpus == cpus) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  testing::Watchdog watchdog_{"LocalActorTest"};
  World world_;
  KernelRegistry kernels_;
};

TEST_F(LocalActorTest, KeepsStateAndRunsCallsInOrder) {
  auto executor = Open();
  ActorHandle counter =
      Create(*executor, testing::ActorOpts({}, "ledger"), {Value::Of<int64_t>(100)});
  EXPECT_EQ(counter.name(), "ledger");
  std::vector<ObjectRef> refs;
  for (int call = 0; call < 100; ++call) {
    Result<ObjectRef> ref = executor->CallActor(counter, "Add", {Value::Of<int64_t>(1)});
    ASSERT_TRUE(ref.ok());
    refs.push_back(*ref);
  }
  for (int call = 0; call < 100; ++call) {
    EXPECT_EQ(Int(executor->Get(refs[call], kLong)), 101 + call);
  }
  EXPECT_EQ(world_.factory_calls.load(), 1);
}

TEST_F(LocalActorTest, FourHalfCpuActorsRunAtOnceOnTwoCpus) {
  auto executor = Open(2);
  testing::Rendezvous rendezvous(4);
  world_.rendezvous = &rendezvous;
  std::vector<ActorHandle> actors;
  std::vector<ObjectRef> meetings;
  for (int actor_idx = 0; actor_idx < 4; ++actor_idx) {
    actors.push_back(Create(*executor, testing::ActorOpts({0.5, 0})));
    Result<ObjectRef> ref = executor->CallActor(actors.back(), "Meet", {});
    ASSERT_TRUE(ref.ok());
    meetings.push_back(*ref);
  }
  // Each Meet returns only once all four are inside a call at the same moment.
  for (const ObjectRef& meeting : meetings) {
    EXPECT_EQ(Int(executor->Get(meeting, kLong)), 1);
  }
  EXPECT_EQ(executor->Available().cpus, 0);

  // A fifth 0.5-CPU actor waits for room, which a kill makes.
  ActorHandle fifth = Create(*executor, testing::ActorOpts({0.5, 0}));
  Result<ObjectRef> waiting = executor->CallActor(fifth, "Get", {});
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(executor->Get(*waiting, 100ms).status().code(), StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(executor->KillActor(actors[0], /*no_restart=*/true).ok());
  EXPECT_EQ(Int(executor->Get(*waiting, kLong)), 0);
}

TEST_F(LocalActorTest, RequestLargerThanTheMachineIsRefused) {
  auto executor = Open(2);
  Result<ActorHandle> big =
      executor->CreateActor("Counter", {}, testing::ActorOpts({2.5, 0}, "trainer"));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(big.status()),
              HasSubstr("actor 'trainer' (class Counter) asks for 2.5 CPUs"));
  EXPECT_THAT(Message(big.status()), HasSubstr("this executor has: 2 CPUs"));
  Result<ActorHandle> unknown = executor->CreateActor("Countr", {});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(Message(unknown.status()), HasSubstr("Broken, Counter"));
  EXPECT_EQ(executor->CreateActor("Counter", {}, testing::ActorOpts({}, "", -1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(executor->CallActor(ActorHandle(), "Get", {}).status().code(),
            StatusCode::kInvalidArgument);
  ActorHandle actor = Create(*executor);
  EXPECT_EQ(executor->CallActor(actor, "", {}).status().code(), StatusCode::kInvalidArgument);
  auto other = Open(2);
  EXPECT_EQ(other->CallActor(actor, "Get", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(other->KillActor(actor, true).code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalActorTest, MethodErrorReachesTheCallerAndStateSurvives) {
  auto executor = Open();
  ActorHandle counter = Create(*executor);
  EXPECT_EQ(Int(Call(*executor, counter, "Add", {Value::Of<int64_t>(5)})), 5);
  Result<Value> failed = Call(*executor, counter, "Fail");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(failed.status()), HasSubstr("the ledger is closed"));
  EXPECT_THAT(Message(failed.status()), HasSubstr(".Fail'"));
  Result<Value> unknown = Call(*executor, counter, "Frobnicate");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  Result<Value> mistyped = Call(*executor, counter, "Add", {Value::Of<std::string>("5")});
  EXPECT_EQ(mistyped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Int(Call(*executor, counter, "Get")), 5);
}

TEST_F(LocalActorTest, FactoryFailureKillsTheActor) {
  auto executor = Open(2);
  Result<ActorHandle> broken =
      executor->CreateActor("Broken", {}, testing::ActorOpts({}, "writer-3"));
  ASSERT_TRUE(broken.ok());  // creation is asynchronous; the failure shows in the calls
  Result<Value> call = Call(*executor, *broken, "Get");
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(call.status()), HasSubstr("actor 'writer-3' died: creation failed"));
  EXPECT_THAT(Message(call.status()), HasSubstr("bad config key 'depth'"));
  EXPECT_TRUE(EventuallyFree(*executor, 2));
  // Calls made later fail the same way.
  EXPECT_THAT(Message(Call(*executor, *broken, "Get").status()), HasSubstr("creation failed"));
}

TEST_F(LocalActorTest, TransientFactoryFailuresUseRestarts) {
  auto executor = Open();
  world_.factory_failures_left = 2;
  ActorHandle patient = Create(*executor, testing::ActorOpts({}, "", 2));
  EXPECT_EQ(Int(Call(*executor, patient, "Get")), 0);
  EXPECT_EQ(world_.factory_calls.load(), 3);

  world_.factory_failures_left = 2;
  ActorHandle impatient = Create(*executor, testing::ActorOpts({}, "", 1));
  Result<Value> call = Call(*executor, impatient, "Get");
  EXPECT_EQ(call.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(call.status()), HasSubstr("GPU is warming up"));
}

TEST_F(LocalActorTest, KillFailsRunningQueuedAndLaterCalls) {
  auto executor = Open(2);
  ActorHandle actor = Create(*executor, testing::ActorOpts({1.5, 0}, "doomed"));
  Result<ObjectRef> running = executor->CallActor(actor, "Block", {});
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(world_.blocked.WaitFor(kLong));
  Result<ObjectRef> queued = executor->CallActor(actor, "Get", {});
  ASSERT_TRUE(queued.ok());
  EXPECT_DOUBLE_EQ(executor->Available().cpus, 0.5);

  ASSERT_TRUE(executor->KillActor(actor, /*no_restart=*/true).ok());
  Result<Value> stopped = executor->Get(*running, kLong);
  EXPECT_EQ(stopped.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(stopped.status()), HasSubstr("actor 'doomed' died while running"));
  Result<Value> dropped = executor->Get(*queued, kLong);
  EXPECT_EQ(dropped.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(dropped.status()), HasSubstr("actor 'doomed' died: killed"));
  Result<Value> later = Call(*executor, actor, "Get");
  EXPECT_EQ(later.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(EventuallyFree(*executor, 2));
  EXPECT_EQ(world_.destroyed.load(), 1);
  EXPECT_TRUE(executor->KillActor(actor, true).ok());  // killing the dead is a no-op
}

TEST_F(LocalActorTest, KillWithRestartRebuildsTheState) {
  auto executor = Open();
  ActorHandle actor = Create(*executor, testing::ActorOpts({}, "", 1), {Value::Of<int64_t>(10)});
  EXPECT_EQ(Int(Call(*executor, actor, "Add", {Value::Of<int64_t>(5)})), 15);
  ASSERT_TRUE(executor->KillActor(actor, /*no_restart=*/false).ok());
  // Rebuilt from its constructor arguments.
  EXPECT_EQ(Int(Call(*executor, actor, "Get")), 10);
  EXPECT_EQ(world_.factory_calls.load(), 2);
  // No restarts left: a second restart request kills it.
  ASSERT_TRUE(executor->KillActor(actor, /*no_restart=*/false).ok());
  EXPECT_EQ(Call(*executor, actor, "Get").status().code(), StatusCode::kUnavailable);
}

TEST_F(LocalActorTest, KillWithRestartDuringACallFailsOnlyThatCall) {
  auto executor = Open();
  ActorHandle actor = Create(*executor, testing::ActorOpts({}, "", 1), {Value::Of<int64_t>(3)});
  Result<ObjectRef> running = executor->CallActor(actor, "Block", {});
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(world_.blocked.WaitFor(kLong));
  Result<ObjectRef> queued = executor->CallActor(actor, "Add", {Value::Of<int64_t>(1)});
  ASSERT_TRUE(queued.ok());
  ASSERT_TRUE(executor->KillActor(actor, /*no_restart=*/false).ok());
  Result<Value> interrupted = executor->Get(*running, kLong);
  EXPECT_EQ(interrupted.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(interrupted.status()), HasSubstr("was restarted while running"));
  EXPECT_EQ(Int(executor->Get(*queued, kLong)), 4);  // ran on the new instance
}

TEST_F(LocalActorTest, CrashRestartsWhenAllowedElseKills) {
  auto executor = Open();
  ActorHandle resilient = Create(*executor, testing::ActorOpts({}, "", 1), {Value::Of<int64_t>(1)});
  EXPECT_EQ(Int(Call(*executor, resilient, "Add", {Value::Of<int64_t>(1)})), 2);
  Result<Value> crashed = Call(*executor, resilient, "Crash");
  EXPECT_EQ(crashed.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(crashed.status()), HasSubstr("segfault stand-in"));
  EXPECT_THAT(Message(crashed.status()), HasSubstr("restarting it"));
  EXPECT_EQ(Int(Call(*executor, resilient, "Get")), 1);

  ActorHandle fragile = Create(*executor, testing::ActorOpts({}, "fragile"));
  Result<Value> died = Call(*executor, fragile, "Crash");
  EXPECT_EQ(died.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(died.status()), HasSubstr("actor 'fragile' died: crashed in call"));
  Result<Value> after = Call(*executor, fragile, "Get");
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(after.status()), HasSubstr("segfault stand-in"));
}

TEST_F(LocalActorTest, TransientCallFailuresAreRetriedWhenAsked) {
  auto executor = Open();
  ActorHandle actor = Create(*executor);
  EXPECT_EQ(Call(*executor, actor, "Flaky").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Int(Call(*executor, actor, "Flaky", {}, {.max_retries = 1})), 2);
}

TEST_F(LocalActorTest, CallsAndConstructorsWaitForRefArguments) {
  auto executor = Open();
  Result<ObjectRef> seven = executor->Submit("make", {});
  ASSERT_TRUE(seven.ok());
  ActorHandle actor = Create(*executor, {}, {*seven});
  EXPECT_EQ(Int(Call(*executor, actor, "Get")), 7);
  Result<ObjectRef> more = executor->Submit("make", {});
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(Int(Call(*executor, actor, "Add", {*more})), 14);

  // Zero copy into actors too.
  auto object = std::make_shared<const std::string>("shared bytes");
  ASSERT_TRUE(Call(*executor, actor, "Address", {Value::Share(object)}).ok());
  EXPECT_EQ(world_.seen.load(), object.get());

  // A failed ref argument fails the call without running it; the actor lives on.
  Result<ObjectRef> bad = executor->CallActor(actor, "Fail", {});
  ASSERT_TRUE(bad.ok());
  Result<Value> downstream = Call(*executor, actor, "Add", {*bad});
  EXPECT_EQ(downstream.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(downstream.status()), HasSubstr("argument 0"));
  EXPECT_EQ(Int(Call(*executor, actor, "Get")), 14);
}

TEST_F(LocalActorTest, CancelQueuedAndRunningCalls) {
  auto executor = Open();
  ActorHandle actor = Create(*executor);
  Result<ObjectRef> running = executor->CallActor(actor, "Block", {});
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(world_.blocked.WaitFor(kLong));
  Result<ObjectRef> queued = executor->CallActor(actor, "Add", {Value::Of<int64_t>(100)});
  ASSERT_TRUE(queued.ok());
  ASSERT_TRUE(executor->Cancel(*queued).ok());
  EXPECT_EQ(executor->Get(*queued, kLong).status().code(), StatusCode::kCancelled);
  ASSERT_TRUE(executor->Cancel(*running).ok());
  EXPECT_EQ(executor->Get(*running, kLong).status().code(), StatusCode::kCancelled);
  // The cancelled Add never ran; the actor is fine.
  EXPECT_EQ(Int(Call(*executor, actor, "Get")), 0);
}

TEST_F(LocalActorTest, DroppingTheLastHandleFinishesQueuedCallsThenFrees) {
  auto executor = Open(2);
  std::vector<ObjectRef> refs;
  {
    ActorHandle actor = Create(*executor, testing::ActorOpts({2, 0}));
    for (int call = 0; call < 10; ++call) {
      Result<ObjectRef> ref = executor->CallActor(actor, "Add", {Value::Of<int64_t>(1)});
      ASSERT_TRUE(ref.ok());
      refs.push_back(*ref);
    }
  }
  for (int call = 0; call < 10; ++call) {
    EXPECT_EQ(Int(executor->Get(refs[call], kLong)), call + 1);
  }
  EXPECT_TRUE(EventuallyFree(*executor, 2));
  EXPECT_EQ(world_.destroyed.load(), 1);
  // The freed CPUs take a new actor.
  ActorHandle next = Create(*executor, testing::ActorOpts({2, 0}));
  EXPECT_EQ(Int(Call(*executor, next, "Get")), 0);
}

TEST_F(LocalActorTest, ActorWaitingForResourcesCanBeKilled) {
  auto executor = Open(1);
  ActorHandle holder = Create(*executor, testing::ActorOpts({1, 0}));
  EXPECT_EQ(Int(Call(*executor, holder, "Get")), 0);
  ActorHandle waiting = Create(*executor, testing::ActorOpts({1, 0}, "waiter"));
  Result<ObjectRef> call = executor->CallActor(waiting, "Get", {});
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(executor->Get(*call, 50ms).status().code(), StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(executor->KillActor(waiting, true).ok());
  Result<Value> result = executor->Get(*call, kLong);
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(result.status()), HasSubstr("actor 'waiter' died: killed"));
  ASSERT_TRUE(executor->KillActor(holder, true).ok());
  EXPECT_TRUE(EventuallyFree(*executor, 1));
  EXPECT_EQ(world_.factory_calls.load(), 1);  // the waiter was never built
}

TEST_F(LocalActorTest, TasksBehindOneBlockedByAnActorStillRun) {
  auto executor = Open(2);
  ActorHandle holder = Create(*executor, testing::ActorOpts({1, 0}));
  EXPECT_EQ(Int(Call(*executor, holder, "Get")), 0);
  // Needs both CPUs: it must wait for the actor, but must not hold up the tasks behind it
  // (which the actor's death does not depend on).
  Result<ObjectRef> big = executor->Submit("make", {}, testing::TaskOpts({2, 0}));
  ASSERT_TRUE(big.ok());
  std::vector<ObjectRef> small;
  for (int task = 0; task < 200; ++task) {
    Result<ObjectRef> ref = executor->Submit("make", {}, testing::TaskOpts({1, 0}));
    ASSERT_TRUE(ref.ok());
    small.push_back(*ref);
  }
  Result<std::vector<ObjectRef>> done = executor->Wait(small, small.size(), kLong);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->size(), small.size());
  EXPECT_EQ(executor->Get(*big, 10ms).status().code(), StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(executor->KillActor(holder, true).ok());
  EXPECT_EQ(Int(executor->Get(*big, kLong)), 7);
}

TEST_F(LocalActorTest, DestructionKillsActorsAndJoins) {
  std::vector<ObjectRef> refs;
  ActorHandle survivor_handle;
  {
    auto executor = Open(2);
    survivor_handle = Create(*executor, testing::ActorOpts({0.5, 0}));
    Result<ObjectRef> running = executor->CallActor(survivor_handle, "Block", {});
    ASSERT_TRUE(running.ok());
    ASSERT_TRUE(world_.blocked.WaitFor(kLong));
    refs.push_back(*running);
    for (int call = 0; call < 5; ++call) {
      Result<ObjectRef> queued = executor->CallActor(survivor_handle, "Get", {});
      ASSERT_TRUE(queued.ok());
      refs.push_back(*queued);
    }
    ActorHandle other = Create(*executor, testing::ActorOpts({2, 0}));  // never fits
    Result<ObjectRef> never = executor->CallActor(other, "Get", {});
    ASSERT_TRUE(never.ok());
    refs.push_back(*never);
  }
  EXPECT_EQ(world_.destroyed.load(), 1);
  ASSERT_EQ(refs.size(), 7u);
  for (const ObjectRef& ref : refs) {
    const internal::LocalObject& object = internal::ObjectOf(ref);
    ASSERT_TRUE(object.ready()) << ref.ToString();
    EXPECT_EQ(object.result().status().code(), StatusCode::kUnavailable) << ref.ToString();
    EXPECT_THAT(Message(object.result().status()), HasSubstr("executor shut down"));
  }
  // The handle outlives the executor harmlessly; dropping it now is safe.
  survivor_handle = ActorHandle();
}

}  // namespace
}  // namespace raypipe::compute
