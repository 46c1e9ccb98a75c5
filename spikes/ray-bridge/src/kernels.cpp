// libspike_kernels.so: normal build (new libstdc++ ABI, C++20). Exports only the C API.
#include "bridge_c.h"
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {
using Bytes = std::vector<uint8_t>;

char* dup_cstr(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}
void give(const Bytes& b, uint8_t** out, size_t* out_len) {
  *out = static_cast<uint8_t*>(std::malloc(b.empty() ? 1 : b.size()));
  if (!b.empty()) std::memcpy(*out, b.data(), b.size());
  *out_len = b.size();
}
template <class T> Bytes pack(T v) {
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}
template <class T> T unpack(std::span<const uint8_t> in) {
  if (in.size() < sizeof(T)) throw std::runtime_error("input too short");
  T v;
  std::memcpy(&v, in.data(), sizeof(T));
  return v;
}

using Kernel = std::function<Bytes(std::span<const uint8_t>)>;
const std::map<std::string, Kernel, std::less<>>& kernels() {
  static const std::map<std::string, Kernel, std::less<>> k = {
      {"sum",
       [](std::span<const uint8_t> in) {
         if (in.size() % sizeof(double)) throw std::runtime_error("sum: not doubles");
         double s = 0;
         for (size_t i = 0; i < in.size(); i += sizeof(double)) s += unpack<double>(in.subspan(i));
         return pack(s);
       }},
      {"fail",
       [](std::span<const uint8_t>) -> Bytes {
         throw std::runtime_error("kernel 'fail' failed on purpose: std::string error text");
       }},
      {"echo", [](std::span<const uint8_t> in) { return Bytes(in.begin(), in.end()); }},
      {"pid", [](std::span<const uint8_t>) { return pack<int64_t>(getpid()); }},
      {"crash", [](std::span<const uint8_t>) -> Bytes { std::abort(); }},
      {"sleep",  // int64 ms -> pid
       [](std::span<const uint8_t> in) {
         std::this_thread::sleep_for(std::chrono::milliseconds(unpack<int64_t>(in)));
         return pack<int64_t>(getpid());
       }},
  };
  return k;
}

struct Counter {
  int64_t count;
  Bytes call(std::string_view m, std::span<const uint8_t> in) {
    if (m == "add") { count += unpack<int64_t>(in); return pack(count); }
    if (m == "get") return pack(count);
    if (m == "pid") return pack<int64_t>(getpid());
    if (m == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(unpack<int64_t>(in)));
      return pack<int64_t>(getpid());
    }
    throw std::runtime_error("Counter: no method " + std::string(m));
  }
};
std::mutex g_mu;
std::map<uint64_t, std::unique_ptr<Counter>> g_actors;
uint64_t g_next = 1;
}  // namespace

extern "C" {
int spike_invoke(const char* kernel, const uint8_t* in, size_t in_len, uint8_t** out,
                 size_t* out_len, char** error) {
  try {
    auto it = kernels().find(std::string_view(kernel));
    if (it == kernels().end()) throw std::runtime_error(std::string("unknown kernel: ") + kernel);
    give(it->second(std::span<const uint8_t>(in, in_len)), out, out_len);
    return 0;
  } catch (const std::exception& e) {
    *error = dup_cstr(e.what());
    return 1;
  }
}
void spike_free(void* p) { std::free(p); }
int spike_actor_create(const char* cls, const uint8_t* in, size_t in_len, uint64_t* handle,
                       char** error) {
  try {
    if (std::string_view(cls) != "Counter") throw std::runtime_error(std::string("unknown class: ") + cls);
    auto c = std::make_unique<Counter>(Counter{in_len ? unpack<int64_t>({in, in_len}) : 0});
    std::lock_guard l(g_mu);
    *handle = g_next++;
    g_actors[*handle] = std::move(c);
    return 0;
  } catch (const std::exception& e) {
    *error = dup_cstr(e.what());
    return 1;
  }
}
int spike_actor_call(uint64_t handle, const char* method, const uint8_t* in, size_t in_len,
                     uint8_t** out, size_t* out_len, char** error) {
  try {
    Counter* c;
    {
      std::lock_guard l(g_mu);
      auto it = g_actors.find(handle);
      if (it == g_actors.end()) throw std::runtime_error("no such actor handle");
      c = it->second.get();
    }
    give(c->call(method, {in, in_len}), out, out_len);
    return 0;
  } catch (const std::exception& e) {
    *error = dup_cstr(e.what());
    return 1;
  }
}
void spike_actor_destroy(uint64_t handle) {
  std::lock_guard l(g_mu);
  g_actors.erase(handle);
}
}
