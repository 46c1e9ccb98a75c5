#include "compute/ray/ray_session.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "compute/ray/bridge_c.h"

namespace raypipe::compute::internal {
namespace {

using Clock = std::chrono::steady_clock;

// A message the bridge allocated, freed on scope exit.
class BridgeText {
 public:
  BridgeText() = default;
  ~BridgeText() { rp_ray_free(text_); }
  BridgeText(const BridgeText&) = delete;
  BridgeText& operator=(const BridgeText&) = delete;

  char** out() { return &text_; }
  std::string str() const { return text_ != nullptr ? std::string(text_) : std::string(); }

 private:
  char* text_ = nullptr;
};

rp_bytes BytesOf(std::string_view bytes) {
  return rp_bytes{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

Status BridgeError(int code, std::string_view what, const std::string& message) {
  std::string text = std::string(what) + ": " + message;
  switch (code) {
    case RP_RAY_TIMEOUT:
      return DeadlineExceededError(text);
    case RP_RAY_ACTOR_DIED:
    case RP_RAY_ACTOR_UNAVAILABLE:
    case RP_RAY_WORKER_DIED:
    case RP_RAY_OBJECT_LOST:
      return UnavailableError(text);
    case RP_RAY_FUNCTION_NOT_FOUND:
      return FailedPreconditionError(text);
    default:
      return InternalError(text);
  }
}

// Milliseconds left until `deadline`, capped at one slice; -1 never happens (sliced).
int64_t SliceMs(std::optional<Clock::time_point> deadline) {
  auto slice = RaySession::kSlice;
  if (deadline.has_value()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
    slice = std::clamp(left, std::chrono::milliseconds(0), slice);
  }
  return slice.count();
}

bool Expired(std::optional<Clock::time_point> deadline) {
  return deadline.has_value() && Clock::now() >= *deadline;
}

rp_ray_options OptionsOf(const Placement& placement) {
  rp_ray_options options{};
  options.cpus = placement.resources.cpus;
  options.memory_bytes = static_cast<double>(placement.resources.memory_bytes);
  options.name = placement.name.empty() ? nullptr : placement.name.c_str();
  options.max_restarts = placement.max_restarts;
  options.group = placement.group;
  options.bundle_index = placement.bundle_index;
  return options;
}

}  // namespace

Result<std::shared_ptr<RaySession>> RaySession::Connect(const std::string& address,
                                                        const std::string& code_search_path,
                                                        const std::string& node_ip_address) {
  if (rp_ray_initialized() != 0) {
    return FailedPreconditionError(
        "Ray is already connected in this process (another RayExecutor is open; Ray's runtime "
        "is per process)");
  }
  BridgeText error;
  int code = rp_ray_init(address.c_str(), code_search_path.c_str(), node_ip_address.c_str(),
                         error.out());
  if (code != RP_RAY_OK) {
    if (code == RP_RAY_INVALID) return FailedPreconditionError("Ray init: " + error.str());
    return UnavailableError("Ray init at " + address + ": " + error.str());
  }
  return std::shared_ptr<RaySession>(new RaySession());
}

RaySession::~RaySession() { Close(); }

Result<std::shared_lock<std::shared_mutex>> RaySession::Enter() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (closed_ || closing_.load(std::memory_order_acquire)) {
    return FailedPreconditionError("the RayExecutor was shut down");
  }
  return lock;
}

Result<uint64_t> RaySession::Put(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto lock, Enter());
  BridgeText error;
  uint64_t ref = 0;
  int code = rp_ray_put(BytesOf(bytes), &ref, error.out());
  if (code != RP_RAY_OK) return BridgeError(code, "Ray put", error.str());
  return ref;
}

Result<uint64_t> RaySession::Submit(std::string_view spec, std::span<const uint64_t> ref_args,
                                    const Placement& placement) {
  ASSIGN_OR_RETURN(auto lock, Enter());
  BridgeText error;
  uint64_t ref = 0;
  rp_ray_options options = OptionsOf(placement);
  int code = rp_ray_submit(BytesOf(spec), ref_args.data(), ref_args.size(), &options, &ref,
                           error.out());
  if (code != RP_RAY_OK) return BridgeError(code, "Ray task submission", error.str());
  return ref;
}

Result<uint64_t> RaySession::CreateActor(std::string_view spec,
                                         std::span<const uint64_t> ref_args,
                                         const Placement& placement) {
  ASSIGN_OR_RETURN(auto lock, Enter());
  BridgeText error;
  uint64_t actor = 0;
  rp_ray_options options = OptionsOf(placement);
  int code = rp_ray_actor_create(BytesOf(spec), ref_args.data(), ref_args.size(), &options,
                                 &actor, error.out());
  if (code != RP_RAY_OK) return BridgeError(code, "Ray actor creation", error.str());
  return actor;
}

Result<uint64_t> RaySession::CallActor(uint64_t actor, std::string_view spec,
                                       std::span<const uint64_t> ref_args) {
  ASSIGN_OR_RETURN(auto lock, Enter());
  BridgeText error;
  uint64_t ref = 0;
  int code = rp_ray_actor_call(actor, BytesOf(spec), ref_args.data(), ref_args.size(), &ref,
                               error.out());
  if (code != RP_RAY_OK) return BridgeError(code, "Ray actor call", error.str());
  return ref;
}

Status RaySession::KillActor(uint64_t actor, bool no_restart) {
  ASSIGN_OR_RETURN(auto lock, Enter());
  BridgeText error;
  int code = rp_ray_actor_kill(actor, no_restart ? 1 : 0, error.out());
  if (code != RP_RAY_OK) return BridgeError(code, "Ray actor kill", error.str());
  return Status::Ok();
}

void RaySession::Release(uint64_t ref) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!closed_) rp_ray_release(ref);
}

void RaySession::ReleaseActor(uint64_t actor) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!closed_) rp_ray_actor_release(actor);
}

Result<uint64_t> RaySession::CreateGroup(const std::vector<Resources>& bundles, int strategy) {
  ASSIGN_OR_RETURN(auto lock, Enter());
  std::vector<rp_ray_bundle> c_bundles;
  for (const Resources& bundle : bundles) {
    c_bundles.push_back(rp_ray_bundle{bundle.cpus, static_cast<double>(bundle.memory_bytes)});
  }
  BridgeText error;
  uint64_t group = 0;
  int code = rp_ray_group_create(c_bundles.data(), c_bundles.size(), strategy, &group,
                                 error.out());
  if (code != RP_RAY_OK) return BridgeError(code, "Ray placement group creation", error.str());
  return group;
}

Result<bool> RaySession::WaitGroup(uint64_t group, std::optional<Clock::time_point> deadline) {
  while (true) {
    {
      ASSIGN_OR_RETURN(auto lock, Enter());
      BridgeText error;
      // One second at most per call (Ray's unit), so that Close is never held up for long.
      int seconds = deadline.has_value() && *deadline - Clock::now() < std::chrono::seconds(1) ? 0
                                                                                            : 1;
      int code = rp_ray_group_wait(group, seconds, error.out());
      if (code == RP_RAY_OK) return true;
      if (code != RP_RAY_TIMEOUT) return BridgeError(code, "Ray placement group wait", error.str());
    }
    if (Expired(deadline)) return false;
    if (deadline.has_value() && *deadline - Clock::now() < std::chrono::seconds(1)) {
      // Ray's wait takes whole seconds: poll the rest in short steps.
      std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(50),
                                                            *deadline - Clock::now()));
    }
  }
}

void RaySession::RemoveGroup(uint64_t group) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!closed_) rp_ray_group_remove(group);
}

Result<Fetched> RaySession::Get(uint64_t ref, std::optional<Clock::time_point> deadline) {
  while (true) {
    ASSIGN_OR_RETURN(auto lock, Enter());
    BridgeText error;
    uint8_t* value = nullptr;
    size_t size = 0;
    int code = rp_ray_get(ref, SliceMs(deadline), &value, &size, error.out());
    Fetched fetched;
    if (code == RP_RAY_OK) {
      fetched.bytes = std::string(reinterpret_cast<const char*>(value), size);
      rp_ray_free(value);
      return fetched;
    }
    if (code == RP_RAY_TIMEOUT && !Expired(deadline)) continue;  // the next slice
    fetched.failure = BridgeFailure{code, error.str()};
    return fetched;
  }
}

Result<std::vector<bool>> RaySession::Wait(const std::vector<uint64_t>& refs, size_t num_ready,
                                           std::optional<Clock::time_point> deadline) {
  std::vector<uint8_t> ready(refs.size(), 0);
  while (true) {
    ASSIGN_OR_RETURN(auto lock, Enter());
    BridgeText error;
    int code = rp_ray_wait(refs.data(), refs.size(), num_ready, SliceMs(deadline), ready.data(),
                           error.out());
    if (code != RP_RAY_OK) return BridgeError(code, "Ray wait", error.str());
    size_t count = static_cast<size_t>(std::count(ready.begin(), ready.end(), uint8_t{1}));
    if (count >= num_ready || Expired(deadline)) break;
  }
  return std::vector<bool>(ready.begin(), ready.end());
}

void RaySession::Close() {
  closing_.store(true, std::memory_order_release);
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (closed_) return;
  closed_ = true;
  rp_ray_shutdown();
}

}  // namespace raypipe::compute::internal
