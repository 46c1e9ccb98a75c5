#include "core/ids.h"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace raypipe::core {
namespace {

constexpr char kCrockford[] = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr size_t kUlidLength = 26;

// Big-endian increment of the 80-bit random part; false when it wraps around.
bool Increment(std::array<uint8_t, 10>& bytes) {
  for (size_t byte_idx = bytes.size(); byte_idx-- > 0;) {
    if (++bytes[byte_idx] != 0) return true;
  }
  return false;
}

// 48-bit time + 80-bit random = 128 bits, written as 26 base32 digits (the first holds 3 bits).
std::string EncodeUlid(uint64_t millis, const std::array<uint8_t, 10>& random) {
  std::array<uint8_t, 16> bits{};
  for (int byte_idx = 0; byte_idx < 6; ++byte_idx) {
    bits[byte_idx] = static_cast<uint8_t>(millis >> (8 * (5 - byte_idx)));
  }
  for (size_t byte_idx = 0; byte_idx < random.size(); ++byte_idx)
    bits[6 + byte_idx] = random[byte_idx];
  std::string out(kUlidLength, '0');
  // Character k covers bits [128 - 5*(26-k), ...): walk from the least significant end.
  unsigned __int128 value = 0;
  for (uint8_t byte : bits) value = (value << 8) | byte;
  for (size_t char_idx = kUlidLength; char_idx-- > 0;) {
    out[char_idx] = kCrockford[static_cast<unsigned>(value & 0x1F)];
    value >>= 5;
  }
  return out;
}

}  // namespace

void SystemRandomBytes(uint8_t* out, size_t size) {
  size_t filled = 0;
  while (filled < size) {
    ssize_t got = getrandom(out + filled, size - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // getrandom cannot fail on Linux >= 3.17 with valid arguments; ids without randomness
      // would silently collide, so this is a programmer / platform error.
      std::abort();
    }
    filled += static_cast<size_t>(got);
  }
}

IdGenerator::IdGenerator(const Clock& clock, RandomSource random)
    : clock_(clock), random_(std::move(random)) {}

std::string IdGenerator::Next(std::string_view prefix) {
  int64_t now_millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
          .count();
  if (now_millis < 0) now_millis = 0;
  now_millis &= (int64_t{1} << 48) - 1;
  int pid = static_cast<int>(getpid());
  std::array<uint8_t, 10> random;
  int64_t millis;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool same_process = pid == owner_pid_;
    if (same_process && now_millis <= last_millis_) {
      // Same millisecond (or the clock stepped back): stay monotonic by incrementing.
      millis = last_millis_;
      if (!Increment(last_random_)) {
        ++millis;
        random_(last_random_.data(), last_random_.size());
      }
    } else {
      millis = now_millis;
      random_(last_random_.data(), last_random_.size());
    }
    last_millis_ = millis;
    owner_pid_ = pid;
    random = last_random_;
  }
  std::string id;
  id.reserve(prefix.size() + 1 + kUlidLength);
  if (!prefix.empty()) {
    id += prefix;
    id += '-';
  }
  id += EncodeUlid(static_cast<uint64_t>(millis), random);
  return id;
}

std::string NewId(std::string_view prefix) {
  static const SystemClock clock;
  static IdGenerator generator(clock);
  return generator.Next(prefix);
}

bool IsWellFormedId(std::string_view id, std::string_view prefix) {
  size_t head = prefix.empty() ? 0 : prefix.size() + 1;
  if (id.size() != head + kUlidLength) return false;
  if (!prefix.empty() && (id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '-')) {
    return false;
  }
  std::string_view ulid = id.substr(head);
  if (ulid[0] > '7') return false;
  for (char c : ulid) {
    if (std::string_view(kCrockford).find(c) == std::string_view::npos) return false;
  }
  return true;
}

Status CheckName(std::string_view what, std::string_view name, size_t max_length,
                 std::string_view punctuation) {
  auto fail = [&](std::string_view why) {
    return InvalidArgumentError("invalid " + std::string(what) + " '" + std::string(name) +
                                "': " + std::string(why));
  };
  if (name.empty()) return fail("it is empty");
  if (name.size() > max_length) {
    return fail("longer than " + std::to_string(max_length) + " characters");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && punctuation.find(c) == std::string_view::npos) {
      std::string allowed = "a letter, a digit";
      for (char p : punctuation) allowed += std::string(", '") + p + "'";
      return fail("character " + std::to_string(i + 1) + " is not " + allowed);
    }
  }
  return Status::Ok();
}

}  // namespace raypipe::core
