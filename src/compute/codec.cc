#include "compute/codec.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <exception>

#include <nlohmann/json.hpp>

namespace raypipe::compute {
namespace {

constexpr std::string_view kMagic = "RPV1";

void AppendLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int byte_idx = 0; byte_idx < bytes; ++byte_idx) {
    out.push_back(static_cast<char>((value >> (8 * byte_idx)) & 0xff));
  }
}

uint64_t ReadLittleEndian(std::string_view in, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int byte_idx = 0; byte_idx < bytes; ++byte_idx) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[offset + byte_idx]))
             << (8 * byte_idx);
  }
  return value;
}

Result<std::string> EncodeInt64(const int64_t& value) {
  std::string out;
  AppendLittleEndian(out, static_cast<uint64_t>(value), 8);
  return out;
}

Result<int64_t> DecodeInt64(std::string_view bytes) {
  if (bytes.size() != 8) {
    return DataLossError("int64: expected 8 bytes, got " + std::to_string(bytes.size()));
  }
  return static_cast<int64_t>(ReadLittleEndian(bytes, 0, 8));
}

Result<std::string> EncodeFloat64(const double& value) {
  std::string out;
  AppendLittleEndian(out, std::bit_cast<uint64_t>(value), 8);
  return out;
}

Result<double> DecodeFloat64(std::string_view bytes) {
  if (bytes.size() != 8) {
    return DataLossError("float64: expected 8 bytes, got " + std::to_string(bytes.size()));
  }
  return std::bit_cast<double>(ReadLittleEndian(bytes, 0, 8));
}

Result<std::string> EncodeJson(const nlohmann::json& value) {
  // CBOR rather than text: exact for doubles and for strings that are not valid UTF-8.
  std::vector<uint8_t> cbor = nlohmann::json::to_cbor(value);
  return std::string(cbor.begin(), cbor.end());
}

Result<nlohmann::json> DecodeJson(std::string_view bytes) {
  nlohmann::json value = nlohmann::json::from_cbor(bytes.begin(), bytes.end(),
                                                   /*strict=*/true, /*allow_exceptions=*/false);
  if (value.is_discarded()) return DataLossError("json: the bytes are not valid CBOR");
  return value;
}

Result<std::string> EncodeStringList(const std::vector<std::string>& list) {
  std::string out;
  AppendLittleEndian(out, list.size(), 8);
  for (const std::string& item : list) {
    AppendLittleEndian(out, item.size(), 8);
    out += item;
  }
  return out;
}

Result<std::vector<std::string>> DecodeStringList(std::string_view bytes) {
  if (bytes.size() < 8) return DataLossError("list<string>: shorter than its 8-byte count");
  uint64_t count = ReadLittleEndian(bytes, 0, 8);
  // Each item needs at least its 8-byte length: a count beyond that is corrupt, and checking
  // it first keeps a hostile count from reserving memory.
  if (count > (bytes.size() - 8) / 8) {
    return DataLossError("list<string>: count " + std::to_string(count) + " does not fit in " +
                         std::to_string(bytes.size()) + " bytes");
  }
  std::vector<std::string> list;
  list.reserve(count);
  size_t offset = 8;
  for (uint64_t item_idx = 0; item_idx < count; ++item_idx) {
    if (bytes.size() - offset < 8) {
      return DataLossError("list<string>: item " + std::to_string(item_idx) +
                           " length truncated at byte " + std::to_string(offset));
    }
    uint64_t length = ReadLittleEndian(bytes, offset, 8);
    offset += 8;
    if (length > bytes.size() - offset) {
      return DataLossError("list<string>: item " + std::to_string(item_idx) + " of " +
                           std::to_string(length) + " bytes overruns the buffer at byte " +
                           std::to_string(offset));
    }
    list.emplace_back(bytes.substr(offset, length));
    offset += length;
  }
  if (offset != bytes.size()) {
    return DataLossError("list<string>: " + std::to_string(bytes.size() - offset) +
                         " trailing bytes after item " + std::to_string(count));
  }
  return list;
}

}  // namespace

CodecRegistry CodecRegistry::WithBuiltins() {
  CodecRegistry registry;
  // Registering into an empty registry with distinct names cannot fail.
  registry
      .Register<std::string>(
          "string", [](const std::string& value) -> Result<std::string> { return value; },
          [](std::string_view bytes) -> Result<std::string> { return std::string(bytes); })
      .IgnoreError();
  registry.Register<int64_t>("int64", EncodeInt64, DecodeInt64).IgnoreError();
  registry.Register<double>("float64", EncodeFloat64, DecodeFloat64).IgnoreError();
  registry.Register<nlohmann::json>("json", EncodeJson, DecodeJson).IgnoreError();
  registry.Register<std::vector<std::string>>("list<string>", EncodeStringList, DecodeStringList)
      .IgnoreError();
  return registry;
}

Status CodecRegistry::Add(Codec codec) {
  if (codec.type_name.empty() || codec.type_name == kEmptyTypeName) {
    return InvalidArgumentError("codec type name '" + codec.type_name + "' is empty or reserved");
  }
  if (by_name_.count(codec.type_name) != 0) {
    return AlreadyExistsError("a codec named '" + codec.type_name + "' is already registered");
  }
  if (auto it = by_type_.find(codec.type); it != by_type_.end()) {
    return AlreadyExistsError("the type of codec '" + codec.type_name +
                              "' already has the codec '" + it->second->type_name + "'");
  }
  auto shared = std::make_shared<const Codec>(std::move(codec));
  by_type_.emplace(shared->type, shared);
  by_name_.emplace(shared->type_name, shared);
  return Status::Ok();
}

const CodecRegistry::Codec* CodecRegistry::Find(const Value& value) const {
  if (value.empty()) return nullptr;
  auto it = by_type_.find(value.type()->index);
  return it == by_type_.end() ? nullptr : it->second.get();
}

bool CodecRegistry::CanEncode(const Value& value) const {
  return value.empty() || Find(value) != nullptr;
}

Result<std::string> CodecRegistry::TypeNameOf(const Value& value) const {
  if (value.empty()) return std::string(kEmptyTypeName);
  const Codec* codec = Find(value);
  if (codec == nullptr) {
    return NotFoundError("no codec registered for type " + std::string(value.type_name()));
  }
  return codec->type_name;
}

Result<EncodedValue> CodecRegistry::Encode(const Value& value) const {
  if (value.empty()) return EncodedValue{std::string(kEmptyTypeName), ""};
  const Codec* codec = Find(value);
  if (codec == nullptr) {
    return NotFoundError("no codec registered for type " + std::string(value.type_name()));
  }
  try {
    ASSIGN_OR_RETURN(std::string bytes, codec->encode(value));
    return EncodedValue{codec->type_name, std::move(bytes)};
  } catch (const std::exception& error) {
    return InternalError("codec '" + codec->type_name + "' threw while encoding: " + error.what());
  }
}

Result<Value> CodecRegistry::Decode(std::string_view type_name, std::string_view bytes) const {
  if (type_name == kEmptyTypeName) {
    if (!bytes.empty()) return DataLossError("the empty value carries " +
                                             std::to_string(bytes.size()) + " bytes");
    return Value();
  }
  auto it = by_name_.find(type_name);
  if (it == by_name_.end()) {
    return NotFoundError("no codec registered for type name '" + std::string(type_name) + "'");
  }
  try {
    Result<Value> value = it->second->decode(bytes);
    if (!value.ok()) return value.status().WithContext("decoding " + std::string(type_name));
    return value;
  } catch (const std::exception& error) {
    return DataLossError("decoding " + std::string(type_name) + ": " + error.what());
  }
}

Result<std::string> CodecRegistry::Serialize(const Value& value) const {
  ASSIGN_OR_RETURN(EncodedValue encoded, Encode(value));
  std::string out;
  out.reserve(kMagic.size() + 4 + encoded.type_name.size() + encoded.bytes.size());
  out += kMagic;
  AppendLittleEndian(out, encoded.type_name.size(), 4);
  out += encoded.type_name;
  out += encoded.bytes;
  return out;
}

Result<Value> CodecRegistry::Deserialize(std::string_view buffer) const {
  if (buffer.size() < kMagic.size() + 4 || buffer.substr(0, kMagic.size()) != kMagic) {
    return DataLossError("value buffer of " + std::to_string(buffer.size()) +
                         " bytes does not start with the RPV1 header");
  }
  uint64_t name_size = ReadLittleEndian(buffer, kMagic.size(), 4);
  size_t name_offset = kMagic.size() + 4;
  if (name_size > buffer.size() - name_offset) {
    return DataLossError("value buffer: type name of " + std::to_string(name_size) +
                         " bytes at byte " + std::to_string(name_offset) +
                         " overruns the buffer of " + std::to_string(buffer.size()));
  }
  std::string_view type_name = buffer.substr(name_offset, name_size);
  return Decode(type_name, buffer.substr(name_offset + name_size));
}

std::vector<std::string> CodecRegistry::TypeNames() const {
  std::vector<std::string> names;
  for (const auto& [name, codec] : by_name_) names.push_back(name);
  return names;
}

}  // namespace raypipe::compute
