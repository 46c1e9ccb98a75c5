#pragma once

// KernelHost: runs the kernels of a KernelRegistry on encoded call specs (wire.h) and answers
// with encoded results. It is what a Ray worker process runs behind the bridge's C API
// (kernels_c_api.cc), kept free of any C or Ray type so it can be tested in-process.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "compute/codec.h"
#include "compute/kernel.h"
#include "core/status.h"

namespace raypipe::compute::ray_wire {

// The resolved value of one ref argument: its encoded result, or nullopt when the object was
// not made by raypipe (Ray stored one of its errors in its place).
using RefArg = std::optional<std::string_view>;

// Thread-safe.
class KernelHost {
 public:
  // Takes the registries by value (executors copy registries at open, as here). When
  // `setup` is an error (registering the kernels failed), every run and call answers with it.
  KernelHost(KernelRegistry kernels, CodecRegistry codecs, Status setup = Status::Ok());

  // Runs the task the spec names; always an encoded result (the kernel's value or error).
  std::string RunTask(std::string_view spec, std::span<const RefArg> ref_args);

  // Creates an actor instance; returns its handle (> 0). A failed creation also gets a
  // handle, whose calls all answer Unavailable "actor 'X' died: creation failed: ...".
  uint64_t CreateActor(std::string_view spec, std::span<const RefArg> ref_args);

  // Calls a method of an instance; always an encoded result.
  std::string CallActor(uint64_t handle, std::string_view spec,
                        std::span<const RefArg> ref_args);

  // Destroys the instance (a no-op for an unknown handle).
  void DestroyActor(uint64_t handle);

  size_t actor_count() const;

 private:
  struct ActorEntry;

  std::string EncodeResult(const Result<Value>& result, std::string_view what) const;

  const KernelRegistry kernels_;
  const CodecRegistry codecs_;
  const Status setup_;
  mutable std::mutex mu_;  // guards actors_ and next_handle_
  std::map<uint64_t, std::shared_ptr<ActorEntry>> actors_;
  uint64_t next_handle_ = 1;
};

}  // namespace raypipe::compute::ray_wire
