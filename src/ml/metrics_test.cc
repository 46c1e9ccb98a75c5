#include "ml/metrics.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace raypipe::ml {
namespace {

TEST(MetricsTest, Regression) {
  std::vector<double> labels = {1, 2, 3, 4};
  std::vector<float> predictions = {1, 3, 3, 2};
  auto metrics = ComputeRegressionMetrics(labels, predictions);
  ASSERT_TRUE(metrics.ok());
  // errors 0, -1, 0, 2
  EXPECT_DOUBLE_EQ(metrics->rmse.value, std::sqrt(5.0 / 4));
  EXPECT_DOUBLE_EQ(metrics->mae.value, 0.75);
  EXPECT_DOUBLE_EQ(metrics->mae.standard_deviation, std::sqrt((0.5625 * 2 + 0.0625 + 1.5625) / 4));
  EXPECT_DOUBLE_EQ(metrics->rmse.standard_deviation, std::sqrt((0.0625 * 2 + 1.5625 + 3.0625) / 4));
  EXPECT_DOUBLE_EQ(metrics->r2, 1 - 5.0 / 5.0);
  EXPECT_DOUBLE_EQ(*RootMeanSquaredError(labels, predictions), metrics->rmse.value);
  EXPECT_DOUBLE_EQ(*MeanAbsoluteError(labels, predictions), 0.75);
}

TEST(MetricsTest, SizeErrors) {
  std::vector<double> labels = {1, 2};
  std::vector<float> one = {1};
  EXPECT_EQ(ComputeRegressionMetrics(labels, one).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeRegressionMetrics({}, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeClassificationMetrics(labels, one).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(MetricsTest, Classification) {
  std::vector<double> labels = {0, 0, 1, 1, 1};
  std::vector<float> predictions = {0.1f, 0.6f, 0.6f, 0.8f, 0.3f};
  auto metrics = ComputeClassificationMetrics(labels, predictions);
  ASSERT_TRUE(metrics.ok());
  EXPECT_DOUBLE_EQ(metrics->accuracy, 3.0 / 5);
  EXPECT_DOUBLE_EQ(metrics->precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(metrics->recall, 2.0 / 3);
  // Positive-negative pairs ordered correctly: (0.6 vs 0.1) 1, (0.6 vs 0.6) 0.5, (0.8) 2,
  // (0.3 vs 0.1) 1 -> 4.5 of 6.
  EXPECT_DOUBLE_EQ(metrics->auc, 4.5 / 6);
  EXPECT_GT(metrics->logloss, 0);
  std::vector<double> bad = {0, 2, 1, 1, 1};
  EXPECT_EQ(ComputeClassificationMetrics(bad, predictions).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<double> one_class = {1, 1, 1, 1, 1};
  EXPECT_DOUBLE_EQ(ComputeClassificationMetrics(one_class, predictions)->auc, 0.5);
}

}  // namespace
}  // namespace raypipe::ml
