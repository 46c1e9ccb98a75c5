#pragma once

// Byte encodings of Values. The LocalExecutor never serializes; a backend that moves values
// between processes (Ray) encodes each argument and result with the codec registered for its
// type. Codecs are registered explicitly at start-up, like kernels.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

#include "compute/value.h"
#include "core/status.h"

namespace raypipe::compute {

// A value's type name (as registered) and its bytes.
struct EncodedValue {
  std::string type_name;
  std::string bytes;
};

// The type name under which the empty Value travels; no codec may claim it.
inline constexpr std::string_view kEmptyTypeName = "empty";

// How an executor that never serializes (LocalExecutor) checks the values crossing into and
// out of kernels, so that code that works there also works where values are serialized (Ray).
enum class CodecCheck {
  kNone,       // hand values over as they are
  kTypes,      // refuse values whose type has no codec
  kRoundTrip,  // serialize and deserialize every value that crosses (slow; for tests)
};

// Type name <-> codec. Populate at start-up, then share read-only: concurrent const calls are
// safe, Register is not safe concurrently with anything.
class CodecRegistry {
 public:
  // An empty registry.
  CodecRegistry() = default;

  // A registry with the built-in codecs: "string" (std::string, raw bytes), "int64" (int64_t,
  // 8 bytes little-endian), "float64" (double, IEEE-754 bits little-endian), "json"
  // (nlohmann::json, CBOR), "list<string>" (std::vector<std::string>, counted and
  // length-prefixed).
  static CodecRegistry WithBuiltins();

  // Registers the codec of T under `type_name`. InvalidArgument for an empty or reserved name
  // or a null function; AlreadyExists when T or the name already has a codec. `decode` must
  // reject malformed bytes with an error (DataLoss), never crash; exceptions it throws are
  // caught and become DataLoss.
  template <typename T>
  Status Register(std::string type_name, std::function<Result<std::string>(const T&)> encode,
                  std::function<Result<T>(std::string_view)> decode) {
    if (!encode || !decode) {
      return InvalidArgumentError("codec '" + type_name + "': encode and decode are required");
    }
    Codec codec{std::move(type_name), ValueTypeOf<T>().index, nullptr, nullptr};
    codec.encode = [encode = std::move(encode)](const Value& value) -> Result<std::string> {
      ASSIGN_OR_RETURN(const T* object, value.Get<T>());
      return encode(*object);
    };
    codec.decode = [decode = std::move(decode)](std::string_view bytes) -> Result<Value> {
      ASSIGN_OR_RETURN(T object, decode(bytes));
      return Value::Of<T>(std::move(object));
    };
    return Add(std::move(codec));
  }

  // Whether `value` can be encoded (the empty value always can).
  bool CanEncode(const Value& value) const;
  // The registered type name of the value's type; NotFound when none.
  Result<std::string> TypeNameOf(const Value& value) const;

  // NotFound "no codec registered for type X" when the type has none; the codec's error
  // otherwise.
  Result<EncodedValue> Encode(const Value& value) const;
  // NotFound for an unknown type name; DataLoss for bytes the codec rejects.
  Result<Value> Decode(std::string_view type_name, std::string_view bytes) const;

  // One self-describing buffer holding the type name and the bytes (what the Ray bridge
  // moves): "RPV1", the name's length (4 bytes little-endian), the name, the bytes.
  Result<std::string> Serialize(const Value& value) const;
  // The inverse of Serialize; DataLoss naming the byte offset for a malformed buffer.
  Result<Value> Deserialize(std::string_view buffer) const;

  // The registered type names, sorted.
  std::vector<std::string> TypeNames() const;

 private:
  struct Codec {
    std::string type_name;
    std::type_index type;
    std::function<Result<std::string>(const Value&)> encode;
    std::function<Result<Value>(std::string_view)> decode;
  };

  Status Add(Codec codec);
  const Codec* Find(const Value& value) const;

  std::map<std::type_index, std::shared_ptr<const Codec>> by_type_;
  std::map<std::string, std::shared_ptr<const Codec>, std::less<>> by_name_;
};

}  // namespace raypipe::compute
