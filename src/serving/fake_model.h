#pragma once

// For tests: a linear Model (prediction = bias + sum of features) with a fixed feature list, and
// optional failure. Header-only so tests across the tree can use it.

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "serving/model_runtime.h"

namespace raypipe::serving {

class FakeModel : public Model {
 public:
  FakeModel(std::vector<std::string> features, float bias)
      : features_(std::move(features)), bias_(bias) {}

  const std::vector<std::string>& features() const override { return features_; }

  Result<std::vector<float>> Predict(std::span<const float> rows, size_t num_rows) const override {
    if (rows.size() != num_rows * features_.size()) {
      return InvalidArgumentError("wrong width");
    }
    std::vector<float> out(num_rows, bias_);
    for (size_t row_idx = 0; row_idx < num_rows; ++row_idx) {
      for (size_t feature_idx = 0; feature_idx < features_.size(); ++feature_idx) {
        const float value = rows[row_idx * features_.size() + feature_idx];
        if (!std::isnan(value)) out[row_idx] += value;
      }
    }
    return out;
  }

 private:
  std::vector<std::string> features_;
  float bias_;
};

}  // namespace raypipe::serving
