// The RayExecutor on a real Ray cluster: the binary starts its own single-node loopback
// cluster with scripts/ray-cluster in a temporary directory, shares it (and one executor:
// Ray's runtime is per process) among the tests, and always stops exactly that cluster.

#include "compute/ray/ray_executor.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "compute/ray/test_kernels.h"

// Ray's runtime keeps threads and caches alive until exit; they are not raypipe's leaks.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libray_api.so\nleak:libraypipe_ray_bridge.so\n";
}

namespace raypipe::compute {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr seconds kLong(60);  // a bound for waits that should end much sooner

std::string Shell(const std::string& command, int* exit_code) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *exit_code = -1;
    return output;
  }
  char buffer[4096];
  size_t read = 0;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, read);
  int status = pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

TaskOptions Cpus(double cpus) {
  TaskOptions options;
  options.resources.cpus = cpus;
  return options;
}

ActorOptions ActorCpus(double cpus, int max_restarts = 0) {
  ActorOptions options;
  options.resources.cpus = cpus;
  options.max_restarts = max_restarts;
  return options;
}

class RayExecutorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir_template[] = "/tmp/rp-XXXXXX";  // short: Ray's socket paths are limited
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    cluster_dir_ = new std::string(dir_template);
    int exit_code = 0;
    std::string script = std::string(RAYPIPE_SOURCE_DIR) + "/scripts/ray-cluster";
    std::string output =
        Shell("timeout 120 " + script + " start " + *cluster_dir_ + " --num-cpus 2 --owner-pid " +
                  std::to_string(getpid()),
              &exit_code);
    ASSERT_EQ(exit_code, 0) << "ray-cluster start failed: " << output;
    address_ = new std::string(output.substr(0, output.find('\n')));

    kernels_ = new KernelRegistry();
    ASSERT_TRUE(ray_testing::RegisterTestKernels(*kernels_).ok());
    RayExecutorOptions options;
    options.address = *address_;
    options.capacity = Resources{2, 0};
    options.registry = kernels_;
    Result<std::unique_ptr<RayExecutor>> opened = RayExecutor::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    executor_ = opened->release();
  }

  static void TearDownTestSuite() {
    if (executor_ != nullptr) {
      CheckShutdown();
      delete executor_;
      executor_ = nullptr;
    }
    delete kernels_;
    kernels_ = nullptr;
    delete address_;
    address_ = nullptr;
    if (cluster_dir_ != nullptr) {
      int exit_code = 0;
      std::string output = Shell("timeout 60 " + std::string(RAYPIPE_SOURCE_DIR) +
                                     "/scripts/ray-cluster stop " + *cluster_dir_ + " 2>&1",
                                 &exit_code);
      EXPECT_EQ(exit_code, 0) << "ray-cluster stop failed: " << output;
      if (exit_code == 0 && !::testing::Test::HasFailure()) {
        std::error_code ignored;
        std::filesystem::remove_all(*cluster_dir_, ignored);
      } else {
        fprintf(stderr, "Ray's logs are kept in %s\n", cluster_dir_->c_str());
      }
      delete cluster_dir_;
      cluster_dir_ = nullptr;
    }
  }

  // Shutdown: a Get blocked in another thread returns promptly, finished results stay
  // readable, new work is refused, and Ray cannot be connected again in this process.
  static void CheckShutdown() {
    RayExecutor& executor = *executor_;
    Result<ObjectRef> done = executor.Submit("test.add", {Value::Of<int64_t>(1), Value::Of<int64_t>(2)});
    ASSERT_TRUE(done.ok());
    ASSERT_TRUE(executor.Get(*done, kLong).ok());
    Result<ObjectRef> slow = executor.Submit("test.sleep", {Value::Of<int64_t>(20000)});
    ASSERT_TRUE(slow.ok());
    Result<Value> blocked = InternalError("not run");
    std::thread getter([&] { blocked = executor.Get(*slow); });
    std::this_thread::sleep_for(milliseconds(200));  // let the getter block in Ray
    executor.Shutdown();
    getter.join();
    EXPECT_EQ(blocked.status().code(), StatusCode::kFailedPrecondition) << blocked.status().ToString();
    Result<std::shared_ptr<const int64_t>> kept = executor.GetAs<int64_t>(*done);
    ASSERT_TRUE(kept.ok()) << kept.status().ToString();
    EXPECT_EQ(**kept, 3);
    EXPECT_EQ(executor.Submit("test.pid", {}).status().code(), StatusCode::kFailedPrecondition);

    RayExecutorOptions again;
    again.address = *address_;
    again.capacity = Resources{1, 0};
    Result<std::unique_ptr<RayExecutor>> reopened = RayExecutor::Open(again);
    EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(reopened.status().message(), HasSubstr("cannot start again"));
  }

  // A fresh empty directory for test.meet.
  static std::string MeetingDir(const std::string& name) {
    std::filesystem::path dir = std::filesystem::path(*cluster_dir_) / ("meet-" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
  }

  RayExecutor& executor() { return *executor_; }

  static std::string* cluster_dir_;
  static std::string* address_;
  static KernelRegistry* kernels_;
  static RayExecutor* executor_;
};

std::string* RayExecutorTest::cluster_dir_ = nullptr;
std::string* RayExecutorTest::address_ = nullptr;
KernelRegistry* RayExecutorTest::kernels_ = nullptr;
RayExecutor* RayExecutorTest::executor_ = nullptr;

TEST_F(RayExecutorTest, TasksReturnTheirResults) {
  std::vector<ObjectRef> refs;
  for (int64_t task_idx = 0; task_idx < 20; ++task_idx) {
    Result<ObjectRef> ref =
        executor().Submit("test.add", {Value::Of<int64_t>(task_idx), Value::Of<int64_t>(100)});
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    refs.push_back(*ref);
  }
  for (int64_t task_idx = 0; task_idx < 20; ++task_idx) {
    Result<std::shared_ptr<const int64_t>> sum = executor().GetAs<int64_t>(refs[task_idx], kLong);
    ASSERT_TRUE(sum.ok()) << sum.status().ToString();
    EXPECT_EQ(**sum, task_idx + 100);
  }
  Result<ObjectRef> fsum = executor().Submit(
      "test.sum", {Value::Of<double>(0.5), Value::Of<double>(0.25), Value::Of<double>(2)});
  ASSERT_TRUE(fsum.ok());
  Result<std::shared_ptr<const double>> total = executor().GetAs<double>(*fsum, kLong);
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  EXPECT_EQ(**total, 2.75);
}

TEST_F(RayExecutorTest, EveryBuiltinValueTypeCrossesBothWays) {
  std::vector<Value> values = {
      Value::Of<std::string>(std::string("nul\0inside\xff", 11)), Value::Of<int64_t>(-7),
      Value::Of<double>(1e-300), Value::Of<nlohmann::json>(nlohmann::json{{"a", {1, 2.5, "x"}}}),
      Value::Of<std::vector<std::string>>({"", "b"}), Value()};
  for (const Value& value : values) {
    Result<ObjectRef> ref = executor().Submit("test.echo", {value});
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    Result<Value> back = executor().Get(*ref, kLong);
    ASSERT_TRUE(back.ok()) << value.type_name() << ": " << back.status().ToString();
    EXPECT_EQ(back->type_name(), value.type_name());
  }
  Result<ObjectRef> text = executor().Submit("test.echo", {values[0]});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(**executor().GetAs<std::string>(*text, kLong), std::string("nul\0inside\xff", 11));

  struct NoCodec {};
  Result<ObjectRef> refused = executor().Submit("test.echo", {Value::Of<NoCodec>({})});
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("argument 0"));
}

TEST_F(RayExecutorTest, ErrorsComeBackWithTheirCodeAndMessage) {
  Result<ObjectRef> failed = executor().Submit("test.fail", {Value::Of<std::string>("on purpose")});
  ASSERT_TRUE(failed.ok());
  Result<Value> error = executor().Get(*failed, kLong);
  EXPECT_EQ(error.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error.status().message(), "test.fail: on purpose");

  Result<ObjectRef> thrown = executor().Submit("test.throw", {});
  ASSERT_TRUE(thrown.ok());
  Result<Value> internal = executor().Get(*thrown, kLong);
  EXPECT_EQ(internal.status().code(), StatusCode::kInternal);
  EXPECT_THAT(internal.status().message(), HasSubstr("test.throw threw on purpose"));

  Result<ObjectRef> unknown = executor().Submit("no.such.kernel", {});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

TEST_F(RayExecutorTest, TransientErrorsAreRetriedWhenTheTaskAllows) {
  TaskOptions options;
  options.max_retries = 2;
  Result<ObjectRef> ref = executor().Submit("test.flaky", {Value::Of<int64_t>(3)}, options);
  ASSERT_TRUE(ref.ok());
  Result<std::shared_ptr<const int64_t>> attempt = executor().GetAs<int64_t>(*ref, kLong);
  ASSERT_TRUE(attempt.ok()) << attempt.status().ToString();
  EXPECT_EQ(**attempt, 3);

  Result<ObjectRef> no_retry = executor().Submit("test.flaky", {Value::Of<int64_t>(2)});
  ASSERT_TRUE(no_retry.ok());
  EXPECT_EQ(executor().Get(*no_retry, kLong).status().code(), StatusCode::kUnavailable);
}

TEST_F(RayExecutorTest, RefsAreArgumentsOfLaterTasks) {
  Result<ObjectRef> put = executor().Put(Value::Of<int64_t>(20));
  ASSERT_TRUE(put.ok());
  Result<ObjectRef> echoed = executor().Submit("test.echo", {*put});
  ASSERT_TRUE(echoed.ok());
  // The same ref twice, and a chain: (20 + 20) + 2.
  Result<ObjectRef> doubled = executor().Submit("test.add", {*echoed, *echoed});
  ASSERT_TRUE(doubled.ok());
  Result<ObjectRef> total = executor().Submit("test.add", {*doubled, Value::Of<int64_t>(2)});
  ASSERT_TRUE(total.ok());
  Result<std::shared_ptr<const int64_t>> value = executor().GetAs<int64_t>(*total, kLong);
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(**value, 42);

  // An upstream failure fails the dependent task without running it, with its error.
  Result<ObjectRef> failed = executor().Submit("test.fail", {Value::Of<std::string>("upstream")});
  ASSERT_TRUE(failed.ok());
  Result<ObjectRef> dependent = executor().Submit("test.echo", {*failed});
  ASSERT_TRUE(dependent.ok());
  Result<Value> error = executor().Get(*dependent, kLong);
  EXPECT_EQ(error.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(error.status().message(), HasSubstr("test.fail: upstream"));

  std::vector<Arg> too_many;
  for (int ref_idx = 0; ref_idx < 7; ++ref_idx) {
    too_many.push_back(*executor().Put(Value::Of<double>(ref_idx)));
  }
  EXPECT_EQ(executor().Submit("test.sum", too_many).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RayExecutorTest, WaitAndGetHonorTheirTimeouts) {
  Result<ObjectRef> slow = executor().Submit("test.sleep", {Value::Of<int64_t>(5000)}, Cpus(0.5));
  Result<ObjectRef> fast = executor().Submit("test.pid", {}, Cpus(0.5));
  ASSERT_TRUE(slow.ok() && fast.ok());
  ASSERT_TRUE(executor().Get(*fast, kLong).ok());

  auto started = std::chrono::steady_clock::now();
  Result<std::vector<ObjectRef>> ready = executor().Wait({*slow, *fast}, 2, milliseconds(300));
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  ASSERT_EQ(ready->size(), 1u);
  EXPECT_EQ((*ready)[0], *fast);
  EXPECT_GE(waited, milliseconds(300));

  Result<Value> early = executor().Get(*slow, milliseconds(100));
  EXPECT_EQ(early.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(early.status().message(), HasSubstr("not ready within"));

  Result<std::vector<ObjectRef>> one = executor().Wait({*slow, *fast}, 1, milliseconds(0));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);

  // Cancel only marks the ref: Get answers Cancelled at once.
  ASSERT_TRUE(executor().Cancel(*slow).ok());
  EXPECT_EQ(executor().Get(*slow, kLong).status().code(), StatusCode::kCancelled);
}

TEST_F(RayExecutorTest, ActorsKeepTheirStateAcrossCalls) {
  Result<ActorHandle> counter = executor().CreateActor("test.Counter", {Value::Of<int64_t>(10)},
                                                       ActorCpus(0.5));
  ASSERT_TRUE(counter.ok()) << counter.status().ToString();
  ObjectRef last;
  for (int64_t delta = 1; delta <= 5; ++delta) {
    Result<ObjectRef> ref = executor().CallActor(*counter, "Add", {Value::Of<int64_t>(delta)});
    ASSERT_TRUE(ref.ok());
    last = *ref;
  }
  EXPECT_EQ(**executor().GetAs<int64_t>(last, kLong), 25);

  Result<ObjectRef> failed = executor().CallActor(*counter, "Fail", {});
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(executor().Get(*failed, kLong).status().code(), StatusCode::kFailedPrecondition);
  Result<ObjectRef> unknown = executor().CallActor(*counter, "NoSuchMethod", {});
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(executor().Get(*unknown, kLong).status().code(), StatusCode::kNotFound);
  Result<ObjectRef> after = executor().CallActor(*counter, "Get", {});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(**executor().GetAs<int64_t>(*after, kLong), 25);  // the errors left the state

  // A ref as an argument of an actor call.
  Result<ObjectRef> forty = executor().Put(Value::Of<int64_t>(40));
  Result<ObjectRef> added = executor().CallActor(*counter, "Add", {*forty});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(**executor().GetAs<int64_t>(*added, kLong), 65);

  Result<ActorHandle> broken = executor().CreateActor("test.Broken", {}, ActorCpus(0.5));
  ASSERT_TRUE(broken.ok());
  Result<ObjectRef> call = executor().CallActor(*broken, "Get", {});
  ASSERT_TRUE(call.ok());
  Result<Value> dead = executor().Get(*call, kLong);
  EXPECT_EQ(dead.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(dead.status().message(), HasSubstr("creation failed"));
}

TEST_F(RayExecutorTest, ACallInFlightWhenTheActorProcessIsKilledIsResubmitted) {
  Result<ActorHandle> counter = executor().CreateActor("test.Counter", {Value::Of<int64_t>(100)},
                                                       ActorCpus(0.5, /*max_restarts=*/1));
  ASSERT_TRUE(counter.ok());
  Result<ObjectRef> added = executor().CallActor(*counter, "Add", {Value::Of<int64_t>(5)});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(**executor().GetAs<int64_t>(*added, kLong), 105);
  Result<ObjectRef> pid_ref = executor().CallActor(*counter, "Pid", {});
  ASSERT_TRUE(pid_ref.ok());
  int64_t pid = **executor().GetAs<int64_t>(*pid_ref, kLong);

  uint64_t resubmitted_before = executor().resubmitted_calls();
  Result<ObjectRef> in_flight = executor().CallActor(*counter, "Sleep", {Value::Of<int64_t>(500)});
  ASSERT_TRUE(in_flight.ok());
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);

  // Ray answers the call "actor died"; the executor resubmits it to the restarted actor.
  Result<std::shared_ptr<const int64_t>> new_pid = executor().GetAs<int64_t>(*in_flight, kLong);
  ASSERT_TRUE(new_pid.ok()) << new_pid.status().ToString();
  EXPECT_NE(**new_pid, pid);
  EXPECT_GT(executor().resubmitted_calls(), resubmitted_before);
  // The restarted actor starts again from its constructor arguments.
  Result<ObjectRef> state = executor().CallActor(*counter, "Get", {});
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(**executor().GetAs<int64_t>(*state, kLong), 100);

  // Its one restart is used up: the next death is final, and the call fails after at most
  // one more try instead of being resubmitted until actor_restart_timeout.
  uint64_t resubmitted_after_restart = executor().resubmitted_calls();
  Result<ObjectRef> final_call = executor().CallActor(*counter, "Sleep", {Value::Of<int64_t>(500)});
  ASSERT_TRUE(final_call.ok());
  ASSERT_EQ(::kill(static_cast<pid_t>(**new_pid), SIGKILL), 0);
  Result<Value> final_death = executor().Get(*final_call, kLong);
  EXPECT_EQ(final_death.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(final_death.status().message(), HasSubstr("died"));
  EXPECT_LE(executor().resubmitted_calls(), resubmitted_after_restart + 2);

  // Without restarts, the call fails with Unavailable naming the actor.
  ActorOptions once = ActorCpus(0.5);
  once.name = "Mortal";
  Result<ActorHandle> mortal = executor().CreateActor("test.Counter", {}, once);
  ASSERT_TRUE(mortal.ok());
  Result<ObjectRef> mortal_pid = executor().CallActor(*mortal, "Pid", {});
  ASSERT_TRUE(mortal_pid.ok());
  int64_t doomed = **executor().GetAs<int64_t>(*mortal_pid, kLong);
  Result<ObjectRef> lost = executor().CallActor(*mortal, "Sleep", {Value::Of<int64_t>(500)});
  ASSERT_TRUE(lost.ok());
  ASSERT_EQ(::kill(static_cast<pid_t>(doomed), SIGKILL), 0);
  Result<Value> died = executor().Get(*lost, kLong);
  EXPECT_EQ(died.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(died.status().message(), HasSubstr("actor 'Mortal' died"));
}

TEST_F(RayExecutorTest, HalfCpuActorsRunConcurrentlyAndAFifthWaitsForRoom) {
  std::string dir = MeetingDir("actors");
  std::vector<ActorHandle> actors;
  std::vector<ObjectRef> meetings;
  for (int actor_idx = 0; actor_idx < 4; ++actor_idx) {
    Result<ActorHandle> actor = executor().CreateActor("test.Counter", {}, ActorCpus(0.5));
    ASSERT_TRUE(actor.ok()) << actor.status().ToString();
    actors.push_back(*actor);
    // Each waits until all four are in the meeting at once: they must run concurrently.
    Result<ObjectRef> met = executor().CallActor(
        *actor, "Meet", {Value::Of<std::string>(dir), Value::Of<int64_t>(4),
                         Value::Of<int64_t>(45000)});
    ASSERT_TRUE(met.ok());
    meetings.push_back(*met);
  }
  for (const ObjectRef& met : meetings) {
    Result<std::shared_ptr<const int64_t>> arrived = executor().GetAs<int64_t>(met, kLong);
    ASSERT_TRUE(arrived.ok()) << arrived.status().ToString();
    EXPECT_EQ(**arrived, 4);
  }

  // The four hold the cluster's 2 CPUs: a fifth 0.5-CPU actor cannot start until one goes.
  Result<ActorHandle> fifth = executor().CreateActor("test.Counter", {}, ActorCpus(0.5));
  ASSERT_TRUE(fifth.ok());
  Result<ObjectRef> waiting = executor().CallActor(*fifth, "Get", {});
  ASSERT_TRUE(waiting.ok());
  Result<std::vector<ObjectRef>> not_yet = executor().Wait({*waiting}, 1, milliseconds(1500));
  ASSERT_TRUE(not_yet.ok());
  EXPECT_TRUE(not_yet->empty());
  ASSERT_TRUE(executor().KillActor(actors[0], /*no_restart=*/true).ok());
  Result<std::vector<ObjectRef>> now = executor().Wait({*waiting}, 1, kLong);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->size(), 1u);
}

TEST_F(RayExecutorTest, RequestsLargerThanTheClusterAreRefused) {
  Result<ObjectRef> task = executor().Submit("test.pid", {}, Cpus(3));
  EXPECT_EQ(task.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(task.status().message(), HasSubstr("3 CPU"));
  Result<ActorHandle> actor = executor().CreateActor("test.Counter", {}, ActorCpus(4));
  EXPECT_EQ(actor.status().code(), StatusCode::kInvalidArgument);
  // Ray's own rule: fractions only below one CPU.
  Result<ObjectRef> fraction = executor().Submit("test.pid", {}, Cpus(1.5));
  EXPECT_EQ(fraction.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(fraction.status().message(), HasSubstr("fractions"));
}

TEST_F(RayExecutorTest, PlacementGroupsReserveBundlesForTheirActors) {
  PlacementGroupOptions options;
  options.bundles = {Resources{0.5, 0}, Resources{0.5, 0}};
  options.strategy = PlacementStrategy::kPack;
  options.name = "pair";
  Result<PlacementGroup> group = executor().CreatePlacementGroup(options);
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  Status placed = executor().WaitPlacementGroup(*group, kLong);
  ASSERT_TRUE(placed.ok()) << placed.ToString();
  ActorOptions in_bundle = ActorCpus(0.5);
  in_bundle.placement_group = *group;
  in_bundle.bundle_index = 1;
  Result<ActorHandle> actor =
      executor().CreateActor("test.Counter", {Value::Of<int64_t>(1)}, in_bundle);
  ASSERT_TRUE(actor.ok()) << actor.status().ToString();
  Result<ObjectRef> added = executor().CallActor(*actor, "Add", {Value::Of<int64_t>(41)});
  ASSERT_TRUE(added.ok());
  Result<std::shared_ptr<const int64_t>> answer = executor().GetAs<int64_t>(*added, kLong);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(**answer, 42);
  ASSERT_TRUE(executor().RemovePlacementGroup(*group).ok());

  // STRICT_SPREAD needs two nodes; this cluster has one: the group stays pending.
  options.strategy = PlacementStrategy::kStrictSpread;
  options.name = "apart";
  Result<PlacementGroup> apart = executor().CreatePlacementGroup(options);
  ASSERT_TRUE(apart.ok()) << apart.status().ToString();
  Status waited = executor().WaitPlacementGroup(*apart, milliseconds(1500));
  EXPECT_EQ(waited.code(), StatusCode::kDeadlineExceeded) << waited.ToString();
  EXPECT_THAT(waited.message(), HasSubstr("placement group 'apart' (STRICT_SPREAD, 2 bundles"));
  EXPECT_TRUE(executor().RemovePlacementGroup(*apart).ok());

  // More than the cluster, and Ray's rule on fractions, are refused at once.
  options.bundles = {Resources{1, 0}, Resources{1, 0}, Resources{1, 0}};
  EXPECT_EQ(executor().CreatePlacementGroup(options).status().code(),
            StatusCode::kInvalidArgument);
  options.bundles = {Resources{1.5, 0}};
  Result<PlacementGroup> fraction = executor().CreatePlacementGroup(options);
  EXPECT_EQ(fraction.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(fraction.status().message(), HasSubstr("fractions"));
}

TEST_F(RayExecutorTest, SeveralDriverThreadsSubmitAtOnce) {
  constexpr int kThreads = 4;
  constexpr int kTasksPerThread = 10;
  std::vector<int> correct(kThreads, 0);
  std::vector<std::thread> threads;
  for (int thread_idx = 0; thread_idx < kThreads; ++thread_idx) {
    threads.emplace_back([&, thread_idx] {
      for (int task_idx = 0; task_idx < kTasksPerThread; ++task_idx) {
        Result<ObjectRef> ref = executor().Submit(
            "test.add", {Value::Of<int64_t>(thread_idx), Value::Of<int64_t>(task_idx)}, Cpus(0.5));
        if (!ref.ok()) continue;
        Result<std::shared_ptr<const int64_t>> sum = executor().GetAs<int64_t>(*ref, kLong);
        if (sum.ok() && **sum == thread_idx + task_idx) ++correct[thread_idx];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int thread_idx = 0; thread_idx < kThreads; ++thread_idx) {
    EXPECT_EQ(correct[thread_idx], kTasksPerThread) << "thread " << thread_idx;
  }
}

TEST_F(RayExecutorTest, OneExecutorPerProcess) {
  RayExecutorOptions options;
  options.address = *address_;
  options.capacity = Resources{1, 0};
  Result<std::unique_ptr<RayExecutor>> second = RayExecutor::Open(options);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("already connected"));
}

TEST(RayExecutorOpenTest, RefusesBadOptionsWithoutTouchingRay) {
  RayExecutorOptions options;
  options.capacity = Resources{1, 0};
  Result<std::unique_ptr<RayExecutor>> no_address = RayExecutor::Open(options);
  EXPECT_EQ(no_address.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_address.status().message(), HasSubstr("address is required"));

  options.address = "127.0.0.1:1";
  options.capacity.reset();
  EXPECT_THAT(RayExecutor::Open(options).status().message(), HasSubstr("capacity is required"));

  options.capacity = Resources{1, 0};
  options.address = "no-port";
  EXPECT_EQ(RayExecutor::Open(options).status().code(), StatusCode::kInvalidArgument);

  options.address = "127.0.0.1:1";  // nothing listens on port 1
  options.connect_timeout = milliseconds(500);
  Result<std::unique_ptr<RayExecutor>> nobody = RayExecutor::Open(options);
  EXPECT_EQ(nobody.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(nobody.status().message(), HasSubstr("no Ray cluster answers at 127.0.0.1:1"));

  options.node_ip_address = "192.0.2.77";  // TEST-NET-1: never this machine's
  Result<std::unique_ptr<RayExecutor>> elsewhere = RayExecutor::Open(options);
  EXPECT_EQ(elsewhere.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(elsewhere.status().message(), HasSubstr("not an address of this machine"));

  EXPECT_THAT(RayExecutor::BridgeLibraryPath(), HasSubstr("libraypipe_ray_bridge.so"));
}

}  // namespace
}  // namespace raypipe::compute
