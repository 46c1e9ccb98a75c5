#include "ml/booster.h"

#include <cmath>
#include <fstream>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ml/dmatrix.h"
#include "ml/test_util.h"

namespace raypipe::ml {
namespace {

using ::testing::HasSubstr;

// A small booster trained directly through the Booster API.
std::unique_ptr<Booster> TrainSmall(const DMatrix& train, int rounds) {
  const DMatrix* cache[] = {&train};
  auto booster = Booster::Create(cache);
  EXPECT_TRUE(booster.ok()) << booster.status();
  EXPECT_TRUE((*booster)->SetParam("max_depth", "4").ok());
  EXPECT_TRUE((*booster)->SetParam("seed", "7").ok());
  EXPECT_TRUE((*booster)->SetParam("nthread", "2").ok());
  for (int round = 0; round < rounds; ++round) {
    Status status = (*booster)->UpdateOneIter(round, train);
    EXPECT_TRUE(status.ok()) << status;
  }
  return std::move(*booster);
}

TEST(DMatrixTest, FromTableUsesColumnsAndLabel) {
  data::Table table = testing::RegressionTable(100, 1);
  auto matrix = DMatrix::FromTable(table, testing::RegressionFeatures(), "y");
  ASSERT_TRUE(matrix.ok()) << matrix.status();
  EXPECT_EQ((*matrix)->num_rows(), 100u);
  EXPECT_EQ((*matrix)->num_cols(), 4u);
}

TEST(DMatrixTest, ErrorsNameTheColumn) {
  data::Table table = testing::RegressionTable(10, 1);
  auto missing = DMatrix::FromTable(table, {"x0", "nope"}, "y");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));

  ASSERT_TRUE(table.AddColumn(data::Column::String("s", std::vector<std::string>(10, "a"))).ok());
  auto text = DMatrix::FromTable(table, {"x0", "s"}, "y");
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("'s'"));

  auto no_features = DMatrix::FromTable(table, {}, "y");
  EXPECT_EQ(no_features.status().code(), StatusCode::kInvalidArgument);
}

TEST(DMatrixTest, NullLabelIsRejected) {
  std::vector<data::Column> columns;
  columns.push_back(data::Column::Float64("x", {1, 2, 3}));
  columns.push_back(data::Column::Float64("y", {1, 2, 3}, {1, 0, 1}));
  data::Table table = *data::Table::Make(std::move(columns));
  auto matrix = DMatrix::FromTable(table, {"x"}, "y");
  EXPECT_EQ(matrix.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(matrix.status().message(), HasSubstr("null"));
}

TEST(DMatrixTest, FromDenseChecksSizes) {
  std::vector<float> values(6, 1.0f);
  EXPECT_TRUE(DMatrix::FromDense(values, 2, 3).ok());
  EXPECT_EQ(DMatrix::FromDense(values, 4, 3).status().code(), StatusCode::kInvalidArgument);
  std::vector<float> labels(3, 0.0f);
  EXPECT_EQ(DMatrix::FromDense(values, 2, 3, labels).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(BoosterTest, TableAndDensePredictionsAgree) {
  data::Table table = testing::RegressionTable(500, 2);
  auto train = DMatrix::FromTable(table, testing::RegressionFeatures(), "y");
  ASSERT_TRUE(train.ok()) << train.status();
  std::unique_ptr<Booster> booster = TrainSmall(**train, 10);
  EXPECT_EQ(*booster->BoostedRounds(), 10);
  EXPECT_EQ(*booster->NumFeatures(), 4u);

  auto from_table = booster->Predict(**train);
  ASSERT_TRUE(from_table.ok()) << from_table.status();
  ASSERT_EQ(from_table->size(), 500u);

  std::vector<float> rows;
  for (size_t row = 0; row < table.num_rows(); ++row) {
    for (const std::string& feature : testing::RegressionFeatures()) {
      const data::Column& column = **table.ColumnByName(feature);
      rows.push_back(column.type() == data::DataType::kFloat64
                         ? static_cast<float>(column.float64s()[row])
                         : static_cast<float>(column.int64s()[row]));
    }
  }
  auto dense = booster->PredictDense(rows, table.num_rows());
  ASSERT_TRUE(dense.ok()) << dense.status();
  for (size_t row = 0; row < 500; ++row) EXPECT_FLOAT_EQ((*dense)[row], (*from_table)[row]);

  auto wrong = booster->PredictDense(std::span<const float>(rows).first(7), 2);
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
}

TEST(BoosterTest, SaveLoadRoundTripsInBothFormats) {
  testing::TempDir dir;
  data::Table table = testing::RegressionTable(300, 3);
  auto train = DMatrix::FromTable(table, testing::RegressionFeatures(), "y");
  ASSERT_TRUE(train.ok());
  std::unique_ptr<Booster> booster = TrainSmall(**train, 5);
  ASSERT_TRUE(booster->SetAttr("best_iteration", "4").ok());
  std::vector<float> expected = *booster->Predict(**train);
  for (ModelFormat format : {ModelFormat::kJson, ModelFormat::kUbjson}) {
    std::filesystem::path path =
        dir.path() / (format == ModelFormat::kJson ? "model.json" : "model.ubj");
    ASSERT_TRUE(booster->SaveModel(path, format).ok());
    auto loaded = Booster::LoadModel(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(*(*loaded)->GetAttr("best_iteration"), "4");
    EXPECT_EQ(*(*loaded)->Predict(**train), expected);
  }
  auto clone = booster->Clone();
  ASSERT_TRUE(clone.ok());
  EXPECT_EQ(*(*clone)->Predict(**train), expected);
  auto sliced = booster->Slice(0, 2);
  ASSERT_TRUE(sliced.ok()) << sliced.status();
  EXPECT_EQ(*(*sliced)->BoostedRounds(), 2);
  EXPECT_EQ(booster->GetAttr("nope").status().code(), StatusCode::kNotFound);
}

TEST(BoosterTest, XGBoostErrorsBecomeStatuses) {
  data::Table table = testing::RegressionTable(50, 4);
  auto train = DMatrix::FromTable(table, testing::RegressionFeatures(), "y");
  ASSERT_TRUE(train.ok());
  const DMatrix* cache[] = {train->get()};
  auto booster = Booster::Create(cache);
  ASSERT_TRUE(booster.ok());
  ASSERT_TRUE((*booster)->SetParam("objective", "reg:nonsense").ok());
  Status status = (*booster)->UpdateOneIter(0, **train);
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("nonsense"));
}

TEST(BoosterTest, LoadRejectsMissingAndCorruptFiles) {
  testing::TempDir dir;
  auto missing = Booster::LoadModel(dir.path() / "none.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  std::filesystem::path corrupt = dir.path() / "corrupt.json";
  std::ofstream(corrupt) << "{\"learner\": 17";
  auto bad = Booster::LoadModel(corrupt);
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("corrupt.json"));
  EXPECT_EQ(Booster::LoadModelFromBuffer("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace raypipe::ml
