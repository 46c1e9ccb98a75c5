#pragma once

// Content digests (SHA-256, for artifacts and cache keys) and a fast non-cryptographic hash
// (XXH3, for checksums of bulk data such as columnar files).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace raypipe::core {

// Incremental SHA-256. Not thread-safe; one object per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  void Update(const void* data, size_t size);
  // The lower-case hex digest (64 characters). The object is spent afterwards.
  std::string FinishHex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// The SHA-256 of a file's content, streamed. NotFound / Unavailable on I/O errors.
Result<std::string> Sha256File(const std::string& path);

// XXH3 64-bit of `data`, with an optional seed. Stable across runs and machines.
uint64_t FastHash64(const void* data, size_t size, uint64_t seed = 0);
inline uint64_t FastHash64(std::string_view bytes, uint64_t seed = 0) {
  return FastHash64(bytes.data(), bytes.size(), seed);
}

// Incremental XXH3 64-bit, equal to FastHash64 over the concatenation of the updates.
class FastHasher {
 public:
  explicit FastHasher(uint64_t seed = 0);
  ~FastHasher();
  FastHasher(const FastHasher&) = delete;
  FastHasher& operator=(const FastHasher&) = delete;
  void Update(const void* data, size_t size);
  uint64_t Digest() const;

 private:
  void* state_;  // XXH3_state_t, owned
};

}  // namespace raypipe::core
