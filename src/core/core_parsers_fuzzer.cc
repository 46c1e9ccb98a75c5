// Feeds arbitrary bytes to core's text parsers. None may crash, and what they accept must
// round-trip through the matching formatter.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/duration.h"
#include "core/json.h"
#include "core/time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace raypipe::core;
  using raypipe::Result;

  if (Result<nlohmann::json> parsed = ParseJson(text, "fuzz.json"); parsed.ok()) {
    std::string canonical = CanonicalJson(*parsed);
    Result<nlohmann::json> again = ParseJson(canonical, "canonical.json");
    if (!again.ok() || CanonicalJson(*again) != canonical) std::abort();
  }

  if (Result<std::chrono::milliseconds> duration = ParseIsoDuration(text); duration.ok()) {
    Result<std::chrono::milliseconds> again = ParseIsoDuration(FormatIsoDuration(*duration));
    if (!again.ok() || *again != *duration) std::abort();
  }

  for (auto parse : {&ParseIsoTime, &ParseEventTime}) {
    if (Result<TimePoint> time = parse(text); time.ok()) {
      Result<TimePoint> again = ParseIsoTime(FormatIsoTime(*time));
      if (!again.ok()) std::abort();
      if (std::chrono::floor<std::chrono::milliseconds>(*time) != *again) std::abort();
    }
  }
  return 0;
}
