#pragma once

// RetryPolicies with SageMaker's semantics: a failed attempt is retried when its error is
// retryable (RetryExceptionType is not empty) and a policy lists that ExceptionType. The first
// such policy decides: retry n (1-based) waits IntervalSeconds * BackoffRate^(n-1); MaxAttempts
// bounds the number of retries under that policy, ExpireAfterMin the time since the step's
// first attempt began.

#include <chrono>
#include <optional>
#include <vector>

#include "core/status.h"
#include "pipeline/definition.h"

namespace raypipe::pipeline {

// Counts the retries made under each policy of one step.
class RetryTracker {
 public:
  explicit RetryTracker(const std::vector<RetryPolicy>* policies) : policies_(policies) {}

  // The wait before the next attempt after `error`, or nullopt when the step fails now.
  // `elapsed` is the time since the first attempt began. Records the retry when it returns one.
  std::optional<std::chrono::milliseconds> NextDelay(const Status& error,
                                                     std::chrono::milliseconds elapsed);

 private:
  const std::vector<RetryPolicy>* policies_;  // not owned
  std::vector<int> retries_;                   // per policy
};

}  // namespace raypipe::pipeline
