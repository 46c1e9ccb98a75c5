#pragma once

// Time: an injectable clock and ISO-8601 / epoch timestamp text.

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "core/status.h"

namespace raypipe::core {

using TimePoint = std::chrono::system_clock::time_point;

// The source of "now". Code that stamps or expires things takes a Clock& so tests can drive time.
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The wall clock (std::chrono::system_clock). Stateless: construct one wherever needed.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to. Thread-safe. Starts at `start` (the epoch by default).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint()) : now_(start) {}
  TimePoint Now() const override;
  void Set(TimePoint now);
  void Advance(std::chrono::nanoseconds delta);

 private:
  mutable std::mutex mutex_;  // guards now_
  TimePoint now_;
};

// "2026-11-26T21:00:00.123Z": UTC, always with milliseconds (truncated toward the past).
std::string FormatIsoTime(TimePoint time);

// Parses an ISO-8601 / RFC 3339 timestamp: "2026-11-26T21:00:00Z", "...T21:00:00.123456Z",
// "...T23:00:00+02:00", "...T23:00:00+0200", a space or 't' in place of 'T', 'z' for 'Z'.
// Without an offset the time is taken as UTC; a bare date ("2026-11-26") is its midnight UTC.
// Fractions keep up to nanoseconds. InvalidArgument names the text and what is wrong.
Result<TimePoint> ParseIsoTime(std::string_view text);

// ParseIsoTime, or seconds since the Unix epoch with an optional fraction ("1700000000",
// "1700000000.25", "-12.5"): the forms a feature store accepts as an event time.
Result<TimePoint> ParseEventTime(std::string_view text);

}  // namespace raypipe::core
