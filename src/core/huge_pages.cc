#include "core/huge_pages.h"

#include <gnu/libc-version.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "core/env.h"

namespace raypipe::core {
namespace {

constexpr char kTunablesVariable[] = "GLIBC_TUNABLES";
constexpr char kHugePagesTunable[] = "glibc.malloc.hugetlb";
constexpr char kOptOutVariable[] = "RAYPIPE_MALLOC_HUGE_PAGES";
// Set only between the exec and the re-executed process's restore: "-" when GLIBC_TUNABLES was
// unset, "=" followed by its value otherwise.
constexpr char kSavedVariable[] = "RAYPIPE_REEXEC_GLIBC_TUNABLES";

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

void SetTunables(const std::optional<std::string>& value) {
  if (value.has_value()) {
    setenv(kTunablesVariable, value->c_str(), /*overwrite=*/1);
  } else {
    unsetenv(kTunablesVariable);
  }
}

// The kernel's transparent huge page mode ("always [madvise] never"); empty when unreadable.
std::string ThpEnabledText() {
  Result<std::string> text = DefaultEnv()->ReadFile("/sys/kernel/mm/transparent_hugepage/enabled");
  return text.ok() ? *std::move(text) : std::string();
}

// True when "MAJOR.MINOR..." is at least 2.35, the first glibc with glibc.malloc.hugetlb.
bool HasHugePagesTunable(std::string_view version) {
  int major = 0;
  int minor = 0;
  if (std::sscanf(std::string(version).c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > 2 || (major == 2 && minor >= 35);
}

}  // namespace

std::optional<std::string> MallocHugePagesTunables(const std::optional<std::string>& tunables,
                                                   std::string_view thp_enabled,
                                                   std::string_view glibc_version) {
  if (tunables.has_value() && tunables->find(kHugePagesTunable) != std::string::npos) {
    return std::nullopt;
  }
  if (thp_enabled.find("[madvise]") == std::string_view::npos) return std::nullopt;
  if (!HasHugePagesTunable(glibc_version)) return std::nullopt;
  std::string setting = std::string(kHugePagesTunable) + "=1";
  if (!tunables.has_value() || tunables->empty()) return setting;
  return *tunables + ":" + setting;
}

bool MallocHugePagesAvailable() {
  return MallocHugePagesTunables(std::nullopt, ThpEnabledText(), gnu_get_libc_version())
      .has_value();
}

HugePages ReexecWithMallocHugePages(char** argv) {
  if (std::optional<std::string> saved = GetEnv(kSavedVariable)) {
    // The re-executed process: the tunable has been read; put the environment back.
    unsetenv(kSavedVariable);
    SetTunables(saved->empty() || (*saved)[0] == '-' ? std::nullopt
                                                      : std::optional(saved->substr(1)));
    return HugePages::kEnabled;
  }
  if (argv == nullptr || argv[0] == nullptr || GetEnv(kOptOutVariable) == "0") {
    return HugePages::kUnchanged;
  }
  std::optional<std::string> original = GetEnv(kTunablesVariable);
  std::optional<std::string> tunables = MallocHugePagesTunables(
      original, ThpEnabledText(), gnu_get_libc_version());
  if (!tunables.has_value()) return HugePages::kUnchanged;
  setenv(kSavedVariable, original.has_value() ? ("=" + *original).c_str() : "-", 1);
  setenv(kTunablesVariable, tunables->c_str(), 1);
  execv("/proc/self/exe", argv);
  // Only reached when the exec failed: go on as started.
  unsetenv(kSavedVariable);
  SetTunables(original);
  return HugePages::kUnchanged;
}

}  // namespace raypipe::core
