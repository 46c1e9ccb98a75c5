// Driver: normal build (new ABI, C++20); talks to Ray only through bridge_c.h.
#include "bridge_c.h"
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

using Clock = std::chrono::steady_clock;
static double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
static int g_fail = 0;
#define CHECK(cond, ...) do { if (!(cond)) { std::printf("FAIL %s:%d: ", __FILE__, __LINE__); \
  std::printf(__VA_ARGS__); std::printf("\n"); g_fail++; } else { std::printf("ok   "); \
  std::printf(__VA_ARGS__); std::printf("\n"); } std::fflush(stdout); } while (0)

template <class T> std::vector<uint8_t> pack(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}
template <class T> T unpack(const std::vector<uint8_t>& b) {
  T v{};
  if (b.size() >= sizeof(T)) std::memcpy(&v, b.data(), sizeof(T));
  return v;
}
struct Res { int rc; std::vector<uint8_t> data; std::string err; };
static Res get(uint64_t ref, int timeout_ms = -1) {
  uint8_t* out = nullptr; size_t n = 0; char* err = nullptr;
  Res r;
  r.rc = spike_ray_get(ref, timeout_ms, &out, &n, &err);
  if (r.rc == 0) { r.data.assign(out, out + n); spike_ray_free(out); }
  if (err) { r.err = err; spike_ray_free(err); }
  return r;
}
static uint64_t submit(const char* k, const std::vector<uint8_t>& in, double cpu = 0) {
  uint64_t ref = 0; char* err = nullptr;
  int rc = spike_ray_submit(k, in.data(), in.size(), cpu, &ref, &err);
  if (rc) { std::printf("submit rc=%d %s\n", rc, err); spike_ray_free(err); }
  return ref;
}
static uint64_t acall(uint64_t a, const char* m, const std::vector<uint8_t>& in) {
  uint64_t ref = 0; char* err = nullptr;
  int rc = spike_ray_actor_call(a, m, in.data(), in.size(), &ref, &err);
  if (rc) { std::printf("actor_call rc=%d %s\n", rc, err); spike_ray_free(err); }
  return ref;
}
static uint64_t acreate(const char* cls, int64_t init, double cpu, int max_restarts) {
  uint64_t a = 0; char* err = nullptr;
  auto in = pack(std::vector<int64_t>{init});
  int rc = spike_ray_actor_create(cls, in.data(), in.size(), cpu, max_restarts, &a, &err);
  if (rc) { std::printf("actor_create rc=%d %s\n", rc, err); spike_ray_free(err); }
  return a;
}
static std::vector<uint8_t> i64(int64_t v) { return pack(std::vector<int64_t>{v}); }
static void stats(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::printf("TIMING %s: n=%zu median=%.3f ms p10=%.3f p90=%.3f min=%.3f max=%.3f\n", what,
              v.size(), v[v.size() / 2], v[v.size() / 10], v[v.size() * 9 / 10], v.front(),
              v.back());
}

int main(int argc, char** argv) {
  if (argc < 3) { std::fprintf(stderr, "usage: driver ADDRESS CODE_SEARCH_PATH [tests]\n"); return 2; }
  std::string only = argc > 3 ? argv[3] : "all";
  auto want = [&](const char* t) { return only == "all" || only.find(t) != std::string::npos; };
  std::string driver_abi_probe = "new-ABI std::string in the driver";  // uses __cxx11
  (void)driver_abi_probe;

  auto t0 = Clock::now();
  char* err = nullptr;
  std::string addr = argv[1];
  std::string node_ip = addr.substr(0, addr.rfind(':'));
  if (const char* e = std::getenv("SPIKE_NODE_IP")) node_ip = e;  // "" = let Ray guess
  int rc = spike_ray_init(argv[1], argv[2], node_ip.c_str(), &err);
  std::printf("TIMING init: %.1f ms\n", ms_since(t0));
  if (rc) { std::printf("FAIL init rc=%d %s\n", rc, err); return 1; }

  if (want("first")) {
    auto t = Clock::now();
    auto r = get(submit("sum", pack(std::vector<double>{1, 2, 3})));
    CHECK(r.rc == 0 && unpack<double>(r.data) == 6.0, "first task sum=6 (rc=%d %s) in %.1f ms",
          r.rc, r.err.c_str(), ms_since(t));
  }
  if (want("probe")) {
    auto t = Clock::now();
    auto r = get(submit("sum", pack(std::vector<double>{1, 2, 3})), 20000);
    std::printf("INFO probe task: rc=%d after %.0f ms data_ok=%d err=%.400s\n", r.rc, ms_since(t),
                r.rc == 0 && unpack<double>(r.data) == 6.0, r.err.c_str());
    uint64_t a = acreate("Counter", 7, 0, 0);
    t = Clock::now();
    auto g = get(acall(a, "get", {}), 20000);
    std::printf("INFO probe actor: rc=%d after %.0f ms value=%lld err=%.400s\n", g.rc, ms_since(t),
                (long long)unpack<int64_t>(g.data), g.err.c_str());
  }
  if (want("spread")) {  // run with a 2nd node (1 CPU) added: 3 CPUs in all
    auto t = Clock::now();
    std::vector<uint64_t> refs;
    for (int i = 0; i < 6; i++) refs.push_back(submit("sleep", i64(1500), 1.0));
    std::vector<int64_t> pids;
    for (auto r : refs) pids.push_back(unpack<int64_t>(get(r).data));
    std::sort(pids.begin(), pids.end());
    size_t distinct = std::unique(pids.begin(), pids.end()) - pids.begin();
    std::printf("INFO 6 x sleep(1500ms) tasks at CPU=1: %.0f ms wall (3 CPUs -> ~3000), %zu distinct pids\n",
                ms_since(t), distinct);
  }
  if (want("tasks")) {
    auto t = Clock::now();
    std::vector<uint64_t> refs;
    for (int i = 0; i < 100; i++) {
      std::vector<double> v(10);
      for (int j = 0; j < 10; j++) v[j] = i + j;
      refs.push_back(submit("sum", pack(v)));
    }
    int good = 0;
    for (int i = 0; i < 100; i++) {
      auto r = get(refs[i]);
      if (r.rc == 0 && unpack<double>(r.data) == 10.0 * i + 45) good++;
      spike_ray_release(refs[i]);
    }
    CHECK(good == 100, "100 tasks, %d correct, %.1f ms total", good, ms_since(t));
  }
  if (want("chain")) {
    uint64_t p = 0;
    auto in = pack(std::vector<double>{0.5, 0.25});
    spike_ray_put(in.data(), in.size(), &p, &err);
    uint64_t e = 0;
    spike_ray_submit_ref("echo", p, 0, &e, &err);
    uint64_t s = 0;
    spike_ray_submit_ref("sum", e, 0, &s, &err);
    auto r = get(s);
    CHECK(r.rc == 0 && unpack<double>(r.data) == 0.75, "put -> echo(ref) -> sum(ref) = 0.75 (rc=%d)", r.rc);
  }
  if (want("actor")) {
    uint64_t a = acreate("Counter", 10, 0, 0);
    int64_t last = 0;
    for (int i = 1; i <= 5; i++) last = unpack<int64_t>(get(acall(a, "add", i64(i))).data);
    auto g = get(acall(a, "get", {}));
    CHECK(last == 25 && unpack<int64_t>(g.data) == 25, "actor state across calls: 10+1..5 = %lld",
          (long long)unpack<int64_t>(g.data));
    auto bad = get(acall(a, "nosuch", {}));
    CHECK(bad.rc == SPIKE_RAY_TASK_ERR && bad.err.find("no method") != std::string::npos,
          "actor method error comes back rc=%d: %.200s", bad.rc, bad.err.c_str());
    auto g2 = get(acall(a, "get", {}));
    CHECK(unpack<int64_t>(g2.data) == 25, "actor survives a method error (count=%lld)",
          (long long)unpack<int64_t>(g2.data));
    uint64_t bada = acreate("NoSuchClass", 0, 0, 0);
    auto b2 = get(acall(bada, "get", {}));
    std::printf("INFO actor whose constructor throws: call rc=%d err(%zu bytes)=", b2.rc, b2.err.size());
    for (unsigned char ch : b2.err) { if (ch >= 32 && ch < 127) std::putchar(ch); else std::printf("\\x%02x", ch); }
    std::printf("\n");
    spike_ray_actor_release(bada);
    spike_ray_actor_release(a);
  }
  if (want("fail")) {
    auto r = get(submit("fail", {}));
    CHECK(r.rc == SPIKE_RAY_TASK_ERR && r.err.find("failed on purpose") != std::string::npos,
          "failing task: rc=%d err=%.400s", r.rc, r.err.c_str());
    auto u = get(submit("nosuchkernel", {}));
    CHECK(u.rc == SPIKE_RAY_TASK_ERR, "unknown kernel: rc=%d err=%.200s", u.rc, u.err.c_str());
  }
  if (want("wait")) {
    uint64_t slow = submit("sleep", i64(2000));
    uint64_t fast = submit("sum", pack(std::vector<double>{1}));
    get(fast);
    uint64_t refs[2] = {slow, fast};
    uint8_t ready[2]; size_t nready = 0;
    auto t = Clock::now();
    rc = spike_ray_wait(refs, 2, 2, 300, ready, &nready, &err);
    double w = ms_since(t);
    CHECK(rc == 0 && nready == 1 && ready[1] == 1 && ready[0] == 0 && w >= 250 && w < 1000,
          "wait(2 refs, num=2, timeout 300ms): %zu ready after %.1f ms", nready, w);
    t = Clock::now();
    auto r = get(slow, 200);
    CHECK(r.rc == SPIKE_RAY_TIMEOUT, "get with 200 ms timeout on slow task: rc=%d after %.1f ms err=%.200s",
          r.rc, ms_since(t), r.err.c_str());
    rc = spike_ray_wait(refs, 2, 2, -1, ready, &nready, &err);
    CHECK(rc == 0 && nready == 2, "wait with no timeout: %zu ready", nready);
  }
  if (want("threads")) {
    auto t = Clock::now();
    std::vector<std::thread> th;
    std::vector<int> good(4, 0);
    for (int k = 0; k < 4; k++)
      th.emplace_back([&, k] {
        for (int i = 0; i < 25; i++) {
          auto r = get(submit("sum", pack(std::vector<double>{double(k), double(i)})));
          if (r.rc == 0 && unpack<double>(r.data) == k + i) good[k]++;
        }
      });
    for (auto& x : th) x.join();
    CHECK(good[0] + good[1] + good[2] + good[3] == 100,
          "4 driver threads x 25 submit+get concurrently: %d ok in %.1f ms",
          good[0] + good[1] + good[2] + good[3], ms_since(t));
  }
  if (want("rtt")) {
    std::vector<double> tv, av;
    auto in = pack(std::vector<double>{1, 2});
    for (int i = 0; i < 20; i++) get(submit("sum", in));  // warm
    for (int i = 0; i < 200; i++) {
      auto t = Clock::now();
      uint64_t r = submit("sum", in);
      auto x = get(r);
      tv.push_back(ms_since(t));
      spike_ray_release(r);
    }
    stats("task round trip (submit+get, 16 B in)", tv);
    uint64_t a = acreate("Counter", 0, 0, 0);
    for (int i = 0; i < 20; i++) get(acall(a, "get", {}));
    for (int i = 0; i < 200; i++) {
      auto t = Clock::now();
      uint64_t r = acall(a, "add", i64(1));
      auto x = get(r);
      av.push_back(ms_since(t));
      spike_ray_release(r);
    }
    stats("actor call round trip (call+get)", av);
    auto g = get(acall(a, "get", {}));
    CHECK(unpack<int64_t>(g.data) == 200, "actor after 200 adds = %lld", (long long)unpack<int64_t>(g.data));
    // throughput: 200 tasks in flight
    auto t = Clock::now();
    std::vector<uint64_t> refs;
    for (int i = 0; i < 200; i++) refs.push_back(submit("sum", in));
    for (auto r : refs) get(r);
    std::printf("TIMING 200 tasks pipelined: %.1f ms (%.3f ms/task)\n", ms_since(t), ms_since(t) / 200);
    spike_ray_actor_release(a);
  }
  if (want("frac")) {
    for (double cpu : {1.0, 0.5}) {
      auto t = Clock::now();
      std::vector<uint64_t> refs;
      for (int i = 0; i < 4; i++) refs.push_back(submit("sleep", i64(1500), cpu));
      std::vector<int64_t> pids;
      for (auto r : refs) pids.push_back(unpack<int64_t>(get(r).data));
      std::sort(pids.begin(), pids.end());
      size_t distinct = std::unique(pids.begin(), pids.end()) - pids.begin();
      std::printf("INFO 4 x sleep(1500ms) tasks at CPU=%.1f: %.0f ms wall, %zu distinct worker pids\n",
                  cpu, ms_since(t), distinct);
    }
    // actors at 0.5 CPU: 4 fit into 2 CPUs; the 5th must wait
    std::vector<uint64_t> as;
    for (int i = 0; i < 5; i++) as.push_back(acreate("Counter", i, 0.5, 0));
    std::vector<uint64_t> refs;
    for (auto a : as) refs.push_back(acall(a, "get", {}));
    std::vector<uint8_t> ready(5); size_t nready = 0;
    spike_ray_wait(refs.data(), 5, 5, 8000, ready.data(), &nready, &err);
    CHECK(nready == 4, "5 actors at CPU=0.5 on 2 CPUs: %zu answered within 8 s (expect 4)", nready);
    for (int i = 0; i < 5; i++) if (!ready[i]) {
      spike_ray_actor_kill(as[(i + 1) % 5], 1);
      auto t = Clock::now();
      auto r = get(refs[i], 15000);
      CHECK(r.rc == 0, "after killing another actor the pending one runs: rc=%d in %.0f ms (%s)", r.rc, ms_since(t), r.err.c_str());
    }
    for (auto a : as) spike_ray_actor_kill(a, 1), spike_ray_actor_release(a);
  }
  if (want("restart")) {
    uint64_t a = acreate("Counter", 100, 0, 1);
    get(acall(a, "add", i64(5)));
    int64_t pid = unpack<int64_t>(get(acall(a, "pid", {})).data);
    // a call in flight when the worker dies
    uint64_t inflight = acall(a, "sleep", i64(3000));
    usleep(300 * 1000);
    kill(pid, SIGKILL);
    auto t = Clock::now();
    auto r1 = get(inflight);
    std::printf("INFO in-flight call (sleep 3000) when actor worker %lld SIGKILLed at +300ms: rc=%d after %.0f ms, returned pid %lld (%zu bytes) err=%.500s\n",
                (long long)pid, r1.rc, ms_since(t), (long long)unpack<int64_t>(r1.data), r1.data.size(), r1.err.c_str());
    { std::printf("INFO   bytes: "); for (unsigned char ch : r1.data) { if (ch >= 32 && ch < 127) std::putchar(ch); else std::printf("\\x%02x", ch); } std::printf("\n"); }
    auto r2 = get(acall(a, "get", {}));
    std::printf("INFO next call right after: rc=%d data=%lld err=%.300s\n", r2.rc,
                (long long)unpack<int64_t>(r2.data), r2.err.c_str());
    // resubmit until the restarted actor answers
    Res r3; int tries = 0; t = Clock::now();
    do { r3 = get(acall(a, "get", {})); tries++; if (r3.rc) usleep(200 * 1000); } while (r3.rc && tries < 50);
    int64_t pid2 = unpack<int64_t>(get(acall(a, "pid", {})).data);
    CHECK(r3.rc == 0 && unpack<int64_t>(r3.data) == 100 && pid2 != pid,
          "actor restarted (max_restarts=1): state back to constructor value %lld, new pid %lld != %lld, %d tries, %.0f ms",
          (long long)unpack<int64_t>(r3.data), (long long)pid2, (long long)pid, tries, ms_since(t));
    kill(pid2, SIGKILL);
    usleep(1500 * 1000);
    auto r4 = get(acall(a, "get", {}), 10000);
    CHECK(r4.rc == SPIKE_RAY_ACTOR_DIED, "after the 2nd kill (restarts used up): rc=%d err=%.300s", r4.rc, r4.err.c_str());
    spike_ray_actor_release(a);
  }
  if (want("crash")) {
    auto t = Clock::now();
    auto r = get(submit("crash", {}), 60000);
    std::printf("INFO task whose kernel abort()s: rc=%d after %.0f ms err=%.400s\n", r.rc, ms_since(t), r.err.c_str());
    auto ok = get(submit("sum", pack(std::vector<double>{2})));
    CHECK(ok.rc == 0, "cluster still serves tasks after the crash");
  }
  t0 = Clock::now();
  spike_ray_shutdown();
  std::printf("TIMING shutdown: %.1f ms\n", ms_since(t0));
  std::printf("RESULT %d failures\n", g_fail);
  return g_fail ? 1 : 0;
}
