#include "serving/metrics.h"

#include <cstdio>

namespace raypipe::serving {

namespace {

std::string Number(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%.9g", value);
  return buffer;
}

// A label value with \, " and newline escaped.
std::string Label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::shared_ptr<VariantMetrics> Metrics::ForVariant(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = variants_[name];
  if (slot == nullptr) slot = std::make_shared<VariantMetrics>();
  return slot;
}

void Metrics::SetServing(std::vector<ServingVariantInfo> variants) {
  std::lock_guard<std::mutex> lock(mutex_);
  serving_ = std::move(variants);
  ++swaps_;
}

void Metrics::ObserveLatency(double seconds) {
  size_t bucket_idx = 0;
  while (bucket_idx < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket_idx]) {
    ++bucket_idx;
  }
  buckets_[bucket_idx].fetch_add(1, std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_nanos_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void Metrics::CountRejected(int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++rejected_[status];
}

std::string Metrics::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  out += "# HELP raypipe_endpoint_requests_total Invocations answered, by variant.\n";
  out += "# TYPE raypipe_endpoint_requests_total counter\n";
  for (const auto& [name, counters] : variants_) {
    out += "raypipe_endpoint_requests_total{variant=\"" + Label(name) + "\"} " +
           std::to_string(counters->requests.load()) + "\n";
  }
  out += "# HELP raypipe_endpoint_errors_total Invocations answered with an error, by variant.\n";
  out += "# TYPE raypipe_endpoint_errors_total counter\n";
  for (const auto& [name, counters] : variants_) {
    out += "raypipe_endpoint_errors_total{variant=\"" + Label(name) + "\",class=\"4xx\"} " +
           std::to_string(counters->errors_4xx.load()) + "\n";
    out += "raypipe_endpoint_errors_total{variant=\"" + Label(name) + "\",class=\"5xx\"} " +
           std::to_string(counters->errors_5xx.load()) + "\n";
  }
  out += "# HELP raypipe_endpoint_rejected_total Invocations refused before a variant was "
         "picked, by status.\n";
  out += "# TYPE raypipe_endpoint_rejected_total counter\n";
  for (const auto& [status, count] : rejected_) {
    out += "raypipe_endpoint_rejected_total{code=\"" + std::to_string(status) + "\"} " +
           std::to_string(count) + "\n";
  }
  out += "# HELP raypipe_endpoint_latency_seconds Server time of /invocations.\n";
  out += "# TYPE raypipe_endpoint_latency_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t bucket_idx = 0; bucket_idx < kLatencyBuckets.size(); ++bucket_idx) {
    cumulative += buckets_[bucket_idx].load();
    out += "raypipe_endpoint_latency_seconds_bucket{le=\"" + Number(kLatencyBuckets[bucket_idx]) +
           "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_.back().load();
  out += "raypipe_endpoint_latency_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative) +
         "\n";
  out += "raypipe_endpoint_latency_seconds_sum " +
         Number(static_cast<double>(latency_sum_nanos_.load()) / 1e9) + "\n";
  out += "raypipe_endpoint_latency_seconds_count " + std::to_string(latency_count_.load()) + "\n";
  out += "# HELP raypipe_endpoint_model_info The model version each variant serves.\n";
  out += "# TYPE raypipe_endpoint_model_info gauge\n";
  for (const auto& variant : serving_) {
    out += "raypipe_endpoint_model_info{variant=\"" + Label(variant.name) + "\",model=\"" +
           Label(variant.model_version) + "\",weight=\"" + Number(variant.weight) + "\"} 1\n";
  }
  out += "# HELP raypipe_endpoint_model_swaps_total Variant sets installed.\n";
  out += "# TYPE raypipe_endpoint_model_swaps_total counter\n";
  out += "raypipe_endpoint_model_swaps_total " + std::to_string(swaps_) + "\n";
  return out;
}

}  // namespace raypipe::serving
