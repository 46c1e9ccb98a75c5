#include "ml/tuning/gaussian_process.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace raypipe::ml::tuning {

namespace {

using Matrix = std::vector<std::vector<double>>;

// Lower Cholesky factor of `a`; false when not positive definite.
bool Cholesky(const Matrix& a, Matrix& lower) {
  size_t n = a.size();
  lower.assign(n, std::vector<double>(n, 0.0));
  for (size_t row = 0; row < n; ++row) {
    for (size_t col = 0; col <= row; ++col) {
      double sum = a[row][col];
      for (size_t k = 0; k < col; ++k) sum -= lower[row][k] * lower[col][k];
      if (row == col) {
        if (sum <= 0) return false;
        lower[row][row] = std::sqrt(sum);
      } else {
        lower[row][col] = sum / lower[col][col];
      }
    }
  }
  return true;
}

// Solves L z = b.
std::vector<double> ForwardSolve(const Matrix& lower, const std::vector<double>& b) {
  std::vector<double> z(b.size());
  for (size_t row = 0; row < b.size(); ++row) {
    double sum = b[row];
    for (size_t k = 0; k < row; ++k) sum -= lower[row][k] * z[k];
    z[row] = sum / lower[row][row];
  }
  return z;
}

// Solves L^T x = z.
std::vector<double> BackwardSolve(const Matrix& lower, const std::vector<double>& z) {
  size_t n = z.size();
  std::vector<double> x(n);
  for (size_t row = n; row-- > 0;) {
    double sum = z[row];
    for (size_t k = row + 1; k < n; ++k) sum -= lower[k][row] * x[k];
    x[row] = sum / lower[row][row];
  }
  return x;
}

double Matern52(double distance, double length_scale) {
  double r = std::sqrt(5.0) * distance / length_scale;
  return (1 + r + r * r / 3) * std::exp(-r);
}

double ScaledDistance(const std::vector<double>& a, const std::vector<double>& b,
                      const std::vector<double>& scales) {
  double sum = 0.0;
  for (size_t dim = 0; dim < a.size(); ++dim) {
    double delta = (a[dim] - b[dim]) / scales[dim];
    sum += delta * delta;
  }
  return std::sqrt(sum);
}

}  // namespace

Result<GaussianProcess> GaussianProcess::Fit(std::vector<std::vector<double>> x,
                                             std::vector<double> y) {
  if (x.empty()) return InvalidArgumentError("a Gaussian process needs observations");
  if (x.size() != y.size()) {
    return InvalidArgumentError(std::to_string(x.size()) + " points but " +
                                std::to_string(y.size()) + " targets");
  }
  for (const auto& row : x) {
    if (row.size() != x[0].size()) return InvalidArgumentError("points differ in width");
  }
  for (double target : y) {
    if (!std::isfinite(target)) return InvalidArgumentError("a target is not finite");
  }
  size_t n = y.size();
  double mean = 0.0;
  for (double target : y) mean += target;
  mean /= static_cast<double>(n);
  double variance = 0.0;
  for (double target : y) variance += (target - mean) * (target - mean);
  double scale = n > 1 ? std::sqrt(variance / static_cast<double>(n)) : 1.0;
  if (!(scale > 0)) scale = 1.0;
  std::vector<double> standardized(n);
  for (size_t i = 0; i < n; ++i) standardized[i] = (y[i] - mean) / scale;

  size_t width = x[0].size();
  // Evaluates one setting (per-dimension length scales, noise); false when not usable.
  GaussianProcess best;
  double best_likelihood = -std::numeric_limits<double>::infinity();
  auto evaluate = [&](const std::vector<double>& scales, double noise) {
    Matrix k(n, std::vector<double>(n));
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j <= i; ++j) {
        k[i][j] = k[j][i] = Matern52(ScaledDistance(x[i], x[j], scales), 1.0);
      }
      k[i][i] += noise;
    }
    Matrix lower;
    if (!Cholesky(k, lower)) return false;
    std::vector<double> alpha = BackwardSolve(lower, ForwardSolve(lower, standardized));
    double fit = 0.0;
    for (size_t i = 0; i < n; ++i) fit += standardized[i] * alpha[i];
    double log_det = 0.0;
    for (size_t i = 0; i < n; ++i) log_det += std::log(lower[i][i]);
    double likelihood = -0.5 * fit - log_det;
    if (likelihood <= best_likelihood) return false;
    best_likelihood = likelihood;
    best.chol_ = std::move(lower);
    best.alpha_ = std::move(alpha);
    best.length_scales_ = scales;
    best.length_scale_ = scales.empty() ? 1.0 : scales[0];
    best.noise_ = noise;
    return true;
  };
  // A shared length scale and the noise over a grid, then each dimension's own length scale
  // by coordinate search (automatic relevance determination), deterministically.
  for (double length_scale : {0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2, 2.0}) {
    for (double noise : {1e-6, 1e-4, 1e-2, 0.1}) {
      evaluate(std::vector<double>(width, length_scale), noise);
    }
  }
  if (!best.alpha_.empty() && width > 1) {
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t dim = 0; dim < width; ++dim) {
        for (double factor : {0.3, 0.6, 1.6, 3.0, 10.0}) {
          std::vector<double> scales = best.length_scales_;
          scales[dim] = std::clamp(scales[dim] * factor, 0.02, 20.0);
          evaluate(scales, best.noise_);
        }
      }
    }
  }
  if (best.alpha_.empty()) return InternalError("no kernel setting gave a positive-definite matrix");
  best.x_ = std::move(x);
  best.y_mean_ = mean;
  best.y_scale_ = scale;
  return best;
}

double GaussianProcess::Kernel(const std::vector<double>& a, const std::vector<double>& b) const {
  return Matern52(ScaledDistance(a, b, length_scales_), 1.0);
}

GaussianProcess::Prediction GaussianProcess::Predict(const std::vector<double>& x) const {
  size_t n = x_.size();
  std::vector<double> k(n);
  for (size_t i = 0; i < n; ++i) k[i] = Kernel(x, x_[i]);
  double mean = 0.0;
  for (size_t i = 0; i < n; ++i) mean += k[i] * alpha_[i];
  std::vector<double> v = ForwardSolve(chol_, k);
  double variance = 1.0;
  for (double value : v) variance -= value * value;
  variance = std::max(variance, 1e-12);
  return {y_mean_ + y_scale_ * mean, y_scale_ * std::sqrt(variance)};
}

double ExpectedImprovement(double mean, double stddev, double best, double xi) {
  double improvement = best - xi - mean;
  if (stddev <= 0) return std::max(improvement, 0.0);
  double z = improvement / stddev;
  double cdf = 0.5 * std::erfc(-z / std::numbers::sqrt2);
  double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * std::numbers::pi);
  return improvement * cdf + stddev * pdf;
}

}  // namespace raypipe::ml::tuning
