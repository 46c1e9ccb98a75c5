// libspike_ray_bridge.so: compiled with -D_GLIBCXX_USE_CXX11_ABI=0 -std=c++17.
// Includes only Ray's headers and bridge_c.h. Worker side: RAY_REMOTE functions that call
// the kernels through the C interface. Driver side: a C API over ray::Task/Actor/Get/Wait.
#include <ray/api.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "bridge_c.h"

#ifdef SPIKE_DLOPEN
#include <dlfcn.h>
#endif

namespace {

// ---------------- reaching the kernels library ----------------
struct KernelsApi {
  decltype(&spike_invoke) invoke;
  decltype(&spike_free) free_;
  decltype(&spike_actor_create) actor_create;
  decltype(&spike_actor_call) actor_call;
  decltype(&spike_actor_destroy) actor_destroy;
};

const KernelsApi& K() {
#ifndef SPIKE_DLOPEN
  static const KernelsApi api{&spike_invoke, &spike_free, &spike_actor_create,
                              &spike_actor_call, &spike_actor_destroy};
  return api;
#else
  static const KernelsApi api = [] {
    const char* path = std::getenv("SPIKE_KERNELS_LIB");
    if (!path || !*path) path = SPIKE_KERNELS_PATH;  // baked at build time
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) throw std::runtime_error(std::string("dlopen kernels failed: ") + dlerror());
    auto sym = [&](const char* n) {
      void* p = dlsym(h, n);
      if (!p) throw std::runtime_error(std::string("dlsym failed: ") + n);
      return p;
    };
    KernelsApi a;
    a.invoke = reinterpret_cast<decltype(a.invoke)>(sym("spike_invoke"));
    a.free_ = reinterpret_cast<decltype(a.free_)>(sym("spike_free"));
    a.actor_create = reinterpret_cast<decltype(a.actor_create)>(sym("spike_actor_create"));
    a.actor_call = reinterpret_cast<decltype(a.actor_call)>(sym("spike_actor_call"));
    a.actor_destroy = reinterpret_cast<decltype(a.actor_destroy)>(sym("spike_actor_destroy"));
    return a;
  }();
  return api;
#endif
}

[[noreturn]] void throw_kernel_error(char* err) {
  std::string msg = err ? err : "unknown kernel error";
  if (err) K().free_(err);
  throw std::runtime_error(msg);
}

// Every value we put into Ray carries this 4-byte prefix. Ray 2.60's C++ ray::Get<T>
// does not recognise some system errors (e.g. ACTOR_UNAVAILABLE for a call in flight when
// an actor's worker dies) and hands back the error's protobuf bytes deserialized as T; the
// prefix lets us tell such garbage from a real result.
const char kMagic[4] = {'\xff', 'R', 'P', '1'};
std::vector<char> wrap(const uint8_t* p, size_t n) {
  std::vector<char> v(sizeof(kMagic) + n);
  std::memcpy(v.data(), kMagic, sizeof(kMagic));
  if (n) std::memcpy(v.data() + sizeof(kMagic), p, n);
  return v;
}
bool has_magic(const std::vector<char>& v) {
  return v.size() >= sizeof(kMagic) && std::memcmp(v.data(), kMagic, sizeof(kMagic)) == 0;
}
void unwrap_or_throw(const std::vector<char>& v, const uint8_t** p, size_t* n) {
  if (!has_magic(v)) throw std::runtime_error("bridge: argument without envelope");
  *p = reinterpret_cast<const uint8_t*>(v.data()) + sizeof(kMagic);
  *n = v.size() - sizeof(kMagic);
}
}  // namespace

// ---------------- worker side: remote functions and actor ----------------
std::vector<char> RunKernel(std::string name, std::vector<char> args) {
  const uint8_t* in;
  size_t in_len;
  unwrap_or_throw(args, &in, &in_len);
  uint8_t* out = nullptr;
  size_t n = 0;
  char* err = nullptr;
  if (K().invoke(name.c_str(), in, in_len, &out, &n, &err) != 0) throw_kernel_error(err);
  std::vector<char> r = wrap(out, n);
  K().free_(out);
  return r;
}
RAY_REMOTE(RunKernel);

class BridgeActor {
 public:
  uint64_t handle = 0;
  static BridgeActor* Create(std::string cls, std::vector<char> args) {
    const uint8_t* in;
    size_t in_len;
    unwrap_or_throw(args, &in, &in_len);
    uint64_t h = 0;
    char* err = nullptr;
    if (K().actor_create(cls.c_str(), in, in_len, &h, &err) != 0)
      throw_kernel_error(err);
    auto* a = new BridgeActor;
    a->handle = h;
    return a;
  }
  std::vector<char> Call(std::string method, std::vector<char> args) {
    const uint8_t* in;
    size_t in_len;
    unwrap_or_throw(args, &in, &in_len);
    uint8_t* out = nullptr;
    size_t n = 0;
    char* err = nullptr;
    if (K().actor_call(handle, method.c_str(), in, in_len, &out, &n, &err) != 0)
      throw_kernel_error(err);
    std::vector<char> r = wrap(out, n);
    K().free_(out);
    return r;
  }
  ~BridgeActor() { K().actor_destroy(handle); }
};
RAY_REMOTE(BridgeActor::Create, &BridgeActor::Call);

// ---------------- driver side: C API ----------------
namespace {
using Ref = ray::ObjectRef<std::vector<char>>;
std::mutex g_mu;
std::unordered_map<uint64_t, Ref> g_refs;
std::unordered_map<uint64_t, ray::ActorHandle<BridgeActor>> g_actors;
std::atomic<uint64_t> g_next{1};

char* dup_cstr(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}
// NEVER move a ray::ObjectRef: its move constructor (Ray 2.60 object_ref.h) drops the
// source's reference before adding the new one, so a ref whose count is 1 (e.g. from
// ray::Put) is freed in between and the next use aborts with ObjectUnknownOwner.
// Bind results to a local (guaranteed elision) and copy them into the table.
uint64_t store_ref(const Ref& r) {
  uint64_t id = g_next++;
  std::lock_guard<std::mutex> l(g_mu);
  g_refs.emplace(id, r);  // copy: adds a reference first
  return id;
}
bool find_ref(uint64_t id, Ref* r) {
  std::lock_guard<std::mutex> l(g_mu);
  auto it = g_refs.find(id);
  if (it == g_refs.end()) return false;
  *r = it->second;
  return true;
}
std::vector<char> to_vec(const uint8_t* in, size_t n) { return wrap(in, n); }
struct ActorDied : std::runtime_error {
  using std::runtime_error::runtime_error;
};
std::string printable(const std::string& s) {
  std::string o;
  for (unsigned char c : s)
    if (c >= 32 && c < 127) o += static_cast<char>(c);
  return o;
}
// Map Ray's exceptions to codes; never let a C++ exception cross the C boundary.
template <class F>
int guard(char** error, F&& f) {
  try {
    f();
    return SPIKE_RAY_OK;
  } catch (const ray::internal::RayTimeoutException& e) {
    if (error) *error = dup_cstr(e.what());
    return SPIKE_RAY_TIMEOUT;
  } catch (const ray::internal::RayActorException& e) {
    // what() is not text in 2.60 (a few binary bytes): say it ourselves.
    if (error) *error = dup_cstr("actor died (RayActorException)");
    return SPIKE_RAY_ACTOR_DIED;
  } catch (const ActorDied& e) {
    if (error) *error = dup_cstr(e.what());
    return SPIKE_RAY_ACTOR_DIED;
  } catch (const ray::internal::RayWorkerException& e) {
    if (error) *error = dup_cstr(std::string("worker died (RayWorkerException)") + e.what());
    return SPIKE_RAY_WORKER_DIED;
  } catch (const ray::internal::RayFunctionNotFound& e) {
    if (error) *error = dup_cstr(e.what());
    return SPIKE_RAY_NOT_FOUND;
  } catch (const ray::internal::RayTaskException& e) {
    if (error) *error = dup_cstr(e.what());
    return SPIKE_RAY_TASK_ERR;
  } catch (const std::exception& e) {
    if (error) *error = dup_cstr(std::string("[") + typeid(e).name() + "] " + e.what());
    return SPIKE_RAY_ERR;
  } catch (...) {
    if (error) *error = dup_cstr("unknown exception");
    return SPIKE_RAY_ERR;
  }
}
}  // namespace

extern "C" {
int spike_ray_init(const char* address, const char* code_search_path,
                   const char* node_ip_address, char** error) {
  return guard(error, [&] {
    if (!address || !*address) throw std::invalid_argument("address is required");
    ray::RayConfig config;
    config.address = address;
    std::string p = code_search_path ? code_search_path : "";
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      if (end > start) config.code_search_path.push_back(p.substr(start, end - start));
      start = end + 1;
    }
    // Flags Ray has no RayConfig field for go through a synthetic argv (never the
    // program's own argv).
    std::vector<std::string> args = {"raypipe-driver"};
    if (node_ip_address && *node_ip_address)
      args.push_back(std::string("--ray_node_ip_address=") + node_ip_address);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    ray::Init(config, static_cast<int>(args.size()), argv.data());
  });
}
void spike_ray_shutdown(void) {
  {
    std::lock_guard<std::mutex> l(g_mu);
    g_refs.clear();    // drop references while the runtime is alive
    g_actors.clear();
  }
  ray::Shutdown();
}
void spike_ray_free(void* p) { std::free(p); }
int spike_ray_put(const uint8_t* in, size_t in_len, uint64_t* ref, char** error) {
  return guard(error, [&] {
    Ref r = ray::Put(to_vec(in, in_len));
    *ref = store_ref(r);
  });
}
int spike_ray_submit(const char* kernel, const uint8_t* in, size_t in_len, double cpu,
                     uint64_t* ref, char** error) {
  return guard(error, [&] {
    auto t = ray::Task(RunKernel);
    if (cpu > 0) t.SetResource("CPU", cpu);
    Ref r = t.Remote(std::string(kernel), to_vec(in, in_len));
    *ref = store_ref(r);
  });
}
int spike_ray_submit_ref(const char* kernel, uint64_t arg_ref, double cpu, uint64_t* ref,
                         char** error) {
  return guard(error, [&] {
    Ref a;
    if (!find_ref(arg_ref, &a)) throw std::invalid_argument("unknown ref");
    auto t = ray::Task(RunKernel);
    if (cpu > 0) t.SetResource("CPU", cpu);
    Ref r = t.Remote(std::string(kernel), a);
    *ref = store_ref(r);
  });
}
int spike_ray_get(uint64_t ref, int timeout_ms, uint8_t** out, size_t* out_len, char** error) {
  return guard(error, [&] {
    Ref r;
    if (!find_ref(ref, &r)) throw std::invalid_argument("unknown ref");
    std::shared_ptr<std::vector<char>> v = ray::Get(r, timeout_ms);
    if (!has_magic(*v))
      throw ActorDied("system error object returned as a value: " +
                      printable(std::string(v->begin(), v->end())));
    size_t n = v->size() - sizeof(kMagic);
    *out = static_cast<uint8_t*>(std::malloc(n ? n : 1));
    if (n) std::memcpy(*out, v->data() + sizeof(kMagic), n);
    *out_len = n;
  });
}
int spike_ray_wait(const uint64_t* refs, size_t n, size_t num_returns, int timeout_ms,
                   uint8_t* ready, size_t* num_ready, char** error) {
  return guard(error, [&] {
    std::vector<Ref> rs(n);
    for (size_t i = 0; i < n; i++)
      if (!find_ref(refs[i], &rs[i])) throw std::invalid_argument("unknown ref");
    auto res = ray::Wait(rs, static_cast<int>(num_returns), timeout_ms);
    std::unordered_map<std::string, size_t> pos;
    for (size_t i = 0; i < n; i++) pos[rs[i].ID()] = i, ready[i] = 0;
    for (auto& r : res.ready) ready[pos[r.ID()]] = 1;
    *num_ready = res.ready.size();
  });
}
void spike_ray_release(uint64_t ref) {
  std::lock_guard<std::mutex> l(g_mu);
  g_refs.erase(ref);
}
int spike_ray_actor_create(const char* cls, const uint8_t* in, size_t in_len, double cpu,
                           int max_restarts, uint64_t* actor, char** error) {
  return guard(error, [&] {
    auto c = ray::Actor(BridgeActor::Create);
    if (cpu > 0) c.SetResource("CPU", cpu);
    if (max_restarts != 0) c.SetMaxRestarts(max_restarts);
    auto h = c.Remote(std::string(cls), to_vec(in, in_len));
    uint64_t id = g_next++;
    std::lock_guard<std::mutex> l(g_mu);
    g_actors.emplace(id, h);
    *actor = id;
  });
}
int spike_ray_actor_call(uint64_t actor, const char* method, const uint8_t* in, size_t in_len,
                         uint64_t* ref, char** error) {
  return guard(error, [&] {
    ray::ActorHandle<BridgeActor> h;
    {
      std::lock_guard<std::mutex> l(g_mu);
      auto it = g_actors.find(actor);
      if (it == g_actors.end()) throw std::invalid_argument("unknown actor");
      h = it->second;
    }
    Ref r = h.Task(&BridgeActor::Call).Remote(std::string(method), to_vec(in, in_len));
    *ref = store_ref(r);
  });
}
void spike_ray_actor_kill(uint64_t actor, int no_restart) {
  guard(nullptr, [&] {
    std::lock_guard<std::mutex> l(g_mu);
    auto it = g_actors.find(actor);
    if (it != g_actors.end()) it->second.Kill(no_restart != 0);
  });
}
void spike_ray_actor_release(uint64_t actor) {
  std::lock_guard<std::mutex> l(g_mu);
  g_actors.erase(actor);
}
}
