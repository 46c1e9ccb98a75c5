#pragma once

// ISO-8601 durations as SageMaker uses them (CacheConfig.ExpireAfter, retry intervals):
// PT12H, P1DT2H30M, P30D, P2W, PT0.5S.

#include <chrono>
#include <string>
#include <string_view>

#include "core/status.h"

namespace raypipe::core {

// Parses "PnYnMnWnDTnHnMnS" (each part optional, in that order, at least one present; a 'T'
// must be followed by a time part). Designators are upper case. The last part present may carry
// a fraction ("PT0.5S", "P1.5D"). Years count as 365 days and months as 30 days (a duration has
// no calendar to anchor it); weeks are 7 days. A leading '-' negates. Resolution is one
// millisecond: finer fractions are truncated. Errors are InvalidArgument and say what is wrong
// and where, e.g. "30dT5h" -> must start with 'P'.
Result<std::chrono::milliseconds> ParseIsoDuration(std::string_view text);

// The shortest form ParseIsoDuration reads back as the same value, using D, H, M and S only:
// 0 -> "PT0S", 90'000 ms -> "PT1M30S", 1.5 days -> "P1DT12H", 500 ms -> "PT0.5S", -1 s -> "-PT1S".
std::string FormatIsoDuration(std::chrono::milliseconds duration);

}  // namespace raypipe::core
