#include "core/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>

namespace raypipe::core {
namespace {

constexpr char kMadvise[] = "always [madvise] never";

TEST(MallocHugePagesTunablesTest, AddsTheTunableInMadviseMode) {
  EXPECT_EQ(MallocHugePagesTunables(std::nullopt, kMadvise, "2.36"), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(MallocHugePagesTunables("", kMadvise, "2.35"), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(MallocHugePagesTunables("glibc.malloc.tcache_count=0", kMadvise, "3.0"),
            "glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1");
}

TEST(MallocHugePagesTunablesTest, LeavesTheProcessAloneWhenItWouldNotHelp) {
  // The user already chose, either way.
  EXPECT_EQ(MallocHugePagesTunables("glibc.malloc.hugetlb=0", kMadvise, "2.36"), std::nullopt);
  EXPECT_EQ(MallocHugePagesTunables("a=1:glibc.malloc.hugetlb=1", kMadvise, "2.36"),
            std::nullopt);
  // "always" gives huge pages anyway; "never" forbids them; a file that could not be read.
  EXPECT_EQ(MallocHugePagesTunables(std::nullopt, "[always] madvise never", "2.36"),
            std::nullopt);
  EXPECT_EQ(MallocHugePagesTunables(std::nullopt, "always madvise [never]", "2.36"),
            std::nullopt);
  EXPECT_EQ(MallocHugePagesTunables(std::nullopt, "", "2.36"), std::nullopt);
  // glibc before 2.35 has no such tunable.
  EXPECT_EQ(MallocHugePagesTunables(std::nullopt, kMadvise, "2.34"), std::nullopt);
  EXPECT_EQ(MallocHugePagesTunables(std::nullopt, kMadvise, "1.99"), std::nullopt);
  EXPECT_EQ(MallocHugePagesTunables(std::nullopt, kMadvise, "unknown"), std::nullopt);
}

// Runs the probe (huge_pages_probe.cc) under `environment` ("NAME=VALUE ..." for env(1), -u
// options included) and answers its key=value lines.
std::map<std::string, std::string> RunProbe(const std::string& environment) {
  std::string command = "env -u GLIBC_TUNABLES -u RAYPIPE_MALLOC_HUGE_PAGES " + environment +
                        " " RAYPIPE_BINARY_DIR "/bin/core_huge_pages_probe";
  std::map<std::string, std::string> lines;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return lines;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    std::string line(buffer);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    size_t equals = line.find('=');
    if (equals != std::string::npos) lines[line.substr(0, equals)] = line.substr(equals + 1);
  }
  EXPECT_EQ(pclose(pipe), 0) << command;
  return lines;
}

class ReexecWithMallocHugePagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!MallocHugePagesAvailable()) {
      GTEST_SKIP() << "transparent huge pages are not in madvise mode here or glibc is older "
                      "than 2.35";
    }
  }

  // A sanitizer's allocator replaces glibc's malloc and ignores its tunables.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  static constexpr char kMadvisedWhenEnabled[] = "0";
#else
  static constexpr char kMadvisedWhenEnabled[] = "1";
#endif
};

TEST_F(ReexecWithMallocHugePagesTest, ReexecutesOnceWithHugePagesAndRestoresTheEnvironment) {
  std::map<std::string, std::string> probe = RunProbe("");
  EXPECT_EQ(probe["state"], "enabled");
  EXPECT_EQ(probe["tunables"], "(unset)");
  EXPECT_EQ(probe["saved"], "(unset)");
  EXPECT_EQ(probe["madvised"], kMadvisedWhenEnabled);
}

TEST_F(ReexecWithMallocHugePagesTest, KeepsTheUsersOtherTunables) {
  std::map<std::string, std::string> probe = RunProbe("GLIBC_TUNABLES=glibc.malloc.perturb=0");
  EXPECT_EQ(probe["state"], "enabled");
  EXPECT_EQ(probe["tunables"], "glibc.malloc.perturb=0");
  EXPECT_EQ(probe["saved"], "(unset)");
  EXPECT_EQ(probe["madvised"], kMadvisedWhenEnabled);
}

TEST_F(ReexecWithMallocHugePagesTest, TheOptOutAndTheUsersOwnSettingWin) {
  std::map<std::string, std::string> opted_out = RunProbe("RAYPIPE_MALLOC_HUGE_PAGES=0");
  EXPECT_EQ(opted_out["state"], "unchanged");
  EXPECT_EQ(opted_out["madvised"], "0");

  std::map<std::string, std::string> chosen = RunProbe("GLIBC_TUNABLES=glibc.malloc.hugetlb=0");
  EXPECT_EQ(chosen["state"], "unchanged");
  EXPECT_EQ(chosen["tunables"], "glibc.malloc.hugetlb=0");
  EXPECT_EQ(chosen["madvised"], "0");
}

}  // namespace
}  // namespace raypipe::core
