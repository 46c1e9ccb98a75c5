#pragma once

// RayExecutor: the Executor on a Ray cluster (DESIGN.md section 6). Tasks become Ray tasks and
// actors Ray actors, run by Ray's C++ workers, which load the bridge library (bridge_c.h) and
// through it the kernel host (libraypipe_kernels.so, serving RegisterWorkerKernels). Arguments
// and results travel serialized with the codecs (codec.h); an ObjectRef is a Ray object ref.
//
//   RayExecutorOptions options;
//   options.address = "127.0.0.1:27000";          // scripts/ray-cluster address DIR
//   options.capacity = Resources{2, 0};            // what the cluster has
//   ASSIGN_OR_RETURN(auto executor, RayExecutor::Open(options));
//   ASSIGN_OR_RETURN(ObjectRef sum, executor->Submit("test.add", {Value::Of<int64_t>(2),
//                                                                 Value::Of<int64_t>(3)}));
//   ASSIGN_OR_RETURN(auto five, executor->GetAs<int64_t>(sum, std::chrono::seconds(30)));
//
// Where it differs from the LocalExecutor:
// - Values are serialized: every argument and result needs a codec, the same on both sides.
// - Ray's runtime is per process: one RayExecutor per process, once (Ray's C++ runtime cannot
//   start again after a shutdown). The process must run on a node of the cluster.
// - Cancel only marks the ref (Get answers Cancelled); Ray's C++ API cannot cancel, so the
//   kernel runs on and TaskContext::cancelled() stays false.
// - A task may run twice if its worker process dies (Ray retries it): kernels must be
//   idempotent. Transient errors are retried in the worker, as TaskOptions::max_retries says.
// - Ray does not retry actor calls: a call that comes back because the actor's process died is
//   resubmitted here while the actor may restart (ActorOptions::max_restarts > 0), within
//   actor_restart_timeout. A crash inside a method (an exception escaping it) rebuilds the
//   instance in its process, up to max_restarts times per process.
// - At most RP_RAY_MAX_REF_ARGS (6) ref arguments per task or call (values: any number).
// - CPUs above 1 must be whole numbers (Ray's rule); fractions below 1 are fine.
// - Placement groups are Ray's (ray::CreatePlacementGroup): Ray spreads the bundles over its
//   nodes by the strategy and places the group only whole. Only the sum of the bundles is
//   checked against `capacity` here (the executor does not know the nodes): a group that no
//   node layout fits (STRICT_SPREAD over more bundles than nodes, a bundle larger than every
//   node) stays pending, and WaitPlacementGroup's DeadlineExceeded says so.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "compute/codec.h"
#include "compute/executor.h"
#include "compute/kernel.h"

namespace raypipe::compute {

namespace internal {
struct SettleContext;
}  // namespace internal

struct RayExecutorOptions {
  // "HOST:PORT" of the cluster's head (its GCS), e.g. from `scripts/ray-cluster address DIR`.
  // Required: the executor never lets Ray start a cluster of its own.
  std::string address;
  // This machine's address as the local raylet registered it (ray start --node-ip-address).
  // Default: the host part of `address`.
  std::string node_ip_address;
  // ':'-separated absolute paths Ray's workers load code from. Default: the bridge library's
  // absolute path (RayExecutor::BridgeLibraryPath()).
  std::string code_search_path;
  // What the cluster can grant at once (the sum of its nodes' CPUs and memory). Required: Ray's
  // C++ API cannot tell, and a request that fits no node would wait in Ray forever.
  std::optional<Resources> capacity;
  // When set, Submit and CreateActor refuse kernel and class names it lacks (NotFound) instead
  // of reporting them through the ref. It should be the set the workers serve. Copied at Open.
  const KernelRegistry* registry = nullptr;
  // The codecs for arguments and results; they must match the workers'. Default: the built-in
  // codecs. Copied at Open.
  const CodecRegistry* codecs = nullptr;
  // How long a call on an actor whose process died is resubmitted while Ray restarts the
  // actor. Default 30 s.
  std::chrono::milliseconds actor_restart_timeout{30000};
  // How long Open waits for the head to accept a connection. Default 5 s.
  std::chrono::milliseconds connect_timeout{5000};
};

// Thread-safe. Destruction (or Shutdown) releases every object and actor this executor holds
// in Ray and disconnects; refs that already hold their result keep it, other refs answer
// FailedPrecondition.
class RayExecutor final : public Executor {
 public:
  // InvalidArgument for a missing address or capacity, or a node address that is not this
  // machine's; Unavailable when no cluster answers at `address`; FailedPrecondition when Ray
  // is already or was once connected in this process.
  static Result<std::unique_ptr<RayExecutor>> Open(RayExecutorOptions options);
  // What Open checks before it connects: `address` is HOST:PORT and something listens there,
  // and the node address (default the address's host) is this machine's. Errors as Open's.
  static Status CheckReachable(const RayExecutorOptions& options);

  ~RayExecutor() override;
  RayExecutor(const RayExecutor&) = delete;
  RayExecutor& operator=(const RayExecutor&) = delete;

  // Disconnects from Ray (see the class comment). Idempotent; methods then fail with
  // FailedPrecondition. Waits for calls in flight (a blocked Get or Wait returns within
  // 250 ms with FailedPrecondition).
  void Shutdown();

  Resources Capacity() const override;

  // How many actor calls were resubmitted because their actor's process died.
  uint64_t resubmitted_calls() const;

  // The absolute path of the bridge library this process loaded (what Ray's workers must load:
  // the default code search path); empty when it cannot be found.
  static std::string BridgeLibraryPath();

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
  struct Shared;
  explicit RayExecutor(std::shared_ptr<Shared> shared);
  internal::SettleContext settle_context() const;

  std::shared_ptr<Shared> shared_;
};

}  // namespace raypipe::compute
