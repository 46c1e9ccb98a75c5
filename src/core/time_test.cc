#include "core/time.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace raypipe::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

TimePoint FromMillis(int64_t millis) { return TimePoint(milliseconds(millis)); }

TEST(FormatIsoTimeTest, UtcWithMilliseconds) {
  EXPECT_EQ(FormatIsoTime(FromMillis(0)), "1970-01-01T00:00:00.000Z");
  // 2026-11-26T21:00:00.123Z
  EXPECT_EQ(FormatIsoTime(FromMillis(1795726800123)), "2026-11-26T21:00:00.123Z");
  // Sub-millisecond parts are truncated toward the past, also before 1970.
  EXPECT_EQ(FormatIsoTime(TimePoint(nanoseconds(1999999))), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(FormatIsoTime(FromMillis(-1)), "1969-12-31T23:59:59.999Z");
}

TEST(ParseIsoTimeTest, RoundTripsFormat) {
  for (int64_t millis : {int64_t{0}, int64_t{1795726800123}, int64_t{-86400001},
                         int64_t{951782400000} /* 2000-02-29 */}) {
    Result<TimePoint> parsed = ParseIsoTime(FormatIsoTime(FromMillis(millis)));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, FromMillis(millis));
  }
}

TEST(ParseIsoTimeTest, OffsetsAndVariants) {
  TimePoint expected = FromMillis(1795726800000);  // 2026-11-26T21:00:00Z
  for (const char* text :
       {"2026-11-26T21:00:00Z", "2026-11-26T23:00:00+02:00", "2026-11-26T23:00:00+0200",
        "2026-11-26T19:30:00-01:30", "2026-11-26t21:00:00z", "2026-11-26 21:00:00Z",
        "2026-11-26T21:00:00", "2026-11-26T21:00:00.000Z"}) {
    Result<TimePoint> parsed = ParseIsoTime(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, expected) << text;
  }
  EXPECT_EQ(*ParseIsoTime("2026-11-26"), FromMillis(1795651200000));
}

TEST(ParseIsoTimeTest, FractionsKeepNanoseconds) {
  Result<TimePoint> parsed = ParseIsoTime("1970-01-01T00:00:01.123456789Z");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->time_since_epoch(), nanoseconds(1123456789));
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:00.5Z")->time_since_epoch(), milliseconds(500));
}

TEST(ParseIsoTimeTest, RejectsBadInputWithReasons) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& bad : std::vector<Case>{
           {"", "four-digit year"},
           {"26-11-26", "four-digit year"},
           {"2026-13-01T00:00:00Z", "month must be"},
           {"2026-02-30T00:00:00Z", "no such day"},
           {"2025-02-29", "no such day"},
           {"2026-11-26T24:00:00Z", "hour must be"},
           {"2026-11-26T21:60:00Z", "minute must be"},
           {"2026-11-26T21:00:60Z", "leap seconds"},
           {"2026-11-26T21:00Z", "hh:mm:ss"},
           {"2026-11-26T21:00:00.Z", "digits after the decimal point"},
           {"2026-11-26T21:00:00+2", "UTC offset"},
           {"2026-11-26T21:00:00+25:00", "offset out of range"},
           {"2026-11-26T21:00:00Zjunk", "unexpected text at position 21"},
           {"9999-01-01T00:00:00Z", "supported range"},
       }) {
    Result<TimePoint> parsed = ParseIsoTime(bad.text);
    ASSERT_FALSE(parsed.ok()) << bad.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(bad.reason)) << bad.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(bad.text));
  }
}

TEST(ParseEventTimeTest, EpochSecondsAndIso) {
  EXPECT_EQ(ParseEventTime("1700000000")->time_since_epoch(), seconds(1700000000));
  EXPECT_EQ(ParseEventTime("1700000000.25")->time_since_epoch(),
            seconds(1700000000) + milliseconds(250));
  EXPECT_EQ(ParseEventTime("-1.5")->time_since_epoch(), -milliseconds(1500));
  EXPECT_EQ(*ParseEventTime("2026-11-26T21:00:00Z"), FromMillis(1795726800000));
  EXPECT_FALSE(ParseEventTime("").ok());
  EXPECT_FALSE(ParseEventTime("12abc").ok());
  EXPECT_FALSE(ParseEventTime("1.").ok());
  EXPECT_FALSE(ParseEventTime("99999999999999").ok());
  EXPECT_THAT(std::string(ParseEventTime("yesterday").status().message()),
              HasSubstr("epoch seconds"));
}

TEST(ManualClockTest, SetAdvanceAndThreads) {
  ManualClock clock(FromMillis(1000));
  EXPECT_EQ(clock.Now(), FromMillis(1000));
  clock.Advance(seconds(2));
  EXPECT_EQ(clock.Now(), FromMillis(3000));
  clock.Set(FromMillis(5));
  EXPECT_EQ(clock.Now(), FromMillis(5));
  std::vector<std::thread> threads;
  for (int thread_idx = 0; thread_idx < 4; ++thread_idx) {
    threads.emplace_back([&clock] {
      for (int step = 0; step < 1000; ++step) clock.Advance(milliseconds(1));
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(clock.Now(), FromMillis(4005));
}

TEST(SystemClockTest, IsCloseToChrono) {
  SystemClock clock;
  TimePoint before = std::chrono::system_clock::now();
  TimePoint now = clock.Now();
  EXPECT_GE(now, before);
}

}  // namespace
}  // namespace raypipe::core
