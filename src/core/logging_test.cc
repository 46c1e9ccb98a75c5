#include "core/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

namespace raypipe::core {
namespace {

using ::testing::HasSubstr;

class CapturingSink : public LogSink {
 public:
  void Write(const LogRecord& record, std::string_view formatted) override {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.emplace_back(formatted);
    levels_.push_back(record.level);
    messages_.emplace_back(record.message);
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }
  std::vector<std::string> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }

 private:
  std::mutex mutex_;  // guards the vectors
  std::vector<std::string> lines_;
  std::vector<LogLevel> levels_;
  std::vector<std::string> messages_;
};

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_level_ = MinLogLevel(); }
  void TearDown() override { SetMinLogLevel(saved_level_); }
  LogLevel saved_level_ = LogLevel::kInfo;
};

TEST_F(LoggingTest, LineHasTimeLevelFileAndLine) {
  auto sink = std::make_shared<CapturingSink>();
  ScopedLogSink scoped(sink);
  SetMinLogLevel(LogLevel::kInfo);
  RAYPIPE_LOG(Warning) << "disk " << 93 << "% full";
  int expected_line = __LINE__ - 1;
  std::vector<std::string> lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  // gtest's regex (POSIX extended) rather than std::regex, which trips GCC 12's
  // maybe-uninitialized warning under the sanitizers.
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(
                            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                            "WARNING core/logging_test\\.cc:[0-9]+\\] disk 93% full"));
  EXPECT_THAT(lines[0], ::testing::EndsWith("core/logging_test.cc:" +
                                            std::to_string(expected_line) + "] disk 93% full"));
}

TEST_F(LoggingTest, MinimumLevelFiltersAndSkipsEvaluation) {
  auto sink = std::make_shared<CapturingSink>();
  ScopedLogSink scoped(sink);
  SetMinLogLevel(LogLevel::kWarning);
  int evaluated = 0;
  auto count = [&evaluated] { return ++evaluated; };
  RAYPIPE_LOG(Info) << "hidden " << count();
  RAYPIPE_LOG(Debug) << "hidden " << count();
  RAYPIPE_LOG(Error) << "shown " << count();
  EXPECT_EQ(evaluated, 1);
  std::vector<std::string> messages = sink->messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], "shown 1");
  SetMinLogLevel(LogLevel::kDebug);
  RAYPIPE_LOG(Debug) << "now shown";
  EXPECT_EQ(sink->messages().size(), 2u);
}

TEST_F(LoggingTest, UnbracedIfElseBindsAsWritten) {
  auto sink = std::make_shared<CapturingSink>();
  ScopedLogSink scoped(sink);
  SetMinLogLevel(LogLevel::kInfo);
  bool flag = false;
  if (flag)
    RAYPIPE_LOG(Info) << "then";
  else
    RAYPIPE_LOG(Info) << "else";
  ASSERT_EQ(sink->messages().size(), 1u);
  EXPECT_EQ(sink->messages()[0], "else");
}

TEST_F(LoggingTest, ThreadsDoNotInterleave) {
  auto sink = std::make_shared<CapturingSink>();
  ScopedLogSink scoped(sink);
  SetMinLogLevel(LogLevel::kInfo);
  std::vector<std::thread> threads;
  for (int thread_idx = 0; thread_idx < 4; ++thread_idx) {
    threads.emplace_back([thread_idx] {
      for (int line_idx = 0; line_idx < 250; ++line_idx) {
        RAYPIPE_LOG(Info) << "thread " << thread_idx << " line " << line_idx;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<std::string> messages = sink->messages();
  ASSERT_EQ(messages.size(), 1000u);
  for (const std::string& message : messages) {
    EXPECT_THAT(message, ::testing::MatchesRegex("thread [0-9] line [0-9]+"));
  }
}

TEST_F(LoggingTest, ScopedSinkRestoresPrevious) {
  auto outer = std::make_shared<CapturingSink>();
  ScopedLogSink outer_scope(outer);
  SetMinLogLevel(LogLevel::kInfo);
  {
    auto inner = std::make_shared<CapturingSink>();
    ScopedLogSink inner_scope(inner);
    RAYPIPE_LOG(Info) << "to inner";
    EXPECT_EQ(inner->messages().size(), 1u);
  }
  RAYPIPE_LOG(Info) << "to outer";
  ASSERT_EQ(outer->messages().size(), 1u);
  EXPECT_EQ(outer->messages()[0], "to outer");
}

TEST(ParseLogLevelTest, NamesAndErrors) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("Warn"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  Result<LogLevel> bad = ParseLogLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("\"loud\""));
  EXPECT_EQ(LogLevelName(LogLevel::kWarning), "WARNING");
}

}  // namespace
}  // namespace raypipe::core
