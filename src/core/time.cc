#include "core/time.h"

#include <cstdint>
#include <cstdio>
#include <optional>

namespace raypipe::core {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// system_clock counts nanoseconds in an int64 on Linux: about +-292 years around 1970.
// Limiting accepted seconds well inside that keeps every conversion free of overflow.
constexpr int64_t kMaxAbsSeconds = 9'000'000'000;  // roughly the year 2255

Status Invalid(std::string_view text, std::string_view why) {
  return InvalidArgumentError("invalid timestamp \"" + std::string(text) +
                              "\": " + std::string(why));
}

// A cursor over the text with small helpers for fixed-width fields.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  size_t pos() const { return pos_; }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void Skip() { ++pos_; }

  // Exactly `width` digits.
  std::optional<int> Digits(int width) {
    if (pos_ + width > text_.size()) return std::nullopt;
    int value = 0;
    for (int digit_idx = 0; digit_idx < width; ++digit_idx) {
      char c = text_[pos_ + digit_idx];
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    pos_ += width;
    return value;
  }

  bool Consume(char expected) {
    if (Peek() != expected) return false;
    ++pos_;
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Reads ".ddd..." (or ",ddd...") as nanoseconds; digits past the ninth are ignored.
std::optional<int64_t> ReadFraction(Scanner& scanner) {
  if (scanner.Peek() != '.' && scanner.Peek() != ',') return int64_t{0};
  scanner.Skip();
  int64_t nanos = 0;
  int digit_count = 0;
  while (scanner.Peek() >= '0' && scanner.Peek() <= '9') {
    if (digit_count < 9) {
      nanos = nanos * 10 + (scanner.Peek() - '0');
    }
    ++digit_count;
    scanner.Skip();
  }
  if (digit_count == 0) return std::nullopt;
  for (int pad = digit_count; pad < 9; ++pad) nanos *= 10;
  return nanos;
}

Result<TimePoint> FromSeconds(std::string_view text, int64_t whole_seconds, int64_t nanos) {
  if (whole_seconds > kMaxAbsSeconds || whole_seconds < -kMaxAbsSeconds) {
    return Invalid(text, "out of the supported range (years 1685 to 2255)");
  }
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(seconds(whole_seconds) + nanoseconds(nanos)));
}

}  // namespace

TimePoint ManualClock::Now() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return now_;
}

void ManualClock::Set(TimePoint now) {
  std::lock_guard<std::mutex> lock(mutex_);
  now_ = now;
}

void ManualClock::Advance(std::chrono::nanoseconds delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  now_ += std::chrono::duration_cast<TimePoint::duration>(delta);
}

std::string FormatIsoTime(TimePoint time) {
  auto millis = std::chrono::floor<milliseconds>(time);
  auto day = std::chrono::floor<days>(millis);
  std::chrono::year_month_day date{day};
  std::chrono::hh_mm_ss<milliseconds> clock_time{millis - day};
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock_time.hours().count()),
                static_cast<int>(clock_time.minutes().count()),
                static_cast<int>(clock_time.seconds().count()),
                static_cast<int>(clock_time.subseconds().count()));
  return buffer;
}

Result<TimePoint> ParseIsoTime(std::string_view text) {
  Scanner scanner(text);
  std::optional<int> year = scanner.Digits(4);
  if (!year)
    return Invalid(text, "expected a four-digit year at position 1 (2026-11-26T21:00:00Z)");
  if (!scanner.Consume('-')) return Invalid(text, "expected '-' after the year");
  std::optional<int> month = scanner.Digits(2);
  if (!month || !scanner.Consume('-')) return Invalid(text, "expected a two-digit month and '-'");
  std::optional<int> day_of_month = scanner.Digits(2);
  if (!day_of_month) return Invalid(text, "expected a two-digit day");
  std::chrono::year_month_day date{std::chrono::year(*year),
                                   std::chrono::month(static_cast<unsigned>(*month)),
                                   std::chrono::day(static_cast<unsigned>(*day_of_month))};
  if (*month < 1 || *month > 12) return Invalid(text, "month must be 01 to 12");
  if (!date.ok()) return Invalid(text, "no such day in that month");

  int hour = 0;
  int minute = 0;
  int second = 0;
  int64_t nanos = 0;
  int64_t offset_seconds = 0;
  if (!scanner.AtEnd()) {
    char separator = scanner.Peek();
    if (separator != 'T' && separator != 't' && separator != ' ') {
      return Invalid(text, "expected 'T' between the date and the time");
    }
    scanner.Skip();
    std::optional<int> hour_field = scanner.Digits(2);
    if (!hour_field || !scanner.Consume(':')) return Invalid(text, "expected hh:mm:ss after 'T'");
    std::optional<int> minute_field = scanner.Digits(2);
    if (!minute_field || !scanner.Consume(':')) return Invalid(text, "expected hh:mm:ss after 'T'");
    std::optional<int> second_field = scanner.Digits(2);
    if (!second_field) return Invalid(text, "expected hh:mm:ss after 'T'");
    hour = *hour_field;
    minute = *minute_field;
    second = *second_field;
    if (hour > 23) return Invalid(text, "hour must be 00 to 23");
    if (minute > 59) return Invalid(text, "minute must be 00 to 59");
    if (second > 59)
      return Invalid(text, "second must be 00 to 59 (leap seconds are not supported)");
    std::optional<int64_t> fraction = ReadFraction(scanner);
    if (!fraction) return Invalid(text, "expected digits after the decimal point");
    nanos = *fraction;

    if (scanner.Consume('Z') || scanner.Consume('z')) {
      offset_seconds = 0;
    } else if (scanner.Peek() == '+' || scanner.Peek() == '-') {
      int sign = scanner.Peek() == '-' ? -1 : 1;
      scanner.Skip();
      std::optional<int> offset_hours = scanner.Digits(2);
      scanner.Consume(':');
      std::optional<int> offset_minutes = scanner.Digits(2);
      if (!offset_hours || !offset_minutes) {
        return Invalid(text, "expected a UTC offset as +hh:mm or +hhmm");
      }
      if (*offset_hours > 23 || *offset_minutes > 59)
        return Invalid(text, "UTC offset out of range");
      offset_seconds = sign * (*offset_hours * 3600 + *offset_minutes * 60);
    }
  }
  if (!scanner.AtEnd()) {
    return Invalid(text, "unexpected text at position " + std::to_string(scanner.pos() + 1));
  }
  int64_t day_count = std::chrono::sys_days(date).time_since_epoch().count();
  int64_t whole_seconds = day_count * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return FromSeconds(text, whole_seconds, nanos);
}

Result<TimePoint> ParseEventTime(std::string_view text) {
  // Epoch seconds never contain '-' after the first character, ISO dates always do.
  bool looks_numeric = !text.empty() &&
                       text.find_first_not_of("0123456789.,+-") == std::string_view::npos &&
                       text.find_first_of("-+", 1) == std::string_view::npos;
  if (!looks_numeric) {
    Result<TimePoint> iso = ParseIsoTime(text);
    if (iso.ok()) return iso;
    return InvalidArgumentError(std::string(iso.status().message()) +
                                "; an event time is ISO-8601 (2026-11-26T21:00:00Z) or epoch "
                                "seconds (1700000000.25)");
  }
  Scanner scanner(text);
  bool negative = scanner.Consume('-');
  if (!negative) scanner.Consume('+');
  int64_t whole_seconds = 0;
  int digit_count = 0;
  while (scanner.Peek() >= '0' && scanner.Peek() <= '9') {
    if (++digit_count > 11) return Invalid(text, "epoch seconds out of the supported range");
    whole_seconds = whole_seconds * 10 + (scanner.Peek() - '0');
    scanner.Skip();
  }
  if (digit_count == 0) {
    return Invalid(text,
                   "expected ISO-8601 (2026-11-26T21:00:00Z) or epoch seconds (1700000000.25)");
  }
  std::optional<int64_t> fraction = ReadFraction(scanner);
  if (!fraction) return Invalid(text, "expected digits after the decimal point");
  if (!scanner.AtEnd()) {
    return Invalid(text, "unexpected text at position " + std::to_string(scanner.pos() + 1));
  }
  if (negative) return FromSeconds(text, -whole_seconds, -*fraction);
  return FromSeconds(text, whole_seconds, *fraction);
}

}  // namespace raypipe::core
