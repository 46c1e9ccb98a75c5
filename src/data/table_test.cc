#include "data/table.h"

#include <gtest/gtest.h>

#include <cmath>

namespace raypipe::data {
namespace {

Table Sample() {
  auto table = Table::Make({Column::Int64("id", {1, 2, 3, 4}),
                            Column::Float64("x", {0.5, -1.0, 2.25, 0.0}, {1, 0, 1, 1}),
                            Column::String("s", {"a", "", "ccc", "dd"}, {1, 1, 0, 1})});
  EXPECT_TRUE(table.ok()) << table.status();
  return *table;
}

TEST(DataTypeTest, NamesRoundTrip) {
  for (DataType type : {DataType::kFloat64, DataType::kInt64, DataType::kString}) {
    auto parsed = ParseDataType(DataTypeName(type));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_EQ(*ParseDataType("double"), DataType::kFloat64);
  EXPECT_EQ(*ParseDataType("INTEGER"), DataType::kInt64);
  auto bad = ParseDataType("decimal");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'decimal'"), std::string_view::npos);
}

TEST(ColumnTest, TypedAccessAndNulls) {
  Table table = Sample();
  const Column& x = table.column(1);
  EXPECT_EQ(x.type(), DataType::kFloat64);
  EXPECT_EQ(x.null_count(), 1u);
  EXPECT_TRUE(x.IsNull(1));
  EXPECT_TRUE(std::isnan(x.float64s()[1]));  // null slots hold NaN
  EXPECT_EQ(x.float64s()[2], 2.25);
  const Column& s = table.column(2);
  EXPECT_EQ(s.string(0), "a");
  EXPECT_EQ(s.string(1), "");
  EXPECT_FALSE(s.IsNull(1));
  EXPECT_TRUE(s.IsNull(2));
  EXPECT_EQ(s.string(2), "");  // null slots hold ""
  EXPECT_EQ(s.string(3), "dd");
  EXPECT_EQ(s.ValueToString(2), "null");
  EXPECT_TRUE(table.column(0).validity().empty());
  EXPECT_EQ(Column::Int64("n", {5, 6}, {0, 1}).int64s()[0], 0);
}

TEST(ColumnTest, OptionalStrings) {
  Column column = Column::OptionalStrings("o", {"x", std::nullopt, ""});
  EXPECT_EQ(column.null_count(), 1u);
  EXPECT_EQ(column.string(0), "x");
  EXPECT_TRUE(column.IsNull(1));
  EXPECT_TRUE(column.IsValid(2));
}

TEST(ColumnTest, FromBuffersChecksSizesAndOffsets) {
  auto values = Buffer::FromVector(std::vector<double>{1.0, 2.0});
  EXPECT_TRUE(Column::FromBuffers("a", DataType::kFloat64, 2, values, nullptr, nullptr).ok());
  auto wrong = Column::FromBuffers("a", DataType::kFloat64, 3, values, nullptr, nullptr);
  EXPECT_EQ(wrong.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(wrong.status().message().find("column 'a'"), std::string_view::npos);

  auto chars = Buffer::FromVector(std::vector<char>{'a', 'b', 'c'});
  auto good_offsets = Buffer::FromVector(std::vector<int64_t>{0, 1, 3});
  auto column = Column::FromBuffers("s", DataType::kString, 2, good_offsets, chars, nullptr);
  ASSERT_TRUE(column.ok());
  EXPECT_EQ(column->string(1), "bc");
  auto backwards = Buffer::FromVector(std::vector<int64_t>{0, 2, 1});
  EXPECT_FALSE(Column::FromBuffers("s", DataType::kString, 2, backwards, chars, nullptr).ok());
  auto past_end = Buffer::FromVector(std::vector<int64_t>{0, 1, 9});
  EXPECT_FALSE(Column::FromBuffers("s", DataType::kString, 2, past_end, chars, nullptr).ok());
  auto bad_validity = Buffer::FromVector(std::vector<uint8_t>{1, 7});
  EXPECT_FALSE(Column::FromBuffers("a", DataType::kFloat64, 2, values, nullptr, bad_validity).ok());
}

TEST(TableTest, ColumnByNameNamesMissingAndPresent) {
  Table table = Sample();
  ASSERT_TRUE(table.ColumnByName("x").ok());
  EXPECT_EQ((*table.ColumnByName("x"))->name(), "x");
  auto missing = table.ColumnByName("y");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'y'"), std::string_view::npos);
  EXPECT_NE(missing.status().message().find("'id', 'x', 's'"), std::string_view::npos);
}

TEST(TableTest, AddColumnChecksLengthAndName) {
  Table table = Sample();
  Status short_column = table.AddColumn(Column::Int64("z", {1}));
  EXPECT_EQ(short_column.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_column.message().find("'z'"), std::string_view::npos);
  EXPECT_EQ(table.AddColumn(Column::Int64("x", {1, 2, 3, 4})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(table.AddColumn(Column::Int64("z", {1, 2, 3, 4})).ok());
  EXPECT_EQ(table.num_columns(), 4u);
  EXPECT_FALSE(Table::Make({Column::Int64("a", {1}), Column::Int64("b", {1, 2})}).ok());
}

TEST(TableTest, SelectDropShareBuffers) {
  Table table = Sample();
  auto selected = table.Select({"s", "id"});
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ(selected->ColumnNames(), (std::vector<std::string>{"s", "id"}));
  EXPECT_EQ(selected->column(1).int64s().data(), table.column(0).int64s().data());
  EXPECT_EQ(table.Select({"nope"}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(table.Select({"id", "id"}).status().code(), StatusCode::kInvalidArgument);

  auto dropped = table.Drop({"x"});
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->ColumnNames(), (std::vector<std::string>{"id", "s"}));
  EXPECT_EQ(dropped->num_rows(), 4u);
  EXPECT_EQ(table.Drop({"nope"}).status().code(), StatusCode::kNotFound);
}

TEST(TableTest, TakeAndSlice) {
  Table table = Sample();
  std::vector<int64_t> rows = {3, 0, 2, 2};
  auto taken = table.Take(rows);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->column(0).int64s()[0], 4);
  EXPECT_EQ(taken->column(2).string(0), "dd");
  EXPECT_TRUE(taken->column(2).IsNull(2));
  EXPECT_EQ(taken->column(2).null_count(), 2u);
  std::vector<int64_t> bad = {0, 4};
  auto out_of_range = table.Take(bad);
  EXPECT_EQ(out_of_range.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(out_of_range.status().message().find("row index 4"), std::string_view::npos);

  auto slice = table.Slice(1, 2);
  ASSERT_TRUE(slice.ok());
  EXPECT_EQ(slice->num_rows(), 2u);
  EXPECT_EQ(slice->column(0).int64s()[0], 2);
  EXPECT_EQ(slice->column(0).int64s().data(), table.column(0).int64s().data() + 1);
  EXPECT_EQ(slice->column(2).string(0), "");
  EXPECT_TRUE(slice->column(2).IsNull(1));
  EXPECT_EQ(slice->column(1).null_count(), 1u);
  auto tail = table.Slice(2, 2);
  EXPECT_EQ(tail->column(1).null_count(), 0u);
  EXPECT_EQ(table.Slice(3, 2).status().code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(table.Slice(4, 0).ok());
}

TEST(TableTest, EqualsComparesValuesNullsAndZeros) {
  EXPECT_EQ(Sample(), Sample());
  Table other = *Table::Make({Column::Int64("id", {1, 2, 3, 5}),
                              Column::Float64("x", {0.5, -1.0, 2.25, 0.0}, {1, 0, 1, 1}),
                              Column::String("s", {"a", "", "ccc", "dd"}, {1, 1, 0, 1})});
  EXPECT_FALSE(Sample() == other);
  EXPECT_FALSE(Column::Float64("z", {0.0}).Equals(Column::Float64("z", {-0.0})));
  EXPECT_TRUE(Column::Float64("n", {NAN}).Equals(Column::Float64("n", {NAN})));
  EXPECT_FALSE(Column::Float64("n", {1.0}).Equals(Column::Float64("m", {1.0})));
  EXPECT_NE(Sample().ToString().find("id:Int64,x:Float64,s:String"), std::string::npos);
}

}  // namespace
}  // namespace raypipe::data
