#pragma once

// Evaluation metrics computed outside XGBoost (for evaluation reports and tests). Each
// function checks that labels and predictions have the same, non-zero length
// (InvalidArgument otherwise). Sums are accumulated in double.

#include <span>

#include "core/status.h"

namespace raypipe::ml {

// A metric with the population standard deviation of its per-row terms: for RMSE the
// deviation of the errors (label - prediction), for MAE that of the absolute errors.
struct MetricValue {
  double value = 0.0;
  double standard_deviation = 0.0;
};

struct RegressionMetrics {
  MetricValue rmse;
  MetricValue mae;
  double r2 = 0.0;  // 1 - SSE / SST; 0 when the labels are constant
};
Result<RegressionMetrics> ComputeRegressionMetrics(std::span<const double> labels,
                                                   std::span<const float> predictions);

Result<double> RootMeanSquaredError(std::span<const double> labels,
                                    std::span<const float> predictions);
Result<double> MeanAbsoluteError(std::span<const double> labels,
                                 std::span<const float> predictions);

// Binary classification: labels 0 or 1 (InvalidArgument otherwise), predictions are
// probabilities of class 1.
struct ClassificationMetrics {
  double accuracy = 0.0;  // at threshold 0.5
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
  double auc = 0.0;       // ROC AUC with ties averaged; 0.5 when one class is absent
  double logloss = 0.0;   // probabilities clipped to [1e-15, 1 - 1e-15]
};
Result<ClassificationMetrics> ComputeClassificationMetrics(std::span<const double> labels,
                                                           std::span<const float> predictions);

}  // namespace raypipe::ml
