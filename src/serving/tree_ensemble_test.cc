#include "serving/tree_ensemble.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ml/dmatrix.h"

namespace raypipe::serving {
namespace {

using ::testing::HasSubstr;

constexpr size_t kFeatures = 4;

// Rows with ~10% missing values (so that trees learn default directions) and a label that
// `objective` can fit.
struct Data {
  std::vector<float> rows;
  std::vector<float> labels;
};

Data MakeData(size_t num_rows, const std::string& objective, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  Data data;
  for (size_t row_idx = 0; row_idx < num_rows; ++row_idx) {
    float signal = 0;
    for (size_t feature_idx = 0; feature_idx < kFeatures; ++feature_idx) {
      float value = uniform(random);
      signal += value * static_cast<float>(feature_idx + 1);
      if (random() % 10 == 0) value = std::numeric_limits<float>::quiet_NaN();
      data.rows.push_back(value);
    }
    if (objective == "binary:logistic") {
      data.labels.push_back(signal > 0 ? 1.0f : 0.0f);
    } else if (objective == "count:poisson") {
      data.labels.push_back(static_cast<float>(static_cast<int>(std::fabs(signal)) % 7));
    } else if (objective == "multi:softprob") {
      data.labels.push_back(static_cast<float>(static_cast<int>(std::fabs(signal)) % 3));
    } else {
      data.labels.push_back(1000.0f + 50.0f * signal);
    }
  }
  return data;
}

std::unique_ptr<ml::Booster> Train(const std::string& objective, const Data& data) {
  auto train = ml::DMatrix::FromDense(data.rows, data.labels.size(), kFeatures, data.labels);
  EXPECT_TRUE(train.ok()) << train.status();
  const ml::DMatrix* cache[] = {train->get()};
  auto booster = ml::Booster::Create(cache);
  EXPECT_TRUE(booster.ok()) << booster.status();
  EXPECT_TRUE((*booster)->SetParam("objective", objective).ok());
  if (objective == "multi:softprob") {
    EXPECT_TRUE((*booster)->SetParam("num_class", "3").ok());
  }
  EXPECT_TRUE((*booster)->SetParam("max_depth", "5").ok());
  EXPECT_TRUE((*booster)->SetParam("nthread", "1").ok());
  EXPECT_TRUE((*booster)->SetParam("seed", "3").ok());
  for (int round = 0; round < 20; ++round) {
    EXPECT_TRUE((*booster)->UpdateOneIter(round, **train).ok());
  }
  return std::move(*booster);
}

class TreeEnsembleObjectiveTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TreeEnsembleObjectiveTest, PredictsWhatXGBoostPredicts) {
  const std::string objective = GetParam();
  std::unique_ptr<ml::Booster> booster = Train(objective, MakeData(500, objective, 11));
  auto ensemble = TreeEnsemble::Compile(*booster);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  EXPECT_EQ((*ensemble)->num_features(), kFeatures);

  const Data fresh = MakeData(300, objective, 12);  // other rows, missing values included
  auto expected = booster->PredictDense(fresh.rows, 300);
  ASSERT_TRUE(expected.ok()) << expected.status();
  std::vector<float> actual(300);
  (*ensemble)->Predict(fresh.rows, 300, actual.data());
  for (size_t row_idx = 0; row_idx < 300; ++row_idx) {
    EXPECT_NEAR(actual[row_idx], (*expected)[row_idx], 1e-5 * (1 + std::fabs((*expected)[row_idx])))
        << "row " << row_idx;
  }
}

INSTANTIATE_TEST_SUITE_P(Objectives, TreeEnsembleObjectiveTest,
                         ::testing::Values("reg:squarederror", "binary:logistic",
                                           "count:poisson", "reg:absoluteerror"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == ':') c = '_';
                           }
                           return name;
                         });

TEST(TreeEnsembleTest, LeavesUnsupportedModelsToXGBoost) {
  std::unique_ptr<ml::Booster> booster =
      Train("multi:softprob", MakeData(300, "multi:softprob", 5));
  auto ensemble = TreeEnsemble::Compile(*booster);
  ASSERT_FALSE(ensemble.ok());
  EXPECT_EQ(ensemble.status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(ensemble.status().message(), HasSubstr("several outputs"));
}

TEST(TreeEnsembleTest, VerifyRejectsTreesOfAnotherModel) {
  std::unique_ptr<ml::Booster> booster =
      Train("reg:squarederror", MakeData(500, "reg:squarederror", 11));
  Data shifted = MakeData(500, "reg:squarederror", 11);
  for (float& label : shifted.labels) label += 500.0f;
  std::unique_ptr<ml::Booster> other = Train("reg:squarederror", shifted);
  auto ensemble = TreeEnsemble::Build(*other);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  ASSERT_TRUE((*ensemble)->Verify(*other).ok());
  const Status verified = (*ensemble)->Verify(*booster);
  EXPECT_EQ(verified.code(), StatusCode::kInternal);
  EXPECT_THAT(verified.message(), HasSubstr("probe row"));
}

TEST(TreeEnsembleTest, VerifyRejectsAModelReadingOtherFeatures) {
  std::unique_ptr<ml::Booster> booster =
      Train("reg:squarederror", MakeData(300, "reg:squarederror", 4));
  // Two features instead of four.
  std::vector<float> rows;
  std::vector<float> labels;
  for (int row_idx = 0; row_idx < 100; ++row_idx) {
    rows.push_back(static_cast<float>(row_idx % 10));
    rows.push_back(static_cast<float>(row_idx % 7));
    labels.push_back(static_cast<float>(row_idx % 10) * 3.0f);
  }
  auto train = ml::DMatrix::FromDense(rows, labels.size(), 2, labels);
  ASSERT_TRUE(train.ok()) << train.status();
  const ml::DMatrix* cache[] = {train->get()};
  auto narrow = ml::Booster::Create(cache);
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  for (int round = 0; round < 3; ++round) ASSERT_TRUE((*narrow)->UpdateOneIter(round, **train).ok());
  auto ensemble = TreeEnsemble::Build(**narrow);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  const Status verified = (*ensemble)->Verify(*booster);
  EXPECT_EQ(verified.code(), StatusCode::kInternal);
  EXPECT_THAT(verified.message(), HasSubstr("reads 2 features where XGBoost's reads 4"));
}

}  // namespace
}  // namespace raypipe::serving
