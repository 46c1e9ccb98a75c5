#pragma once

// ISO-8601 durations as CacheConfig.ExpireAfter writes them ("P30D", "PT1H30M", "P1Y2M").
// A local stand-in until core/duration.h exists; the pipeline module will switch to it.

#include <chrono>
#include <string_view>

#include "core/status.h"

namespace raypipe::pipeline {

// Parses PnYnMnWnDTnHnMnS (each part optional, at least one present, whole numbers only, a
// 'T' before the time parts) into seconds. A year counts 365 days and a month 30, as the
// duration is a cache lifetime, not a calendar step. InvalidArgument saying what is wrong.
Result<std::chrono::seconds> ParseIsoDuration(std::string_view text);

}  // namespace raypipe::pipeline
