#pragma once

// Helpers shared by the ml tests: a unique temporary directory and small synthetic tables.

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/ids.h"
#include "data/random.h"
#include "data/table.h"

namespace raypipe::ml::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() : path_(std::filesystem::temp_directory_path() / core::NewId("ml-test")) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// y = 3 x0 - 2 x1 + x2^2 + noise, with x uniform in [-1, 1]; an Int64 column x3 in [0, 10)
// that adds 0.5 * x3. Deterministic for a seed.
inline data::Table RegressionTable(size_t rows, uint64_t seed, double noise = 0.1) {
  data::Random random(seed);
  std::vector<double> x0(rows), x1(rows), x2(rows), y(rows);
  std::vector<int64_t> x3(rows);
  for (size_t row = 0; row < rows; ++row) {
    x0[row] = (2.0 * random.Uniform01() - 1.0);
    x1[row] = (2.0 * random.Uniform01() - 1.0);
    x2[row] = (2.0 * random.Uniform01() - 1.0);
    x3[row] = random.UniformInt(0, 9);
    y[row] = 3 * x0[row] - 2 * x1[row] + x2[row] * x2[row] + 0.5 * static_cast<double>(x3[row]) +
             noise * random.Normal(0.0, 1.0);
  }
  std::vector<data::Column> columns;
  columns.push_back(data::Column::Float64("x0", std::move(x0)));
  columns.push_back(data::Column::Float64("x1", std::move(x1)));
  columns.push_back(data::Column::Float64("x2", std::move(x2)));
  columns.push_back(data::Column::Int64("x3", std::move(x3)));
  columns.push_back(data::Column::Float64("y", std::move(y)));
  return *data::Table::Make(std::move(columns));
}

inline const std::vector<std::string>& RegressionFeatures() {
  static const std::vector<std::string> features = {"x0", "x1", "x2", "x3"};
  return features;
}

// Binary labels: 1 when x0 + x1 + noise > 0.
inline data::Table ClassificationTable(size_t rows, uint64_t seed) {
  data::Random random(seed);
  std::vector<double> x0(rows), x1(rows), y(rows);
  for (size_t row = 0; row < rows; ++row) {
    x0[row] = (2.0 * random.Uniform01() - 1.0);
    x1[row] = (2.0 * random.Uniform01() - 1.0);
    y[row] = x0[row] + x1[row] + 0.3 * random.Normal(0.0, 1.0) > 0 ? 1.0 : 0.0;
  }
  std::vector<data::Column> columns;
  columns.push_back(data::Column::Float64("x0", std::move(x0)));
  columns.push_back(data::Column::Float64("x1", std::move(x1)));
  columns.push_back(data::Column::Float64("y", std::move(y)));
  return *data::Table::Make(std::move(columns));
}

}  // namespace raypipe::ml::testing
