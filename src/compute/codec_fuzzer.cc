// Fuzzes CodecRegistry::Deserialize (the bytes a Ray worker hands back) with the built-in
// codecs: it must return a value or an error, never crash, hang or over-allocate, and what it
// accepts must serialize back to the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "compute/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const raypipe::compute::CodecRegistry kCodecs =
      raypipe::compute::CodecRegistry::WithBuiltins();
  std::string_view buffer(reinterpret_cast<const char*>(data), size);
  raypipe::Result<raypipe::compute::Value> value = kCodecs.Deserialize(buffer);
  if (!value.ok()) return 0;
  raypipe::Result<std::string> again = kCodecs.Serialize(*value);
  if (!again.ok()) std::abort();
  // JSON's CBOR has several encodings of one document; the other codecs are canonical.
  if (value->Is<nlohmann::json>()) return 0;
  if (*again != buffer) std::abort();
  return 0;
}
