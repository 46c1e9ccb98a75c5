#include "core/ids.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <thread>
#include <vector>

namespace raypipe::core {
namespace {

using std::chrono::milliseconds;

// Deterministic bytes for tests: 0, 1, 2, ...
RandomSource CountingRandom() {
  auto next = std::make_shared<uint8_t>(0);
  return [next](uint8_t* out, size_t size) {
    for (size_t byte_idx = 0; byte_idx < size; ++byte_idx) out[byte_idx] = (*next)++;
  };
}

TEST(NewIdTest, ShapeAndPrefix) {
  std::string id = NewId("exec");
  EXPECT_EQ(id.size(), 5u + 26u);
  EXPECT_EQ(id.substr(0, 5), "exec-");
  EXPECT_TRUE(IsWellFormedId(id, "exec"));
  EXPECT_FALSE(IsWellFormedId(id, "run"));
  std::string bare = NewId("");
  EXPECT_EQ(bare.size(), 26u);
  EXPECT_TRUE(IsWellFormedId(bare, ""));
  for (char c : bare) EXPECT_FALSE(c >= 'A' && c <= 'Z') << bare;
}

TEST(IsWellFormedIdTest, RejectsLookalikes) {
  EXPECT_FALSE(IsWellFormedId("exec-", "exec"));
  EXPECT_FALSE(IsWellFormedId("exec-01JD3M5Q8V7K2X9C4N6T0W1YZR", "exec"));  // upper case
  EXPECT_FALSE(IsWellFormedId("exec-01jd3m5q8v7k2x9c4n6t0w1yzu", "exec"));  // 'u' not Crockford
  EXPECT_FALSE(IsWellFormedId("exec-81jd3m5q8v7k2x9c4n6t0w1yzr", "exec"));  // over 48 bits
  EXPECT_FALSE(IsWellFormedId("exec_01jd3m5q8v7k2x9c4n6t0w1yzr", "exec"));
  EXPECT_TRUE(IsWellFormedId("exec-01jd3m5q8v7k2x9c4n6t0w1yzr", "exec"));
}

TEST(IdGeneratorTest, EncodesTimeAndSortsByTime) {
  ManualClock clock(TimePoint(milliseconds(0)));
  IdGenerator generator(clock, CountingRandom());
  // Time 0, random bytes 00 01 .. 09: the first 10 characters encode the time.
  std::string first = generator.Next("");
  EXPECT_EQ(first.substr(0, 10), "0000000000");
  clock.Set(TimePoint(milliseconds(1795726800123)));
  std::string later = generator.Next("");
  EXPECT_LT(first, later);
  clock.Advance(milliseconds(1));
  std::string latest = generator.Next("");
  EXPECT_LT(later, latest);
  // The first 10 characters are the 48-bit time in base32 (2 leading zero bits).
  EXPECT_EQ(later.substr(0, 10), "01m8ctgx7v");
}

TEST(IdGeneratorTest, MonotonicWithinAMillisecondAndWhenClockStepsBack) {
  ManualClock clock(TimePoint(milliseconds(5000)));
  IdGenerator generator(clock);
  std::vector<std::string> ids;
  for (int id_idx = 0; id_idx < 1000; ++id_idx) ids.push_back(generator.Next("x"));
  clock.Set(TimePoint(milliseconds(4000)));  // the wall clock stepped back
  for (int id_idx = 0; id_idx < 10; ++id_idx) ids.push_back(generator.Next("x"));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(IdGeneratorTest, CarriesIntoTheNextMillisecondWhenRandomWraps) {
  ManualClock clock(TimePoint(milliseconds(7)));
  IdGenerator generator(clock, [](uint8_t* out, size_t size) { std::fill(out, out + size, 0xFF); });
  std::string first = generator.Next("");
  std::string second = generator.Next("");  // increment wraps: time moves to 8
  EXPECT_LT(first, second);
}

TEST(NewIdTest, UniqueAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<std::string>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int thread_idx = 0; thread_idx < kThreads; ++thread_idx) {
    threads.emplace_back([&per_thread, thread_idx] {
      for (int id_idx = 0; id_idx < kPerThread; ++id_idx) {
        per_thread[thread_idx].push_back(NewId("t"));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& ids : per_thread) {
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));  // each thread sees increasing ids
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(NewIdTest, UniqueAcrossForkedProcesses) {
  // The parent makes an id first so that the child inherits generator state.
  std::string parent_first = NewId("p");
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    for (int id_idx = 0; id_idx < 200; ++id_idx) {
      std::string id = NewId("p") + "\n";
      if (write(pipe_fds[1], id.data(), id.size()) != static_cast<ssize_t>(id.size())) _exit(2);
    }
    close(pipe_fds[1]);
    _exit(0);
  }
  close(pipe_fds[1]);
  std::set<std::string> ids;
  for (int id_idx = 0; id_idx < 200; ++id_idx) ids.insert(NewId("p"));
  std::string child_output;
  char buffer[4096];
  ssize_t got;
  while ((got = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) child_output.append(buffer, got);
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  size_t child_count = 0;
  for (size_t start = 0; start < child_output.size();) {
    size_t end = child_output.find('\n', start);
    ids.insert(child_output.substr(start, end - start));
    ++child_count;
    start = end + 1;
  }
  EXPECT_EQ(child_count, 200u);
  EXPECT_EQ(ids.size(), 400u);
  EXPECT_EQ(ids.count(parent_first), 0u);
}

TEST(CheckNameTest, AcceptsLettersDigitsAndTheGivenPunctuation) {
  EXPECT_TRUE(CheckName("group", "housing-models-2", 63, "-").ok());
  EXPECT_TRUE(CheckName("experiment", "a.b:c/d_e", 120, "-_.:/").ok());
}

TEST(CheckNameTest, NamesWhatIsWrongAndWhere) {
  Status empty = CheckName("group", "", 63, "-");
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.message(), "invalid group '': it is empty");
  EXPECT_EQ(CheckName("group", std::string(64, 'a'), 63, "-").message(),
            "invalid group '" + std::string(64, 'a') + "': longer than 63 characters");
  EXPECT_EQ(CheckName("group", "ab_c", 63, "-").message(),
            "invalid group 'ab_c': character 3 is not a letter, a digit, '-'");
  EXPECT_EQ(CheckName("group", "x y", 63, "").message(),
            "invalid group 'x y': character 2 is not a letter, a digit");
}

}  // namespace
}  // namespace raypipe::core
