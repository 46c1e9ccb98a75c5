#pragma once

// The synthetic housing data set of the reference workflow (DESIGN.md section 1), as produced
// by `raypipe datasets housing --rows N --seed S --out FILE.csv`.
//
// Columns, in order: PRICE (Int64), YEAR_BUILT (Int64), SQUARE_FEET (Float64), NUM_BEDROOMS
// (Int64), NUM_BATHROOMS (Float64), LOT_ACRES (Float64), GARAGE_SPACES (Int64), FRONT_PORCH
// (Int64), DECK (Int64). Per row:
//   YEAR_BUILT    = min(2019, trunc(Normal(1995, 10)))
//   SQUARE_FEET   = Normal(3000, 750), not rounded
//   NUM_BEDROOMS  = uniform integer in [2, 6]
//   NUM_BATHROOMS = (uniform integer in [2, 6]) / 2
//   LOT_ACRES     = Normal(1.0, 0.25) rounded to 2 decimals (half away from zero)
//   GARAGE_SPACES = uniform integer in [0, 3]
//   FRONT_PORCH, DECK = uniform 0 or 1
//   PRICE = trunc(150*SQUARE_FEET + 10000*NUM_BEDROOMS + 15000*NUM_BATHROOMS
//                 + 15000*LOT_ACRES + 15000*GARAGE_SPACES - 5000*(2019 - YEAR_BUILT)),
//           evaluated left to right in double precision, truncated toward zero, no noise.
// Values are drawn in the column order above (YEAR_BUILT first) from data::Random streams:
// rows are cut into chunks of kHousingChunkRows, and chunk c uses Random(MixSeed(seed, c)).
// So a seed gives the same table, and WriteCsvFile the same bytes, on every platform and for
// every thread count.

#include <cstdint>

#include "core/status.h"
#include "data/table.h"

namespace raypipe::data {

inline constexpr int64_t kHousingChunkRows = 16384;
inline constexpr int64_t kHousingMaxRows = 1'000'000'000;

struct HousingOptions {
  int64_t rows = 10000;  // number of rows, in [0, kHousingMaxRows]
  uint64_t seed = 42;    // the same seed gives the same data
  int threads = 0;       // generation threads, 0 = hardware; never changes the output
};

// InvalidArgument when rows is negative or above kHousingMaxRows.
Result<Table> GenerateHousing(const HousingOptions& options);

}  // namespace raypipe::data
