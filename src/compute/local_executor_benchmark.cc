// LocalExecutor overheads: what one task or actor call costs beyond its kernel. The later
// RayExecutor comparison runs the same cases.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "compute/local_executor.h"

namespace raypipe::compute {
namespace {

class Noop : public MethodActor {
 public:
  Noop() {
    AddMethod("Add", [this](TaskContext&, std::span<const Value>) -> Result<Value> {
      return Value::Of<int64_t>(++count_);
    });
  }

 private:
  int64_t count_ = 0;
};

KernelRegistry Kernels() {
  KernelRegistry kernels;
  kernels
      .RegisterTask("noop",
                    [](TaskContext&, std::span<const Value> args) -> Result<Value> {
                      return args.empty() ? Value() : args[0];
                    })
      .IgnoreError();
  kernels
      .RegisterActor("Noop",
                     [](TaskContext&, std::span<const Value>)
                         -> Result<std::unique_ptr<ActorInstance>> {
                       return std::unique_ptr<ActorInstance>(new Noop());
                     })
      .IgnoreError();
  return kernels;
}

std::unique_ptr<LocalExecutor> OpenOrDie(const KernelRegistry& kernels, double cpus = 2) {
  LocalExecutorOptions options;
  options.registry = &kernels;
  options.capacity = Resources{cpus, 0};
  Result<std::unique_ptr<LocalExecutor>> executor = LocalExecutor::Open(options);
  if (!executor.ok()) std::abort();
  return std::move(executor).value();
}

TaskOptions HalfCpu() {
  TaskOptions options;
  options.resources.cpus = 0.5;
  return options;
}

// Submit one task and Get its result, one at a time: the latency of a round trip.
void BM_TaskRoundTrip(benchmark::State& state) {
  KernelRegistry kernels = Kernels();
  auto executor = OpenOrDie(kernels);
  Value payload = Value::Of<int64_t>(1);
  for (auto _ : state) {
    Result<ObjectRef> ref = executor->Submit("noop", {payload});
    Result<Value> value = executor->Get(*ref);
    benchmark::DoNotOptimize(value.ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TaskRoundTrip)->UseRealTime();

// One call to an actor and Get, one at a time.
void BM_ActorCallRoundTrip(benchmark::State& state) {
  KernelRegistry kernels = Kernels();
  auto executor = OpenOrDie(kernels);
  Result<ActorHandle> actor = executor->CreateActor("Noop", {});
  for (auto _ : state) {
    Result<ObjectRef> ref = executor->CallActor(*actor, "Add", {});
    Result<Value> value = executor->Get(*ref);
    benchmark::DoNotOptimize(value.ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ActorCallRoundTrip)->UseRealTime();

// 1000 independent 0.5-CPU tasks submitted at once, then all awaited: throughput.
void BM_TaskFanOut(benchmark::State& state) {
  KernelRegistry kernels = Kernels();
  auto executor = OpenOrDie(kernels);
  const int64_t tasks = state.range(0);
  std::vector<ObjectRef> refs;
  for (auto _ : state) {
    refs.clear();
    for (int64_t task = 0; task < tasks; ++task) {
      refs.push_back(*executor->Submit("noop", {}, HalfCpu()));
    }
    Result<std::vector<ObjectRef>> done = executor->Wait(refs, refs.size());
    benchmark::DoNotOptimize(done.ok());
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}
BENCHMARK(BM_TaskFanOut)->Arg(1000)->UseRealTime();

// 1000 calls queued on one actor, then the last awaited: an actor's call throughput.
void BM_ActorCallPipeline(benchmark::State& state) {
  KernelRegistry kernels = Kernels();
  auto executor = OpenOrDie(kernels);
  Result<ActorHandle> actor = executor->CreateActor("Noop", {});
  const int64_t calls = state.range(0);
  for (auto _ : state) {
    ObjectRef last;
    for (int64_t call = 0; call < calls; ++call) last = *executor->CallActor(*actor, "Add", {});
    Result<Value> value = executor->Get(last);
    benchmark::DoNotOptimize(value.ok());
  }
  state.SetItemsProcessed(state.iterations() * calls);
}
BENCHMARK(BM_ActorCallPipeline)->Arg(1000)->UseRealTime();

// A chain of tasks, each taking the previous one's ref: the cost of a dependency hand-off.
void BM_RefChain(benchmark::State& state) {
  KernelRegistry kernels = Kernels();
  auto executor = OpenOrDie(kernels);
  const int64_t length = state.range(0);
  Value seed = Value::Of<int64_t>(0);
  for (auto _ : state) {
    ObjectRef ref = *executor->Put(seed);
    for (int64_t step = 0; step < length; ++step) ref = *executor->Submit("noop", {ref});
    Result<Value> value = executor->Get(ref);
    benchmark::DoNotOptimize(value.ok());
  }
  state.SetItemsProcessed(state.iterations() * length);
}
BENCHMARK(BM_RefChain)->Arg(100)->UseRealTime();

}  // namespace
}  // namespace raypipe::compute

BENCHMARK_MAIN();
