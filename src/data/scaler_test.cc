#include "data/scaler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace raypipe::data {
namespace {

Table Train() {
  return *Table::Make({Column::Float64("a", {1.0, 2.0, 3.0, 4.0}),
                       Column::Int64("b", {10, 10, 10, 10}),
                       Column::Float64("c", {2.0, 0.0, 4.0, 100.0}, {1, 1, 1, 0}),
                       Column::String("label", {"w", "x", "y", "z"})});
}

TEST(StandardScalerTest, PopulationStatisticsAndZeroDeviation) {
  StandardScaler scaler;
  ASSERT_TRUE(scaler.Fit(Train(), {"a", "b", "c"}).ok());
  ASSERT_EQ(scaler.params().size(), 3u);
  EXPECT_DOUBLE_EQ(scaler.Find("a")->offset, 2.5);
  EXPECT_DOUBLE_EQ(scaler.Find("a")->scale, std::sqrt(1.25));  // ddof = 0
  EXPECT_DOUBLE_EQ(scaler.Find("b")->offset, 10.0);
  EXPECT_EQ(scaler.Find("b")->scale, 1.0);  // zero deviation -> 1
  // The null row of c is ignored: values 2, 0, 4.
  EXPECT_DOUBLE_EQ(scaler.Find("c")->offset, 2.0);
  EXPECT_DOUBLE_EQ(scaler.Find("c")->scale, std::sqrt(8.0 / 3.0));
  EXPECT_EQ(scaler.Find("label"), nullptr);
}

TEST(StandardScalerTest, TransformsOtherTablesWithTrainStatistics) {
  StandardScaler scaler;
  ASSERT_TRUE(scaler.Fit(Train(), {"a", "b", "c"}).ok());
  Table test = *Table::Make({Column::String("label", {"p", "q"}),
                             Column::Float64("a", {2.5, 5.0}), Column::Int64("b", {10, 12}),
                             Column::Float64("c", {2.0, 0.0}, {0, 1})});
  auto scaled = scaler.Transform(test);
  ASSERT_TRUE(scaled.ok()) << scaled.status();
  EXPECT_EQ(scaled->ColumnNames(), test.ColumnNames());
  EXPECT_TRUE(scaled->column(0).Equals(test.column(0)));  // untouched
  EXPECT_EQ(scaled->column(1).float64s()[0], 0.0);
  EXPECT_DOUBLE_EQ(scaled->column(1).float64s()[1], 2.5 / std::sqrt(1.25));
  EXPECT_EQ(scaled->column(2).type(), DataType::kFloat64);  // Int64 becomes Float64
  EXPECT_EQ(scaled->column(2).float64s()[1], 2.0);
  EXPECT_TRUE(scaled->column(3).IsNull(0));
  EXPECT_DOUBLE_EQ(scaled->column(3).float64s()[1], -2.0 / std::sqrt(8.0 / 3.0));

  auto restored = scaler.InverseTransform(*scaled);
  ASSERT_TRUE(restored.ok());
  EXPECT_NEAR(restored->column(1).float64s()[1], 5.0, 1e-12);
}

TEST(StandardScalerTest, Errors) {
  StandardScaler scaler;
  EXPECT_EQ(scaler.Transform(Train()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(scaler.Fit(Train(), {"label"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(scaler.Fit(Train(), {"missing"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(scaler.Fit(Train(), {"a", "a"}).code(), StatusCode::kInvalidArgument);
  Table all_null = *Table::Make({Column::Float64("n", {1.0}, {0})});
  EXPECT_EQ(scaler.Fit(all_null, {"n"}).code(), StatusCode::kInvalidArgument);
  Table infinite = *Table::Make({Column::Float64("i", {1.0, INFINITY})});
  EXPECT_EQ(scaler.Fit(infinite, {"i"}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(scaler.Fit(Train(), {"a"}).ok());
  auto missing = scaler.Transform(*Train().Drop({"a"}));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'a'"), std::string_view::npos);
}

TEST(StandardScalerTest, JsonRoundTripIsExact) {
  StandardScaler scaler;
  Table table = *Table::Make({Column::Float64("x", {0.1, 0.7, 1e-300, 3.3333333333333335})});
  ASSERT_TRUE(scaler.Fit(table, {"x"}).ok());
  nlohmann::json json = scaler.ToJson();
  EXPECT_EQ(json["type"], "StandardScaler");
  EXPECT_TRUE(json["columns"][0].contains("mean"));
  auto restored = StandardScaler::FromJson(nlohmann::json::parse(json.dump()));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->params(), scaler.params());
  EXPECT_EQ(*restored->Transform(table), *scaler.Transform(table));
}

TEST(StandardScalerTest, FromJsonNamesTheBadField) {
  auto parse = [](const char* text) {
    return StandardScaler::FromJson(nlohmann::json::parse(text));
  };
  auto wrong_type = parse(R"({"type": "MinMaxScaler", "version": 1, "columns": []})");
  EXPECT_NE(wrong_type.status().message().find("'type'"), std::string_view::npos);
  auto no_mean = parse(
      R"({"type": "StandardScaler", "version": 1, "columns": [{"name": "a", "std": 1}]})");
  EXPECT_EQ(no_mean.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_mean.status().message().find("columns[0].mean"), std::string_view::npos);
  auto zero = parse(R"({"type": "StandardScaler", "version": 1,
                       "columns": [{"name": "a", "mean": 0, "std": 0}]})");
  EXPECT_FALSE(zero.ok());
  auto newer = parse(R"({"type": "StandardScaler", "version": 9, "columns": []})");
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(parse("[1, 2]").ok());
}

TEST(MinMaxScalerTest, FitTransformAndJson) {
  MinMaxScaler scaler;
  ASSERT_TRUE(scaler.Fit(Train(), {"a", "b", "c"}).ok());
  EXPECT_EQ(scaler.Find("a")->offset, 1.0);
  EXPECT_EQ(scaler.Find("a")->scale, 3.0);
  EXPECT_EQ(scaler.Find("b")->scale, 1.0);  // zero range -> 1
  EXPECT_EQ(scaler.Find("c")->scale, 4.0);  // the null 100 is ignored
  auto scaled = scaler.Transform(Train());
  ASSERT_TRUE(scaled.ok());
  std::span<const double> a = scaled->column(0).float64s();
  EXPECT_EQ(a[0], 0.0);
  EXPECT_EQ(a[3], 1.0);
  EXPECT_DOUBLE_EQ(a[1], 1.0 / 3.0);
  EXPECT_EQ(scaled->column(1).float64s()[0], 0.0);
  auto restored = MinMaxScaler::FromJson(scaler.ToJson());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->params(), scaler.params());
  EXPECT_FALSE(MinMaxScaler::FromJson(StandardScaler().ToJson()).ok());
  Table with_nan = *Table::Make({Column::Float64("x", {1.0, NAN})});
  EXPECT_EQ(scaler.Fit(with_nan, {"x"}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::data
