// libraypipe_ray_bridge.so: the Ray side of the bridge (bridge_c.h). Compiled with
// -D_GLIBCXX_USE_CXX11_ABI=0 -std=c++17 to match Ray's C++ library; it includes Ray's headers
// and bridge_c.h only, so no std::string of either ABI crosses into raypipe.
//
// In Ray's workers: the RAY_REMOTE functions and the actor class below hand the bytes to the
// kernel host (part 1 of bridge_c.h). In the driver: the C API (part 2) over ray::Task,
// ray::Actor, ray::Get, ray::Wait and ray::Put, with Ray's handles kept in id tables.
//
// Facts about Ray 2.60's C++ API that shaped this file (spikes/ray-bridge/FINDINGS.md):
// - ObjectRef's move constructor drops the source's reference before adding the new one, so
//   a ref whose count is 1 is freed in between: never move an ObjectRef. Results of Remote()
//   are bound by guaranteed copy elision and copied into the tables.
// - A call in flight when its actor's process dies comes back from ray::Get<std::vector<char>>
//   as an ordinary value holding Ray's error bytes: every value we store carries kMagic, and
//   a value without it is that error.
// - RayActorException::what() is binary and RayWorkerException::what() is empty: the messages
//   here are our own.
// - Ray needs the driver's node IP as the local raylet registered it; it has no RayConfig
//   field, so it goes through a synthetic argv (never the program's own).

#include <dlfcn.h>
#include <limits.h>
#include <ray/api.h>
#include <stdlib.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "compute/ray/bridge_c.h"

namespace {

using Bytes = std::vector<char>;
using Ref = ray::ObjectRef<Bytes>;

// ---------------------------------------------------------------------------------------
// The envelope of every value the bridge stores.

constexpr char kMagic[4] = {'\xff', 'R', 'P', '1'};

Bytes Wrap(const uint8_t* data, size_t size) {
  Bytes wrapped(sizeof(kMagic) + size);
  std::memcpy(wrapped.data(), kMagic, sizeof(kMagic));
  if (size > 0) std::memcpy(wrapped.data() + sizeof(kMagic), data, size);
  return wrapped;
}

bool HasMagic(const Bytes& value) {
  return value.size() >= sizeof(kMagic) &&
         std::memcmp(value.data(), kMagic, sizeof(kMagic)) == 0;
}

// The payload of a stored value; data == NULL when it is not ours (see rp_bytes).
rp_bytes Payload(const Bytes& value) {
  if (!HasMagic(value)) return rp_bytes{nullptr, 0};
  return rp_bytes{reinterpret_cast<const uint8_t*>(value.data()) + sizeof(kMagic),
                  value.size() - sizeof(kMagic)};
}

// Wraps a result the kernel host allocated, and frees it.
Bytes TakeResult(int code, uint8_t* result, size_t size) {
  if (code != 0 || result == nullptr) {
    rp_kernels_free(result);
    throw std::runtime_error("the kernel host could not make a result (out of memory)");
  }
  Bytes wrapped = Wrap(result, size);
  rp_kernels_free(result);
  return wrapped;
}

// ---------------------------------------------------------------------------------------
// Worker side. One remote function (and one actor method) per number of ref arguments:
// Ray resolves ObjectRef arguments only at the top level of a call.

Bytes RunTask(const Bytes& spec, std::initializer_list<const Bytes*> ref_args) {
  std::vector<rp_bytes> args;
  for (const Bytes* arg : ref_args) args.push_back(Payload(*arg));
  uint8_t* result = nullptr;
  size_t size = 0;
  int code = rp_kernels_run_task(Payload(spec), args.data(), args.size(), &result, &size);
  return TakeResult(code, result, size);
}

Bytes RunTask0(Bytes spec) { return RunTask(spec, {}); }
Bytes RunTask1(Bytes spec, Bytes a0) { return RunTask(spec, {&a0}); }
Bytes RunTask2(Bytes spec, Bytes a0, Bytes a1) { return RunTask(spec, {&a0, &a1}); }
Bytes RunTask3(Bytes spec, Bytes a0, Bytes a1, Bytes a2) {
  return RunTask(spec, {&a0, &a1, &a2});
}
Bytes RunTask4(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3) {
  return RunTask(spec, {&a0, &a1, &a2, &a3});
}
Bytes RunTask5(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3, Bytes a4) {
  return RunTask(spec, {&a0, &a1, &a2, &a3, &a4});
}
Bytes RunTask6(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3, Bytes a4, Bytes a5) {
  return RunTask(spec, {&a0, &a1, &a2, &a3, &a4, &a5});
}

}  // namespace

// The actor class Ray instantiates in an actor's worker process: it owns one instance in the
// kernel host. (Outside the anonymous namespace: Ray names actor methods by their symbols.)
class KernelActor {
 public:
  explicit KernelActor(uint64_t handle) : handle_(handle) {}
  ~KernelActor() {
    if (handle_ != 0) rp_kernels_actor_destroy(handle_);
  }
  KernelActor(const KernelActor&) = delete;
  KernelActor& operator=(const KernelActor&) = delete;

  static KernelActor* Create(const Bytes& spec, std::initializer_list<const Bytes*> ref_args) {
    std::vector<rp_bytes> args;
    for (const Bytes* arg : ref_args) args.push_back(Payload(*arg));
    uint64_t handle = rp_kernels_actor_create(Payload(spec), args.data(), args.size());
    if (handle == 0) throw std::runtime_error("the kernel host could not create the actor");
    return new KernelActor(handle);  // Ray's actor creation protocol takes a raw pointer
  }
  static KernelActor* Create0(Bytes spec) { return Create(spec, {}); }
  static KernelActor* Create1(Bytes spec, Bytes a0) { return Create(spec, {&a0}); }
  static KernelActor* Create2(Bytes spec, Bytes a0, Bytes a1) { return Create(spec, {&a0, &a1}); }
  static KernelActor* Create3(Bytes spec, Bytes a0, Bytes a1, Bytes a2) {
    return Create(spec, {&a0, &a1, &a2});
  }
  static KernelActor* Create4(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3) {
    return Create(spec, {&a0, &a1, &a2, &a3});
  }
  static KernelActor* Create5(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3, Bytes a4) {
    return Create(spec, {&a0, &a1, &a2, &a3, &a4});
  }
  static KernelActor* Create6(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3, Bytes a4,
                              Bytes a5) {
    return Create(spec, {&a0, &a1, &a2, &a3, &a4, &a5});
  }

  Bytes Call(const Bytes& spec, std::initializer_list<const Bytes*> ref_args) {
    std::vector<rp_bytes> args;
    for (const Bytes* arg : ref_args) args.push_back(Payload(*arg));
    uint8_t* result = nullptr;
    size_t size = 0;
    int code =
        rp_kernels_actor_call(handle_, Payload(spec), args.data(), args.size(), &result, &size);
    return TakeResult(code, result, size);
  }
  Bytes Call0(Bytes spec) { return Call(spec, {}); }
  Bytes Call1(Bytes spec, Bytes a0) { return Call(spec, {&a0}); }
  Bytes Call2(Bytes spec, Bytes a0, Bytes a1) { return Call(spec, {&a0, &a1}); }
  Bytes Call3(Bytes spec, Bytes a0, Bytes a1, Bytes a2) { return Call(spec, {&a0, &a1, &a2}); }
  Bytes Call4(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3) {
    return Call(spec, {&a0, &a1, &a2, &a3});
  }
  Bytes Call5(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3, Bytes a4) {
    return Call(spec, {&a0, &a1, &a2, &a3, &a4});
  }
  Bytes Call6(Bytes spec, Bytes a0, Bytes a1, Bytes a2, Bytes a3, Bytes a4, Bytes a5) {
    return Call(spec, {&a0, &a1, &a2, &a3, &a4, &a5});
  }

  // The last call of an actor whose driver dropped its handle: frees the instance and ends the
  // process once the calls made before it ran (Ray's C++ actors otherwise live as long as
  // the driver's job, whatever handles are left).
  Bytes Exit() {
    rp_kernels_actor_destroy(handle_);
    handle_ = 0;
    ray::ExitActor();  // throws Ray's intentional-exit exception: never returns
    return Bytes();
  }

 private:
  uint64_t handle_;
};

RAY_REMOTE(RunTask0, RunTask1, RunTask2, RunTask3, RunTask4, RunTask5, RunTask6);
RAY_REMOTE(KernelActor::Create0, KernelActor::Create1, KernelActor::Create2,
           KernelActor::Create3, KernelActor::Create4, KernelActor::Create5,
           KernelActor::Create6);
RAY_REMOTE(&KernelActor::Call0, &KernelActor::Call1, &KernelActor::Call2, &KernelActor::Call3,
           &KernelActor::Call4, &KernelActor::Call5, &KernelActor::Call6, &KernelActor::Exit);

namespace {

// ---------------------------------------------------------------------------------------
// Driver side.

using Actor = ray::ActorHandle<KernelActor>;

// A failure with a bridge code.
struct BridgeError : std::runtime_error {
  BridgeError(int code, const std::string& message) : std::runtime_error(message), code(code) {}
  int code;
};

// The process's connection to Ray: Ray's runtime is a per-process singleton, so this is too.
struct Driver {
  std::mutex mu;  // guards everything below
  enum class State { kNever, kRunning, kShutDown } state = State::kNever;
  std::unordered_map<uint64_t, Ref> refs;
  std::unordered_map<uint64_t, Actor> actors;
  std::unordered_map<uint64_t, ray::PlacementGroup> groups;
  uint64_t next_id = 1;
};

Driver& TheDriver() {
  static Driver* driver = new Driver;  // never destroyed: Ray's threads may outlive statics
  return *driver;
}

char* CopyString(const std::string& text) {
  char* copy = static_cast<char*>(malloc(text.size() + 1));
  if (copy != nullptr) std::memcpy(copy, text.c_str(), text.size() + 1);
  return copy;
}

// Only the printable part of `text` (some of Ray's messages hold protobuf bytes).
std::string Printable(const std::string& text) {
  std::string printable;
  for (unsigned char c : text) {
    if (c >= 32 && c < 127) printable += static_cast<char>(c);
  }
  return printable;
}

// Runs `body`, mapping every exception to a code and a message: nothing escapes into C.
int Guard(char** error, const std::function<void()>& body) {
  int code = RP_RAY_OK;
  std::string message;
  try {
    body();
    return RP_RAY_OK;
  } catch (const BridgeError& e) {
    code = e.code;
    message = e.what();
  } catch (const ray::internal::RayTimeoutException& e) {
    code = RP_RAY_TIMEOUT;
    message = "timed out";
  } catch (const ray::internal::RayActorException& e) {
    code = RP_RAY_ACTOR_DIED;
    message = "the actor died";
  } catch (const ray::internal::RayWorkerException& e) {
    code = RP_RAY_WORKER_DIED;
    message = "the task's worker process died";
  } catch (const ray::internal::RayFunctionNotFound& e) {
    code = RP_RAY_FUNCTION_NOT_FOUND;
    message = Printable(e.what());
  } catch (const ray::internal::UnreconstructableException& e) {
    code = RP_RAY_OBJECT_LOST;
    message = "the object was lost and cannot be reconstructed: " + Printable(e.what());
  } catch (const ray::internal::RayTaskException& e) {
    message = Printable(e.what());
    // A worker that cannot find a function reports it inside a task error.
    code = message.find("RayFunctionNotFound") != std::string::npos ||
                   message.find("Function not found") != std::string::npos
               ? RP_RAY_FUNCTION_NOT_FOUND
               : RP_RAY_TASK_FAILED;
  } catch (const std::exception& e) {
    code = RP_RAY_INTERNAL;
    message = Printable(e.what());
  } catch (...) {
    code = RP_RAY_INTERNAL;
    message = "an unknown exception";
  }
  if (error != nullptr) *error = CopyString(message);
  return code;
}

void RequireRunning(Driver& driver) {
  if (driver.state != Driver::State::kRunning) {
    throw BridgeError(RP_RAY_INVALID, "Ray is not initialized in this process");
  }
}

uint64_t StoreRef(const Ref& ref) {
  Driver& driver = TheDriver();
  std::lock_guard<std::mutex> lock(driver.mu);
  RequireRunning(driver);
  uint64_t id = driver.next_id++;
  driver.refs.emplace(id, ref);  // a copy: adds a reference before anything drops one
  return id;
}

// A copy of the ref `id` (never a move: see the file comment).
Ref FindRef(uint64_t id) {
  Driver& driver = TheDriver();
  std::lock_guard<std::mutex> lock(driver.mu);
  RequireRunning(driver);
  auto found = driver.refs.find(id);
  if (found == driver.refs.end()) {
    throw BridgeError(RP_RAY_INVALID, "unknown object ref id " + std::to_string(id));
  }
  return found->second;
}

Actor FindActor(uint64_t id) {
  Driver& driver = TheDriver();
  std::lock_guard<std::mutex> lock(driver.mu);
  RequireRunning(driver);
  auto found = driver.actors.find(id);
  if (found == driver.actors.end()) {
    throw BridgeError(RP_RAY_INVALID, "unknown actor id " + std::to_string(id));
  }
  return found->second;
}

ray::PlacementGroup FindGroup(uint64_t id) {
  Driver& driver = TheDriver();
  std::lock_guard<std::mutex> lock(driver.mu);
  RequireRunning(driver);
  auto found = driver.groups.find(id);
  if (found == driver.groups.end()) {
    throw BridgeError(RP_RAY_INVALID, "unknown placement group id " + std::to_string(id));
  }
  return found->second;
}

std::vector<Ref> FindRefs(const uint64_t* ids, size_t count) {
  if (count > RP_RAY_MAX_REF_ARGS) {
    throw BridgeError(RP_RAY_INVALID, std::to_string(count) + " ref arguments; at most " +
                                          std::to_string(RP_RAY_MAX_REF_ARGS));
  }
  std::vector<Ref> refs;
  for (size_t i = 0; i < count; ++i) refs.push_back(FindRef(ids[i]));
  return refs;
}

Bytes SpecBytes(rp_bytes spec) {
  if (spec.data == nullptr && spec.size > 0) throw BridgeError(RP_RAY_INVALID, "null spec");
  return Wrap(spec.data, spec.size);
}

std::unordered_map<std::string, double> ResourcesOf(const rp_ray_options* options) {
  std::unordered_map<std::string, double> resources;
  if (options == nullptr) return resources;
  if (options->cpus > 0) resources["CPU"] = options->cpus;
  if (options->memory_bytes > 0) resources["memory"] = options->memory_bytes;
  return resources;
}

// `named`: tasks take the name for display. Actors never do: a name makes a Ray actor a named
// actor, unique in its namespace, so a part rerun on a new actor while the old one is dying, or
// two drivers using the same name, would fail with "Create actor error".
template <typename Caller>
Caller& Configure(Caller& caller, const rp_ray_options* options, bool named = true) {
  if (named && options != nullptr && options->name != nullptr && options->name[0] != '\0') {
    caller.SetName(options->name);
  }
  auto resources = ResourcesOf(options);
  if (!resources.empty()) caller.SetResources(resources);
  if (options != nullptr && options->group != 0) {
    caller.SetPlacementGroup(FindGroup(options->group), options->bundle_index);
  }
  return caller;
}

// Each returns its ObjectRef as a prvalue (guaranteed elision: no move).
Ref SubmitTask(const Bytes& spec, const std::vector<Ref>& a, const rp_ray_options* options) {
  switch (a.size()) {
    case 0: {
      auto caller = ray::Task(RunTask0);
      return Configure(caller, options).Remote(spec);
    }
    case 1: {
      auto caller = ray::Task(RunTask1);
      return Configure(caller, options).Remote(spec, a[0]);
    }
    case 2: {
      auto caller = ray::Task(RunTask2);
      return Configure(caller, options).Remote(spec, a[0], a[1]);
    }
    case 3: {
      auto caller = ray::Task(RunTask3);
      return Configure(caller, options).Remote(spec, a[0], a[1], a[2]);
    }
    case 4: {
      auto caller = ray::Task(RunTask4);
      return Configure(caller, options).Remote(spec, a[0], a[1], a[2], a[3]);
    }
    case 5: {
      auto caller = ray::Task(RunTask5);
      return Configure(caller, options).Remote(spec, a[0], a[1], a[2], a[3], a[4]);
    }
    default: {
      auto caller = ray::Task(RunTask6);
      return Configure(caller, options).Remote(spec, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
  }
}

Actor CreateActor(const Bytes& spec, const std::vector<Ref>& a, const rp_ray_options* options) {
  auto configure = [options](auto& creator) -> auto& {
    Configure(creator, options, /*named=*/false);
    if (options != nullptr && options->max_restarts != 0) {
      creator.SetMaxRestarts(options->max_restarts);
    }
    return creator;
  };
  switch (a.size()) {
    case 0: {
      auto creator = ray::Actor(KernelActor::Create0);
      return configure(creator).Remote(spec);
    }
    case 1: {
      auto creator = ray::Actor(KernelActor::Create1);
      return configure(creator).Remote(spec, a[0]);
    }
    case 2: {
      auto creator = ray::Actor(KernelActor::Create2);
      return configure(creator).Remote(spec, a[0], a[1]);
    }
    case 3: {
      auto creator = ray::Actor(KernelActor::Create3);
      return configure(creator).Remote(spec, a[0], a[1], a[2]);
    }
    case 4: {
      auto creator = ray::Actor(KernelActor::Create4);
      return configure(creator).Remote(spec, a[0], a[1], a[2], a[3]);
    }
    case 5: {
      auto creator = ray::Actor(KernelActor::Create5);
      return configure(creator).Remote(spec, a[0], a[1], a[2], a[3], a[4]);
    }
    default: {
      auto creator = ray::Actor(KernelActor::Create6);
      return configure(creator).Remote(spec, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
  }
}

Ref CallActor(Actor& actor, const Bytes& spec, const std::vector<Ref>& a) {
  switch (a.size()) {
    case 0:
      return actor.Task(&KernelActor::Call0).Remote(spec);
    case 1:
      return actor.Task(&KernelActor::Call1).Remote(spec, a[0]);
    case 2:
      return actor.Task(&KernelActor::Call2).Remote(spec, a[0], a[1]);
    case 3:
      return actor.Task(&KernelActor::Call3).Remote(spec, a[0], a[1], a[2]);
    case 4:
      return actor.Task(&KernelActor::Call4).Remote(spec, a[0], a[1], a[2], a[3]);
    case 5:
      return actor.Task(&KernelActor::Call5).Remote(spec, a[0], a[1], a[2], a[3], a[4]);
    default:
      return actor.Task(&KernelActor::Call6).Remote(spec, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
}

int TimeoutMs(int64_t timeout_ms) {
  return timeout_ms > INT_MAX ? INT_MAX : static_cast<int>(timeout_ms);
}

}  // namespace

extern "C" {

const char* rp_ray_bridge_path(void) {
  static const char* path = [] () -> const char* {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&rp_ray_bridge_path), &info) == 0 ||
        info.dli_fname == nullptr) {
      return nullptr;
    }
    return realpath(info.dli_fname, nullptr);  // kept for the life of the process
  }();
  return path;
}

int rp_ray_init(const char* address, const char* code_search_path, const char* node_ip_address,
                char** error) {
  return Guard(error, [&] {
    if (address == nullptr || address[0] == '\0') {
      throw BridgeError(RP_RAY_INVALID, "an address is required: the bridge never starts Ray");
    }
    Driver& driver = TheDriver();
    std::lock_guard<std::mutex> lock(driver.mu);
    if (driver.state == Driver::State::kRunning) {
      throw BridgeError(RP_RAY_INVALID, "Ray is already initialized in this process");
    }
    if (driver.state == Driver::State::kShutDown) {
      throw BridgeError(RP_RAY_INVALID,
                        "Ray was shut down in this process and cannot start again");
    }
    ray::RayConfig config;
    config.address = address;
    std::string paths = code_search_path != nullptr ? code_search_path : "";
    for (size_t start = 0; start <= paths.size();) {
      size_t end = paths.find(':', start);
      if (end == std::string::npos) end = paths.size();
      if (end > start) config.code_search_path.push_back(paths.substr(start, end - start));
      start = end + 1;
    }
    std::vector<std::string> args = {"raypipe-driver"};
    if (node_ip_address != nullptr && node_ip_address[0] != '\0') {
      args.push_back(std::string("--ray_node_ip_address=") + node_ip_address);
    }
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(&arg[0]);
    argv.push_back(nullptr);
    ray::Init(config, static_cast<int>(args.size()), argv.data());
    driver.state = Driver::State::kRunning;
  });
}

int rp_ray_initialized(void) {
  Driver& driver = TheDriver();
  std::lock_guard<std::mutex> lock(driver.mu);
  return driver.state == Driver::State::kRunning ? 1 : 0;
}

void rp_ray_shutdown(void) {
  Guard(nullptr, [] {
    Driver& driver = TheDriver();
    std::unordered_map<uint64_t, Ref> refs;
    std::unordered_map<uint64_t, Actor> actors;
    std::unordered_map<uint64_t, ray::PlacementGroup> groups;
    {
      std::lock_guard<std::mutex> lock(driver.mu);
      if (driver.state != Driver::State::kRunning) return;
      driver.state = Driver::State::kShutDown;
      refs.swap(driver.refs);
      actors.swap(driver.actors);
      groups.swap(driver.groups);
    }
    // Drop Ray's handles while its runtime is still alive.
    refs.clear();
    actors.clear();
    for (auto& entry : groups) {
      try {
        ray::RemovePlacementGroup(entry.second.GetID());
      } catch (...) {
        // Ray drops a job's placement groups when the job ends anyway.
      }
    }
    groups.clear();
    ray::Shutdown();
  });
}

void rp_ray_free(void* pointer) { free(pointer); }

int rp_ray_put(rp_bytes value, uint64_t* ref, char** error) {
  return Guard(error, [&] {
    if (ref == nullptr || (value.data == nullptr && value.size > 0)) {
      throw BridgeError(RP_RAY_INVALID, "rp_ray_put: null argument");
    }
    RequireRunning(TheDriver());
    Ref stored = ray::Put(Wrap(value.data, value.size));
    *ref = StoreRef(stored);
  });
}

int rp_ray_submit(rp_bytes spec, const uint64_t* ref_args, size_t num_ref_args,
                  const rp_ray_options* options, uint64_t* ref, char** error) {
  return Guard(error, [&] {
    if (ref == nullptr) throw BridgeError(RP_RAY_INVALID, "rp_ray_submit: null ref");
    std::vector<Ref> args = FindRefs(ref_args, num_ref_args);
    Ref result = SubmitTask(SpecBytes(spec), args, options);
    *ref = StoreRef(result);
  });
}

int rp_ray_get(uint64_t ref, int64_t timeout_ms, uint8_t** value, size_t* value_size,
               char** error) {
  return Guard(error, [&] {
    if (value == nullptr || value_size == nullptr) {
      throw BridgeError(RP_RAY_INVALID, "rp_ray_get: null output");
    }
    Ref object = FindRef(ref);
    std::shared_ptr<Bytes> stored =
        timeout_ms < 0 ? ray::Get(object) : ray::Get(object, TimeoutMs(timeout_ms));
    if (stored == nullptr) throw BridgeError(RP_RAY_INTERNAL, "Ray returned no object");
    rp_bytes payload = Payload(*stored);
    if (payload.data == nullptr) {
      throw BridgeError(RP_RAY_ACTOR_UNAVAILABLE,
                        "the actor's process died while the call ran (Ray returned: " +
                            Printable(std::string(stored->begin(), stored->end())) + ")");
    }
    uint8_t* copy = static_cast<uint8_t*>(malloc(payload.size > 0 ? payload.size : 1));
    if (copy == nullptr) throw BridgeError(RP_RAY_INTERNAL, "out of memory");
    if (payload.size > 0) std::memcpy(copy, payload.data, payload.size);
    *value = copy;
    *value_size = payload.size;
  });
}

int rp_ray_wait(const uint64_t* refs, size_t num_refs, size_t num_ready, int64_t timeout_ms,
                uint8_t* ready, char** error) {
  return Guard(error, [&] {
    if ((refs == nullptr || ready == nullptr) && num_refs > 0) {
      throw BridgeError(RP_RAY_INVALID, "rp_ray_wait: null argument");
    }
    if (num_ready > num_refs) {
      throw BridgeError(RP_RAY_INVALID, "rp_ray_wait: num_ready exceeds the refs given");
    }
    std::vector<Ref> objects;
    std::unordered_map<std::string, size_t> index_of;
    for (size_t i = 0; i < num_refs; ++i) {
      objects.push_back(FindRef(refs[i]));
      index_of[objects.back().ID()] = i;
      ready[i] = 0;
    }
    if (num_refs == 0) return;
    ray::WaitResult<Bytes> result =
        ray::Wait(objects, static_cast<int>(num_ready), TimeoutMs(timeout_ms < 0 ? -1 : timeout_ms));
    for (const Ref& done : result.ready) {
      auto found = index_of.find(done.ID());
      if (found != index_of.end()) ready[found->second] = 1;
    }
  });
}

void rp_ray_release(uint64_t ref) {
  Guard(nullptr, [ref] {
    Driver& driver = TheDriver();
    Ref dropped;  // destroyed after the lock is released
    std::lock_guard<std::mutex> lock(driver.mu);
    auto found = driver.refs.find(ref);
    if (found == driver.refs.end()) return;
    dropped = found->second;
    driver.refs.erase(found);
  });
}

int rp_ray_actor_create(rp_bytes spec, const uint64_t* ref_args, size_t num_ref_args,
                        const rp_ray_options* options, uint64_t* actor, char** error) {
  return Guard(error, [&] {
    if (actor == nullptr) throw BridgeError(RP_RAY_INVALID, "rp_ray_actor_create: null actor");
    std::vector<Ref> args = FindRefs(ref_args, num_ref_args);
    Actor created = CreateActor(SpecBytes(spec), args, options);
    Driver& driver = TheDriver();
    std::lock_guard<std::mutex> lock(driver.mu);
    RequireRunning(driver);
    uint64_t id = driver.next_id++;
    driver.actors.emplace(id, created);
    *actor = id;
  });
}

int rp_ray_actor_call(uint64_t actor, rp_bytes spec, const uint64_t* ref_args,
                      size_t num_ref_args, uint64_t* ref, char** error) {
  return Guard(error, [&] {
    if (ref == nullptr) throw BridgeError(RP_RAY_INVALID, "rp_ray_actor_call: null ref");
    Actor handle = FindActor(actor);
    std::vector<Ref> args = FindRefs(ref_args, num_ref_args);
    Ref result = CallActor(handle, SpecBytes(spec), args);
    *ref = StoreRef(result);
  });
}

int rp_ray_actor_kill(uint64_t actor, int no_restart, char** error) {
  return Guard(error, [&] {
    Actor handle = FindActor(actor);
    handle.Kill(no_restart != 0);
  });
}

void rp_ray_actor_release(uint64_t actor) {
  Guard(nullptr, [actor] {
    Driver& driver = TheDriver();
    Actor dropped;
    {
      std::lock_guard<std::mutex> lock(driver.mu);
      auto found = driver.actors.find(actor);
      if (found == driver.actors.end()) return;
      dropped = found->second;
      driver.actors.erase(found);
    }
    // Queued behind the calls already made: the actor runs them, then exits. (A dead actor
    // refuses the call; nothing to do then.)
    Ref ignored = dropped.Task(&KernelActor::Exit).Remote();
  });
}

int rp_ray_group_create(const rp_ray_bundle* bundles, size_t num_bundles, int strategy,
                        uint64_t* group, char** error) {
  return Guard(error, [&] {
    if (group == nullptr || bundles == nullptr || num_bundles == 0) {
      throw BridgeError(RP_RAY_INVALID, "rp_ray_group_create: no bundles or null output");
    }
    ray::PlacementGroupCreationOptions options;
    switch (strategy) {
      case RP_RAY_PACK:
        options.strategy = ray::PlacementStrategy::PACK;
        break;
      case RP_RAY_SPREAD:
        options.strategy = ray::PlacementStrategy::SPREAD;
        break;
      case RP_RAY_STRICT_SPREAD:
        options.strategy = ray::PlacementStrategy::STRICT_SPREAD;
        break;
      default:
        throw BridgeError(RP_RAY_INVALID, "unknown placement strategy " + std::to_string(strategy));
    }
    for (size_t i = 0; i < num_bundles; ++i) {
      std::unordered_map<std::string, double> bundle;
      if (bundles[i].cpus > 0) bundle["CPU"] = bundles[i].cpus;
      if (bundles[i].memory_bytes > 0) bundle["memory"] = bundles[i].memory_bytes;
      if (bundle.empty()) throw BridgeError(RP_RAY_INVALID, "an empty bundle");
      options.bundles.push_back(bundle);
    }
    // No name: a named group is unique in its namespace, and two drivers could collide.
    RequireRunning(TheDriver());
    ray::PlacementGroup created = ray::CreatePlacementGroup(options);
    Driver& driver = TheDriver();
    std::lock_guard<std::mutex> lock(driver.mu);
    RequireRunning(driver);
    uint64_t id = driver.next_id++;
    driver.groups.emplace(id, created);
    *group = id;
  });
}

int rp_ray_group_wait(uint64_t group, int timeout_seconds, char** error) {
  return Guard(error, [&] {
    ray::PlacementGroup found = FindGroup(group);
    if (!found.Wait(timeout_seconds < 0 ? 0 : timeout_seconds)) {
      throw BridgeError(RP_RAY_TIMEOUT, "the placement group is not placed yet");
    }
  });
}

void rp_ray_group_remove(uint64_t group) {
  Guard(nullptr, [group] {
    Driver& driver = TheDriver();
    std::string ray_id;
    {
      std::lock_guard<std::mutex> lock(driver.mu);
      auto found = driver.groups.find(group);
      if (found == driver.groups.end() || driver.state != Driver::State::kRunning) return;
      ray_id = found->second.GetID();
      driver.groups.erase(found);
    }
    ray::RemovePlacementGroup(ray_id);
  });
}

}  // extern "C"
