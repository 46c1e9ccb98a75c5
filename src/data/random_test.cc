#include "data/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace raypipe::data {
namespace {

TEST(RandomTest, SplitMix64KnownValues) {
  // Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
  SplitMix64 generator(0);
  EXPECT_EQ(generator.Next(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(generator.Next(), 0x6E789E6AA1B965F4ULL);
}

TEST(RandomTest, SameSeedSameSequence) {
  Random a(123), b(123), c(124);
  bool differs = false;
  for (int draw = 0; draw < 100; ++draw) {
    uint64_t value = a.Next();
    EXPECT_EQ(value, b.Next());
    differs |= value != c.Next();
  }
  EXPECT_TRUE(differs);
  EXPECT_NE(MixSeed(1, 0), MixSeed(1, 1));
  EXPECT_NE(MixSeed(1, 0), MixSeed(2, 0));
}

TEST(RandomTest, PortableLogIsAccurate) {
  Random random(5);
  for (int draw = 0; draw < 100000; ++draw) {
    int exponent = static_cast<int>(random.UniformInt(-60, 60));
    double x = std::ldexp(random.Uniform01() + 1e-300, exponent);
    double expected = std::log(x);
    double tolerance = 4 * std::abs(std::nextafter(expected, 0.0) - expected) + 1e-300;
    ASSERT_NEAR(PortableLog(x), expected, tolerance) << x;
  }
  EXPECT_EQ(PortableLog(1.0), 0.0);
}

TEST(RandomTest, UniformIntCoversRangeEvenly) {
  Random random(9);
  std::vector<int> counts(5, 0);
  for (int draw = 0; draw < 50000; ++draw) {
    int64_t value = random.UniformInt(2, 6);
    ASSERT_GE(value, 2);
    ASSERT_LE(value, 6);
    ++counts[static_cast<size_t>(value - 2)];
  }
  for (int count : counts) EXPECT_NEAR(count, 10000, 400);
  EXPECT_EQ(random.UniformInt(4, 4), 4);
}

TEST(RandomTest, NormalMoments) {
  Random random(17);
  const int draws = 200000;
  double sum = 0, squares = 0, cubes = 0;
  for (int draw = 0; draw < draws; ++draw) {
    double value = random.Normal(0.0, 1.0);
    sum += value;
    squares += value * value;
    cubes += value * value * value;
  }
  EXPECT_NEAR(sum / draws, 0.0, 0.01);
  EXPECT_NEAR(squares / draws, 1.0, 0.02);
  EXPECT_NEAR(cubes / draws, 0.0, 0.05);
  Random scaled(17);
  EXPECT_NEAR(scaled.Normal(10.0, 2.0), 10.0 + 2.0 * Random(17).Normal(0.0, 1.0), 1e-12);
}

}  // namespace
}  // namespace raypipe::data
