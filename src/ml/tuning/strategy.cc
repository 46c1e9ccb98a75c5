#include "ml/tuning/strategy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/random.h"
#include "ml/tuning/gaussian_process.h"

namespace raypipe::ml::tuning {

namespace {

bool Contains(const std::vector<Observation>& done, const std::vector<Point>& pending,
              const Point& point) {
  for (const Observation& observation : done) {
    if (observation.point == point) return true;
  }
  return std::find(pending.begin(), pending.end(), point) != pending.end();
}

class RandomStrategy : public Strategy {
 public:
  RandomStrategy(const SearchSpace& space, uint64_t seed) : space_(space), random_(seed) {}

  std::optional<Point> Next(const std::vector<Observation>& done,
                            const std::vector<Point>& pending) override {
    Point point = space_.Sample(random_);
    for (int retry = 0; retry < 32 && Contains(done, pending, point); ++retry) {
      point = space_.Sample(random_);
    }
    return point;
  }

 private:
  const SearchSpace& space_;
  data::Random random_;
};

class GridStrategy : public Strategy {
 public:
  GridStrategy(const SearchSpace& space, size_t max_points) : points_(space.Grid(max_points)) {}

  std::optional<Point> Next(const std::vector<Observation>&, const std::vector<Point>&) override {
    if (next_ >= points_.size()) return std::nullopt;
    return points_[next_++];
  }

 private:
  std::vector<Point> points_;
  size_t next_ = 0;
};

class BayesianStrategy : public Strategy {
 public:
  BayesianStrategy(const SearchSpace& space, uint64_t seed, const BayesianOptions& options)
      : space_(space), random_(seed), options_(options) {
    if (options_.initial_random <= 0) {
      options_.initial_random =
          std::max(3, std::min(10, static_cast<int>(space.dimensions()) + 1));
    }
  }

  std::optional<Point> Next(const std::vector<Observation>& done,
                            const std::vector<Point>& pending) override {
    if (done.size() < 2 ||
        done.size() + pending.size() < static_cast<size_t>(options_.initial_random)) {
      return RandomPoint(done, pending);
    }
    // The GP models a log-warped loss: tuning losses are skewed (a few very bad trials), and
    // the warp keeps them from flattening the model where the good trials are.
    double lowest = std::numeric_limits<double>::infinity();
    double highest = -std::numeric_limits<double>::infinity();
    for (const Observation& observation : done) {
      lowest = std::min(lowest, observation.loss);
      highest = std::max(highest, observation.loss);
    }
    double offset = std::max(1e-12, 0.01 * (highest - lowest));
    auto warp = [&](double loss) { return std::log(std::max(loss - lowest, 0.0) + offset); };
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    double best = std::numeric_limits<double>::infinity();
    for (const Observation& observation : done) {
      x.push_back(space_.Features(observation.point));
      y.push_back(warp(observation.loss));
      best = std::min(best, y.back());
    }
    auto model = GaussianProcess::Fit(x, y);
    if (!model.ok()) return RandomPoint(done, pending);
    // Kriging believer: each running point is assumed to come out at the model's mean there.
    if (!pending.empty()) {
      for (const Point& point : pending) {
        std::vector<double> features = space_.Features(point);
        y.push_back(model->Predict(features).mean);
        x.push_back(std::move(features));
      }
      auto with_pending = GaussianProcess::Fit(x, y);
      if (with_pending.ok()) model = std::move(with_pending);
    }
    double scale = 0.0;
    {
      double mean = 0.0;
      for (size_t index = 0; index < done.size(); ++index) mean += y[index];
      mean /= static_cast<double>(done.size());
      for (size_t index = 0; index < done.size(); ++index) {
        scale += (y[index] - mean) * (y[index] - mean);
      }
      scale = std::sqrt(scale / static_cast<double>(done.size()));
      if (!(scale > 0)) scale = 1.0;
    }

    std::vector<Point> candidates;
    for (int index = 0; index < options_.random_candidates; ++index) {
      candidates.push_back(space_.Sample(random_));
    }
    std::vector<const Observation*> ranked;
    for (const Observation& observation : done) ranked.push_back(&observation);
    std::sort(ranked.begin(), ranked.end(),
              [](const Observation* a, const Observation* b) { return a->loss < b->loss; });
    size_t leaders = std::min<size_t>(5, ranked.size());
    for (size_t leader = 0; leader < leaders; ++leader) {
      for (int index = 0; index < options_.local_candidates; ++index) {
        double sigma = index % 2 == 0 ? 0.03 : 0.12;
        Point point = ranked[leader]->point;
        for (double& unit : point) unit += sigma * random_.Normal(0.0, 1.0);
        candidates.push_back(space_.Snap(point));
      }
    }

    const Point* chosen = nullptr;
    double chosen_value = -1.0;
    for (const Point& candidate : candidates) {
      if (Contains(done, pending, candidate)) continue;
      GaussianProcess::Prediction prediction = model->Predict(space_.Features(candidate));
      double value = ExpectedImprovement(prediction.mean, prediction.stddev, best,
                                         options_.xi * scale);
      if (value > chosen_value) {
        chosen_value = value;
        chosen = &candidate;
      }
    }
    if (chosen == nullptr) return RandomPoint(done, pending);
    return *chosen;
  }

 private:
  Point RandomPoint(const std::vector<Observation>& done, const std::vector<Point>& pending) {
    Point point = space_.Sample(random_);
    for (int retry = 0; retry < 32 && Contains(done, pending, point); ++retry) {
      point = space_.Sample(random_);
    }
    return point;
  }

  const SearchSpace& space_;
  data::Random random_;
  BayesianOptions options_;
};

}  // namespace

Result<StrategyType> ParseStrategyType(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "bayesian") return StrategyType::kBayesian;
  if (lower == "random") return StrategyType::kRandom;
  if (lower == "grid") return StrategyType::kGrid;
  if (lower == "hyperband") return StrategyType::kHyperband;
  return InvalidArgumentError("unknown tuning strategy '" + std::string(text) +
                              "' (expected Bayesian, Random, Grid or Hyperband)");
}

std::string_view StrategyTypeName(StrategyType type) {
  switch (type) {
    case StrategyType::kBayesian: return "Bayesian";
    case StrategyType::kRandom: return "Random";
    case StrategyType::kGrid: return "Grid";
    case StrategyType::kHyperband: return "Hyperband";
  }
  return "Bayesian";
}

std::unique_ptr<Strategy> MakeStrategy(StrategyType type, const SearchSpace& space,
                                       uint64_t seed, size_t max_points,
                                       const BayesianOptions& bayesian) {
  switch (type) {
    case StrategyType::kBayesian:
      return std::make_unique<BayesianStrategy>(space, seed, bayesian);
    case StrategyType::kGrid:
      return std::make_unique<GridStrategy>(space, max_points);
    case StrategyType::kRandom:
    case StrategyType::kHyperband:
      return std::make_unique<RandomStrategy>(space, seed);
  }
  return std::make_unique<RandomStrategy>(space, seed);
}

}  // namespace raypipe::ml::tuning
