#include "core/duration.h"

#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>

namespace raypipe::core {
namespace {

constexpr int64_t kMillisPerSecond = 1000;
constexpr int64_t kMillisPerMinute = 60 * kMillisPerSecond;
constexpr int64_t kMillisPerHour = 60 * kMillisPerMinute;
constexpr int64_t kMillisPerDay = 24 * kMillisPerHour;

constexpr std::string_view kExamples = "e.g. PT12H, P1DT2H30M, P30D, PT0.5S";

struct Designator {
  int rank;             // position in Y M W D H M S; parts must come in increasing rank
  int64_t unit_millis;  // length of one unit
};

// Date designators before 'T', time designators after it. 'M' means months before 'T' and
// minutes after it, as ISO-8601 says.
std::optional<Designator> LookUp(char designator, bool in_time) {
  if (!in_time) {
    switch (designator) {
      case 'Y':
        return Designator{0, 365 * kMillisPerDay};
      case 'M':
        return Designator{1, 30 * kMillisPerDay};
      case 'W':
        return Designator{2, 7 * kMillisPerDay};
      case 'D':
        return Designator{3, kMillisPerDay};
      default:
        return std::nullopt;
    }
  }
  switch (designator) {
    case 'H':
      return Designator{4, kMillisPerHour};
    case 'M':
      return Designator{5, kMillisPerMinute};
    case 'S':
      return Designator{6, kMillisPerSecond};
    default:
      return std::nullopt;
  }
}

Status Invalid(std::string_view text, const std::string& why) {
  return InvalidArgumentError("invalid ISO-8601 duration \"" + std::string(text) + "\": " + why);
}

std::string At(size_t pos) { return " at position " + std::to_string(pos + 1); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::chrono::milliseconds> ParseIsoDuration(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty (" + std::string(kExamples) + ")");
  size_t pos = 0;
  bool negative = false;
  if (text[pos] == '-') {
    negative = true;
    ++pos;
  }
  if (pos >= text.size() || text[pos] != 'P') {
    std::string why = "must start with 'P'";
    if (pos < text.size() && text[pos] == 'p') why += " (designators are upper case)";
    return Invalid(text, why + " (" + std::string(kExamples) + ")");
  }
  ++pos;

  // Sums in 128 bits so that overflow is detected rather than wrapped.
  __int128 total = 0;
  const __int128 kLimit = std::numeric_limits<int64_t>::max();
  bool in_time = false;
  bool time_part_seen = false;
  int part_count = 0;
  int last_rank = -1;
  bool fraction_seen = false;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == 'T') {
      if (in_time) return Invalid(text, "a second 'T'" + At(pos));
      in_time = true;
      ++pos;
      continue;
    }
    if (c == 't') return Invalid(text, "designators are upper case: 't'" + At(pos));
    if (!IsDigit(c)) {
      return Invalid(text, "expected a number" + At(pos) + ", found '" + std::string(1, c) + "'");
    }
    size_t number_start = pos;
    __int128 whole = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      whole = whole * 10 + (text[pos] - '0');
      if (whole > kLimit) return Invalid(text, "number" + At(number_start) + " is too large");
      ++pos;
    }
    __int128 fraction_nanos = 0;
    bool has_fraction = false;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      has_fraction = true;
      ++pos;
      int digit_count = 0;
      while (pos < text.size() && IsDigit(text[pos])) {
        if (digit_count < 9) fraction_nanos = fraction_nanos * 10 + (text[pos] - '0');
        ++digit_count;
        ++pos;
      }
      if (digit_count == 0)
        return Invalid(text, "expected digits after the decimal point" + At(pos));
      for (int pad = digit_count; pad < 9; ++pad) fraction_nanos *= 10;
    }
    if (pos >= text.size()) {
      return Invalid(text, "number" + At(number_start) +
                               " has no designator (Y, M, W, D before 'T'; H, M, S after it)");
    }
    char designator = text[pos];
    if (designator >= 'a' && designator <= 'z') {
      return Invalid(text,
                     "designators are upper case: '" + std::string(1, designator) + "'" + At(pos));
    }
    std::optional<Designator> unit = LookUp(designator, in_time);
    if (!unit) {
      if (!in_time && (designator == 'H' || designator == 'S')) {
        return Invalid(text, "'" + std::string(1, designator) + "'" + At(pos) +
                                 " is a time part and must come after 'T' (e.g. PT5H)");
      }
      if (in_time && (designator == 'Y' || designator == 'W' || designator == 'D')) {
        return Invalid(text, "'" + std::string(1, designator) + "'" + At(pos) +
                                 " is a date part and must come before 'T' (e.g. P1DT5H)");
      }
      return Invalid(text, "unknown designator '" + std::string(1, designator) + "'" + At(pos));
    }
    if (unit->rank <= last_rank) {
      return Invalid(text, "'" + std::string(1, designator) + "'" + At(pos) +
                               " is repeated or out of order (the order is Y M W D T H M S)");
    }
    if (fraction_seen) {
      return Invalid(text, "only the last part may have a fraction");
    }
    fraction_seen = has_fraction;
    last_rank = unit->rank;
    ++part_count;
    if (in_time) time_part_seen = true;
    total += whole * unit->unit_millis + fraction_nanos * unit->unit_millis / 1'000'000'000;
    if (total > kLimit) return Invalid(text, "too long to represent in milliseconds");
    ++pos;
  }
  if (in_time && !time_part_seen) {
    return Invalid(text, "'T' must be followed by hours, minutes or seconds (e.g. PT12H)");
  }
  if (part_count == 0) return Invalid(text, "has no parts (" + std::string(kExamples) + ")");
  int64_t millis = static_cast<int64_t>(total);
  return std::chrono::milliseconds(negative ? -millis : millis);
}

std::string FormatIsoDuration(std::chrono::milliseconds duration) {
  int64_t millis = duration.count();
  std::string text;
  // Work on the magnitude as unsigned so that the most negative value needs no special case.
  uint64_t magnitude = static_cast<uint64_t>(millis);
  if (millis < 0) {
    text += '-';
    magnitude = 0 - magnitude;
  }
  text += 'P';
  uint64_t day_count = magnitude / kMillisPerDay;
  uint64_t rest = magnitude % kMillisPerDay;
  if (day_count > 0) text += std::to_string(day_count) + "D";
  if (rest == 0 && day_count > 0) return text;
  text += 'T';
  uint64_t hour_count = rest / kMillisPerHour;
  rest %= kMillisPerHour;
  uint64_t minute_count = rest / kMillisPerMinute;
  rest %= kMillisPerMinute;
  uint64_t second_count = rest / kMillisPerSecond;
  uint64_t milli_count = rest % kMillisPerSecond;
  if (hour_count > 0) text += std::to_string(hour_count) + "H";
  if (minute_count > 0) text += std::to_string(minute_count) + "M";
  if (second_count > 0 || milli_count > 0 || (hour_count == 0 && minute_count == 0)) {
    text += std::to_string(second_count);
    if (milli_count > 0) {
      char fraction[8];
      std::snprintf(fraction, sizeof(fraction), ".%03u", static_cast<unsigned>(milli_count));
      std::string digits(fraction);
      while (digits.back() == '0') digits.pop_back();
      text += digits;
    }
    text += 'S';
  }
  return text;
}

}  // namespace raypipe::core
