#include "pipeline/cache_lifetime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace raypipe::pipeline {
namespace {

using ::testing::HasSubstr;

int64_t Seconds(std::string_view text) {
  Result<std::chrono::seconds> lifetime = ParseCacheLifetime(text);
  EXPECT_TRUE(lifetime.ok()) << text << ": " << lifetime.status();
  return lifetime.ok() ? lifetime->count() : -1;
}

TEST(CacheLifetimeTest, ReadsIsoDurationsInWholeSeconds) {
  EXPECT_EQ(Seconds("P30D"), 30 * 86400);
  EXPECT_EQ(Seconds("PT12H"), 12 * 3600);
  EXPECT_EQ(Seconds("PT1H30M"), 5400);
  EXPECT_EQ(Seconds("P1Y2M"), (365 + 60) * 86400);
  EXPECT_EQ(Seconds("P1.5D"), 36 * 3600);
  EXPECT_EQ(Seconds("PT1.9S"), 1);  // truncated
  EXPECT_EQ(Seconds("PT0S"), 0);
}

TEST(CacheLifetimeTest, RefusesNegativeAndMalformedLifetimesSayingWhy) {
  Result<std::chrono::seconds> negative = ParseCacheLifetime("-P1D");
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(negative.status().message()), HasSubstr("cannot be negative"));
  for (const char* text : {"", "30D", "P", "PT", "PT1D", "p1d", "P1DT"}) {
    Result<std::chrono::seconds> lifetime = ParseCacheLifetime(text);
    EXPECT_FALSE(lifetime.ok()) << text;
    EXPECT_EQ(lifetime.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace raypipe::pipeline
