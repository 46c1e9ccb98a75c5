#include "core/hash.h"

#include <openssl/evp.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace raypipe::core {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }

void Sha256::Update(const void* data, size_t size) {
  EVP_DigestUpdate(impl_->ctx, data, size);
}

std::string Sha256::FinishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(impl_->ctx, digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(length * 2, '0');
  for (unsigned int byte_idx = 0; byte_idx < length; ++byte_idx) {
    hex[2 * byte_idx] = kHex[digest[byte_idx] >> 4];
    hex[2 * byte_idx + 1] = kHex[digest[byte_idx] & 0xF];
  }
  return hex;
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 hasher;
  hasher.Update(bytes);
  return hasher.FinishHex();
}

Result<std::string> Sha256File(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    std::string message = "cannot open " + path + ": " + std::strerror(errno);
    return errno == ENOENT ? NotFoundError(std::move(message)) : UnavailableError(std::move(message));
  }
  Sha256 hasher;
  std::string buffer(1 << 20, '\0');
  while (true) {
    size_t read = std::fread(buffer.data(), 1, buffer.size(), file.get());
    if (read > 0) hasher.Update(buffer.data(), read);
    if (read < buffer.size()) break;
  }
  if (std::ferror(file.get())) return UnavailableError("error reading " + path);
  return hasher.FinishHex();
}

uint64_t FastHash64(const void* data, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}

FastHasher::FastHasher(uint64_t seed) : state_(XXH3_createState()) {
  XXH3_64bits_reset_withSeed(static_cast<XXH3_state_t*>(state_), seed);
}

FastHasher::~FastHasher() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void FastHasher::Update(const void* data, size_t size) {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, size);
}

uint64_t FastHasher::Digest() const {
  return XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_));
}

}  // namespace raypipe::core
