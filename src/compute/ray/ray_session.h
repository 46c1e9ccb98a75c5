#pragma once

// RaySession: the driver's connection to Ray through the bridge's C API (bridge_c.h, part 2),
// in this project's types: Status instead of codes, owned strings instead of malloc'd
// buffers, and a clean shutdown. Private to the RayExecutor.
//
// Blocking calls (Get, Wait) are cut into slices of at most kSlice so that Close never waits
// longer than one slice for a thread blocked in Ray, and so that such a thread learns of the
// shutdown instead of blocking in a runtime that is gone.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compute/resources.h"
#include "core/status.h"

namespace raypipe::compute::internal {

// The bridge's code for a failed Get (RP_RAY_* in bridge_c.h) with its message.
struct BridgeFailure {
  int code = 0;
  std::string message;
};

// What Get found: the bytes, or the bridge's failure.
struct Fetched {
  std::optional<std::string> bytes;
  BridgeFailure failure;
};

// Where and how a task or an actor runs in Ray.
struct Placement {
  Resources resources;
  std::string name;
  int max_restarts = 0;  // actors only
  uint64_t group = 0;    // a placement group of this session to run in, or 0
  int bundle_index = 0;  // with `group`
};

// Thread-safe.
class RaySession {
 public:
  static constexpr std::chrono::milliseconds kSlice{250};

  // Connects this process to the cluster. FailedPrecondition when Ray is already running in
  // this process (its runtime is per process); Unavailable when Ray's init fails.
  static Result<std::shared_ptr<RaySession>> Connect(const std::string& address,
                                                     const std::string& code_search_path,
                                                     const std::string& node_ip_address);
  ~RaySession();
  RaySession(const RaySession&) = delete;
  RaySession& operator=(const RaySession&) = delete;

  // After Close every call fails with FailedPrecondition (releases are no-ops).
  Result<uint64_t> Put(std::string_view bytes);
  Result<uint64_t> Submit(std::string_view spec, std::span<const uint64_t> ref_args,
                          const Placement& placement);
  Result<uint64_t> CreateActor(std::string_view spec, std::span<const uint64_t> ref_args,
                               const Placement& placement);
  Result<uint64_t> CallActor(uint64_t actor, std::string_view spec,
                             std::span<const uint64_t> ref_args);
  Status KillActor(uint64_t actor, bool no_restart);
  void Release(uint64_t ref);
  void ReleaseActor(uint64_t actor);

  // A placement group of `bundles` with `strategy` (RP_RAY_PACK...), asked of Ray at once.
  Result<uint64_t> CreateGroup(const std::vector<Resources>& bundles, int strategy);
  // True once the group is placed, false when `deadline` passes first (Ray waits in whole
  // seconds, so this may return up to a second late). FailedPrecondition once closed.
  Result<bool> WaitGroup(uint64_t group,
                         std::optional<std::chrono::steady_clock::time_point> deadline);
  // Removes the group in Ray (killing its actors). A no-op once closed.
  void RemoveGroup(uint64_t group);

  // The object's bytes once ready; a failure with RP_RAY_TIMEOUT when `deadline` passes first
  // (nullopt: no limit). FailedPrecondition once the session closes.
  Result<Fetched> Get(uint64_t ref, std::optional<std::chrono::steady_clock::time_point> deadline);

  // Which of `refs` (distinct) are ready once `num_ready` of them are or `deadline` passes.
  Result<std::vector<bool>> Wait(const std::vector<uint64_t>& refs, size_t num_ready,
                                 std::optional<std::chrono::steady_clock::time_point> deadline);

  // Releases everything the bridge holds and disconnects from Ray. Idempotent. Waits for
  // calls in flight (at most one slice for blocked Gets and Waits).
  void Close();
  bool closed() const { return closing_.load(std::memory_order_acquire); }

 private:
  RaySession() = default;

  // A shared lock on mu_ when the session is open, else FailedPrecondition.
  Result<std::shared_lock<std::shared_mutex>> Enter() const;

  mutable std::shared_mutex mu_;  // shared: a bridge call in flight; exclusive: Close
  std::atomic<bool> closing_{false};
  bool closed_ = false;  // guarded by mu_
};

}  // namespace raypipe::compute::internal
