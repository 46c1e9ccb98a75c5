#include "ml/preprocess.h"

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "data/housing.h"
#include "data/ops.h"

namespace raypipe::ml {
namespace {

data::Table Housing(int64_t rows) {
  data::HousingOptions options;
  options.rows = rows;
  options.seed = 7;
  return *data::GenerateHousing(options);
}

double Mean(const data::Table& table, const std::string& column) {
  const data::Column* values = *table.ColumnByName(column);
  std::span<const double> numbers = values->float64s();
  return std::accumulate(numbers.begin(), numbers.end(), 0.0) /
         static_cast<double>(numbers.size());
}

int64_t SumOf(const data::Table& table, const std::string& column) {
  std::span<const int64_t> values = (*table.ColumnByName(column))->int64s();
  return std::accumulate(values.begin(), values.end(), int64_t{0});
}

PreprocessOptions HousingOptions() {
  PreprocessOptions options;
  options.target = "PRICE";
  options.proportions = {0.6, 0.2, 0.2};
  options.seed = 42;
  return options;
}

TEST(PreprocessTest, SplitsByProportionAndScalesOnTrainOnly) {
  const data::Table table = Housing(1000);
  Result<PreprocessResult> result = Preprocess(table, HousingOptions());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->splits.size(), 3u);
  EXPECT_EQ(result->splits[0].num_rows(), 600u);
  EXPECT_EQ(result->splits[1].num_rows(), 200u);
  EXPECT_EQ(result->splits[2].num_rows(), 200u);
  EXPECT_EQ(result->features,
            (std::vector<std::string>{"YEAR_BUILT", "SQUARE_FEET", "NUM_BEDROOMS",
                                      "NUM_BATHROOMS", "LOT_ACRES", "GARAGE_SPACES",
                                      "FRONT_PORCH", "DECK"}));
  // Train's features are standardized exactly; test's only approximately.
  double largest_test_mean = 0;
  for (const std::string& feature : result->features) {
    EXPECT_NEAR(Mean(result->splits[0], feature), 0.0, 1e-9) << feature;
    largest_test_mean = std::max(largest_test_mean, std::fabs(Mean(result->splits[2], feature)));
  }
  EXPECT_GT(largest_test_mean, 1e-3);
  // The target is untouched: still Int64, and the rows are those of the input.
  const data::Column* price = *result->splits[0].ColumnByName("PRICE");
  EXPECT_EQ(price->type(), data::DataType::kInt64);
  EXPECT_EQ(SumOf(result->splits[0], "PRICE") + SumOf(result->splits[1], "PRICE") +
                SumOf(result->splits[2], "PRICE"),
            SumOf(table, "PRICE"));
  EXPECT_EQ(result->scaler.Find("PRICE"), nullptr);
}

TEST(PreprocessTest, ScalerIsFittedOnTheTrainingRows) {
  const data::Table table = Housing(500);
  Result<PreprocessResult> result = Preprocess(table, HousingOptions());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // The same shuffle and split by hand: the scaler's mean is the raw training mean.
  data::Table shuffled = data::RandomShuffle(table, 42);
  Result<std::vector<data::Table>> splits =
      data::SplitProportionately(shuffled, {0.6, 0.2, 0.2}, data::SplitMode::kExact);
  ASSERT_TRUE(splits.ok());
  const data::ScalerColumn* square_feet = result->scaler.Find("SQUARE_FEET");
  ASSERT_NE(square_feet, nullptr);
  EXPECT_NEAR(square_feet->offset, Mean((*splits)[0], "SQUARE_FEET"), 1e-9);
  EXPECT_NE(square_feet->offset, Mean(table, "SQUARE_FEET"));
}

TEST(PreprocessTest, SameSeedSameSplitOtherSeedOtherSplit) {
  const data::Table table = Housing(300);
  Result<PreprocessResult> first = Preprocess(table, HousingOptions());
  Result<PreprocessResult> again = Preprocess(table, HousingOptions());
  PreprocessOptions other = HousingOptions();
  other.seed = 43;
  Result<PreprocessResult> different = Preprocess(table, other);
  ASSERT_TRUE(first.ok() && again.ok() && different.ok());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(first->splits[i], again->splits[i]);
  EXPECT_EQ(first->scaler.ToJson(), again->scaler.ToJson());
  EXPECT_FALSE(first->splits[0] == different->splits[0]);
}

TEST(PreprocessTest, DropsColumns) {
  const data::Table table = Housing(100);
  PreprocessOptions options = HousingOptions();
  options.drop_columns = {"DECK", "FRONT_PORCH"};
  Result<PreprocessResult> result = Preprocess(table, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->splits[0].num_columns(), 7u);
  EXPECT_FALSE(result->splits[1].ColumnIndex("DECK").has_value());
  EXPECT_EQ(result->features.size(), 6u);
}

TEST(PreprocessTest, RejectsBadOptions) {
  const data::Table table = Housing(100);
  PreprocessOptions options = HousingOptions();
  options.proportions = {0.6, 0.2, 0.1};
  Result<PreprocessResult> result = Preprocess(table, options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("sum to 0.9, must be 1"), std::string::npos)
      << result.status().message();

  options = HousingOptions();
  options.target = "COST";
  result = Preprocess(table, options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("'COST'"), std::string::npos);

  options = HousingOptions();
  options.drop_columns = {"POOL"};
  result = Preprocess(table, options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("'POOL'"), std::string::npos);

  options = HousingOptions();
  result = Preprocess(Housing(2), options);  // too few rows for three splits
  EXPECT_FALSE(result.ok());
}

TEST(PreprocessTest, RefusesTextFeatures) {
  std::vector<data::Column> columns;
  columns.push_back(data::Column::Float64("x", {1, 2, 3, 4, 5}));
  columns.push_back(data::Column::String("city", {"a", "b", "c", "d", "e"}));
  columns.push_back(data::Column::Float64("y", {1, 2, 3, 4, 5}));
  data::Table table = *data::Table::Make(std::move(columns));
  PreprocessOptions options;
  options.target = "y";
  options.proportions = {0.6, 0.2, 0.2};
  Result<PreprocessResult> result = Preprocess(table, options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("'city'"), std::string::npos);
  options.drop_columns = {"city"};
  EXPECT_TRUE(Preprocess(table, options).ok());
}

TEST(StandardizeFeaturesTest, FitsOnTheFirstTableAppliesToAll) {
  data::Table train = *data::Table::Make({data::Column::Float64("x", {1, 2, 3}),
                                          data::Column::Float64("y", {0, 0, 0})});
  data::Table validation = *data::Table::Make({data::Column::Float64("x", {2, 5}),
                                               data::Column::Float64("y", {1, 1})});
  Result<StandardizedTables> result = StandardizeFeatures(train, {train, validation}, {"x"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->tables.size(), 2u);
  const double deviation = std::sqrt(2.0 / 3.0);
  EXPECT_NEAR((*result->tables[1].ColumnByName("x"))->float64s()[1], 3.0 / deviation, 1e-12);
  EXPECT_EQ((*result->tables[1].ColumnByName("y"))->float64s()[0], 1.0);  // not a feature
  EXPECT_FALSE(StandardizeFeatures(train, {validation}, {"z"}).ok());
}

}  // namespace
}  // namespace raypipe::ml
