#include "ml/tuning/search_space.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "core/json.h"

namespace raypipe::ml::tuning {

namespace {

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

ScalingType Effective(const ParameterRange& range) {
  if (range.scaling != ScalingType::kAuto) return range.scaling;
  if (range.min_value > 0 && range.max_value / range.min_value >= 100) {
    return ScalingType::kLogarithmic;
  }
  return ScalingType::kLinear;
}

std::string FormatDouble(double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return error == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

double Clamp01(double unit) { return std::isfinite(unit) ? std::clamp(unit, 0.0, 1.0) : 0.5; }

// A bound given as a number or as a numeric string.
Result<double> ReadBound(const nlohmann::json& object, const char* key, const std::string& where) {
  std::string field = where + "." + key;
  if (!object.contains(key)) return InvalidArgumentError(field + ": is required");
  const nlohmann::json& value = object[key];
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    double number = 0.0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error == std::errc() && end == text.data() + text.size()) return number;
  }
  return InvalidArgumentError(field + ": expected a number, found " + value.dump());
}

}  // namespace

Result<ScalingType> ParseScalingType(std::string_view text) {
  std::string lower = Lower(text);
  if (lower == "auto") return ScalingType::kAuto;
  if (lower == "linear") return ScalingType::kLinear;
  if (lower == "logarithmic") return ScalingType::kLogarithmic;
  if (lower == "reverselogarithmic") return ScalingType::kReverseLogarithmic;
  return InvalidArgumentError("unknown ScalingType '" + std::string(text) +
                              "' (expected Auto, Linear, Logarithmic or ReverseLogarithmic)");
}

std::string_view ScalingTypeName(ScalingType scaling) {
  switch (scaling) {
    case ScalingType::kAuto: return "Auto";
    case ScalingType::kLinear: return "Linear";
    case ScalingType::kLogarithmic: return "Logarithmic";
    case ScalingType::kReverseLogarithmic: return "ReverseLogarithmic";
  }
  return "Auto";
}

ParameterRange ParameterRange::Integer(std::string name, int64_t min, int64_t max,
                                       ScalingType scaling) {
  ParameterRange range;
  range.name = std::move(name);
  range.kind = ParameterKind::kInteger;
  range.min_value = static_cast<double>(min);
  range.max_value = static_cast<double>(max);
  range.scaling = scaling;
  return range;
}

ParameterRange ParameterRange::Continuous(std::string name, double min, double max,
                                          ScalingType scaling) {
  ParameterRange range;
  range.name = std::move(name);
  range.kind = ParameterKind::kContinuous;
  range.min_value = min;
  range.max_value = max;
  range.scaling = scaling;
  return range;
}

ParameterRange ParameterRange::Categorical(std::string name, std::vector<std::string> values) {
  ParameterRange range;
  range.name = std::move(name);
  range.kind = ParameterKind::kCategorical;
  range.values = std::move(values);
  return range;
}

Result<SearchSpace> SearchSpace::Make(std::vector<ParameterRange> ranges) {
  std::set<std::string> names;
  for (const ParameterRange& range : ranges) {
    std::string where = "parameter range '" + range.name + "'";
    if (range.name.empty()) return InvalidArgumentError("a parameter range has no name");
    if (!names.insert(range.name).second) {
      return InvalidArgumentError(where + " is given more than once");
    }
    if (range.kind == ParameterKind::kCategorical) {
      if (range.values.empty()) return InvalidArgumentError(where + ": has no values");
      std::set<std::string> seen(range.values.begin(), range.values.end());
      if (seen.size() != range.values.size()) {
        return InvalidArgumentError(where + ": a value is repeated");
      }
      continue;
    }
    if (!std::isfinite(range.min_value) || !std::isfinite(range.max_value)) {
      return InvalidArgumentError(where + ": bounds must be finite");
    }
    if (range.min_value > range.max_value) {
      return InvalidArgumentError(where + ": MinValue " + FormatDouble(range.min_value) +
                                  " exceeds MaxValue " + FormatDouble(range.max_value));
    }
    if (range.kind == ParameterKind::kInteger &&
        (range.min_value != std::floor(range.min_value) ||
         range.max_value != std::floor(range.max_value))) {
      return InvalidArgumentError(where + ": integer bounds must be whole numbers");
    }
    if (range.scaling == ScalingType::kLogarithmic && range.min_value <= 0) {
      return InvalidArgumentError(where + ": Logarithmic scaling needs MinValue > 0");
    }
    if (range.scaling == ScalingType::kReverseLogarithmic) {
      if (range.kind == ParameterKind::kInteger) {
        return InvalidArgumentError(where + ": ReverseLogarithmic applies to continuous ranges");
      }
      if (range.min_value < 0 || range.max_value >= 1) {
        return InvalidArgumentError(where + ": ReverseLogarithmic needs 0 <= MinValue <= "
                                            "MaxValue < 1");
      }
    }
  }
  return SearchSpace(std::move(ranges));
}

Result<SearchSpace> SearchSpace::FromJson(const nlohmann::json& json) {
  if (!json.is_object()) return InvalidArgumentError("ParameterRanges: expected an object");
  std::vector<ParameterRange> ranges;
  for (const auto& [key, kind] :
       {std::pair{"IntegerParameterRanges", ParameterKind::kInteger},
        std::pair{"ContinuousParameterRanges", ParameterKind::kContinuous},
        std::pair{"CategoricalParameterRanges", ParameterKind::kCategorical}}) {
    if (!json.contains(key)) continue;
    const nlohmann::json& list = json[key];
    std::string list_where = std::string("ParameterRanges.") + key;
    if (!list.is_array()) return InvalidArgumentError(list_where + ": expected an array");
    for (size_t index = 0; index < list.size(); ++index) {
      std::string where = list_where + "[" + std::to_string(index) + "]";
      const nlohmann::json& item = list[index];
      if (!item.is_object()) return InvalidArgumentError(where + ": expected an object");
      ParameterRange range;
      range.kind = kind;
      ASSIGN_OR_RETURN(range.name, core::GetString(item, "Name", where));
      if (kind == ParameterKind::kCategorical) {
        ASSIGN_OR_RETURN(const nlohmann::json* values, core::GetArray(item, "Values", where));
        for (const nlohmann::json& value : *values) {
          if (value.is_string()) {
            range.values.push_back(value.get<std::string>());
          } else if (value.is_number() || value.is_boolean()) {
            range.values.push_back(value.dump());
          } else {
            return InvalidArgumentError(where + ".Values: expected strings");
          }
        }
      } else {
        ASSIGN_OR_RETURN(range.min_value, ReadBound(item, "MinValue", where));
        ASSIGN_OR_RETURN(range.max_value, ReadBound(item, "MaxValue", where));
        ASSIGN_OR_RETURN(std::optional<std::string> scaling,
                         core::GetOptionalString(item, "ScalingType", where));
        if (scaling.has_value()) {
          auto parsed = ParseScalingType(*scaling);
          if (!parsed.ok()) return parsed.status().WithContext(where + ".ScalingType");
          range.scaling = *parsed;
        }
      }
      ranges.push_back(std::move(range));
    }
  }
  auto space = Make(std::move(ranges));
  if (!space.ok()) return space.status().WithContext("ParameterRanges");
  return space;
}

size_t SearchSpace::feature_dimensions() const {
  size_t count = 0;
  for (const ParameterRange& range : ranges_) {
    count += range.kind == ParameterKind::kCategorical ? range.values.size() : 1;
  }
  return count;
}

double SearchSpace::DecodeNumber(const ParameterRange& range, double unit) const {
  unit = Clamp01(unit);
  double lo = range.min_value;
  double hi = range.max_value;
  ScalingType scaling = Effective(range);
  if (range.kind == ParameterKind::kInteger) {
    double count = hi - lo + 1;
    double value;
    if (scaling == ScalingType::kLogarithmic) {
      value = std::floor(std::exp(std::log(lo) + unit * (std::log(hi + 1) - std::log(lo))));
    } else {
      value = lo + std::floor(unit * count);
    }
    return std::clamp(value, lo, hi);
  }
  if (unit <= 0) return lo;
  if (unit >= 1) return hi;
  switch (scaling) {
    case ScalingType::kLogarithmic:
      return std::clamp(std::exp(std::log(lo) + unit * (std::log(hi) - std::log(lo))), lo, hi);
    case ScalingType::kReverseLogarithmic:
      return std::clamp(1 - std::exp(std::log(1 - lo) + unit * (std::log(1 - hi) - std::log(1 - lo))),
                        lo, hi);
    default:
      return lo + unit * (hi - lo);
  }
}

double SearchSpace::EncodeNumber(const ParameterRange& range, double value) const {
  double lo = range.min_value;
  double hi = range.max_value;
  if (hi == lo) return 0.5;
  ScalingType scaling = Effective(range);
  if (range.kind == ParameterKind::kInteger) {
    if (scaling == ScalingType::kLogarithmic) {
      double middle = (std::log(value) + std::log(value + 1)) / 2;
      return Clamp01((middle - std::log(lo)) / (std::log(hi + 1) - std::log(lo)));
    }
    return Clamp01((value - lo + 0.5) / (hi - lo + 1));
  }
  switch (scaling) {
    case ScalingType::kLogarithmic:
      return Clamp01((std::log(value) - std::log(lo)) / (std::log(hi) - std::log(lo)));
    case ScalingType::kReverseLogarithmic:
      return Clamp01((std::log(1 - value) - std::log(1 - lo)) / (std::log(1 - hi) - std::log(1 - lo)));
    default:
      return Clamp01((value - lo) / (hi - lo));
  }
}

Hyperparameters SearchSpace::Decode(const Point& point) const {
  Hyperparameters values;
  for (size_t dim = 0; dim < ranges_.size(); ++dim) {
    const ParameterRange& range = ranges_[dim];
    double unit = dim < point.size() ? point[dim] : 0.5;
    if (range.kind == ParameterKind::kCategorical) {
      size_t count = range.values.size();
      size_t index = std::min(count - 1, static_cast<size_t>(Clamp01(unit) * static_cast<double>(count)));
      values[range.name] = range.values[index];
    } else if (range.kind == ParameterKind::kInteger) {
      values[range.name] = std::to_string(static_cast<int64_t>(DecodeNumber(range, unit)));
    } else {
      values[range.name] = FormatDouble(DecodeNumber(range, unit));
    }
  }
  return values;
}

Result<Point> SearchSpace::Encode(const Hyperparameters& hyperparameters) const {
  Point point;
  for (const ParameterRange& range : ranges_) {
    auto found = hyperparameters.find(range.name);
    if (found == hyperparameters.end()) {
      return InvalidArgumentError("hyperparameter '" + range.name + "' is missing");
    }
    const std::string& text = found->second;
    if (range.kind == ParameterKind::kCategorical) {
      auto value = std::find(range.values.begin(), range.values.end(), text);
      if (value == range.values.end()) {
        return InvalidArgumentError("hyperparameter '" + range.name + "': '" + text +
                                    "' is not one of its values");
      }
      double count = static_cast<double>(range.values.size());
      point.push_back((static_cast<double>(value - range.values.begin()) + 0.5) / count);
      continue;
    }
    double number = 0.0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(number)) {
      return InvalidArgumentError("hyperparameter '" + range.name + "': '" + text +
                                  "' is not a number");
    }
    if (number < range.min_value || number > range.max_value) {
      return InvalidArgumentError("hyperparameter '" + range.name + "': " + text +
                                  " is outside [" + FormatDouble(range.min_value) + ", " +
                                  FormatDouble(range.max_value) + "]");
    }
    point.push_back(EncodeNumber(range, number));
  }
  return point;
}

Point SearchSpace::Snap(const Point& point) const {
  Point snapped(ranges_.size());
  for (size_t dim = 0; dim < ranges_.size(); ++dim) {
    const ParameterRange& range = ranges_[dim];
    double unit = Clamp01(dim < point.size() ? point[dim] : 0.5);
    if (range.kind == ParameterKind::kCategorical) {
      double count = static_cast<double>(range.values.size());
      snapped[dim] = (std::min(count - 1, std::floor(unit * count)) + 0.5) / count;
    } else if (range.kind == ParameterKind::kInteger) {
      snapped[dim] = EncodeNumber(range, DecodeNumber(range, unit));
    } else {
      snapped[dim] = unit;
    }
  }
  return snapped;
}

std::vector<double> SearchSpace::Features(const Point& point) const {
  Point snapped = Snap(point);
  std::vector<double> features;
  features.reserve(feature_dimensions());
  for (size_t dim = 0; dim < ranges_.size(); ++dim) {
    const ParameterRange& range = ranges_[dim];
    if (range.kind == ParameterKind::kCategorical) {
      size_t count = range.values.size();
      size_t index = std::min(count - 1, static_cast<size_t>(snapped[dim] * static_cast<double>(count)));
      for (size_t value = 0; value < count; ++value) features.push_back(value == index ? 1.0 : 0.0);
    } else {
      features.push_back(snapped[dim]);
    }
  }
  return features;
}

Point SearchSpace::Sample(data::Random& random) const {
  Point point(ranges_.size());
  for (double& unit : point) unit = random.Uniform01();
  return Snap(point);
}

std::vector<Point> SearchSpace::Grid(size_t max_points) const {
  if (ranges_.empty() || max_points == 0) return {};
  // Levels per parameter for L levels per numeric parameter.
  auto levels_for = [&](size_t levels) {
    std::vector<std::vector<double>> per_dim;
    for (const ParameterRange& range : ranges_) {
      std::vector<double> units;
      if (range.kind == ParameterKind::kCategorical) {
        double count = static_cast<double>(range.values.size());
        for (size_t index = 0; index < range.values.size(); ++index) {
          units.push_back((static_cast<double>(index) + 0.5) / count);
        }
      } else {
        for (size_t level = 0; level < levels; ++level) {
          double unit = levels == 1 ? 0.5
                                    : static_cast<double>(level) / static_cast<double>(levels - 1);
          Point one(ranges_.size(), 0.5);
          size_t dim = static_cast<size_t>(&range - ranges_.data());
          one[dim] = unit;
          double snapped = Snap(one)[dim];
          if (std::find(units.begin(), units.end(), snapped) == units.end()) units.push_back(snapped);
        }
      }
      per_dim.push_back(std::move(units));
    }
    return per_dim;
  };
  auto total = [](const std::vector<std::vector<double>>& per_dim) {
    double product = 1;
    for (const auto& units : per_dim) product *= static_cast<double>(units.size());
    return product;
  };
  size_t levels = 1;
  while (levels < 1000 && total(levels_for(levels + 1)) <= static_cast<double>(max_points) &&
         total(levels_for(levels + 1)) > total(levels_for(levels))) {
    ++levels;
  }
  std::vector<std::vector<double>> per_dim = levels_for(levels);
  std::vector<Point> points;
  std::vector<size_t> index(per_dim.size(), 0);
  while (points.size() < max_points) {
    Point point(per_dim.size());
    for (size_t dim = 0; dim < per_dim.size(); ++dim) point[dim] = per_dim[dim][index[dim]];
    points.push_back(std::move(point));
    size_t dim = per_dim.size();
    while (dim > 0) {
      --dim;
      if (++index[dim] < per_dim[dim].size()) break;
      index[dim] = 0;
      if (dim == 0) return points;
    }
  }
  return points;
}

}  // namespace raypipe::ml::tuning
