#pragma once

// What a task or an actor asks of the machine: fractional CPUs and memory.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace raypipe::compute {

struct Resources {
  // Logical CPUs, fractional allowed (0.5 = half a core). Must be > 0. Default 1.
  double cpus = 1.0;
  // Bytes of memory reserved; 0 reserves none. Default 0.
  int64_t memory_bytes = 0;

  // "0.5 CPU, 2 GiB memory" (memory omitted when 0).
  std::string ToString() const;
};

// The smallest CPU amount the schedulers account for: requests are rounded to 1/10000 CPU so
// that sums of fractions (0.1 + 0.2 ...) never drift.
inline constexpr int64_t kCpuUnitsPerCpu = 10000;

// A request converted to exact integer units for the schedulers' bookkeeping.
struct ResourceUnits {
  int64_t cpu = 0;
  int64_t memory = 0;

  static ResourceUnits From(const Resources& resources);
  bool FitsIn(const ResourceUnits& free) const { return cpu <= free.cpu && memory <= free.memory; }
  ResourceUnits& operator+=(const ResourceUnits& other) {
    cpu += other.cpu;
    memory += other.memory;
    return *this;
  }
  ResourceUnits& operator-=(const ResourceUnits& other) {
    cpu -= other.cpu;
    memory -= other.memory;
    return *this;
  }
  friend bool operator==(const ResourceUnits&, const ResourceUnits&) = default;
};

// InvalidArgument unless `request` is a valid request (cpus finite and > 0, memory >= 0); `what`
// names the requester in the message ("task 'train'").
Status ValidateRequest(const Resources& request, std::string_view what);

// InvalidArgument unless `request` fits in `capacity`, naming both: "task 'train' asks for
// 4 CPUs; this executor has 2 CPUs, 8 GiB memory".
Status CheckFits(const Resources& request, const Resources& capacity, std::string_view what);

// "512 B", "1.5 KiB", "2 GiB".
std::string FormatBytes(int64_t bytes);

}  // namespace raypipe::compute
