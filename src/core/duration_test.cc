#include "core/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace raypipe::core {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr auto kDay = hours(24);

TEST(ParseIsoDurationTest, SageMakerForms) {
  EXPECT_EQ(*ParseIsoDuration("PT12H"), hours(12));
  EXPECT_EQ(*ParseIsoDuration("P1DT2H30M"), kDay + hours(2) + minutes(30));
  EXPECT_EQ(*ParseIsoDuration("P30D"), 30 * kDay);
  EXPECT_EQ(*ParseIsoDuration("PT0.5S"), milliseconds(500));
  EXPECT_EQ(*ParseIsoDuration("PT1H"), hours(1));
  EXPECT_EQ(*ParseIsoDuration("P4DT12H"), 4 * kDay + hours(12));
  EXPECT_EQ(*ParseIsoDuration("PT90M"), minutes(90));
  EXPECT_EQ(*ParseIsoDuration("PT0S"), milliseconds(0));
}

TEST(ParseIsoDurationTest, WeeksYearsMonthsAndFractions) {
  EXPECT_EQ(*ParseIsoDuration("P2W"), 14 * kDay);
  EXPECT_EQ(*ParseIsoDuration("P1Y"), 365 * kDay);
  EXPECT_EQ(*ParseIsoDuration("P1M"), 30 * kDay);
  EXPECT_EQ(*ParseIsoDuration("P1MT1M"), 30 * kDay + minutes(1));  // month, then minute
  EXPECT_EQ(*ParseIsoDuration("P1.5D"), kDay + hours(12));
  EXPECT_EQ(*ParseIsoDuration("PT1,25S"), milliseconds(1250));
  EXPECT_EQ(*ParseIsoDuration("PT0.0005S"), milliseconds(0));  // below resolution: truncated
  EXPECT_EQ(*ParseIsoDuration("-PT5S"), -seconds(5));
}

TEST(ParseIsoDurationTest, LowercaseWithoutPIsInvalidAndSaysWhy) {
  Result<milliseconds> parsed = ParseIsoDuration("30dT5h");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  std::string message(parsed.status().message());
  EXPECT_THAT(message, HasSubstr("\"30dT5h\""));
  EXPECT_THAT(message, HasSubstr("must start with 'P'"));
  EXPECT_THAT(message, HasSubstr("P1DT2H30M"));  // an example of the right form
}

TEST(ParseIsoDurationTest, RejectsMalformedWithReasons) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& bad : std::vector<Case>{
           {"", "empty"},
           {"P", "has no parts"},
           {"PT", "'T' must be followed"},
           {"P1DT", "'T' must be followed"},
           {"p1d", "upper case"},
           {"P1d", "upper case: 'd' at position 3"},
           {"PT5h", "upper case"},
           {"P5H", "must come after 'T'"},
           {"PT1D", "must come before 'T'"},
           {"PT5H1H", "repeated or out of order"},
           {"P1D2Y", "repeated or out of order"},
           {"PT1M5H", "repeated or out of order"},
           {"PT1.5H30M", "only the last part may have a fraction"},
           {"P5", "has no designator"},
           {"PT.5S", "expected a number at position 3"},
           {"PT1.S", "digits after the decimal point"},
           {"P1X", "unknown designator 'X'"},
           {"PT1HT2M", "a second 'T'"},
           {"P99999999999999999999D", "too large"},
           {"P9999999999999D", "too long"},
           {" PT1H", "must start with 'P'"},
       }) {
    Result<milliseconds> parsed = ParseIsoDuration(bad.text);
    ASSERT_FALSE(parsed.ok()) << bad.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << bad.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(bad.reason)) << bad.text;
  }
}

TEST(FormatIsoDurationTest, ShortestForms) {
  EXPECT_EQ(FormatIsoDuration(milliseconds(0)), "PT0S");
  EXPECT_EQ(FormatIsoDuration(hours(12)), "PT12H");
  EXPECT_EQ(FormatIsoDuration(kDay + hours(2) + minutes(30)), "P1DT2H30M");
  EXPECT_EQ(FormatIsoDuration(30 * kDay), "P30D");
  EXPECT_EQ(FormatIsoDuration(milliseconds(500)), "PT0.5S");
  EXPECT_EQ(FormatIsoDuration(milliseconds(90'010)), "PT1M30.01S");
  EXPECT_EQ(FormatIsoDuration(-seconds(1)), "-PT1S");
  EXPECT_EQ(FormatIsoDuration(kDay + milliseconds(1)), "P1DT0.001S");
}

TEST(FormatIsoDurationTest, RoundTripsRandomValues) {
  std::mt19937_64 random(20261126);
  std::uniform_int_distribution<int64_t> millis(-(int64_t{1} << 50), int64_t{1} << 50);
  for (int trial = 0; trial < 2000; ++trial) {
    milliseconds value(millis(random));
    std::string text = FormatIsoDuration(value);
    Result<milliseconds> parsed = ParseIsoDuration(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, value) << text;
  }
  milliseconds extreme = milliseconds::min();
  EXPECT_EQ(FormatIsoDuration(extreme).substr(0, 2), "-P");
}

}  // namespace
}  // namespace raypipe::core
