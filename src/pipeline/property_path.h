#pragma once

// Property paths: "Outputs.model", "FinalMetricDataList[0].Value", "Outputs['my.model']",
// "regression_metrics.rmse.value". Used after a step name in {"Get": "Steps.S.<path>"}, as the
// Path of Std:JsonGet, and (with wildcards) in the property tables of step types.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace raypipe::pipeline {

struct PathSegment {
  enum class Kind {
    kKey,       // .name or ['name']
    kIndex,     // [3]
    kAnyKey,    // * (patterns only)
    kAnyIndex,  // [*] (patterns only)
  };
  Kind kind = Kind::kKey;
  std::string key;
  size_t index = 0;

  friend bool operator==(const PathSegment&, const PathSegment&) = default;
};

using PropertyPath = std::vector<PathSegment>;

// Parses a property path. Keys are runs of characters other than . [ ] ' " and whitespace;
// ['...'] or ["..."] holds any key. With `allow_wildcards`, "*" and "[*]" match any key / index.
// InvalidArgument naming the column on a malformed path.
Result<PropertyPath> ParsePropertyPath(std::string_view text, bool allow_wildcards = false);

// The canonical text: "Outputs.model", "A[0]['b.c']".
std::string FormatPropertyPath(const PropertyPath& path);

// True when `path` matches `pattern` segment for segment (same length).
bool MatchesPattern(const PropertyPath& path, const PropertyPath& pattern);

// The value at `path` inside `document`. NotFound naming the first segment that is missing
// ("no key 'rmse' at 'regression_metrics'"); InvalidArgument when a key meets a non-object or an
// index meets a non-list.
Result<nlohmann::json> GetAtPath(const nlohmann::json& document, const PropertyPath& path);

}  // namespace raypipe::pipeline
