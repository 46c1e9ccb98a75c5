#include "data/housing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "data/csv.h"

namespace raypipe::data {
namespace {

const std::vector<std::string> kExpectedNames = {
    "PRICE",     "YEAR_BUILT",    "SQUARE_FEET", "NUM_BEDROOMS", "NUM_BATHROOMS",
    "LOT_ACRES", "GARAGE_SPACES", "FRONT_PORCH", "DECK"};

Table Generate(int64_t rows, uint64_t seed, int threads = 0) {
  auto table = GenerateHousing({.rows = rows, .seed = seed, .threads = threads});
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : Table();
}

TEST(HousingTest, SchemaInOrder) {
  Table table = Generate(10, 1);
  EXPECT_EQ(table.ColumnNames(), kExpectedNames);
  EXPECT_EQ(table.num_rows(), 10u);
  for (const Column& column : table.columns()) {
    bool is_float = column.name() == "SQUARE_FEET" || column.name() == "NUM_BATHROOMS" ||
                    column.name() == "LOT_ACRES";
    EXPECT_EQ(column.type(), is_float ? DataType::kFloat64 : DataType::kInt64) << column.name();
    EXPECT_FALSE(column.has_nulls());
  }
}

TEST(HousingTest, SameSeedSameBytesForAnyThreadCount) {
  // 50,000 rows span several chunks, so thread scheduling could show if it mattered.
  std::string one = WriteCsvString(Generate(50000, 7, 1));
  EXPECT_EQ(WriteCsvString(Generate(50000, 7, 2)), one);
  EXPECT_EQ(WriteCsvString(Generate(50000, 7, 5)), one);
  EXPECT_NE(WriteCsvString(Generate(50000, 8, 2)), one);
}

TEST(HousingTest, PrefixIsStableWhenRowsGrow) {
  Table small = Generate(1000, 3);
  Table large = Generate(40000, 3);
  EXPECT_EQ(*large.Slice(0, 1000), small);
}

TEST(HousingTest, MatchesGoldenFile) {
  // Pins the generator, the PRNG and the CSV format: a change here changes every user's data.
  std::ifstream golden(RAYPIPE_SOURCE_DIR "/src/data/testdata/housing_seed42_rows8.csv",
                       std::ios::binary);
  ASSERT_TRUE(golden) << "missing golden file";
  std::stringstream expected;
  expected << golden.rdbuf();
  EXPECT_EQ(WriteCsvString(Generate(8, 42)), expected.str());
}

TEST(HousingTest, FormulaHoldsOnEveryRow) {
  Table table = Generate(20000, 11);
  auto ints = [&](const char* name) { return (*table.ColumnByName(name))->int64s(); };
  auto floats = [&](const char* name) { return (*table.ColumnByName(name))->float64s(); };
  auto price = ints("PRICE");
  auto year = ints("YEAR_BUILT");
  auto beds = ints("NUM_BEDROOMS");
  auto garage = ints("GARAGE_SPACES");
  auto feet = floats("SQUARE_FEET");
  auto baths = floats("NUM_BATHROOMS");
  auto lot = floats("LOT_ACRES");
  for (size_t row = 0; row < table.num_rows(); ++row) {
    double value = 150.0 * feet[row] + 10000.0 * static_cast<double>(beds[row]) +
                   15000.0 * baths[row] + 15000.0 * lot[row] +
                   15000.0 * static_cast<double>(garage[row]) -
                   5000.0 * static_cast<double>(2019 - year[row]);
    ASSERT_EQ(price[row], static_cast<int64_t>(std::trunc(value))) << "row " << row;
  }
}

TEST(HousingTest, DistributionsMatchTheSpec) {
  Table table = Generate(200000, 5);
  size_t rows = table.num_rows();
  auto mean_and_std = [&](std::span<const double> values) {
    double sum = 0, squares = 0;
    for (double value : values) sum += value;
    double mean = sum / static_cast<double>(values.size());
    for (double value : values) squares += (value - mean) * (value - mean);
    return std::pair{mean, std::sqrt(squares / static_cast<double>(values.size()))};
  };
  auto [feet_mean, feet_std] = mean_and_std((*table.ColumnByName("SQUARE_FEET"))->float64s());
  EXPECT_NEAR(feet_mean, 3000.0, 10.0);
  EXPECT_NEAR(feet_std, 750.0, 10.0);
  auto [lot_mean, lot_std] = mean_and_std((*table.ColumnByName("LOT_ACRES"))->float64s());
  EXPECT_NEAR(lot_mean, 1.0, 0.01);
  EXPECT_NEAR(lot_std, 0.25, 0.01);

  auto year = (*table.ColumnByName("YEAR_BUILT"))->int64s();
  size_t at_cap = 0;
  double year_sum = 0;
  for (int64_t value : year) {
    ASSERT_LE(value, 2019);
    at_cap += value == 2019;
    year_sum += static_cast<double>(value);
  }
  // trunc(Normal(1995, 10)) then min(2019): mean a little under 1995, ~0.8% capped.
  EXPECT_NEAR(year_sum / static_cast<double>(rows), 1994.5, 0.15);
  EXPECT_NEAR(static_cast<double>(at_cap) / static_cast<double>(rows), 0.0082, 0.002);

  auto check_uniform = [&](const char* name, int64_t low, int64_t high) {
    std::map<int64_t, size_t> counts;
    for (int64_t value : (*table.ColumnByName(name))->int64s()) ++counts[value];
    ASSERT_EQ(counts.size(), static_cast<size_t>(high - low + 1)) << name;
    for (const auto& [value, count] : counts) {
      EXPECT_GE(value, low);
      EXPECT_LE(value, high);
      double expected = static_cast<double>(rows) / static_cast<double>(high - low + 1);
      EXPECT_NEAR(static_cast<double>(count), expected, expected * 0.03) << name << "=" << value;
    }
  };
  check_uniform("NUM_BEDROOMS", 2, 6);
  check_uniform("GARAGE_SPACES", 0, 3);
  check_uniform("FRONT_PORCH", 0, 1);
  check_uniform("DECK", 0, 1);

  std::set<double> baths;
  for (double value : (*table.ColumnByName("NUM_BATHROOMS"))->float64s()) baths.insert(value);
  EXPECT_EQ(baths, (std::set<double>{1.0, 1.5, 2.0, 2.5, 3.0}));
}

TEST(HousingTest, CsvLayoutMatchesTheSeedFile) {
  std::string csv = WriteCsvString(Generate(2000, 9));
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line,
            "PRICE,YEAR_BUILT,SQUARE_FEET,NUM_BEDROOMS,NUM_BATHROOMS,LOT_ACRES,GARAGE_SPACES,"
            "FRONT_PORCH,DECK");
  size_t count = 0;
  while (std::getline(lines, line)) {
    ++count;
    std::vector<std::string> fields;
    std::stringstream split(line);
    for (std::string field; std::getline(split, field, ',');) fields.push_back(field);
    ASSERT_EQ(fields.size(), 9u) << line;
    EXPECT_EQ(fields[0].find('.'), std::string::npos) << line;  // PRICE is an integer
    EXPECT_EQ(fields[4].size(), 3u) << line;                     // 1.0, 1.5, ..., 3.0
    size_t dot = fields[5].find('.');
    ASSERT_NE(dot, std::string::npos) << line;
    EXPECT_LE(fields[5].size() - dot - 1, 2u) << line;  // LOT_ACRES: at most two decimals
  }
  EXPECT_EQ(count, 2000u);
}

TEST(HousingTest, CsvReadsBackExactly) {
  Table table = Generate(30000, 13);
  auto read = ReadCsvString(WriteCsvString(table), {.threads = 3, .block_size = 4096});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, table);
}

TEST(HousingTest, RowsBounds) {
  Table empty = Generate(0, 1);
  EXPECT_EQ(empty.num_rows(), 0u);
  EXPECT_EQ(empty.num_columns(), 9u);
  auto negative = GenerateHousing({.rows = -1});
  EXPECT_EQ(negative.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(negative.status().message().find("-1"), std::string_view::npos);
  EXPECT_FALSE(GenerateHousing({.rows = kHousingMaxRows + 1}).ok());
}

}  // namespace
}  // namespace raypipe::data
