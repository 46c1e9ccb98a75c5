#include "data/random.h"

#include <cmath>

// Results must not depend on whether the compiler fuses a * b + c: CMakeLists.txt compiles
// this file with -ffp-contract=off (see random.h).

namespace raypipe::data {
namespace {

uint64_t RotateLeft(uint64_t value, int bits) { return (value << bits) | (value >> (64 - bits)); }

constexpr double kLn2 = 0.6931471805599453094172321214581766;
constexpr double kSqrtHalf = 0.7071067811865475244008443621048490;

}  // namespace

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t MixSeed(uint64_t seed, uint64_t stream) {
  SplitMix64 first(seed);
  uint64_t base = first.Next();
  SplitMix64 second(base ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL));
  return second.Next();
}

double PortableLog(double x) {
  // x = m * 2^e with m in [sqrt(1/2), sqrt(2)), so t = (m - 1) / (m + 1) has |t| < 0.1716 and
  // ln(m) = 2 * atanh(t) = 2 * (t + t^3/3 + t^5/5 + ...); t^2 < 0.0295, so 12 terms reach
  // below 1e-18 relative. frexp is exact.
  int exponent = 0;
  double mantissa = std::frexp(x, &exponent);  // in [0.5, 1)
  if (mantissa < kSqrtHalf) {
    mantissa *= 2.0;
    exponent -= 1;
  }
  double t = (mantissa - 1.0) / (mantissa + 1.0);
  double t2 = t * t;
  double series = 1.0 / 25.0;
  for (int k = 11; k >= 0; --k) {
    series = 1.0 / static_cast<double>(2 * k + 1) + t2 * series;
  }
  return static_cast<double>(exponent) * kLn2 + 2.0 * t * series;
}

Random::Random(uint64_t seed) {
  SplitMix64 seeder(seed);
  for (uint64_t& word : state_) word = seeder.Next();
}

uint64_t Random::Next() {
  uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

double Random::Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

uint64_t Random::UniformBelow(uint64_t bound) {
  // Lemire's multiply-shift ("Fast random integer generation in an interval", 2019): the high
  // half of value * bound, rejecting the few low halves that would bias it.
  unsigned __int128 product = static_cast<unsigned __int128>(Next()) * bound;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < bound) {
    uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      product = static_cast<unsigned __int128>(Next()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

int64_t Random::UniformInt(int64_t low, int64_t high) {
  uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;
  uint64_t offset = span == 0 ? Next() : UniformBelow(span);  // span 0: the full 64-bit range
  return static_cast<int64_t>(static_cast<uint64_t>(low) + offset);
}

double Random::Normal(double mean, double stddev) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + stddev * spare_;
  }
  double u = 0.0;
  double v = 0.0;
  double s = 0.0;
  do {
    u = 2.0 * Uniform01() - 1.0;
    v = 2.0 * Uniform01() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double factor = std::sqrt(-2.0 * PortableLog(s) / s);
  spare_ = v * factor;
  has_spare_ = true;
  return mean + stddev * (u * factor);
}

}  // namespace raypipe::data
