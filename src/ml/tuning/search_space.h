#pragma once

// The hyperparameter search space of a tuning job, after SageMaker's ParameterRanges:
// IntegerParameterRanges, ContinuousParameterRanges (MinValue, MaxValue, ScalingType) and
// CategoricalParameterRanges (Values).
//
// Strategies search a unit cube: a Point has one coordinate in [0, 1] per parameter, which
// Decode maps to a value through the parameter's scaling (categorical: the index
// floor(u * k)). Snap moves a point to the coordinates of the value it decodes to, so integer
// and categorical parameters take only their representable positions (the Gaussian process
// then sees the values actually tried). Features gives the GP's inputs: one coordinate per
// numeric parameter, one-hot coordinates per categorical one.
//
// Thread-safety: immutable after Make; share freely.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/random.h"
#include "ml/train.h"

namespace raypipe::ml::tuning {

enum class ScalingType {
  kAuto,                // Logarithmic when min > 0 and max / min >= 100, else Linear
  kLinear,
  kLogarithmic,         // REQUIRES: min > 0
  kReverseLogarithmic,  // continuous only; REQUIRES: 0 <= min < max < 1
};
enum class ParameterKind { kInteger, kContinuous, kCategorical };

// "Auto", "Linear", "Logarithmic", "ReverseLogarithmic" (case-insensitive).
Result<ScalingType> ParseScalingType(std::string_view text);
std::string_view ScalingTypeName(ScalingType scaling);

struct ParameterRange {
  std::string name;
  ParameterKind kind = ParameterKind::kContinuous;
  double min_value = 0.0;  // numeric kinds
  double max_value = 1.0;
  ScalingType scaling = ScalingType::kAuto;
  std::vector<std::string> values;  // categorical

  static ParameterRange Integer(std::string name, int64_t min, int64_t max,
                                ScalingType scaling = ScalingType::kAuto);
  static ParameterRange Continuous(std::string name, double min, double max,
                                   ScalingType scaling = ScalingType::kAuto);
  static ParameterRange Categorical(std::string name, std::vector<std::string> values);
};

using Point = std::vector<double>;

class SearchSpace {
 public:
  SearchSpace() = default;
  // InvalidArgument naming the parameter: empty or repeated name, min > max, a non-finite
  // bound, log scaling with min <= 0, reverse-log outside [0, 1), no categorical values or a
  // repeated one, reverse-log on an integer range.
  static Result<SearchSpace> Make(std::vector<ParameterRange> ranges);
  // SageMaker's ParameterRanges object: {"IntegerParameterRanges": [{"Name", "MinValue",
  // "MaxValue", "ScalingType"}], "ContinuousParameterRanges": [...],
  // "CategoricalParameterRanges": [{"Name", "Values"}]}; bounds may be strings or numbers.
  // Errors name the field ("ParameterRanges.IntegerParameterRanges[0].MinValue").
  static Result<SearchSpace> FromJson(const nlohmann::json& json);

  const std::vector<ParameterRange>& ranges() const { return ranges_; }
  size_t dimensions() const { return ranges_.size(); }
  // Length of Features(point).
  size_t feature_dimensions() const;

  // The hyperparameters at `point` (integers as "7", continuous values in shortest form,
  // categorical values verbatim). REQUIRES: point.size() == dimensions().
  Hyperparameters Decode(const Point& point) const;
  // The point of given values (warm start). InvalidArgument when a parameter is missing, not a
  // number, out of range, or not one of the categorical values.
  Result<Point> Encode(const Hyperparameters& hyperparameters) const;
  Point Snap(const Point& point) const;
  std::vector<double> Features(const Point& point) const;
  // A uniform random point, snapped.
  Point Sample(data::Random& random) const;
  // Up to `max_points` grid points: every categorical value, every integer (or evenly spread
  // ones), and evenly spread continuous levels, the same number of levels per numeric
  // parameter, as many as fit; enumerated in a fixed order.
  std::vector<Point> Grid(size_t max_points) const;

 private:
  explicit SearchSpace(std::vector<ParameterRange> ranges) : ranges_(std::move(ranges)) {}
  double DecodeNumber(const ParameterRange& range, double unit) const;
  double EncodeNumber(const ParameterRange& range, double value) const;

  std::vector<ParameterRange> ranges_;
};

}  // namespace raypipe::ml::tuning
