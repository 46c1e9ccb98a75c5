#pragma once

// LocalExecutor: the embedded Executor. Tasks run on a fixed pool of threads, each actor on a
// thread of its own; a task or an actor starts only when its resources fit in what is free
// (fractional CPUs and memory are accounted exactly, not measured). Values are handed over in
// memory: a kernel receives the very objects that were passed, never a copy.
//
//   KernelRegistry kernels;
//   RETURN_IF_ERROR(kernels.RegisterTask("square", SquareKernel));
//   LocalExecutorOptions options;
//   options.registry = &kernels;
//   ASSIGN_OR_RETURN(auto executor, LocalExecutor::Open(options));
//   ASSIGN_OR_RETURN(ObjectRef ref, executor->Submit("square", {Value::Of<int64_t>(7)}));
//   ASSIGN_OR_RETURN(auto result, executor->GetAs<int64_t>(ref));  // 49

#include <memory>
#include <optional>

#include "compute/codec.h"
#include "compute/executor.h"
#include "compute/kernel.h"

namespace raypipe::compute {

namespace internal {
class LocalScheduler;
}  // namespace internal

struct LocalExecutorOptions {
  // The kernels to run. Required; copied at Open (kernels registered later are not seen).
  const KernelRegistry* registry = nullptr;
  // What the executor may grant at once. Default: std::thread::hardware_concurrency() CPUs
  // and the machine's physical memory.
  std::optional<Resources> capacity;
  // Worker threads for tasks (actors have their own). 0 (default): twice the capacity's CPUs
  // rounded up, at least 2, so that 0.5-CPU tasks fill the machine; at most 1024.
  int threads = 0;
  // Whether values crossing into and out of kernels must have a codec in `codecs`, so that
  // what runs here also runs where values are serialized (Ray). Default kNone.
  CodecCheck codec_check = CodecCheck::kNone;
  // The codecs for codec_check; copied at Open. Default (null): the built-in codecs.
  const CodecRegistry* codecs = nullptr;
};

// Placement groups: the machine is one node. A group reserves the sum of its bundles from the
// free resources at once (never part of it); PACK and SPREAD place it here, STRICT_SPREAD with
// more than one bundle is refused (it needs a node per bundle). Actors in a bundle take their
// resources from it; removing the group (or dropping its last handle) kills them.
//
// Thread-safe. Destruction cancels what has not finished (queued tasks never run; running
// kernels see cancelled(); actors are killed) and joins every thread; results already
// delivered stay readable through the refs held.
class LocalExecutor final : public Executor {
 public:
  // InvalidArgument when the registry is missing or the capacity or thread count is invalid.
  static Result<std::unique_ptr<LocalExecutor>> Open(LocalExecutorOptions options);
  ~LocalExecutor() override;
  LocalExecutor(const LocalExecutor&) = delete;
  LocalExecutor& operator=(const LocalExecutor&) = delete;

  Resources Capacity() const override;
  // What is not granted right now (for monitoring and tests).
  Resources Available() const;
  int threads() const;

 protected:
  Result<ObjectRef> DoSubmit(std::string_view kernel, std::vector<Arg> args,
                             TaskOptions options) override;
  Result<Value> DoGet(const ObjectRef& ref, Timeout timeout) override;
  Result<std::vector<ObjectRef>> DoWait(const std::vector<ObjectRef>& refs, size_t num_ready,
                                        Timeout timeout) override;
  Status DoCancel(const ObjectRef& ref) override;
  Result<ObjectRef> DoPut(Value value) override;
  Result<ActorHandle> DoCreateActor(std::string_view actor_class, std::vector<Arg> args,
                                    ActorOptions options) override;
  Result<ObjectRef> DoCallActor(const ActorHandle& actor, std::string_view method,
                                std::vector<Arg> args, CallOptions options) override;
  Status DoKillActor(const ActorHandle& actor, bool no_restart) override;
  Result<PlacementGroup> DoCreatePlacementGroup(uint64_t id,
                                                PlacementGroupOptions options) override;
  Status DoWaitPlacementGroup(const PlacementGroup& group, Timeout timeout) override;
  Status DoRemovePlacementGroup(const PlacementGroup& group) override;

 private:
  LocalExecutor() = default;

  std::shared_ptr<internal::LocalScheduler> scheduler_;
};

}  // namespace raypipe::compute
