#pragma once

// The models an endpoint serves: production variants with traffic weights, swapped atomically.
// A request takes a snapshot (a shared_ptr to the whole variant set) and keeps it until it has
// answered, so an update never changes the model under a request in flight; the old set is freed
// when its last request finishes.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "serving/metrics.h"

namespace raypipe::serving {

// A loaded model. Predict must be safe to call from many threads at once.
class Model {
 public:
  virtual ~Model() = default;
  // The raw features a row holds, in order.
  virtual const std::vector<std::string>& features() const = 0;
  // Rows are row-major, features().size() values each, NaN for missing.
  virtual Result<std::vector<float>> Predict(std::span<const float> rows,
                                             size_t num_rows) const = 0;
};

struct Variant {
  std::string name;           // "AllTraffic" by default
  double weight = 1.0;        // > 0; traffic share is weight / sum of weights
  std::string model_version;  // what /metrics reports: "housing:3"
  std::shared_ptr<const Model> model;
  std::shared_ptr<VariantMetrics> metrics;  // set by ModelRuntime::Swap
};

// An immutable set of variants with a cumulative weight table for picking.
class VariantSet {
 public:
  explicit VariantSet(std::vector<Variant> variants, uint64_t generation);
  const std::vector<Variant>& variants() const { return variants_; }
  uint64_t generation() const { return generation_; }  // 1 for the first set, +1 per swap
  // The variant for a uniform random number in [0, 2^64), by weight.
  const Variant& Pick(uint64_t random) const;
  // The variant called `name`, or nullptr.
  const Variant* Find(std::string_view name) const;

 private:
  std::vector<Variant> variants_;
  std::vector<double> cumulative_;  // cumulative_[i] = sum of weights[0..i] / total
  uint64_t generation_;
};

// Thread-safe.
class ModelRuntime {
 public:
  explicit ModelRuntime(Metrics* metrics) : metrics_(metrics) {}

  // Checks and installs a new variant set: at least one variant, unique non-empty names,
  // positive finite weights, every model set. InvalidArgument naming the variant otherwise (the
  // current set stays).
  Status Swap(std::vector<Variant> variants);

  // The current set, or nullptr before the first Swap.
  std::shared_ptr<const VariantSet> Current() const { return current_.load(); }

 private:
  Metrics* metrics_;  // not owned; outlives this
  std::atomic<std::shared_ptr<const VariantSet>> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace raypipe::serving
