#include "pipeline/iso_duration.h"

#include <gtest/gtest.h>

namespace raypipe::pipeline {
namespace {

int64_t Seconds(std::string_view text) {
  Result<std::chrono::seconds> duration = ParseIsoDuration(text);
  EXPECT_TRUE(duration.ok()) << text << ": " << duration.status();
  return duration.ok() ? duration->count() : -1;
}

TEST(IsoDurationTest, ParsesEachUnit) {
  EXPECT_EQ(Seconds("P30D"), 30 * 86400);
  EXPECT_EQ(Seconds("PT12H"), 12 * 3600);
  EXPECT_EQ(Seconds("PT1H30M"), 5400);
  EXPECT_EQ(Seconds("PT45S"), 45);
  EXPECT_EQ(Seconds("P2W"), 14 * 86400);
  EXPECT_EQ(Seconds("P1Y2M"), (365 + 60) * 86400);
  EXPECT_EQ(Seconds("P1DT2H3M4S"), 86400 + 7200 + 180 + 4);
  EXPECT_EQ(Seconds("PT0S"), 0);
}

TEST(IsoDurationTest, RejectsWhatIsNotADuration) {
  for (const char* text : {"", "30D", "P", "PT", "P1H", "PT1D", "P1D2Y", "P1.5D", "P1DT",
                           "p1d", "P-1D", "P1", "PT1H1H", "P99999999999999999999D"}) {
    Result<std::chrono::seconds> duration = ParseIsoDuration(text);
    EXPECT_FALSE(duration.ok()) << text;
    EXPECT_EQ(duration.status().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_EQ(ParseIsoDuration("P1.5D").status().message(),
            "'P1.5D' is not an ISO-8601 duration such as P30D or PT1H30M: fractions are not "
            "supported");
}

}  // namespace
}  // namespace raypipe::pipeline
