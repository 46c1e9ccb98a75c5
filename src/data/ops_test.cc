#include "data/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/housing.h"
#include "data/random.h"

namespace raypipe::data {
namespace {

Table Numbered(size_t rows) {
  std::vector<int64_t> ids(rows);
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<double> halves(rows);
  std::vector<std::string> names(rows);
  std::vector<uint8_t> validity(rows);
  for (size_t row = 0; row < rows; ++row) {
    halves[row] = static_cast<double>(row) / 2.0;
    names[row] = "row" + std::to_string(row);
    validity[row] = row % 3 != 0;
  }
  return *Table::Make({Column::Int64("id", ids), Column::Float64("half", halves, validity),
                       Column::String("name", names)});
}

std::vector<size_t> Sizes(const std::vector<Table>& tables) {
  std::vector<size_t> sizes;
  for (const Table& table : tables) sizes.push_back(table.num_rows());
  return sizes;
}

// An independent transcription of the algorithm documented in ops.h.
std::vector<uint32_t> DocumentedPermutation(size_t rows, uint64_t seed) {
  size_t buckets = 1;
  int bits = 0;
  while (buckets < 1024 && buckets * 4096 < rows) {
    buckets *= 2;
    ++bits;
  }
  std::vector<std::vector<uint32_t>> members(buckets);
  Random assign(seed);
  for (size_t row = 0; row < rows; ++row) {
    size_t bucket = buckets > 1 ? static_cast<size_t>(assign.Next() >> (64 - bits)) : 0;
    members[bucket].push_back(static_cast<uint32_t>(row));
  }
  std::vector<uint32_t> permutation;
  for (size_t bucket = 0; bucket < buckets; ++bucket) {
    std::vector<uint32_t>& rows_of = members[bucket];
    Random random(buckets > 1 ? MixSeed(seed, bucket) : seed);
    for (size_t index = rows_of.size(); index >= 2; --index) {
      std::swap(rows_of[index - 1], rows_of[random.UniformBelow(index)]);
    }
    permutation.insert(permutation.end(), rows_of.begin(), rows_of.end());
  }
  return permutation;
}

TEST(ShuffleTest, PermutationIsTheDocumentedAlgorithm) {
  for (size_t rows : {0, 1, 2, 1000, 4096, 4097, 50000, 300000}) {
    EXPECT_EQ(ShufflePermutation(rows, 77), DocumentedPermutation(rows, 77)) << rows << " rows";
  }
}

TEST(ShuffleTest, EveryPositionIsEquallyLikely) {
  // Where row 0 and the last row land, over many seeds, in 8 equal bins (both the plain and
  // the bucketed form).
  for (size_t rows : {size_t{40}, size_t{20000}}) {
    std::vector<int> first(8, 0), last(8, 0);
    const int trials = 4000;
    for (int seed = 0; seed < trials; ++seed) {
      std::vector<uint32_t> permutation = ShufflePermutation(rows, static_cast<uint64_t>(seed));
      for (size_t position = 0; position < rows; ++position) {
        if (permutation[position] == 0) ++first[position * 8 / rows];
        if (permutation[position] == rows - 1) ++last[position * 8 / rows];
      }
    }
    for (int bin = 0; bin < 8; ++bin) {
      EXPECT_NEAR(first[bin], trials / 8, 80) << rows << " rows, bin " << bin;
      EXPECT_NEAR(last[bin], trials / 8, 80) << rows << " rows, bin " << bin;
    }
  }
}

TEST(ShuffleTest, DeterministicPermutationOfRows) {
  Table table = Numbered(200000);
  Table once = RandomShuffle(table, 42, 1);
  EXPECT_EQ(RandomShuffle(table, 42, 3), once);
  EXPECT_FALSE(RandomShuffle(table, 43, 2) == once);
  // Every row moves as a whole, and each appears exactly once.
  std::vector<int64_t> ids(once.column(0).int64s().begin(), once.column(0).int64s().end());
  for (size_t row = 0; row < once.num_rows(); ++row) {
    int64_t id = ids[row];
    ASSERT_EQ(once.column(2).string(row), "row" + std::to_string(id));
    ASSERT_EQ(once.column(1).IsNull(row), id % 3 == 0);
    if (id % 3 != 0) {
      ASSERT_EQ(once.column(1).float64s()[row], static_cast<double>(id) / 2.0);
    }
  }
  std::sort(ids.begin(), ids.end());
  for (size_t row = 0; row < ids.size(); ++row) ASSERT_EQ(ids[row], static_cast<int64_t>(row));
  EXPECT_FALSE(std::is_sorted(once.column(0).int64s().begin(), once.column(0).int64s().end()));
}

TEST(ShuffleTest, EmptyAndSlicedTables) {
  EXPECT_EQ(RandomShuffle(Numbered(0), 1).num_rows(), 0u);
  Table sliced = *Numbered(100).Slice(10, 20);
  Table shuffled = RandomShuffle(sliced, 5);
  for (size_t row = 0; row < shuffled.num_rows(); ++row) {
    int64_t id = shuffled.column(0).int64s()[row];
    EXPECT_GE(id, 10);
    EXPECT_LT(id, 30);
  }
}

TEST(ConcatTest, SlicesOfOneTableConcatenateBackToIt) {
  const Table whole = Numbered(50);
  // Slices share the parent's buffers at an offset: string offsets that do not start at 0 and
  // validity that starts mid-buffer must both be rebased.
  const std::vector<Table> parts = {*whole.Slice(0, 7), *whole.Slice(7, 0), *whole.Slice(7, 30),
                                    *whole.Slice(37, 13)};
  Result<Table> joined = ConcatTables(parts);
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_TRUE(joined->Equals(whole)) << joined->ToString(50);
  EXPECT_EQ(joined->column(1).null_count(), whole.column(1).null_count());
}

TEST(ConcatTest, MixesTablesWithAndWithoutNullsAndRejectsOtherSchemas) {
  const Table no_nulls = *Table::Make({Column::Float64("x", {1.5, 2.5})});
  const Table with_null = *Table::Make({Column::Float64("x", {3.5, 4.5}, {1, 0})});
  Result<Table> joined = ConcatTables(std::vector<Table>{no_nulls, with_null});
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(joined->num_rows(), 4u);
  EXPECT_FALSE(joined->column(0).IsNull(1));
  EXPECT_TRUE(joined->column(0).IsNull(3));
  EXPECT_EQ(joined->column(0).float64s()[2], 3.5);

  const Table other = *Table::Make({Column::Int64("x", {1})});
  Result<Table> mismatch = ConcatTables(std::vector<Table>{no_nulls, other});
  EXPECT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("table 1"), std::string::npos);
  EXPECT_EQ(ConcatTables({}).value().num_rows(), 0u);
}

TEST(SplitTest, RayDataSemantics) {
  Table table = Numbered(10);
  auto splits = SplitProportionately(table, {0.2, 0.5});
  ASSERT_TRUE(splits.ok()) << splits.status();
  EXPECT_EQ(Sizes(*splits), (std::vector<size_t>{2, 5, 3}));
  EXPECT_EQ((*splits)[1].column(0).int64s()[0], 2);  // consecutive, no copy
  EXPECT_EQ((*splits)[2].column(0).int64s().data(), table.column(0).int64s().data() + 7);

  auto exact = SplitProportionately(Numbered(1000000), {0.6, 0.2, 0.2}, SplitMode::kExact);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(Sizes(*exact), (std::vector<size_t>{600000, 200000, 200000}));
  auto remainder = SplitProportionately(Numbered(101), {0.6, 0.2});
  EXPECT_EQ(Sizes(*remainder), (std::vector<size_t>{60, 20, 21}));
}

TEST(SplitTest, EnsuresNonEmptySplitsLikeRay) {
  // int(4 * 0.3) = 1 and int(4 * 0.6) = 2 stay as they are.
  auto splits = SplitProportionately(Numbered(4), {0.3, 0.3});
  ASSERT_TRUE(splits.ok());
  EXPECT_EQ(Sizes(*splits), (std::vector<size_t>{1, 1, 2}));
  // [0.5, 0.01] of 4 rows gives boundaries 2 and int(2.04) = 2: the first moves to 1.
  auto adjusted = SplitProportionately(Numbered(4), {0.5, 0.01});
  ASSERT_TRUE(adjusted.ok());
  EXPECT_EQ(Sizes(*adjusted), (std::vector<size_t>{1, 1, 2}));
  // [0.1, 0.1] of 5 rows gives boundaries 0 and 1: the first split cannot have a row.
  auto impossible = SplitProportionately(Numbered(5), {0.1, 0.1});
  EXPECT_EQ(impossible.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(impossible.status().message().find("5 rows"), std::string_view::npos);
}

TEST(SplitTest, RejectsBadProportions) {
  Table table = Numbered(100);
  EXPECT_FALSE(SplitProportionately(table, {}).ok());
  EXPECT_FALSE(SplitProportionately(table, {0.5, -0.1}).ok());
  EXPECT_FALSE(SplitProportionately(table, {0.0, 0.5}).ok());
  EXPECT_FALSE(SplitProportionately(table, {NAN}).ok());
  EXPECT_FALSE(SplitProportionately(table, {0.7, 0.4}).ok());
  EXPECT_TRUE(SplitProportionately(table, {0.5, 0.5}).ok());  // sum 1: empty remainder
  auto not_one = SplitProportionately(table, {0.6, 0.2, 0.1}, SplitMode::kExact);
  EXPECT_EQ(not_one.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_one.status().message().find("sum to 1"), std::string_view::npos);
  EXPECT_TRUE(SplitProportionately(table, {0.1, 0.2, 0.7}, SplitMode::kExact).ok());
}

}  // namespace
}  // namespace raypipe::data
