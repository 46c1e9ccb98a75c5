#pragma once

// CacheConfig.ExpireAfter: an ISO-8601 duration ("P30D", "PT1H30M", "P1Y2M", "PT0.5S") read by
// core::ParseIsoDuration, as a cache lifetime: never negative, whole seconds.

#include <chrono>
#include <string_view>

#include "core/status.h"

namespace raypipe::pipeline {

// The lifetime ExpireAfter's text names, truncated to whole seconds. InvalidArgument saying
// what is wrong: core::ParseIsoDuration's reasons, or "a cache lifetime cannot be negative".
Result<std::chrono::seconds> ParseCacheLifetime(std::string_view text);

}  // namespace raypipe::pipeline
