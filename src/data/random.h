#pragma once

// Deterministic random numbers for the data module: the same seed gives the same sequence on
// every platform and standard library (unlike std::normal_distribution and friends), because
// everything here is integer arithmetic plus IEEE-754 +, -, *, / and sqrt, which are
// correctly rounded. random.cc and housing.cc are compiled with -ffp-contract=off so no FMA can
// change a result.
//
// Not thread-safe: one generator per thread or per chunk (see MixSeed).

#include <cstdint>

namespace raypipe::data {

// SplitMix64 (Steele, Lea and Flood, 2014): seeds Random and derives stream seeds.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();

 private:
  uint64_t state_;
};

// A well-mixed seed for stream `stream` of `seed` (e.g. one per fixed-size chunk of rows), so
// parallel output does not depend on how chunks are assigned to threads.
uint64_t MixSeed(uint64_t seed, uint64_t stream);

// The natural logarithm computed with basic arithmetic only (frexp, then the atanh series),
// so it gives the same bits everywhere; accurate to about 1 ulp.
// REQUIRES: x > 0 and finite.
double PortableLog(double x);

// xoshiro256** 1.0 (Blackman and Vigna, 2018), state seeded from four SplitMix64(seed)
// outputs.
class Random {
 public:
  explicit Random(uint64_t seed);

  uint64_t Next();
  // Uniform in [0, 1) with 53 random bits.
  double Uniform01();
  // Uniform in [0, bound), unbiased: Lemire's multiply-shift with rejection.
  // REQUIRES: bound > 0.
  uint64_t UniformBelow(uint64_t bound);
  // Uniform in [low, high], inclusive. REQUIRES: low <= high.
  int64_t UniformInt(int64_t low, int64_t high);
  // Normal(mean, stddev) by Marsaglia's polar method with PortableLog; each accepted pair of
  // uniforms yields two deviates, the second kept for the next call.
  double Normal(double mean, double stddev);

 private:
  uint64_t state_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace raypipe::data
