#include "pipeline/cache_lifetime.h"

#include <string>

#include "core/duration.h"

namespace raypipe::pipeline {

Result<std::chrono::seconds> ParseCacheLifetime(std::string_view text) {
  ASSIGN_OR_RETURN(std::chrono::milliseconds lifetime, core::ParseIsoDuration(text));
  if (lifetime.count() < 0) {
    return InvalidArgumentError("'" + std::string(text) +
                                "': a cache lifetime cannot be negative");
  }
  return std::chrono::duration_cast<std::chrono::seconds>(lifetime);
}

}  // namespace raypipe::pipeline
