// Many tasks, refs and actors at once on the LocalExecutor, with fixed seeds. Checks that
// results are right, resources are never over-granted, and shutdown never hangs or leaks.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "compute/internal/local_object.h"
#include "compute/local_executor.h"
#include "compute/test_util.h"

namespace raypipe::compute {
namespace {

using namespace std::chrono_literals;
using Args = std::span<const Value>;

constexpr auto kLong = 60s;

class Accumulator : public MethodActor {
 public:
  Accumulator() {
    AddMethod("Add", [this](TaskContext&, std::span<const Value> args) -> Result<Value> {
      ASSIGN_OR_RETURN(const int64_t* delta, ArgAs<int64_t>(args, 0));
      total_ += *delta;
      return Value::Of<int64_t>(total_);
    });
  }

 private:
  int64_t total_ = 0;
};

class StressTest : public ::testing::Test {
 protected:
  void AddTask(std::string name, TaskKernel kernel) {
    ASSERT_TRUE(kernels_.RegisterTask(std::move(name), std::move(kernel)).ok());
  }
  void AddActor(std::string name, ActorFactory factory) {
    ASSERT_TRUE(kernels_.RegisterActor(std::move(name), std::move(factory)).ok());
  }

  void SetUp() override {
    AddTask("sum", [this](TaskContext& ctx, Args args) -> Result<Value> {
      Track(ctx, +1);
      int64_t total = 0;
      for (size_t arg_idx = 0; arg_idx < args.size(); ++arg_idx) {
        ASSIGN_OR_RETURN(const int64_t* term, ArgAs<int64_t>(args, arg_idx));
        total += *term;
      }
      if (ctx.attempt() == 1 && total % 7 == 3) {
        Track(ctx, -1);
        return UnavailableError("injected transient fault");
      }
      Track(ctx, -1);
      return Value::Of<int64_t>(total);
    });
    AddActor("Accumulator", [](TaskContext&, Args)
        -> Result<std::unique_ptr<ActorInstance>> {
      return std::unique_ptr<ActorInstance>(new Accumulator());
    });
  }

  // Keeps the CPU units held by running kernels and their peak.
  void Track(TaskContext& ctx, int sign) {
    int64_t units = ResourceUnits::From(ctx.resources()).cpu;
    int64_t now = in_use_.fetch_add(sign * units) + sign * units;
    int64_t seen = peak_.load();
    while (now > seen && !peak_.compare_exchange_weak(seen, now)) {
    }
  }

  std::unique_ptr<LocalExecutor> Open(double cpus, int threads = 0) {
    LocalExecutorOptions options;
    options.registry = &kernels_;
    options.capacity = Resources{cpus, 0};
    options.threads = threads;
    Result<std::unique_ptr<LocalExecutor>> executor = LocalExecutor::Open(options);
    EXPECT_TRUE(executor.ok()) << executor.status();
    return std::move(executor).value();
  }

  testing::Watchdog watchdog_{"StressTest", std::chrono::seconds(240)};
  KernelRegistry kernels_;
  std::atomic<int64_t> in_use_{0};
  std::atomic<int64_t> peak_{0};
};

// A random DAG of hundreds of tasks whose inputs are earlier tasks' refs; every value is
// checked against a sequential evaluation.
TEST_F(StressTest, RandomDagOfChainedRefs) {
  auto executor = Open(3, /*threads=*/6);
  std::mt19937 rng(20240611);
  const double sizes[] = {0.25, 0.5, 1.0, 1.5, 3.0};
  constexpr int kTasks = 600;
  std::vector<ObjectRef> refs;
  std::vector<int64_t> expected;
  for (int task_idx = 0; task_idx < kTasks; ++task_idx) {
    std::vector<Arg> args;
    int64_t want = 0;
    int64_t constant = static_cast<int64_t>(rng() % 100);
    args.push_back(Value::Of<int64_t>(constant));
    want += constant;
    int inputs = task_idx == 0 ? 0 : static_cast<int>(rng() % 4);
    for (int input = 0; input < inputs; ++input) {
      // Mostly recent tasks, so chains run deep.
      int window = std::min(task_idx, 20);
      int source = task_idx - 1 - static_cast<int>(rng() % window);
      args.push_back(refs[source]);
      want += expected[source];
    }
    Result<ObjectRef> ref = executor->Submit(
        "sum", std::move(args),
        testing::TaskOpts({sizes[rng() % 5], 0}, 1));
    ASSERT_TRUE(ref.ok()) << ref.status();
    refs.push_back(*ref);
    expected.push_back(want);
  }
  Result<std::vector<ObjectRef>> done = executor->Wait(refs, refs.size(), kLong);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->size(), refs.size());
  for (int task_idx = 0; task_idx < kTasks; ++task_idx) {
    Result<std::shared_ptr<const int64_t>> value = executor->GetAs<int64_t>(refs[task_idx]);
    ASSERT_TRUE(value.ok()) << task_idx << ": " << value.status();
    EXPECT_EQ(**value, expected[task_idx]) << task_idx;
  }
  EXPECT_LE(peak_.load(), 3 * kCpuUnitsPerCpu);
  EXPECT_EQ(in_use_.load(), 0);
  EXPECT_EQ(executor->Available().cpus, 3);
}

// Several threads submit, call actors and cancel at once.
TEST_F(StressTest, ConcurrentClientsTasksActorsAndCancels) {
  auto executor = Open(2);
  constexpr int kClients = 4;
  constexpr int kRounds = 150;
  std::vector<ActorHandle> actors;
  for (int actor_idx = 0; actor_idx < 4; ++actor_idx) {
    Result<ActorHandle> actor =
        executor->CreateActor("Accumulator", {}, testing::ActorOpts({0.25, 0}));
    ASSERT_TRUE(actor.ok());
    actors.push_back(*actor);
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  std::vector<std::vector<ObjectRef>> actor_calls(kClients);
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      std::mt19937 rng(1000 + client);
      for (int round = 0; round < kRounds; ++round) {
        Result<ObjectRef> task = executor->Submit(
            "sum", {Value::Of<int64_t>(round), Value::Of<int64_t>(1)},
            testing::TaskOpts({0.5, 0}, 1));
        if (!task.ok()) {
          ++failures;
          continue;
        }
        // The actor adds the task's result (a ref argument).
        Result<ObjectRef> call =
            executor->CallActor(actors[client], "Add", {*task});
        if (!call.ok()) {
          ++failures;
          continue;
        }
        actor_calls[client].push_back(*call);
        // Cancel a throw-away task now and then; it must not disturb the others.
        Result<ObjectRef> doomed = executor->Submit("sum", {Value::Of<int64_t>(2)});
        if (doomed.ok() && rng() % 2 == 0) executor->Cancel(*doomed).IgnoreError();
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0);
  for (int client = 0; client < kClients; ++client) {
    // Each actor's last call holds the sum of round + 1 over all rounds.
    Result<std::shared_ptr<const int64_t>> total =
        executor->GetAs<int64_t>(actor_calls[client].back(), kLong);
    ASSERT_TRUE(total.ok()) << total.status();
    EXPECT_EQ(**total, int64_t{kRounds} * (kRounds + 1) / 2);
  }
}

// Opening and tearing down executors mid-flight, repeatedly: no hang, no leak (ASan), and
// every ref ends either right or Cancelled.
TEST_F(StressTest, RepeatedShutdownMidFlight) {
  for (int round = 0; round < 30; ++round) {
    std::vector<ObjectRef> refs;
    {
      auto executor = Open(2, 3);
      Result<ObjectRef> seed = executor->Put(Value::Of<int64_t>(round));
      ASSERT_TRUE(seed.ok());
      refs.push_back(*seed);
      for (int task_idx = 0; task_idx < 40; ++task_idx) {
        Result<ObjectRef> ref = executor->Submit("sum", {refs.back(), Value::Of<int64_t>(1)},
                                                 testing::TaskOpts({0.5, 0}, 1));
        ASSERT_TRUE(ref.ok());
        refs.push_back(*ref);
      }
      Result<ActorHandle> actor = executor->CreateActor("Accumulator", {});
      ASSERT_TRUE(actor.ok());
      for (int call = 0; call < 10; ++call) {
        ASSERT_TRUE(executor->CallActor(*actor, "Add", {refs[call * 4]}).ok());
      }
      if (round % 3 == 0) {  // sometimes let part of the chain finish first
        Result<std::shared_ptr<const int64_t>> middle = executor->GetAs<int64_t>(refs[20], kLong);
        ASSERT_TRUE(middle.ok()) << middle.status();
        EXPECT_EQ(**middle, round + 20);
      }
    }
    for (size_t ref_idx = 0; ref_idx < refs.size(); ++ref_idx) {
      const internal::LocalObject& object = internal::ObjectOf(refs[ref_idx]);
      ASSERT_TRUE(object.ready()) << refs[ref_idx].ToString();
      if (object.result().ok()) {
        EXPECT_EQ(**object.result()->Get<int64_t>(), round + static_cast<int64_t>(ref_idx));
      } else {
        EXPECT_EQ(object.result().status().code(), StatusCode::kCancelled)
            << object.result().status();
      }
    }
  }
}

}  // namespace
}  // namespace raypipe::compute
