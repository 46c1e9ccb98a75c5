#pragma once

// The endpoint's Prometheus metrics (text exposition format 0.0.4), updated lock-free on the
// request path:
//   raypipe_endpoint_requests_total{variant}        answered /invocations requests
//   raypipe_endpoint_errors_total{variant,code}     of those, the 4xx/5xx answers
//   raypipe_endpoint_rejected_total{code}           /invocations answered before a variant was
//                                                   picked (401, 413, 415, 503, ...)
//   raypipe_endpoint_latency_seconds                histogram of /invocations server time
//   raypipe_endpoint_model_info{variant,model,weight} 1 per variant now serving
//   raypipe_endpoint_model_swaps_total              variant sets installed

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace raypipe::serving {

// Counters of one variant; shared between variant sets with the same variant name, so they
// survive swaps.
struct VariantMetrics {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors_4xx{0};
  std::atomic<uint64_t> errors_5xx{0};
};

struct ServingVariantInfo {
  std::string name;
  std::string model_version;
  double weight = 1.0;
};

// Thread-safe.
class Metrics {
 public:
  // Upper bounds of the latency buckets, in seconds (+Inf is implied).
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
      0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1.0};

  std::shared_ptr<VariantMetrics> ForVariant(const std::string& name);
  void SetServing(std::vector<ServingVariantInfo> variants);
  void ObserveLatency(double seconds);
  void CountRejected(int status);

  // The exposition text.
  std::string Render() const;

 private:
  mutable std::mutex mutex_;  // guards variants_, serving_, rejected_
  std::map<std::string, std::shared_ptr<VariantMetrics>> variants_;
  std::vector<ServingVariantInfo> serving_;
  std::map<int, uint64_t> rejected_;
  uint64_t swaps_ = 0;  // guarded by mutex_
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets_{};  // last: +Inf
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_nanos_{0};
};

}  // namespace raypipe::serving
