#include "ml/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace raypipe::ml {

namespace {

Status CheckSizes(std::span<const double> labels, std::span<const float> predictions) {
  if (labels.empty()) return InvalidArgumentError("no rows to compute metrics on");
  if (labels.size() != predictions.size()) {
    return InvalidArgumentError(std::to_string(labels.size()) + " labels but " +
                                std::to_string(predictions.size()) + " predictions");
  }
  return Status::Ok();
}

// Mean and population standard deviation of term(row).
template <typename Term>
MetricValue MeanAndDeviation(size_t rows, Term term) {
  double sum = 0.0;
  for (size_t row = 0; row < rows; ++row) sum += term(row);
  double mean = sum / static_cast<double>(rows);
  double squares = 0.0;
  for (size_t row = 0; row < rows; ++row) {
    double delta = term(row) - mean;
    squares += delta * delta;
  }
  return {mean, std::sqrt(squares / static_cast<double>(rows))};
}

}  // namespace

Result<RegressionMetrics> ComputeRegressionMetrics(std::span<const double> labels,
                                                   std::span<const float> predictions) {
  RETURN_IF_ERROR(CheckSizes(labels, predictions));
  size_t rows = labels.size();
  auto error = [&](size_t row) { return labels[row] - static_cast<double>(predictions[row]); };
  RegressionMetrics metrics;
  MetricValue squared = MeanAndDeviation(rows, [&](size_t row) { return error(row) * error(row); });
  metrics.rmse.value = std::sqrt(squared.value);
  metrics.rmse.standard_deviation = MeanAndDeviation(rows, error).standard_deviation;
  metrics.mae = MeanAndDeviation(rows, [&](size_t row) { return std::abs(error(row)); });
  double label_mean = std::accumulate(labels.begin(), labels.end(), 0.0) / static_cast<double>(rows);
  double total = 0.0;
  for (double label : labels) total += (label - label_mean) * (label - label_mean);
  double residual = squared.value * static_cast<double>(rows);
  metrics.r2 = total > 0.0 ? 1.0 - residual / total : 0.0;
  return metrics;
}

Result<double> RootMeanSquaredError(std::span<const double> labels,
                                    std::span<const float> predictions) {
  ASSIGN_OR_RETURN(RegressionMetrics metrics, ComputeRegressionMetrics(labels, predictions));
  return metrics.rmse.value;
}

Result<double> MeanAbsoluteError(std::span<const double> labels,
                                 std::span<const float> predictions) {
  ASSIGN_OR_RETURN(RegressionMetrics metrics, ComputeRegressionMetrics(labels, predictions));
  return metrics.mae.value;
}

Result<ClassificationMetrics> ComputeClassificationMetrics(std::span<const double> labels,
                                                           std::span<const float> predictions) {
  RETURN_IF_ERROR(CheckSizes(labels, predictions));
  size_t rows = labels.size();
  size_t true_positive = 0, false_positive = 0, false_negative = 0, correct = 0;
  double logloss = 0.0;
  for (size_t row = 0; row < rows; ++row) {
    double label = labels[row];
    if (label != 0.0 && label != 1.0) {
      return InvalidArgumentError("row " + std::to_string(row) + ": label " +
                                  std::to_string(label) + " is not 0 or 1");
    }
    bool actual = label == 1.0;
    bool predicted = predictions[row] >= 0.5f;
    if (actual == predicted) ++correct;
    if (predicted && actual) ++true_positive;
    if (predicted && !actual) ++false_positive;
    if (!predicted && actual) ++false_negative;
    double p = std::clamp(static_cast<double>(predictions[row]), 1e-15, 1.0 - 1e-15);
    logloss -= actual ? std::log(p) : std::log(1.0 - p);
  }
  ClassificationMetrics metrics;
  metrics.accuracy = static_cast<double>(correct) / static_cast<double>(rows);
  size_t predicted_positive = true_positive + false_positive;
  size_t actual_positive = true_positive + false_negative;
  metrics.precision = predicted_positive > 0 ? static_cast<double>(true_positive) /
                                                   static_cast<double>(predicted_positive)
                                             : 0.0;
  metrics.recall = actual_positive > 0
                       ? static_cast<double>(true_positive) / static_cast<double>(actual_positive)
                       : 0.0;
  metrics.f1 = metrics.precision + metrics.recall > 0
                   ? 2 * metrics.precision * metrics.recall / (metrics.precision + metrics.recall)
                   : 0.0;
  metrics.logloss = logloss / static_cast<double>(rows);

  // AUC = (sum of positive ranks - P (P + 1) / 2) / (P N), ranks averaged over ties.
  size_t positives = actual_positive;
  size_t negatives = rows - positives;
  if (positives == 0 || negatives == 0) {
    metrics.auc = 0.5;
    return metrics;
  }
  std::vector<size_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return predictions[a] < predictions[b]; });
  double positive_rank_sum = 0.0;
  for (size_t start = 0; start < rows;) {
    size_t end = start;
    while (end < rows && predictions[order[end]] == predictions[order[start]]) ++end;
    double average_rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2.0;
    for (size_t index = start; index < end; ++index) {
      if (labels[order[index]] == 1.0) positive_rank_sum += average_rank;
    }
    start = end;
  }
  double p = static_cast<double>(positives);
  double n = static_cast<double>(negatives);
  metrics.auc = (positive_rank_sum - p * (p + 1) / 2) / (p * n);
  return metrics;
}

}  // namespace raypipe::ml
