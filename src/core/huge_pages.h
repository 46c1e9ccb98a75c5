#pragma once

// Malloc's transparent huge pages for a process that trains one XGBoost model.
//
// XGBoost's training time depends on where its gradient index lies: with 4 KiB pages one
// training at 1M rows took 10-16% longer than with 2 MiB pages (src/ml/README.md). glibc
// (2.35+) backs malloc's memory with huge pages when the tunable glibc.malloc.hugetlb=1 is set,
// but tunables are read only when a process starts. So ReexecWithMallocHugePages executes the
// same binary again, once, with the tunable added, and the new process puts the environment
// back as it was, so that the processes it starts do not inherit the tunable. Measure before
// using it elsewhere: tuning and ingestion measured slower with it.
//
// It does nothing (and answers kUnchanged) when:
//   - RAYPIPE_MALLOC_HUGE_PAGES is "0" (the opt-out);
//   - GLIBC_TUNABLES already sets glibc.malloc.hugetlb (the user chose);
//   - the kernel's transparent huge pages are not in "madvise" mode ("always" already gives
//     huge pages, "never" forbids them);
//   - glibc is older than 2.35;
//   - the exec fails (the process goes on with small pages).

#include <optional>
#include <string>
#include <string_view>

namespace raypipe::core {

enum class HugePages {
  kUnchanged,  // this process runs as it started
  kEnabled,    // this process is the re-executed one, with malloc's huge pages
};

// Returns only when no exec happened or in the re-executed process, which runs main() again
// from the start. Call it from main()'s thread before other threads start and before anything
// is written (raypipe calls it once the command line has parsed); `argv` is main's.
HugePages ReexecWithMallocHugePages(char** argv);

// Whether this machine lets the tunable give malloc huge pages: the kernel's transparent huge
// pages in madvise mode and glibc 2.35 or later.
bool MallocHugePagesAvailable();

// The decision, apart from the process. `tunables` is GLIBC_TUNABLES (nullopt when unset),
// `thp_enabled` the text of /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise]
// never"), `glibc_version` gnu_get_libc_version()'s ("2.36"). Answers the GLIBC_TUNABLES value
// to re-execute with, or nullopt when huge pages should not (or need not) be asked for.
std::optional<std::string> MallocHugePagesTunables(const std::optional<std::string>& tunables,
                                                   std::string_view thp_enabled,
                                                   std::string_view glibc_version);

}  // namespace raypipe::core
