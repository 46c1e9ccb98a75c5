// libraypipe_kernels.so's exported C API (part 1 of bridge_c.h): the kernel host of a Ray
// worker process. The library is built with hidden visibility and a version script, so these
// functions are all it exports; its C++ (new ABI) stays inside.

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "compute/ray/bridge_c.h"
#include "compute/ray/kernel_host.h"
#include "compute/ray/worker_kernels.h"

namespace raypipe::compute::ray_wire {
namespace {

// The host of this process, built on first use. Ray loads this library once per worker
// process and calls it through C, so the host is per process (it is never destroyed: Ray's
// threads may call in while static destructors run).
KernelHost& Host() {
  static KernelHost* host = [] {
    KernelRegistry kernels;
    CodecRegistry codecs = CodecRegistry::WithBuiltins();
    Status registered = RegisterWorkerKernels(kernels, codecs);
    return new KernelHost(std::move(kernels), std::move(codecs), std::move(registered));
  }();
  return *host;
}

std::vector<RefArg> RefArgs(const rp_bytes* ref_args, size_t count) {
  std::vector<RefArg> args;
  args.reserve(count);
  for (size_t arg_idx = 0; arg_idx < count; ++arg_idx) {
    const rp_bytes& arg = ref_args[arg_idx];
    if (arg.data == nullptr) {
      args.emplace_back(std::nullopt);
    } else {
      args.emplace_back(std::string_view(reinterpret_cast<const char*>(arg.data), arg.size));
    }
  }
  return args;
}

std::string_view View(rp_bytes bytes) {
  if (bytes.data == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(bytes.data), bytes.size);
}

int Give(const std::string& bytes, uint8_t** out, size_t* out_size) {
  *out = static_cast<uint8_t*>(std::malloc(bytes.empty() ? 1 : bytes.size()));
  if (*out == nullptr) return 1;
  if (!bytes.empty()) std::memcpy(*out, bytes.data(), bytes.size());
  *out_size = bytes.size();
  return 0;
}

// Runs `body`, turning an escaping exception (only std::bad_alloc is expected) into code 1.
template <typename Body>
int Guarded(uint8_t** out, size_t* out_size, Body&& body) {
  *out = nullptr;
  *out_size = 0;
  try {
    return Give(body(), out, out_size);
  } catch (...) {
    std::free(*out);
    *out = nullptr;
    return 1;
  }
}

}  // namespace
}  // namespace raypipe::compute::ray_wire

using raypipe::compute::ray_wire::Guarded;
using raypipe::compute::ray_wire::Host;
using raypipe::compute::ray_wire::RefArgs;
using raypipe::compute::ray_wire::View;

extern "C" {

int rp_kernels_run_task(rp_bytes spec, const rp_bytes* ref_args, size_t num_ref_args,
                        uint8_t** result, size_t* result_size) {
  return Guarded(result, result_size, [&] {
    return Host().RunTask(View(spec), RefArgs(ref_args, num_ref_args));
  });
}

uint64_t rp_kernels_actor_create(rp_bytes spec, const rp_bytes* ref_args, size_t num_ref_args) {
  try {
    return Host().CreateActor(View(spec), RefArgs(ref_args, num_ref_args));
  } catch (...) {
    return 0;
  }
}

int rp_kernels_actor_call(uint64_t handle, rp_bytes spec, const rp_bytes* ref_args,
                          size_t num_ref_args, uint8_t** result, size_t* result_size) {
  return Guarded(result, result_size, [&] {
    return Host().CallActor(handle, View(spec), RefArgs(ref_args, num_ref_args));
  });
}

void rp_kernels_actor_destroy(uint64_t handle) {
  try {
    Host().DestroyActor(handle);
  } catch (...) {
    // Nothing to report to: the instance is gone either way.
  }
}

void rp_kernels_free(void* pointer) { std::free(pointer); }

}  // extern "C"
