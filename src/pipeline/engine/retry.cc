#include "pipeline/engine/retry.h"

#include <algorithm>
#include <cmath>

#include "pipeline/step_runner.h"

namespace raypipe::pipeline {

std::optional<std::chrono::milliseconds> RetryTracker::NextDelay(
    const Status& error, std::chrono::milliseconds elapsed) {
  std::string_view type = RetryExceptionType(error);
  if (type.empty() || policies_ == nullptr) return std::nullopt;
  retries_.resize(policies_->size(), 0);
  for (size_t i = 0; i < policies_->size(); ++i) {
    const RetryPolicy& policy = (*policies_)[i];
    if (std::find(policy.exception_types.begin(), policy.exception_types.end(), type) ==
        policy.exception_types.end()) {
      continue;
    }
    if (policy.max_attempts.has_value() && retries_[i] >= *policy.max_attempts) {
      return std::nullopt;
    }
    double seconds = static_cast<double>(policy.interval_seconds) *
                     std::pow(policy.backoff_rate, static_cast<double>(retries_[i]));
    auto delay = std::chrono::milliseconds(static_cast<int64_t>(std::min(seconds, 1e9) * 1000));
    if (policy.expire_after_min.has_value() &&
        elapsed + delay > std::chrono::minutes(*policy.expire_after_min)) {
      return std::nullopt;
    }
    ++retries_[i];
    return delay;
  }
  return std::nullopt;
}

}  // namespace raypipe::pipeline
