#include "pipeline/iso_duration.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <string>

namespace raypipe::pipeline {
namespace {

Status DurationError(std::string_view text, std::string_view what) {
  return InvalidArgumentError("'" + std::string(text) + "' is not an ISO-8601 duration such as " +
                              "P30D or PT1H30M: " + std::string(what));
}

}  // namespace

Result<std::chrono::seconds> ParseIsoDuration(std::string_view text) {
  constexpr int64_t kDay = 24 * 3600;
  if (text.empty() || text[0] != 'P') return DurationError(text, "it must start with 'P'");
  // Units in the order they must appear, with their length in seconds; lower case never.
  struct Unit {
    char letter;
    bool time;
    int64_t seconds;
  };
  constexpr Unit kUnits[] = {{'Y', false, 365 * kDay}, {'M', false, 30 * kDay},
                             {'W', false, 7 * kDay},   {'D', false, kDay},
                             {'H', true, 3600},        {'M', true, 60},
                             {'S', true, 1}};
  size_t next_unit = 0;
  bool in_time = false;
  bool any_part = false;
  bool time_part = false;
  int64_t total = 0;
  size_t pos = 1;
  while (pos < text.size()) {
    if (text[pos] == 'T') {
      if (in_time) return DurationError(text, "'T' appears twice");
      in_time = true;
      ++pos;
      while (next_unit < std::size(kUnits) && !kUnits[next_unit].time) ++next_unit;
      continue;
    }
    const size_t start = pos;
    int64_t value = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      const int digit = text[pos] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
        return DurationError(text, "a number is too large");
      }
      value = value * 10 + digit;
      ++pos;
    }
    if (pos == start) {
      return DurationError(text, "expected a number at column " + std::to_string(pos + 1));
    }
    if (pos == text.size()) return DurationError(text, "the last number has no unit");
    if (text[pos] == '.' || text[pos] == ',') {
      return DurationError(text, "fractions are not supported");
    }
    const char letter = text[pos++];
    while (next_unit < std::size(kUnits) &&
           (kUnits[next_unit].letter != letter || kUnits[next_unit].time != in_time)) {
      ++next_unit;
    }
    if (next_unit == std::size(kUnits)) {
      return DurationError(text,
                           std::string("unexpected '") + letter + "' (units go Y M W D T H M S)");
    }
    const int64_t seconds = kUnits[next_unit].seconds;
    if (value > (std::numeric_limits<int64_t>::max() - total) / seconds) {
      return DurationError(text, "the duration is too long");
    }
    total += value * seconds;
    any_part = true;
    time_part = time_part || in_time;
    ++next_unit;
  }
  if (!any_part) return DurationError(text, "it has no parts");
  if (in_time && !time_part) return DurationError(text, "'T' must be followed by a time part");
  return std::chrono::seconds(total);
}

}  // namespace raypipe::pipeline
