#include "data/housing.h"

#include <algorithm>
#include <cmath>

#include "data/internal/parallel.h"
#include "data/random.h"

// Results must not depend on whether the compiler fuses a * b + c: CMakeLists.txt compiles
// this file with -ffp-contract=off (see random.h).

namespace raypipe::data {
namespace {

enum HousingColumn {
  kPrice,
  kYearBuilt,
  kSquareFeet,
  kBedrooms,
  kBathrooms,
  kLotAcres,
  kGarage,
  kFrontPorch,
  kDeck,
  kNumHousingColumns,
};

constexpr const char* kNames[kNumHousingColumns] = {
    "PRICE",     "YEAR_BUILT",    "SQUARE_FEET", "NUM_BEDROOMS", "NUM_BATHROOMS",
    "LOT_ACRES", "GARAGE_SPACES", "FRONT_PORCH", "DECK"};

constexpr DataType kTypes[kNumHousingColumns] = {
    DataType::kInt64,   DataType::kInt64, DataType::kFloat64, DataType::kInt64, DataType::kFloat64,
    DataType::kFloat64, DataType::kInt64, DataType::kInt64,   DataType::kInt64};

}  // namespace

Result<Table> GenerateHousing(const HousingOptions& options) {
  if (options.rows < 0 || options.rows > kHousingMaxRows) {
    return InvalidArgumentError("housing: rows must be in [0, " +
                                std::to_string(kHousingMaxRows) + "], got " +
                                std::to_string(options.rows));
  }
  size_t rows = static_cast<size_t>(options.rows);
  std::shared_ptr<Buffer> buffers[kNumHousingColumns];
  for (auto& buffer : buffers) buffer = Buffer::Allocate(rows * 8);
  auto int_column = [&](HousingColumn column) {
    return reinterpret_cast<int64_t*>(buffers[column]->mutable_data());
  };
  auto float_column = [&](HousingColumn column) {
    return reinterpret_cast<double*>(buffers[column]->mutable_data());
  };
  int64_t* price = int_column(kPrice);
  int64_t* year_built = int_column(kYearBuilt);
  double* square_feet = float_column(kSquareFeet);
  int64_t* bedrooms = int_column(kBedrooms);
  double* bathrooms = float_column(kBathrooms);
  double* lot_acres = float_column(kLotAcres);
  int64_t* garage = int_column(kGarage);
  int64_t* front_porch = int_column(kFrontPorch);
  int64_t* deck = int_column(kDeck);

  size_t num_chunks = (rows + kHousingChunkRows - 1) / kHousingChunkRows;
  internal::ParallelFor(num_chunks, options.threads, [&](size_t chunk) {
    Random random(MixSeed(options.seed, chunk));
    size_t begin = chunk * kHousingChunkRows;
    size_t end = std::min(rows, begin + kHousingChunkRows);
    for (size_t row = begin; row < end; ++row) {
      int64_t year = std::min<int64_t>(2019, static_cast<int64_t>(random.Normal(1995.0, 10.0)));
      double feet = random.Normal(3000.0, 750.0);
      int64_t beds = random.UniformInt(2, 6);
      double baths = static_cast<double>(random.UniformInt(2, 6)) / 2.0;
      // + 0.0 turns a -0.0 (a tiny negative lot) into 0.0.
      double lot = std::round(random.Normal(1.0, 0.25) * 100.0) / 100.0 + 0.0;
      int64_t garage_spaces = random.UniformInt(0, 3);
      int64_t porch = random.UniformInt(0, 1);
      int64_t has_deck = random.UniformInt(0, 1);
      double value = 150.0 * feet + 10000.0 * static_cast<double>(beds) + 15000.0 * baths +
                     15000.0 * lot + 15000.0 * static_cast<double>(garage_spaces) -
                     5000.0 * static_cast<double>(2019 - year);
      price[row] = static_cast<int64_t>(std::trunc(value));
      year_built[row] = year;
      square_feet[row] = feet;
      bedrooms[row] = beds;
      bathrooms[row] = baths;
      lot_acres[row] = lot;
      garage[row] = garage_spaces;
      front_porch[row] = porch;
      deck[row] = has_deck;
    }
  });

  std::vector<Column> columns;
  columns.reserve(kNumHousingColumns);
  for (int column = 0; column < kNumHousingColumns; ++column) {
    ASSIGN_OR_RETURN(Column built, Column::FromBuffers(kNames[column], kTypes[column], rows,
                                                       std::move(buffers[column]), nullptr,
                                                       nullptr));
    columns.push_back(std::move(built));
  }
  return TableFromCheckedColumns(std::move(columns), rows);
}

}  // namespace raypipe::data
