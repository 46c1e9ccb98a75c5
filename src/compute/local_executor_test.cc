// Tasks on the LocalExecutor: hand-over, refs, errors, retries, cancellation, resources,
// placement groups.

#include "compute/local_executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "compute/internal/local_object.h"
#include "compute/test_util.h"

namespace raypipe::compute {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using Args = std::span<const Value>;

constexpr auto kLong = 20s;  // a bound that only a hang reaches

std::string Message(const Status& status) { return std::string(status.message()); }

Result<Value> Add(TaskContext&, std::span<const Value> args) {
  RETURN_IF_ERROR(ExpectArgCount(args, 2));
  ASSIGN_OR_RETURN(const int64_t* a, ArgAs<int64_t>(args, 0));
  ASSIGN_OR_RETURN(const int64_t* b, ArgAs<int64_t>(args, 1));
  return Value::Of<int64_t>(*a + *b);
}

// An actor whose Ping answers 1 once it is up.
class PingActor : public MethodActor {
 public:
  PingActor() {
    AddMethod("Ping", [](TaskContext&, Args) -> Result<Value> { return Value::Of<int64_t>(1); });
  }
};

class LocalExecutorTest : public ::testing::Test {
 protected:
  void AddPingActor() {
    ASSERT_TRUE(kernels_
                    .RegisterActor("ping",
                                   [](TaskContext&, Args) -> Result<std::unique_ptr<ActorInstance>> {
                                     return std::unique_ptr<ActorInstance>(
                                         std::make_unique<PingActor>());
                                   })
                    .ok());
  }

  static PlacementGroupOptions Gang(std::vector<Resources> bundles, PlacementStrategy strategy,
                                    std::string name) {
    PlacementGroupOptions options;
    options.bundles = std::move(bundles);
    options.strategy = strategy;
    options.name = std::move(name);
    return options;
  }

  static ActorOptions InBundle(const PlacementGroup& group, int bundle, double cpus) {
    ActorOptions options = testing::ActorOpts(Resources{cpus, 0});
    options.placement_group = group;
    options.bundle_index = bundle;
    return options;
  }

  void AddTask(std::string name, TaskKernel kernel) {
    ASSERT_TRUE(kernels_.RegisterTask(std::move(name), std::move(kernel)).ok());
  }

  void SetUp() override {
    AddTask("add", Add);
    AddTask("echo", [](TaskContext&, Args args) -> Result<Value> {
      return args.empty() ? Value() : args[0];
    });
    AddTask("fail", [](TaskContext&, Args) -> Result<Value> {
      return InvalidArgumentError("bad input row 7");
    });
    // Blocks until cancelled (or kLong passes), announcing that it started.
    AddTask("block", [this](TaskContext& ctx, Args) -> Result<Value> {
      started_.Raise();
      auto until = std::chrono::steady_clock::now() + kLong;
      while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
      }
      return Value::Of<std::string>("finished anyway");
    });
  }

  std::unique_ptr<LocalExecutor> Open(double cpus = 2, int threads = 0,
                                      int64_t memory = int64_t{1} << 30) {
    LocalExecutorOptions options;
    options.registry = &kernels_;
    options.capacity = Resources{cpus, memory};
    options.threads = threads;
    Result<std::unique_ptr<LocalExecutor>> executor = LocalExecutor::Open(options);
    EXPECT_TRUE(executor.ok()) << executor.status();
    return std::move(executor).value();
  }

  testing::Watchdog watchdog_{"LocalExecutorTest"};
  KernelRegistry kernels_;
  testing::Signal started_;
};

TEST_F(LocalExecutorTest, SubmitAndGet) {
  auto executor = Open();
  Result<ObjectRef> ref = executor->Submit("add", {Value::Of<int64_t>(2), Value::Of<int64_t>(40)});
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_TRUE(ref->valid());
  EXPECT_THAT(ref->ToString(), HasSubstr("task 'add'"));
  Result<std::shared_ptr<const int64_t>> sum = executor->GetAs<int64_t>(*ref, kLong);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(**sum, 42);
  EXPECT_EQ(executor->threads(), 4);
}

TEST_F(LocalExecutorTest, KernelSeesItsContext) {
  AddTask("context", [](TaskContext& ctx, Args) -> Result<Value> {
    return Value::Of(nlohmann::json{{"name", ctx.name()},
                                     {"attempt", ctx.attempt()},
                                     {"cpus", ctx.resources().cpus},
                                     {"memory", ctx.resources().memory_bytes}});
  });
  auto executor = Open();
  Result<ObjectRef> ref =
      executor->Submit("context", {}, testing::TaskOpts({0.25, 4096}, 0, "probe"));
  ASSERT_TRUE(ref.ok());
  Result<std::shared_ptr<const nlohmann::json>> seen = executor->GetAs<nlohmann::json>(*ref, kLong);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ((**seen)["name"], "probe");
  EXPECT_EQ((**seen)["attempt"], 1);
  EXPECT_EQ((**seen)["cpus"], 0.25);
  EXPECT_EQ((**seen)["memory"], 4096);
}

TEST_F(LocalExecutorTest, ValuesAreHandedOverWithoutCopying) {
  std::atomic<const void*> seen{nullptr};
  AddTask("address", [&seen](TaskContext&, Args args) -> Result<Value> {
    seen = args[0].address();
    return args[0];
  });
  auto executor = Open();
  auto big = std::make_shared<const std::vector<std::string>>(10000, std::string(100, 'x'));
  Result<ObjectRef> ref = executor->Submit("address", {Value::Share(big)});
  ASSERT_TRUE(ref.ok());
  Result<Value> result = executor->Get(*ref, kLong);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(seen.load(), big.get());
  EXPECT_EQ(result->address(), big.get());

  // Through a ref, too: the next task receives the object the first one returned.
  Result<ObjectRef> chained = executor->Submit("address", {*ref});
  ASSERT_TRUE(chained.ok());
  ASSERT_TRUE(executor->Get(*chained, kLong).ok());
  EXPECT_EQ(seen.load(), big.get());
}

TEST_F(LocalExecutorTest, RefsChainAndWaitForTheirInputs) {
  auto executor = Open();
  ASSERT_TRUE(executor->Submit("block", {}).ok());  // occupies a CPU; the chain still runs
  Result<ObjectRef> one = executor->Put(Value::Of<int64_t>(1));
  ASSERT_TRUE(one.ok());
  ObjectRef current = *one;
  for (int step = 0; step < 20; ++step) {
    Result<ObjectRef> next = executor->Submit("add", {current, *one});
    ASSERT_TRUE(next.ok());
    current = *next;
  }
  Result<std::shared_ptr<const int64_t>> total = executor->GetAs<int64_t>(current, kLong);
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(**total, 21);
}

TEST_F(LocalExecutorTest, KernelErrorsComeBackWithContext) {
  auto executor = Open();
  Result<ObjectRef> ref = executor->Submit("fail", {}, testing::TaskOpts({}, 0, "clean"));
  ASSERT_TRUE(ref.ok());
  Result<Value> result = executor->Get(*ref, kLong);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(result.status()), HasSubstr("task 'clean'"));
  EXPECT_THAT(Message(result.status()), HasSubstr("bad input row 7"));

  // A failed input fails the tasks that depend on it, without running them.
  std::atomic<int> runs{0};
  AddTask("count", [&runs](TaskContext&, Args) -> Result<Value> {
    ++runs;
    return Value();
  });
  auto executor2 = Open();
  Result<ObjectRef> failed = executor2->Submit("fail", {});
  ASSERT_TRUE(failed.ok());
  Result<ObjectRef> downstream = executor2->Submit("count", {Value::Of<int64_t>(1), *failed});
  ASSERT_TRUE(downstream.ok());
  Result<Value> down = executor2->Get(*downstream, kLong);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(down.status()), HasSubstr("argument 1"));
  EXPECT_THAT(Message(down.status()), HasSubstr("bad input row 7"));
  // Submitting after the input already failed behaves the same.
  Result<ObjectRef> late = executor2->Submit("count", {*failed});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(executor2->Get(*late, kLong).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runs.load(), 0);
}

TEST_F(LocalExecutorTest, ExceptionsBecomeInternalErrors) {
  AddTask("throw", [](TaskContext&, Args) -> Result<Value> {
    throw std::runtime_error("boom");
  });
  auto executor = Open();
  Result<ObjectRef> ref = executor->Submit("throw", {});
  ASSERT_TRUE(ref.ok());
  Result<Value> result = executor->Get(*ref, kLong);
  EXPECT_EQ(result.status().code(), StatusCode::kInternal);
  EXPECT_THAT(Message(result.status()), HasSubstr("boom"));
}

TEST_F(LocalExecutorTest, SubmitRefusesWhatCanNeverRun) {
  auto executor = Open(2);
  Result<ObjectRef> unknown = executor->Submit("ad", {});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(Message(unknown.status()), HasSubstr("'ad'"));

  Result<ObjectRef> huge = executor->Submit("add", {}, testing::TaskOpts({3, 0}, 0, "train"));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(huge.status()), HasSubstr("task 'train' asks for 3 CPUs"));
  EXPECT_THAT(Message(huge.status()), HasSubstr("this executor has: 2 CPUs, 1 GiB memory"));

  Result<ObjectRef> memory =
      executor->Submit("add", {}, testing::TaskOpts({1, int64_t{2} << 30}));
  ASSERT_FALSE(memory.ok());
  EXPECT_THAT(Message(memory.status()), HasSubstr("2 GiB memory"));

  EXPECT_EQ(executor->Submit("add", {}, testing::TaskOpts({0, 0})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(executor->Submit("add", {}, testing::TaskOpts({}, -1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(executor->Submit("add", {ObjectRef()}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(executor->Submit("", {}).status().code(), StatusCode::kInvalidArgument);

  // Refs of another executor are refused everywhere.
  auto other = Open(2);
  Result<ObjectRef> foreign = other->Put(Value::Of<int64_t>(1));
  ASSERT_TRUE(foreign.ok());
  Result<ObjectRef> mixed = executor->Submit("echo", {*foreign});
  EXPECT_EQ(mixed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(mixed.status()), HasSubstr("another executor"));
  EXPECT_EQ(executor->Get(*foreign).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(executor->Cancel(*foreign).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(executor->Wait({*foreign}, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalExecutorTest, OpenValidatesOptions) {
  EXPECT_EQ(LocalExecutor::Open({}).status().code(), StatusCode::kInvalidArgument);
  LocalExecutorOptions options;
  options.registry = &kernels_;
  options.capacity = Resources{0, 0};
  EXPECT_EQ(LocalExecutor::Open(options).status().code(), StatusCode::kInvalidArgument);
  options.capacity = Resources{1, 0};
  options.threads = -1;
  EXPECT_EQ(LocalExecutor::Open(options).status().code(), StatusCode::kInvalidArgument);
  options.threads = 0;
  options.capacity.reset();
  Result<std::unique_ptr<LocalExecutor>> machine = LocalExecutor::Open(options);
  ASSERT_TRUE(machine.ok());
  EXPECT_GE((*machine)->Capacity().cpus, 1);
  EXPECT_GT((*machine)->Capacity().memory_bytes, 0);
}

TEST_F(LocalExecutorTest, TransientFailuresAreRetriedWithTheAttemptNumber) {
  std::atomic<int> calls{0};
  AddTask("flaky", [&calls](TaskContext& ctx, Args) -> Result<Value> {
    ++calls;
    if (ctx.attempt() < 3) {
      return UnavailableError("worker lost on attempt " +
                              std::to_string(ctx.attempt()));
    }
    return Value::Of<int64_t>(ctx.attempt());
  });
  auto executor = Open();
  Result<ObjectRef> ok = executor->Submit("flaky", {}, testing::TaskOpts({}, 2));
  ASSERT_TRUE(ok.ok());
  Result<std::shared_ptr<const int64_t>> attempt = executor->GetAs<int64_t>(*ok, kLong);
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  EXPECT_EQ(**attempt, 3);
  EXPECT_EQ(calls.load(), 3);

  calls = 0;
  Result<ObjectRef> exhausted = executor->Submit("flaky", {}, testing::TaskOpts({}, 1));
  ASSERT_TRUE(exhausted.ok());
  Result<Value> failed = executor->Get(*exhausted, kLong);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(Message(failed.status()), HasSubstr("attempt 2 of 2"));
  EXPECT_THAT(Message(failed.status()), HasSubstr("worker lost on attempt 2"));
  EXPECT_EQ(calls.load(), 2);

  // A non-transient error is never retried.
  std::atomic<int> bad_calls{0};
  AddTask("bad", [&bad_calls](TaskContext&, Args) -> Result<Value> {
    ++bad_calls;
    return InvalidArgumentError("no");
  });
  auto executor2 = Open();
  Result<ObjectRef> bad = executor2->Submit("bad", {}, testing::TaskOpts({}, 5));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(executor2->Get(*bad, kLong).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_calls.load(), 1);
}

TEST_F(LocalExecutorTest, CancelQueuedTaskNeverRuns) {
  std::atomic<int> runs{0};
  AddTask("count", [&runs](TaskContext&, Args) -> Result<Value> {
    ++runs;
    return Value();
  });
  auto executor = Open(1);
  Result<ObjectRef> blocker = executor->Submit("block", {});
  ASSERT_TRUE(blocker.ok());
  ASSERT_TRUE(started_.WaitFor(kLong));
  // The machine is full: this one queues.
  Result<ObjectRef> queued = executor->Submit("count", {});
  ASSERT_TRUE(queued.ok());
  ASSERT_TRUE(executor->Cancel(*queued).ok());
  Result<Value> result = executor->Get(*queued, kLong);
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
  EXPECT_THAT(Message(result.status()), HasSubstr("before it started"));

  // A task waiting for an input is cancelled too, and never runs when the input arrives.
  Result<ObjectRef> waiting = executor->Submit("count", {*blocker});
  ASSERT_TRUE(waiting.ok());
  ASSERT_TRUE(executor->Cancel(*waiting).ok());
  EXPECT_EQ(executor->Get(*waiting, kLong).status().code(), StatusCode::kCancelled);

  ASSERT_TRUE(executor->Cancel(*blocker).ok());
  EXPECT_EQ(executor->Get(*blocker, kLong).status().code(), StatusCode::kCancelled);
  // The CPU is free again and work flows.
  Result<ObjectRef> after = executor->Submit("count", {});
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(executor->Get(*after, kLong).ok());
  EXPECT_EQ(runs.load(), 1);
  // Cancelling a finished task changes nothing.
  EXPECT_TRUE(executor->Cancel(*after).ok());
  EXPECT_TRUE(executor->Get(*after, kLong).ok());
}

TEST_F(LocalExecutorTest, CancelRunningTaskSetsTheToken) {
  auto executor = Open();
  Result<ObjectRef> ref = executor->Submit("block", {}, testing::TaskOpts({}, 3));
  ASSERT_TRUE(ref.ok());
  ASSERT_TRUE(started_.WaitFor(kLong));
  ASSERT_TRUE(executor->Cancel(*ref).ok());
  Result<Value> result = executor->Get(*ref, kLong);
  // The kernel returned a value, but its result is Cancelled.
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
}

TEST_F(LocalExecutorTest, GetTimesOut) {
  auto executor = Open();
  Result<ObjectRef> ref = executor->Submit("block", {});
  ASSERT_TRUE(ref.ok());
  Result<Value> result = executor->Get(*ref, 20ms);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Message(result.status()), HasSubstr("not ready after 20 ms"));
  EXPECT_EQ(executor->Get(*ref, -1ms).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(executor->Cancel(*ref).ok());
}

TEST_F(LocalExecutorTest, WaitReturnsTheReadyOnes) {
  auto executor = Open();
  Result<ObjectRef> slow = executor->Submit("block", {});
  Result<ObjectRef> fast = executor->Submit("add", {Value::Of<int64_t>(1), Value::Of<int64_t>(1)});
  Result<ObjectRef> failing = executor->Submit("fail", {});
  ASSERT_TRUE(slow.ok() && fast.ok() && failing.ok());
  std::vector<ObjectRef> refs = {*slow, *fast, *failing};

  // Failed refs count as ready.
  Result<std::vector<ObjectRef>> two = executor->Wait(refs, 2, kLong);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0], *fast);
  EXPECT_EQ((*two)[1], *failing);

  // A timeout returns fewer, not an error.
  Result<std::vector<ObjectRef>> all = executor->Wait(refs, 3, 20ms);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  Result<std::vector<ObjectRef>> none = executor->Wait(refs, 0, 0ms);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->size(), 2u);

  EXPECT_EQ(executor->Wait(refs, 4).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(executor->Cancel(*slow).ok());
  Result<std::vector<ObjectRef>> after = executor->Wait(refs, 3, kLong);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 3u);
}

TEST_F(LocalExecutorTest, PutSharesOneObjectAmongTasks) {
  auto executor = Open();
  Result<ObjectRef> shared = executor->Put(Value::Of<std::string>("payload"));
  ASSERT_TRUE(shared.ok());
  EXPECT_THAT(shared->ToString(), HasSubstr("put"));
  Result<Value> direct = executor->Get(*shared);
  ASSERT_TRUE(direct.ok());
  std::vector<ObjectRef> refs;
  for (int task = 0; task < 8; ++task) {
    Result<ObjectRef> ref = executor->Submit("echo", {*shared});
    ASSERT_TRUE(ref.ok());
    refs.push_back(*ref);
  }
  for (const ObjectRef& ref : refs) {
    Result<Value> value = executor->Get(ref, kLong);
    ASSERT_TRUE(value.ok());
    EXPECT_EQ(value->address(), direct->address());
  }
  EXPECT_TRUE(executor->Cancel(*shared).ok());  // nothing to cancel
}

TEST_F(LocalExecutorTest, ResourcesLimitConcurrency) {
  std::atomic<int64_t> in_use{0};    // milli-CPUs held by running kernels
  std::atomic<int64_t> peak{0};
  AddTask("hold", [&](TaskContext& ctx, Args) -> Result<Value> {
    int64_t mine = static_cast<int64_t>(ctx.resources().cpus * 1000);
    int64_t now = in_use += mine;
    int64_t seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(2ms);
    in_use -= mine;
    return Value();
  });
  auto executor = Open(2, /*threads=*/8);
  std::vector<ObjectRef> refs;
  const double sizes[] = {1.5, 0.5, 1.0, 0.25, 2.0, 0.75};
  for (int task = 0; task < 60; ++task) {
    Result<ObjectRef> ref =
        executor->Submit("hold", {}, testing::TaskOpts({sizes[task % 6], 0}));
    ASSERT_TRUE(ref.ok());
    refs.push_back(*ref);
  }
  Result<std::vector<ObjectRef>> done = executor->Wait(refs, refs.size(), kLong);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->size(), refs.size());
  EXPECT_LE(peak.load(), 2000);
  EXPECT_GT(peak.load(), 1000);  // more than one task ran at once
  EXPECT_EQ(executor->Available().cpus, 2);
}

TEST_F(LocalExecutorTest, LargeTaskIsNotStarvedBySmallOnes) {
  std::atomic<int64_t> starts{0};
  AddTask("short", [&starts](TaskContext&, Args) -> Result<Value> {
    int64_t order = starts++;
    std::this_thread::sleep_for(200us);
    return Value::Of<int64_t>(order);
  });
  auto executor = Open(2, /*threads=*/8);
  std::vector<ObjectRef> small;
  for (int task = 0; task < 4; ++task) {
    small.push_back(*executor->Submit("short", {}, testing::TaskOpts({0.5, 0})));
  }
  Result<ObjectRef> big = executor->Submit("short", {}, testing::TaskOpts({2, 0}));
  ASSERT_TRUE(big.ok());
  for (int task = 0; task < 600; ++task) {
    small.push_back(*executor->Submit("short", {}, testing::TaskOpts({0.5, 0})));
  }
  Result<std::shared_ptr<const int64_t>> big_start = executor->GetAs<int64_t>(*big, kLong);
  ASSERT_TRUE(big_start.ok()) << big_start.status();
  // Backfilling lets a bounded number of later tasks overtake it, not the whole stream.
  EXPECT_LT(**big_start, 300);
  ASSERT_EQ(executor->Wait(small, small.size(), kLong)->size(), small.size());
}

TEST_F(LocalExecutorTest, MemoryIsAccountedLikeCpus) {
  auto executor = Open(8, 8, /*memory=*/1000);
  // Two tasks of 600 bytes cannot run together even with CPUs to spare.
  Result<ObjectRef> first = executor->Submit("block", {}, testing::TaskOpts({0.5, 600}));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(started_.WaitFor(kLong));
  Result<ObjectRef> second = executor->Submit("echo", {}, testing::TaskOpts({0.5, 600}));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(executor->Get(*second, 50ms).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(executor->Available().memory_bytes, 400);
  ASSERT_TRUE(executor->Cancel(*first).ok());
  EXPECT_TRUE(executor->Get(*second, kLong).ok());
}

TEST_F(LocalExecutorTest, DestructionCancelsAndJoins) {
  std::vector<ObjectRef> refs;
  {
    auto executor = Open(1);
    Result<ObjectRef> running = executor->Submit("block", {});
    ASSERT_TRUE(running.ok());
    ASSERT_TRUE(started_.WaitFor(kLong));
    refs.push_back(*running);
    for (int task = 0; task < 10; ++task) {
      Result<ObjectRef> queued = executor->Submit("echo", {});
      ASSERT_TRUE(queued.ok());
      refs.push_back(*queued);
      Result<ObjectRef> waiting = executor->Submit("echo", {*running});
      ASSERT_TRUE(waiting.ok());
      refs.push_back(*waiting);
    }
  }
  // The refs outlive the executor, each holding its verdict: nothing left pending.
  for (const ObjectRef& ref : refs) {
    const internal::LocalObject& object = internal::ObjectOf(ref);
    ASSERT_TRUE(object.ready()) << ref.ToString();
    EXPECT_EQ(object.result().status().code(), StatusCode::kCancelled) << ref.ToString();
  }
  EXPECT_THAT(Message(internal::ObjectOf(refs[1]).result().status()), HasSubstr("shut down"));
}

TEST_F(LocalExecutorTest, CodecCheckCatchesWhatRayCouldNotMove) {
  struct Opaque {
    int x = 1;
  };
  AddTask("opaque", [](TaskContext&, Args) -> Result<Value> { return Value::Of(Opaque{}); });
  LocalExecutorOptions options;
  options.registry = &kernels_;
  options.capacity = Resources{2, 0};
  options.codec_check = CodecCheck::kTypes;
  Result<std::unique_ptr<LocalExecutor>> checked = LocalExecutor::Open(options);
  ASSERT_TRUE(checked.ok());
  Result<ObjectRef> refused = (*checked)->Submit("echo", {Value::Of(Opaque{})});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(refused.status()), HasSubstr("argument 0 has type"));
  EXPECT_THAT(Message(refused.status()), HasSubstr("no registered codec"));
  Result<ObjectRef> fine = (*checked)->Submit("echo", {Value::Of<int64_t>(3)});
  ASSERT_TRUE(fine.ok());
  EXPECT_TRUE((*checked)->Get(*fine, kLong).ok());
  // Results are checked too.
  Result<ObjectRef> opaque_result = (*checked)->Submit("opaque", {});
  ASSERT_TRUE(opaque_result.ok());
  Result<Value> refused_result = (*checked)->Get(*opaque_result, kLong);
  EXPECT_EQ(refused_result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(refused_result.status()), HasSubstr("the result has type"));

  // Round-trip mode hands kernels a deserialized copy: equal, at another address.
  options.codec_check = CodecCheck::kRoundTrip;
  Result<std::unique_ptr<LocalExecutor>> round = LocalExecutor::Open(options);
  ASSERT_TRUE(round.ok());
  Value original = Value::Of<std::string>("bytes");
  Result<ObjectRef> copied = (*round)->Submit("echo", {original});
  ASSERT_TRUE(copied.ok());
  Result<Value> copy = (*round)->Get(*copied, kLong);
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(**copy->Get<std::string>(), "bytes");
  EXPECT_NE(copy->address(), original.address());
}

TEST_F(LocalExecutorTest, PlacementGroupIsPlacedWholeOrNotAtAll) {
  AddPingActor();
  auto executor = Open(2);
  // An actor outside any group holds one of the two CPUs.
  Result<ActorHandle> outside = executor->CreateActor("ping", {}, testing::ActorOpts({1, 0}));
  ASSERT_TRUE(outside.ok()) << outside.status();
  ASSERT_TRUE(executor->Get(*executor->CallActor(*outside, "Ping", {}), kLong).ok());

  Result<PlacementGroup> group = executor->CreatePlacementGroup(
      Gang({Resources{1, 0}, Resources{1, 0}}, PlacementStrategy::kSpread, "gang"));
  ASSERT_TRUE(group.ok()) << group.status();
  Status waited = executor->WaitPlacementGroup(*group, 50ms);
  EXPECT_EQ(waited.code(), StatusCode::kDeadlineExceeded) << waited;
  EXPECT_THAT(Message(waited), HasSubstr("placement group 'gang' (SPREAD, 2 bundles: 1 CPU, 1 CPU)"));
  // Never half placed: the free CPU stays free while the group waits.
  EXPECT_EQ(executor->Available().cpus, 1);

  ASSERT_TRUE(executor->KillActor(*outside, /*no_restart=*/true).ok());
  ASSERT_TRUE(executor->WaitPlacementGroup(*group, kLong).ok());
  EXPECT_EQ(executor->Available().cpus, 0);

  // Actors in the bundles take their CPUs from the reservation, not from the free pool.
  Result<ActorHandle> first = executor->CreateActor("ping", {}, InBundle(*group, 0, 1));
  Result<ActorHandle> second = executor->CreateActor("ping", {}, InBundle(*group, 1, 0.5));
  Result<ActorHandle> third = executor->CreateActor("ping", {}, InBundle(*group, 1, 0.5));
  ASSERT_TRUE(first.ok() && second.ok() && third.ok());
  for (const ActorHandle& actor : {*first, *second, *third}) {
    Result<ObjectRef> ping = executor->CallActor(actor, "Ping", {});
    ASSERT_TRUE(ping.ok());
    EXPECT_TRUE(executor->Get(*ping, kLong).ok());
  }
  EXPECT_EQ(executor->Available().cpus, 0);
  // Bundle 0 is full: another actor in it waits for room there.
  Result<ActorHandle> waiting = executor->CreateActor("ping", {}, InBundle(*group, 0, 1));
  ASSERT_TRUE(waiting.ok());
  Result<ObjectRef> waiting_ping = executor->CallActor(*waiting, "Ping", {});
  ASSERT_TRUE(waiting_ping.ok());
  EXPECT_TRUE(executor->Wait({*waiting_ping}, 1, 50ms)->empty());

  // Removing the group frees its CPUs and kills its actors, the waiting one included.
  ASSERT_TRUE(executor->RemovePlacementGroup(*group).ok());
  EXPECT_TRUE(executor->RemovePlacementGroup(*group).ok());  // idempotent
  EXPECT_EQ(executor->Available().cpus, 2);
  Result<Value> dead = executor->Get(*waiting_ping, kLong);
  EXPECT_EQ(dead.status().code(), StatusCode::kUnavailable) << dead.status();
  EXPECT_THAT(Message(dead.status()), HasSubstr("placement group 'gang'"));
  Result<ObjectRef> late = executor->CallActor(*first, "Ping", {});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(executor->Get(*late, kLong).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(executor->WaitPlacementGroup(*group, kLong).code(), StatusCode::kFailedPrecondition);
  Result<ActorHandle> after = executor->CreateActor("ping", {}, InBundle(*group, 0, 1));
  EXPECT_EQ(after.status().code(), StatusCode::kFailedPrecondition);

  // Dropping the last handle removes a group too.
  {
    Result<PlacementGroup> dropped = executor->CreatePlacementGroup(
        Gang({Resources{1.5, 0}}, PlacementStrategy::kPack, ""));
    ASSERT_TRUE(dropped.ok());
    EXPECT_THAT(dropped->name(), HasSubstr("group#"));
    ASSERT_TRUE(executor->WaitPlacementGroup(*dropped, kLong).ok());
    EXPECT_EQ(executor->Available().cpus, 0.5);
  }
  EXPECT_EQ(executor->Available().cpus, 2);
}

TEST_F(LocalExecutorTest, PlacementGroupsThatCanNeverFitAreRefused) {
  AddPingActor();
  auto executor = Open(2);
  Result<PlacementGroup> strict = executor->CreatePlacementGroup(
      Gang({Resources{1, 0}, Resources{1, 0}}, PlacementStrategy::kStrictSpread, "ranks"));
  EXPECT_EQ(strict.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(strict.status()), HasSubstr("STRICT_SPREAD needs a node for each of its 2"));
  EXPECT_TRUE(executor
                  ->CreatePlacementGroup(
                      Gang({Resources{1, 0}}, PlacementStrategy::kStrictSpread, "one"))
                  .ok());

  Result<PlacementGroup> too_big = executor->CreatePlacementGroup(
      Gang({Resources{1, 0}, Resources{1, 0}, Resources{0.5, 0}}, PlacementStrategy::kPack, "big"));
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(too_big.status()), HasSubstr("'big' (3 bundles reserved at once) asks for"));
  Result<PlacementGroup> huge_bundle = executor->CreatePlacementGroup(
      Gang({Resources{3, 0}}, PlacementStrategy::kPack, "huge"));
  EXPECT_THAT(Message(huge_bundle.status()), HasSubstr("'huge' bundle 0 asks for 3 CPUs"));
  EXPECT_EQ(executor->CreatePlacementGroup(Gang({}, PlacementStrategy::kPack, "none"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(executor->CreatePlacementGroup(Gang({Resources{0, 0}}, PlacementStrategy::kPack, "z"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);

  Result<PlacementGroup> group = executor->CreatePlacementGroup(
      Gang({Resources{1, 0}}, PlacementStrategy::kPack, "small"));
  ASSERT_TRUE(group.ok());
  Result<ActorHandle> oversize = executor->CreateActor("ping", {}, InBundle(*group, 0, 1.5));
  EXPECT_EQ(oversize.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(oversize.status()), HasSubstr("more than bundle 0 of placement group 'small'"));
  Result<ActorHandle> no_bundle = executor->CreateActor("ping", {}, InBundle(*group, 1, 1));
  EXPECT_THAT(Message(no_bundle.status()), HasSubstr("bundle_index 1 is not a bundle of"));

  auto other = Open(2);
  Result<ActorHandle> foreign = other->CreateActor("ping", {}, InBundle(*group, 0, 1));
  EXPECT_THAT(Message(foreign.status()), HasSubstr("belongs to another executor"));
  EXPECT_EQ(other->WaitPlacementGroup(*group, kLong).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::compute
