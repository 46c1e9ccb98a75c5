#pragma once

// Helpers shared by the compute tests (and other modules' tests of their kernels): a watchdog so
// that a deadlock fails the test instead of hanging it, a barrier with a timeout, and a
// LocalExecutor that moves every value through its codec as Ray would. Test-only.

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "compute/executor.h"
#include "compute/local_executor.h"

namespace raypipe::compute::testing {

// Options with the fields tests vary. (GCC 12's -Wextra warns on designated initializers that
// leave fields out, so tests build options through these.)
inline TaskOptions TaskOpts(Resources resources, int max_retries = 0, std::string name = {}) {
  TaskOptions options;
  options.resources = resources;
  options.max_retries = max_retries;
  options.name = std::move(name);
  return options;
}
inline ActorOptions ActorOpts(Resources resources, std::string name = {}, int max_restarts = 0) {
  ActorOptions options;
  options.resources = resources;
  options.name = std::move(name);
  options.max_restarts = max_restarts;
  return options;
}

// A LocalExecutor of 2 CPUs running `kernels` that serializes and deserializes every value
// crossing into and out of a kernel (CodecCheck::kRoundTrip) with `codecs` (null: the built-in
// codecs), as the Ray backend does.
inline Result<std::unique_ptr<LocalExecutor>> OpenRoundTripExecutor(
    const KernelRegistry& kernels, const CodecRegistry* codecs = nullptr) {
  LocalExecutorOptions options;
  options.registry = &kernels;
  options.capacity = Resources{2, 0};
  options.codec_check = CodecCheck::kRoundTrip;
  options.codecs = codecs;
  return LocalExecutor::Open(options);
}

// Aborts the process (with a message) when not destroyed within `limit`.
class Watchdog {
 public:
  explicit Watchdog(std::string what, std::chrono::seconds limit = std::chrono::seconds(60))
      : what_(std::move(what)), thread_([this, limit] { Watch(limit); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Watch(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
      std::fprintf(stderr, "watchdog: %s did not finish within %lld s; aborting\n", what_.c_str(),
                   static_cast<long long>(limit.count()));
      std::abort();
    }
  }

  std::string what_;
  std::mutex mu_;  // guards done_
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// A one-shot barrier for `count` parties whose wait can time out.
class Rendezvous {
 public:
  explicit Rendezvous(int count) : remaining_(count) {}

  // Arrives and waits for the others; false when `timeout` passed first.
  bool ArriveAndWait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (--remaining_ <= 0) {
      cv_.notify_all();
      return true;
    }
    return cv_.wait_for(lock, timeout, [this] { return remaining_ <= 0; });
  }

 private:
  std::mutex mu_;  // guards remaining_
  std::condition_variable cv_;
  int remaining_;
};

// A flag that one thread raises and others wait for, with a timeout.
class Signal {
 public:
  void Raise() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      raised_ = true;
    }
    cv_.notify_all();
  }
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return raised_; });
  }
  bool raised() {
    std::lock_guard<std::mutex> lock(mu_);
    return raised_;
  }

 private:
  std::mutex mu_;  // guards raised_
  std::condition_variable cv_;
  bool raised_ = false;
};

}  // namespace raypipe::compute::testing
