#pragma once

// Identifiers: "<prefix>-<ulid>", e.g. "exec-01jd3m5q8v7k2x9c4n6t0w1yzr".
//
// The ULID part is 26 lower-case Crockford base32 characters: 48 bits of Unix milliseconds then
// 80 random bits. Ids therefore sort by creation time as plain strings; within one millisecond a
// generator increments the random part, so its ids are strictly increasing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/time.h"

namespace raypipe::core {

// Fills `size` bytes at `out` with random bytes.
using RandomSource = std::function<void(uint8_t* out, size_t size)>;

// Cryptographically random bytes from the kernel (getrandom).
void SystemRandomBytes(uint8_t* out, size_t size);

// Makes ids from a clock and a random source. Thread-safe. Strictly increasing for one
// generator, even if the clock steps back; unique across processes through the 80 random bits
// (the random part is redrawn in a child after fork()).
class IdGenerator {
 public:
  // `clock` is not owned and must outlive the generator. `random` defaults to SystemRandomBytes.
  explicit IdGenerator(const Clock& clock, RandomSource random = SystemRandomBytes);

  // "<prefix>-<ulid>", or the bare ULID when `prefix` is empty.
  std::string Next(std::string_view prefix);

 private:
  const Clock& clock_;
  RandomSource random_;
  std::mutex mutex_;  // guards the fields below
  int64_t last_millis_ = -1;
  std::array<uint8_t, 10> last_random_{};
  int owner_pid_ = 0;  // the process that produced last_random_
};

// Next(prefix) of a process-wide IdGenerator over the system clock. Ids must be unique and
// ordered across the whole process, so this one piece of state is per process by nature; code
// that needs deterministic ids takes an IdGenerator instead.
std::string NewId(std::string_view prefix);

// True when `id` is "<prefix>-" (or nothing, for an empty prefix) followed by 26 lower-case
// Crockford base32 characters whose first is at most '7' (48 bits of time).
bool IsWellFormedId(std::string_view id, std::string_view prefix);

// Checks a user-chosen name: not empty, at most `max_length` characters, each an ASCII letter, a
// digit or one of `punctuation`. InvalidArgument "invalid <what> '<name>': <why>" otherwise,
// naming the first offending character by its 1-based position.
Status CheckName(std::string_view what, std::string_view name, size_t max_length,
                 std::string_view punctuation);

}  // namespace raypipe::core
