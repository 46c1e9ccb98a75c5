// A helper for huge_pages_test.cc: calls ReexecWithMallocHugePages the way main() does, then
// reports what the test checks, one "key=value" line each:
//   state      enabled | unchanged (what ReexecWithMallocHugePages answered)
//   tunables   GLIBC_TUNABLES as the processes this one starts would see it ("(unset)" if so)
//   saved      the re-exec's bookkeeping variable, which must be gone ("(unset)")
//   madvised   1 when a fresh 64 MiB malloc block lies in a mapping marked for huge pages

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "core/huge_pages.h"

namespace {

const char* EnvOrUnset(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "(unset)" : value;
}

// True when the mapping holding `address` has the "hg" (MADV_HUGEPAGE) flag in smaps.
bool InHugePageMapping(const void* address) {
  auto target = reinterpret_cast<unsigned long>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long start = 0;
    unsigned long end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2) {  // a mapping's first line
      inside = start <= target && target < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line.find(" hg") != std::string::npos;
    }
  }
  return false;
}

}  // namespace

int main(int, char** argv) {
  raypipe::core::HugePages state = raypipe::core::ReexecWithMallocHugePages(argv);
  constexpr size_t kBytes = 64 << 20;
  void* block = std::malloc(kBytes);
  if (block == nullptr) return 1;
  std::memset(block, 1, kBytes);
  std::printf("state=%s\n", state == raypipe::core::HugePages::kEnabled ? "enabled" : "unchanged");
  std::printf("tunables=%s\n", EnvOrUnset("GLIBC_TUNABLES"));
  std::printf("saved=%s\n", EnvOrUnset("RAYPIPE_REEXEC_GLIBC_TUNABLES"));
  std::printf("madvised=%d\n", InHugePageMapping(block) ? 1 : 0);
  std::free(block);
  return 0;
}
