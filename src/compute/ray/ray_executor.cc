#include "compute/ray/ray_executor.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "compute/ray/bridge_c.h"
#include "compute/ray/ray_session.h"
#include "compute/ray/wire.h"

namespace raypipe::compute {

using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;
using internal::Fetched;
using internal::Placement;
using internal::RaySession;

namespace internal {
// What settling a ref needs from the executor.
struct SettleContext {
  const CodecRegistry& codecs;
  std::chrono::milliseconds restart_timeout;
  std::atomic<uint64_t>& resubmitted_calls;
};
}  // namespace internal
using internal::SettleContext;

// What every ref and actor of this executor shares; outlives the executor while refs do.
struct RayExecutor::Shared {
  std::shared_ptr<RaySession> session;
  Resources capacity;
  std::optional<KernelRegistry> registry;
  CodecRegistry codecs;
  std::chrono::milliseconds actor_restart_timeout{0};
  std::atomic<uint64_t> next_id{1};
  std::atomic<uint64_t> resubmitted_calls{0};
};

namespace {

// The Ray actor behind every copy of one ActorHandle: dropping the last copy releases it in
// Ray, which ends the actor once its calls ran.
struct ActorCore {
  ActorCore(std::shared_ptr<RaySession> session, uint64_t bridge_actor, std::string name,
            int max_restarts)
      : session(std::move(session)),
        bridge_actor(bridge_actor),
        name(std::move(name)),
        max_restarts(max_restarts) {}
  ~ActorCore() { session->ReleaseActor(bridge_actor); }

  const std::shared_ptr<RaySession> session;
  const uint64_t bridge_actor;
  const std::string name;
  const int max_restarts;
  std::atomic<bool> killed_for_good{false};
};

// A Ray placement group; removed in Ray when the last handle goes (or at RemovePlacementGroup).
class RayGroupState final : public PlacementGroupState {
 public:
  RayGroupState(uint64_t id, const Executor* owner, PlacementGroupOptions options,
                std::shared_ptr<RaySession> session, uint64_t bridge_group)
      : PlacementGroupState(id, owner, std::move(options)),
        session_(std::move(session)),
        bridge_group_(bridge_group) {}
  ~RayGroupState() override { Remove(); }

  uint64_t bridge_group() const { return bridge_group_; }
  bool removed() const { return removed_.load(); }
  void Remove() {
    if (!removed_.exchange(true)) session_->RemoveGroup(bridge_group_);
  }

 private:
  const std::shared_ptr<RaySession> session_;
  const uint64_t bridge_group_;
  std::atomic<bool> removed_{false};
};

int BridgeStrategy(PlacementStrategy strategy) {
  switch (strategy) {
    case PlacementStrategy::kPack:
      return RP_RAY_PACK;
    case PlacementStrategy::kSpread:
      return RP_RAY_SPREAD;
    case PlacementStrategy::kStrictSpread:
      return RP_RAY_STRICT_SPREAD;
  }
  return RP_RAY_PACK;
}

class RayActorState final : public ActorHandleState {
 public:
  RayActorState(uint64_t id, const Executor* owner, std::string name,
                std::shared_ptr<ActorCore> core)
      : ActorHandleState(id, owner, std::move(name)), core_(std::move(core)) {}
  const std::shared_ptr<ActorCore>& core() const { return core_; }

 private:
  std::shared_ptr<ActorCore> core_;
};

// What an actor call needs to be submitted again. It does not keep the actor alive.
struct CallRecord {
  std::weak_ptr<ActorCore> actor;
  std::string actor_name;
  std::string spec;
  std::vector<ObjectRef> ref_args;
};

class RayRefState final : public ObjectRefState {
 public:
  // bridge_ref 0: a ref settled here (put values, refused submissions) with no Ray object.
  RayRefState(uint64_t id, const Executor* owner, std::string description,
              std::shared_ptr<RaySession> session, uint64_t bridge_ref,
              std::unique_ptr<CallRecord> call)
      : ObjectRefState(id, owner, std::move(description)),
        session_(std::move(session)),
        call_(std::move(call)) {
    this->bridge_ref = bridge_ref;
  }
  ~RayRefState() override {
    if (bridge_ref != 0) session_->Release(bridge_ref);
  }

  const std::shared_ptr<RaySession>& session() const { return session_; }
  const CallRecord* call() const { return call_.get(); }

  std::mutex mu;  // guards the fields below
  uint64_t bridge_ref = 0;  // the Ray object; changes when an actor call is resubmitted
  std::optional<Result<Value>> outcome;
  bool cancelled = false;
  int resubmits = 0;
  int resubmits_after_death = 0;  // resubmissions after an RP_RAY_ACTOR_DIED answer
  std::optional<Clock::time_point> first_death;

 private:
  const std::shared_ptr<RaySession> session_;
  const std::unique_ptr<CallRecord> call_;
};

RayRefState& StateOf(const ObjectRef& ref) {
  // Executor's public methods checked that the ref is valid and this executor's.
  return *static_cast<RayRefState*>(ref.state());
}

Deadline DeadlineOf(const Timeout& timeout) {
  if (!timeout.has_value()) return std::nullopt;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(*timeout);
}

bool Expired(const Deadline& deadline) { return deadline.has_value() && Clock::now() >= *deadline; }

std::string Describe(const Timeout& timeout) {
  std::ostringstream text;
  text << std::chrono::duration<double, std::milli>(timeout.value_or(std::chrono::nanoseconds(0)))
              .count()
       << " ms";
  return text.str();
}

Status CheckRayResources(const Resources& resources, std::string_view what) {
  if (resources.cpus > 1 && std::floor(resources.cpus) != resources.cpus) {
    return InvalidArgumentError(std::string(what) + " asks for " + resources.ToString() +
                                ": Ray accepts fractions of a CPU only below 1");
  }
  return Status::Ok();
}

// The arguments as the wire carries them: values inline, refs as slots (each distinct ref
// once).
struct EncodedArgs {
  std::vector<ray_wire::WireArg> args;
  std::vector<ObjectRef> refs;
};

Result<EncodedArgs> EncodeArgs(const std::vector<Arg>& args, const CodecRegistry& codecs,
                               std::string_view what) {
  EncodedArgs encoded;
  for (size_t arg_idx = 0; arg_idx < args.size(); ++arg_idx) {
    ray_wire::WireArg wire;
    if (args[arg_idx].is_ref()) {
      const ObjectRef& ref = args[arg_idx].ref();
      auto known = std::find(encoded.refs.begin(), encoded.refs.end(), ref);
      wire.is_ref = true;
      wire.slot = static_cast<uint32_t>(known - encoded.refs.begin());
      if (known == encoded.refs.end()) encoded.refs.push_back(ref);
    } else {
      Result<std::string> bytes = codecs.Serialize(args[arg_idx].value());
      if (!bytes.ok()) {
        return bytes.status().WithContext(std::string(what) + ": argument " +
                                          std::to_string(arg_idx));
      }
      wire.value = std::move(*bytes);
    }
    encoded.args.push_back(std::move(wire));
  }
  if (encoded.refs.size() > RP_RAY_MAX_REF_ARGS) {
    return InvalidArgumentError(std::string(what) + " has " + std::to_string(encoded.refs.size()) +
                                " distinct ref arguments; Ray's bridge takes at most " +
                                std::to_string(RP_RAY_MAX_REF_ARGS));
  }
  return encoded;
}

// The Ray objects behind `refs` now, or the failure of one that cannot be an argument
// (cancelled here, or settled here without a Ray object).
Result<std::vector<uint64_t>> CurrentBridgeRefs(const std::vector<ObjectRef>& refs) {
  std::vector<uint64_t> ids;
  for (const ObjectRef& ref : refs) {
    RayRefState& state = StateOf(ref);
    std::lock_guard<std::mutex> lock(state.mu);
    if (state.cancelled) return CancelledError(ref.ToString() + " was cancelled");
    if (state.bridge_ref == 0) {
      if (state.outcome.has_value() && !state.outcome->ok()) return state.outcome->status();
      return InternalError(ref.ToString() + " has no Ray object");
    }
    ids.push_back(state.bridge_ref);
  }
  return ids;
}

Result<Value> DecodeValue(const CodecRegistry& codecs, const std::string& bytes,
                          const std::string& what) {
  ASSIGN_OR_RETURN(std::string_view serialized, ray_wire::DecodeResult(bytes));
  Result<Value> value = codecs.Deserialize(serialized);
  if (!value.ok()) return value.status().WithContext("the result of " + what);
  return value;
}

bool IsActorDeath(int code) {
  return code == RP_RAY_ACTOR_DIED || code == RP_RAY_ACTOR_UNAVAILABLE;
}

Status FailureStatus(const RayRefState& state, const internal::BridgeFailure& failure) {
  const std::string& what = state.description();
  switch (failure.code) {
    case RP_RAY_ACTOR_DIED:
    case RP_RAY_ACTOR_UNAVAILABLE:
      return UnavailableError(
          "actor '" + (state.call() != nullptr ? state.call()->actor_name : std::string("?")) +
          "' died: " + failure.message);
    case RP_RAY_WORKER_DIED:
      return UnavailableError(what + ": its worker process died (after Ray's retries)");
    case RP_RAY_OBJECT_LOST:
      return UnavailableError(what + ": " + failure.message);
    case RP_RAY_FUNCTION_NOT_FOUND:
      return FailedPreconditionError(
          what + ": Ray's workers cannot find raypipe's bridge functions (the code search path "
                 "must name " + RayExecutor::BridgeLibraryPath() + "): " + failure.message);
    default:
      return InternalError(what + ": Ray failed (code " + std::to_string(failure.code) +
                           "): " + failure.message);
  }
}

// Stores the outcome of `bridge_ref` unless the ref moved on (a resubmission) meanwhile.
Result<Value> Record(RayRefState& state, uint64_t bridge_ref, Result<Value> outcome) {
  std::lock_guard<std::mutex> lock(state.mu);
  if (state.bridge_ref == bridge_ref && !state.outcome.has_value() && !state.cancelled) {
    state.outcome = std::move(outcome);
    return *state.outcome;
  }
  return outcome;
}

// Submits the actor call behind `state` again, after its actor's process died, while the
// actor may still be restarting. True when the ref now names a new call (or another thread
// moved it on); false when the call is not to be resubmitted.
Result<bool> MaybeResubmit(RayRefState& state, uint64_t bridge_ref, int code, Deadline deadline,
                           const SettleContext& context) {
  const CallRecord& call = *state.call();
  std::shared_ptr<ActorCore> actor = call.actor.lock();
  if (actor == nullptr || actor->max_restarts == 0 || actor->killed_for_good.load()) return false;
  int attempt = 0;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    if (state.bridge_ref != bridge_ref) return true;
    if (state.outcome.has_value() || state.cancelled) return true;  // settled meanwhile
    auto now = Clock::now();
    if (!state.first_death.has_value()) state.first_death = now;
    if (now - *state.first_death > context.restart_timeout) return false;
    // ACTOR_UNAVAILABLE: the call was in flight when the process died, and Ray may be
    // restarting the actor (a resubmission waits in Ray until it is back). ACTOR_DIED: Ray
    // holds the actor dead; one more try covers the moment before it learns of a restart.
    if (code == RP_RAY_ACTOR_DIED && state.resubmits_after_death++ > 0) return false;
    attempt = ++state.resubmits;
  }
  // The first resubmission goes at once; later ones back off (20 ms doubling to 500 ms) while
  // Ray learns of the death and restarts the actor.
  if (attempt > 1) {
    auto pause = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(20) * (1 << std::min(attempt - 2, 5)),
        std::chrono::milliseconds(500));
    if (deadline.has_value()) {
      pause = std::min(pause, std::chrono::ceil<std::chrono::milliseconds>(
                                  std::max(*deadline - Clock::now(), Clock::duration(0))));
    }
    std::this_thread::sleep_for(pause);
  }
  ASSIGN_OR_RETURN(std::vector<uint64_t> ids, CurrentBridgeRefs(call.ref_args));
  ASSIGN_OR_RETURN(uint64_t resubmitted, state.session()->CallActor(actor->bridge_actor,
                                                                    call.spec, ids));
  uint64_t dropped = resubmitted;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    if (state.bridge_ref == bridge_ref) {
      dropped = bridge_ref;
      state.bridge_ref = resubmitted;
    }
  }
  state.session()->Release(dropped);
  context.resubmitted_calls.fetch_add(1);
  return true;
}

// The ref's outcome: waits for it until `deadline`, resubmitting an actor call whose actor's
// process died. With `follow` false, returns after one resubmission instead of waiting for it.
Result<Value> Settle(RayRefState& state, const SettleContext& context, Deadline deadline,
                     bool follow) {
  while (true) {
    uint64_t bridge_ref = 0;
    {
      std::lock_guard<std::mutex> lock(state.mu);
      if (state.outcome.has_value()) return *state.outcome;
      if (state.cancelled) return CancelledError(state.description() + " was cancelled");
      bridge_ref = state.bridge_ref;
    }
    ASSIGN_OR_RETURN(Fetched fetched, state.session()->Get(bridge_ref, deadline));
    if (fetched.bytes.has_value()) {
      return Record(state, bridge_ref,
                    DecodeValue(context.codecs, *fetched.bytes, state.description()));
    }
    if (fetched.failure.code == RP_RAY_TIMEOUT) {
      return DeadlineExceededError(state.description() + " is not ready");
    }
    if (IsActorDeath(fetched.failure.code) && state.call() != nullptr) {
      ASSIGN_OR_RETURN(bool resubmitted,
                       MaybeResubmit(state, bridge_ref, fetched.failure.code, deadline, context));
      if (resubmitted) {
        if (!follow) return UnavailableError(state.description() + " was resubmitted");
        continue;
      }
    }
    return Record(state, bridge_ref, FailureStatus(state, fetched.failure));
  }
}

bool SettledHere(RayRefState& state) {
  std::lock_guard<std::mutex> lock(state.mu);
  return state.outcome.has_value() || state.cancelled;
}

// Splits "host:port"; InvalidArgument when malformed.
Result<std::pair<std::string, std::string>> SplitAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return InvalidArgumentError("Ray address '" + address + "' is not HOST:PORT");
  }
  return std::make_pair(address.substr(0, colon), address.substr(colon + 1));
}

// Unavailable unless something accepts a TCP connection at host:port within `timeout`.
Status ProbeHead(const std::string& host, const std::string& port,
                 std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return InvalidArgumentError("Ray address " + host + ":" + port + " does not resolve");
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return InternalError(std::string("socket: ") + std::strerror(errno));
  int connected = connect(fd, found->ai_addr, found->ai_addrlen);
  if (connected != 0 && errno == EINPROGRESS) {
    pollfd poll_fd{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof(error);
    connected = poll(&poll_fd, 1, static_cast<int>(timeout.count())) == 1 &&
                        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0
                    ? 0
                    : -1;
  }
  close(fd);
  if (connected != 0) {
    return UnavailableError("no Ray cluster answers at " + host + ":" + port +
                            " (start one with scripts/ray-cluster start DIR)");
  }
  return Status::Ok();
}

// InvalidArgument unless `ip` is an address of this machine (Ray's driver must run on a node).
Status CheckLocalAddress(const std::string& ip) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    length = sizeof(sockaddr_in6);
  } else {
    return InvalidArgumentError("node IP address '" + ip + "' is not an IP address");
  }
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return InternalError(std::string("socket: ") + std::strerror(errno));
  int bound = bind(fd, reinterpret_cast<sockaddr*>(&storage), length);
  int error = errno;
  close(fd);
  if (bound != 0 && error == EADDRNOTAVAIL) {
    return InvalidArgumentError("node IP address " + ip +
                                " is not an address of this machine: the driver must run on "
                                "a node of the Ray cluster");
  }
  return Status::Ok();
}

}  // namespace

std::string RayExecutor::BridgeLibraryPath() {
  const char* path = rp_ray_bridge_path();
  return path != nullptr ? std::string(path) : std::string();
}

Status RayExecutor::CheckReachable(const RayExecutorOptions& options) {
  ASSIGN_OR_RETURN(auto host_port, SplitAddress(options.address));
  RETURN_IF_ERROR(CheckLocalAddress(options.node_ip_address.empty() ? host_port.first
                                                                    : options.node_ip_address));
  return ProbeHead(host_port.first, host_port.second, options.connect_timeout);
}

Result<std::unique_ptr<RayExecutor>> RayExecutor::Open(RayExecutorOptions options) {
  if (options.address.empty()) {
    return InvalidArgumentError(
        "RayExecutorOptions.address is required (HOST:PORT of a running cluster; the executor "
        "never starts one)");
  }
  if (!options.capacity.has_value()) {
    return InvalidArgumentError(
        "RayExecutorOptions.capacity is required (what the cluster can grant at once)");
  }
  RETURN_IF_ERROR(ValidateRequest(*options.capacity, "RayExecutorOptions.capacity"));
  if (options.actor_restart_timeout.count() < 0 || options.connect_timeout.count() <= 0) {
    return InvalidArgumentError("RayExecutorOptions: timeouts must be positive");
  }
  if (options.node_ip_address.empty()) {
    ASSIGN_OR_RETURN(auto host_port, SplitAddress(options.address));
    options.node_ip_address = host_port.first;
  }
  if (options.code_search_path.empty()) options.code_search_path = BridgeLibraryPath();
  if (options.code_search_path.empty()) {
    return FailedPreconditionError("cannot find the path of the Ray bridge library");
  }
  RETURN_IF_ERROR(CheckReachable(options));

  auto shared = std::make_shared<Shared>();
  shared->capacity = *options.capacity;
  if (options.registry != nullptr) shared->registry = *options.registry;
  shared->codecs = options.codecs != nullptr ? *options.codecs : CodecRegistry::WithBuiltins();
  shared->actor_restart_timeout = options.actor_restart_timeout;
  ASSIGN_OR_RETURN(shared->session,
                   RaySession::Connect(options.address, options.code_search_path,
                                       options.node_ip_address));
  return std::unique_ptr<RayExecutor>(new RayExecutor(std::move(shared)));
}

RayExecutor::RayExecutor(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

RayExecutor::~RayExecutor() { Shutdown(); }

void RayExecutor::Shutdown() { shared_->session->Close(); }

Resources RayExecutor::Capacity() const { return shared_->capacity; }

uint64_t RayExecutor::resubmitted_calls() const { return shared_->resubmitted_calls.load(); }

SettleContext RayExecutor::settle_context() const {
  return SettleContext{shared_->codecs, shared_->actor_restart_timeout,
                       shared_->resubmitted_calls};
}

Result<ObjectRef> RayExecutor::DoSubmit(std::string_view kernel, std::vector<Arg> args,
                                        TaskOptions options) {
  std::string what = "task '" + options.name + "'";
  RETURN_IF_ERROR(CheckRayResources(options.resources, what));
  if (shared_->registry.has_value()) RETURN_IF_ERROR(shared_->registry->GetTask(kernel).status());
  ASSIGN_OR_RETURN(EncodedArgs encoded, EncodeArgs(args, shared_->codecs, what));
  ASSIGN_OR_RETURN(std::vector<uint64_t> ref_ids, CurrentBridgeRefs(encoded.refs));
  ray_wire::CallSpec spec;
  spec.kind = ray_wire::CallKind::kTask;
  spec.target = std::string(kernel);
  spec.name = options.name;
  spec.resources = options.resources;
  spec.max_retries = static_cast<uint32_t>(options.max_retries);
  spec.args = std::move(encoded.args);
  Placement placement{options.resources, options.name, 0};
  ASSIGN_OR_RETURN(uint64_t bridge_ref, shared_->session->Submit(ray_wire::EncodeCallSpec(spec),
                                                                 ref_ids, placement));
  return ObjectRef(std::make_shared<RayRefState>(shared_->next_id++, this, what,
                                                 shared_->session, bridge_ref, nullptr));
}

Result<Value> RayExecutor::DoGet(const ObjectRef& ref, Timeout timeout) {
  Result<Value> value = Settle(StateOf(ref), settle_context(), DeadlineOf(timeout),
                               /*follow=*/true);
  if (!value.ok() && value.status().code() == StatusCode::kDeadlineExceeded &&
      !SettledHere(StateOf(ref))) {
    return DeadlineExceededError("Get " + ref.ToString() + ": not ready within " +
                                 Describe(timeout));
  }
  return value;
}

Result<std::vector<ObjectRef>> RayExecutor::DoWait(const std::vector<ObjectRef>& refs,
                                                   size_t num_ready, Timeout timeout) {
  Deadline deadline = DeadlineOf(timeout);
  while (true) {
    // Distinct pending states and the Ray objects behind them.
    std::map<RayRefState*, size_t> pending;
    std::vector<uint64_t> bridge_refs;
    for (const ObjectRef& ref : refs) {
      RayRefState& state = StateOf(ref);
      std::lock_guard<std::mutex> lock(state.mu);
      if (state.outcome.has_value() || state.cancelled || pending.count(&state) > 0) continue;
      pending.emplace(&state, bridge_refs.size());
      bridge_refs.push_back(state.bridge_ref);
    }
    std::vector<bool> ready_in_ray(bridge_refs.size(), false);
    size_t settled = 0;
    for (const ObjectRef& ref : refs) settled += pending.count(&StateOf(ref)) == 0 ? 1 : 0;
    if (settled < num_ready && !bridge_refs.empty()) {
      size_t wanted = std::min(num_ready - settled, bridge_refs.size());
      ASSIGN_OR_RETURN(ready_in_ray, shared_->session->Wait(bridge_refs, wanted, deadline));
    }
    // An actor call that is ready only because its actor died is resubmitted, not ready.
    bool resubmitted = false;
    for (auto& [state, index] : pending) {
      if (!ready_in_ray[index] || state->call() == nullptr) continue;
      Settle(*state, settle_context(), Clock::now(), /*follow=*/false).status().IgnoreError();
      if (!SettledHere(*state)) {
        ready_in_ray[index] = false;
        resubmitted = true;
      }
    }
    std::vector<ObjectRef> ready;
    for (const ObjectRef& ref : refs) {
      RayRefState& state = StateOf(ref);
      auto found = pending.find(&state);
      if (found == pending.end() || ready_in_ray[found->second]) ready.push_back(ref);
    }
    if (ready.size() >= num_ready || Expired(deadline) || !resubmitted) return ready;
  }
}

Status RayExecutor::DoCancel(const ObjectRef& ref) {
  RayRefState& state = StateOf(ref);
  std::lock_guard<std::mutex> lock(state.mu);
  if (!state.outcome.has_value()) state.cancelled = true;
  return Status::Ok();
}

Result<ObjectRef> RayExecutor::DoPut(Value value) {
  ASSIGN_OR_RETURN(std::string serialized,
                   shared_->codecs.Serialize(value));
  ASSIGN_OR_RETURN(uint64_t bridge_ref,
                   shared_->session->Put(ray_wire::EncodeValueResult(serialized)));
  auto state = std::make_shared<RayRefState>(shared_->next_id++, this, "put", shared_->session,
                                             bridge_ref, nullptr);
  state->outcome = std::move(value);  // the driver already has it: Get never fetches it back
  return ObjectRef(std::move(state));
}

Result<ActorHandle> RayExecutor::DoCreateActor(std::string_view actor_class,
                                               std::vector<Arg> args, ActorOptions options) {
  uint64_t id = shared_->next_id++;
  std::string name =
      options.name.empty() ? std::string(actor_class) + "#" + std::to_string(id) : options.name;
  std::string what = "actor '" + name + "'";
  RETURN_IF_ERROR(CheckRayResources(options.resources, what));
  if (shared_->registry.has_value()) {
    RETURN_IF_ERROR(shared_->registry->GetActor(actor_class).status());
  }
  ASSIGN_OR_RETURN(EncodedArgs encoded, EncodeArgs(args, shared_->codecs, what));
  ASSIGN_OR_RETURN(std::vector<uint64_t> ref_ids, CurrentBridgeRefs(encoded.refs));
  ray_wire::CallSpec spec;
  spec.kind = ray_wire::CallKind::kCreateActor;
  spec.target = std::string(actor_class);
  spec.name = name;
  spec.resources = options.resources;
  spec.max_retries = static_cast<uint32_t>(options.max_restarts);
  spec.args = std::move(encoded.args);
  Placement placement{options.resources, name, options.max_restarts};
  if (options.placement_group.valid()) {
    auto& group = static_cast<RayGroupState&>(*options.placement_group.state());
    if (group.removed()) {
      return FailedPreconditionError(what + ": " + options.placement_group.ToString() +
                                     " was removed");
    }
    placement.group = group.bridge_group();
    placement.bundle_index = options.bundle_index;
  }
  ASSIGN_OR_RETURN(uint64_t bridge_actor,
                   shared_->session->CreateActor(ray_wire::EncodeCallSpec(spec), ref_ids,
                                                 placement));
  auto core = std::make_shared<ActorCore>(shared_->session, bridge_actor, name,
                                          options.max_restarts);
  return ActorHandle(std::make_shared<RayActorState>(id, this, name, std::move(core)));
}

Result<ObjectRef> RayExecutor::DoCallActor(const ActorHandle& actor, std::string_view method,
                                           std::vector<Arg> args, CallOptions options) {
  const auto& core = static_cast<RayActorState*>(actor.state())->core();
  std::string name = actor.name() + "." + std::string(method);
  std::string what = "call '" + name + "'";
  ASSIGN_OR_RETURN(EncodedArgs encoded, EncodeArgs(args, shared_->codecs, what));
  ASSIGN_OR_RETURN(std::vector<uint64_t> ref_ids, CurrentBridgeRefs(encoded.refs));
  ray_wire::CallSpec spec;
  spec.kind = ray_wire::CallKind::kCallActor;
  spec.target = std::string(method);
  spec.name = name;
  spec.max_retries = static_cast<uint32_t>(options.max_retries);
  spec.args = std::move(encoded.args);
  auto call = std::make_unique<CallRecord>();
  call->actor = core;
  call->actor_name = actor.name();
  call->spec = ray_wire::EncodeCallSpec(spec);
  call->ref_args = std::move(encoded.refs);
  ASSIGN_OR_RETURN(uint64_t bridge_ref,
                   shared_->session->CallActor(core->bridge_actor, call->spec, ref_ids));
  return ObjectRef(std::make_shared<RayRefState>(shared_->next_id++, this, what,
                                                 shared_->session, bridge_ref,
                                                 std::move(call)));
}

Status RayExecutor::DoKillActor(const ActorHandle& actor, bool no_restart) {
  const auto& core = static_cast<RayActorState*>(actor.state())->core();
  if (no_restart) core->killed_for_good.store(true);
  return shared_->session->KillActor(core->bridge_actor, no_restart);
}

Result<PlacementGroup> RayExecutor::DoCreatePlacementGroup(uint64_t id,
                                                           PlacementGroupOptions options) {
  for (size_t bundle_idx = 0; bundle_idx < options.bundles.size(); ++bundle_idx) {
    RETURN_IF_ERROR(CheckRayResources(options.bundles[bundle_idx],
                                      "placement group '" + options.name + "' bundle " +
                                          std::to_string(bundle_idx)));
  }
  ASSIGN_OR_RETURN(uint64_t bridge_group,
                   shared_->session->CreateGroup(options.bundles, BridgeStrategy(options.strategy)));
  return PlacementGroup(std::make_shared<RayGroupState>(id, this, std::move(options),
                                                        shared_->session, bridge_group));
}

Status RayExecutor::DoWaitPlacementGroup(const PlacementGroup& group, Timeout timeout) {
  auto& state = static_cast<RayGroupState&>(*group.state());
  if (state.removed()) return FailedPreconditionError(group.ToString() + " was removed");
  ASSIGN_OR_RETURN(bool placed, shared_->session->WaitGroup(state.bridge_group(),
                                                            DeadlineOf(timeout)));
  if (placed) return Status::Ok();
  return DeadlineExceededError(
      group.ToString() + " is not placed by Ray within " + Describe(timeout) +
      ": the cluster's nodes are busy, or no layout of its nodes fits the bundles (a bundle "
      "larger than every node, STRICT_SPREAD over more bundles than nodes)");
}

Status RayExecutor::DoRemovePlacementGroup(const PlacementGroup& group) {
  static_cast<RayGroupState&>(*group.state()).Remove();
  return Status::Ok();
}

}  // namespace raypipe::compute
