#pragma once

// A small Gaussian-process regressor for Bayesian optimization: Matérn 5/2 kernel on the
// search space's features, targets standardized; a shared length scale and the noise chosen by
// maximizing the log marginal likelihood over a fixed grid, then one length scale per feature
// by coordinate search (automatic relevance determination). Deterministic, no random
// restarts. Sized for tuning jobs (tens to a few hundred observations): O(n^3) fitting.
//
// Thread-safety: immutable after Fit.

#include <vector>

#include "core/status.h"

namespace raypipe::ml::tuning {

class GaussianProcess {
 public:
  // InvalidArgument when x is empty, rows differ in width, sizes disagree, or a target is not
  // finite.
  static Result<GaussianProcess> Fit(std::vector<std::vector<double>> x, std::vector<double> y);

  struct Prediction {
    double mean;
    double stddev;
  };
  // The posterior at `x`, in the targets' units. REQUIRES: x.size() == the fitted width.
  Prediction Predict(const std::vector<double>& x) const;

  // The first feature's length scale, and all of them.
  double length_scale() const { return length_scale_; }
  const std::vector<double>& length_scales() const { return length_scales_; }
  double noise() const { return noise_; }

 private:
  GaussianProcess() = default;
  double Kernel(const std::vector<double>& a, const std::vector<double>& b) const;

  std::vector<std::vector<double>> x_;
  std::vector<double> alpha_;                // K^-1 (y - mean) / scale
  std::vector<std::vector<double>> chol_;    // lower Cholesky factor of K + noise I
  double y_mean_ = 0.0;
  double y_scale_ = 1.0;
  std::vector<double> length_scales_;
  double length_scale_ = 0.3;
  double noise_ = 1e-4;
};

// Expected improvement below `best` (minimization) for a posterior N(mean, stddev^2), with
// exploration margin `xi`: E[max(best - xi - f, 0)].
double ExpectedImprovement(double mean, double stddev, double best, double xi);

}  // namespace raypipe::ml::tuning
