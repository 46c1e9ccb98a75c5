#include "compute/resources.h"

#include <cmath>
#include <cstdio>

namespace raypipe::compute {
namespace {

std::string FormatCpus(double cpus) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g %s", cpus, cpus == 1.0 ? "CPU" : "CPUs");
  return buffer;
}

}  // namespace

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (std::fabs(value) >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  char buffer[48];
  if (unit == 0) {
    std::snprintf(buffer, sizeof(buffer), "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.3g %s", value, kUnits[unit]);
  }
  return buffer;
}

std::string Resources::ToString() const {
  std::string text = FormatCpus(cpus);
  if (memory_bytes != 0) text += ", " + FormatBytes(memory_bytes) + " memory";
  return text;
}

ResourceUnits ResourceUnits::From(const Resources& resources) {
  ResourceUnits units;
  // Round up so that a tiny positive request still reserves something.
  units.cpu = static_cast<int64_t>(std::ceil(resources.cpus * kCpuUnitsPerCpu - 1e-6));
  if (units.cpu < 1 && resources.cpus > 0) units.cpu = 1;
  units.memory = resources.memory_bytes;
  return units;
}

Status ValidateRequest(const Resources& request, std::string_view what) {
  // The upper bound keeps the unit conversion far from int64 overflow.
  if (!std::isfinite(request.cpus) || request.cpus <= 0 || request.cpus > 1e9) {
    return InvalidArgumentError(std::string(what) +
                                ": cpus must be a number > 0 (and <= 1e9), got " +
                                std::to_string(request.cpus));
  }
  if (request.memory_bytes < 0) {
    return InvalidArgumentError(std::string(what) + ": memory_bytes must be >= 0, got " +
                                std::to_string(request.memory_bytes));
  }
  return Status::Ok();
}

Status CheckFits(const Resources& request, const Resources& capacity, std::string_view what) {
  ResourceUnits asked = ResourceUnits::From(request);
  ResourceUnits has = ResourceUnits::From(capacity);
  if (asked.FitsIn(has)) return Status::Ok();
  return InvalidArgumentError(std::string(what) + " asks for " + request.ToString() +
                              ", more than this executor has: " + FormatCpus(capacity.cpus) +
                              ", " + FormatBytes(capacity.memory_bytes) + " memory");
}

}  // namespace raypipe::compute
