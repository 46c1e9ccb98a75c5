// RayExecutor overheads, the same cases as local_executor_benchmark.cc: what one task or
// actor call costs beyond its kernel when it goes through Ray. The two round trips also run on
// a LocalExecutor with the same kernels and options in the same run (BM_Local*), so that the
// ratio is measured side by side; they report p50_us and mean_us over their iterations (bench/run
// section "ray" prints them beside Ray's own Python, bench/peers/ray_overhead.py).
// Starts its own loopback cluster with scripts/ray-cluster (2 CPUs) unless RAYPIPE_RAY_ADDRESS
// names a running one, and stops what it started.

#include <benchmark/benchmark.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "compute/local_executor.h"
#include "compute/ray/ray_executor.h"
#include "compute/ray/test_kernels.h"

namespace raypipe::compute {
namespace {

// Times each iteration of a round-trip loop; Report sets the p50_us and mean_us counters.
class Latencies {
 public:
  void Add(std::chrono::steady_clock::duration elapsed) {
    micros_.push_back(std::chrono::duration<double, std::micro>(elapsed).count());
  }
  void Report(benchmark::State& state) {
    if (micros_.empty()) return;
    double sum = 0;
    for (double micros : micros_) sum += micros;
    std::nth_element(micros_.begin(), micros_.begin() + micros_.size() / 2, micros_.end());
    state.counters["p50_us"] = micros_[micros_.size() / 2];
    state.counters["mean_us"] = sum / static_cast<double>(micros_.size());
  }

 private:
  std::vector<double> micros_;
};

TaskOptions HalfCpu() {
  TaskOptions options;
  options.resources.cpus = 0.5;
  return options;
}

// Round trips before the timed ones: Ray starts a worker process for the first (seconds).
constexpr int kWarmUpRoundTrips = 20;

void TaskRoundTrip(benchmark::State& state, Executor* executor) {
  Value payload = Value::Of<int64_t>(1);
  for (int trip = 0; trip < kWarmUpRoundTrips; ++trip) {
    Result<ObjectRef> ref = executor->Submit("test.echo", {payload}, HalfCpu());
    if (ref.ok()) executor->Get(*ref).status().IgnoreError();
  }
  Latencies latencies;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    Result<ObjectRef> ref = executor->Submit("test.echo", {payload}, HalfCpu());
    Result<Value> value = ref.ok() ? executor->Get(*ref) : Result<Value>(ref.status());
    latencies.Add(std::chrono::steady_clock::now() - start);
    if (!value.ok()) state.SkipWithError(value.status().ToString().c_str());
  }
  latencies.Report(state);
  state.SetItemsProcessed(state.iterations());
}

void ActorCallRoundTrip(benchmark::State& state, Executor* executor) {
  ActorOptions options;
  options.resources.cpus = 0.5;
  Result<ActorHandle> actor = executor->CreateActor("test.Counter", {Value::Of<int64_t>(0)},
                                                    options);
  if (!actor.ok()) {
    state.SkipWithError(actor.status().ToString().c_str());
    return;
  }
  Value one = Value::Of<int64_t>(1);
  for (int trip = 0; trip < kWarmUpRoundTrips; ++trip) {  // the actor has started
    Result<ObjectRef> ref = executor->CallActor(*actor, "Get", {});
    if (ref.ok()) executor->Get(*ref).status().IgnoreError();
  }
  Latencies latencies;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    Result<ObjectRef> ref = executor->CallActor(*actor, "Add", {one});
    Result<Value> value = ref.ok() ? executor->Get(*ref) : Result<Value>(ref.status());
    latencies.Add(std::chrono::steady_clock::now() - start);
    if (!value.ok()) state.SkipWithError(value.status().ToString().c_str());
  }
  latencies.Report(state);
  executor->KillActor(*actor, /*no_restart=*/true).IgnoreError();
  state.SetItemsProcessed(state.iterations());
}

void TaskFanOut(benchmark::State& state, RayExecutor* executor) {
  const int64_t tasks = state.range(0);
  std::vector<ObjectRef> refs;
  for (auto _ : state) {
    refs.clear();
    for (int64_t task = 0; task < tasks; ++task) {
      refs.push_back(*executor->Submit("test.echo", {Value()}, HalfCpu()));
    }
    Result<std::vector<ObjectRef>> done = executor->Wait(refs, refs.size());
    if (!done.ok()) state.SkipWithError(done.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}

void ActorCallPipeline(benchmark::State& state, RayExecutor* executor) {
  ActorOptions options;
  options.resources.cpus = 0.5;
  Result<ActorHandle> actor = executor->CreateActor("test.Counter", {}, options);
  Value one = Value::Of<int64_t>(1);
  const int64_t calls = state.range(0);
  for (auto _ : state) {
    ObjectRef last;
    for (int64_t call = 0; call < calls; ++call) last = *executor->CallActor(*actor, "Add", {one});
    Result<Value> value = executor->Get(last);
    if (!value.ok()) state.SkipWithError(value.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * calls);
}

void RefChain(benchmark::State& state, RayExecutor* executor) {
  const int64_t length = state.range(0);
  Value seed = Value::Of<int64_t>(0);
  for (auto _ : state) {
    ObjectRef ref = *executor->Put(seed);
    for (int64_t step = 0; step < length; ++step) {
      ref = *executor->Submit("test.echo", {ref}, HalfCpu());
    }
    Result<Value> value = executor->Get(ref);
    if (!value.ok()) state.SkipWithError(value.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * length);
}

int RunShell(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t read = 0;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output->append(buffer, read);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int Main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string script = std::string(RAYPIPE_SOURCE_DIR) + "/scripts/ray-cluster";
  std::string cluster_dir;
  std::string address;
  if (const char* given = std::getenv("RAYPIPE_RAY_ADDRESS"); given != nullptr && *given) {
    address = given;
  } else {
    char dir_template[] = "/tmp/rp-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) return 1;
    cluster_dir = dir_template;
    if (RunShell("timeout 120 " + script + " start " + cluster_dir + " --owner-pid " +
                     std::to_string(getpid()),
                 &address) != 0) {
      fprintf(stderr, "ray-cluster start failed: %s\n", address.c_str());
      return 1;
    }
    address = address.substr(0, address.find('\n'));
  }
  int exit_code = 0;
  {
    KernelRegistry kernels;
    ray_testing::RegisterTestKernels(kernels).IgnoreError();
    RayExecutorOptions options;
    options.address = address;
    options.capacity = Resources{2, 0};
    options.registry = &kernels;
    Result<std::unique_ptr<RayExecutor>> executor = RayExecutor::Open(options);
    LocalExecutorOptions local_options;
    local_options.registry = &kernels;
    local_options.capacity = Resources{2, 0};
    Result<std::unique_ptr<LocalExecutor>> local = LocalExecutor::Open(local_options);
    if (!executor.ok() || !local.ok()) {
      fprintf(stderr, "%s\n",
              (executor.ok() ? local.status() : executor.status()).ToString().c_str());
      exit_code = 1;
    } else {
      RayExecutor* ray = executor->get();
      benchmark::RegisterBenchmark("BM_LocalTaskRoundTrip", TaskRoundTrip, local->get())
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_LocalActorCallRoundTrip", ActorCallRoundTrip,
                                   local->get())
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_RayTaskRoundTrip", TaskRoundTrip, ray)->UseRealTime();
      benchmark::RegisterBenchmark("BM_RayActorCallRoundTrip", ActorCallRoundTrip, ray)
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_RayTaskFanOut", TaskFanOut, ray)->Arg(200)->UseRealTime();
      benchmark::RegisterBenchmark("BM_RayActorCallPipeline", ActorCallPipeline, ray)
          ->Arg(200)
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_RayRefChain", RefChain, ray)->Arg(20)->UseRealTime();
      benchmark::RunSpecifiedBenchmarks();
      benchmark::Shutdown();
    }
  }
  if (!cluster_dir.empty()) {
    std::string ignored;
    RunShell("timeout 60 " + script + " stop " + cluster_dir + " 2>&1", &ignored);
    std::error_code error;
    std::filesystem::remove_all(cluster_dir, error);
  }
  return exit_code;
}

}  // namespace
}  // namespace raypipe::compute

int main(int argc, char** argv) { return raypipe::compute::Main(argc, argv); }
