#include "compute/ray/wire.h"

#include <bit>
#include <cmath>
#include <limits>

namespace raypipe::compute::ray_wire {
namespace {

constexpr std::string_view kSpecMagic = "RPC1";
constexpr std::string_view kResultMagic = "RPR1";
constexpr char kValueTag = 'V';
constexpr char kErrorTag = 'E';
constexpr uint8_t kInlineArg = 0;
constexpr uint8_t kRefArg = 1;

void PutInt(std::string& out, uint64_t value, int bytes) {
  for (int byte_idx = 0; byte_idx < bytes; ++byte_idx) {
    out.push_back(static_cast<char>((value >> (8 * byte_idx)) & 0xff));
  }
}

void PutString(std::string& out, std::string_view text) {
  PutInt(out, text.size(), 4);
  out.append(text);
}

// Reads the encoding back, checking every length against what is left.
class Reader {
 public:
  Reader(std::string_view bytes, std::string_view what) : bytes_(bytes), what_(what) {}

  Status Expect(std::string_view magic) {
    if (bytes_.substr(0, magic.size()) != magic) {
      return DataLossError(std::string(what_) + ": does not start with '" + std::string(magic) +
                           "'");
    }
    offset_ = magic.size();
    return Status::Ok();
  }

  Result<uint64_t> Int(int bytes) {
    RETURN_IF_ERROR(Need(static_cast<size_t>(bytes), "an integer"));
    uint64_t value = 0;
    for (int byte_idx = 0; byte_idx < bytes; ++byte_idx) {
      value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[offset_ + byte_idx]))
               << (8 * byte_idx);
    }
    offset_ += static_cast<size_t>(bytes);
    return value;
  }

  Result<std::string_view> String() {
    ASSIGN_OR_RETURN(uint64_t size, Int(4));
    RETURN_IF_ERROR(Need(size, "a string of " + std::to_string(size) + " bytes"));
    std::string_view text = bytes_.substr(offset_, size);
    offset_ += size;
    return text;
  }

  std::string_view Rest() {
    std::string_view rest = bytes_.substr(offset_);
    offset_ = bytes_.size();
    return rest;
  }

  Status Error(std::string_view message) const {
    return DataLossError(std::string(what_) + " at byte " + std::to_string(offset_) + ": " +
                         std::string(message));
  }

  size_t offset() const { return offset_; }
  bool done() const { return offset_ == bytes_.size(); }

 private:
  Status Need(uint64_t size, std::string_view what) const {
    if (size > bytes_.size() - offset_) {
      return Error("truncated: " + std::string(what) + " needs " + std::to_string(size) +
                   " bytes, " + std::to_string(bytes_.size() - offset_) + " left");
    }
    return Status::Ok();
  }

  std::string_view bytes_;
  std::string_view what_;
  size_t offset_ = 0;
};

}  // namespace

std::string EncodeCallSpec(const CallSpec& spec) {
  std::string out(kSpecMagic);
  PutInt(out, static_cast<uint8_t>(spec.kind), 1);
  PutString(out, spec.target);
  PutString(out, spec.name);
  PutInt(out, std::bit_cast<uint64_t>(spec.resources.cpus), 8);
  PutInt(out, static_cast<uint64_t>(spec.resources.memory_bytes), 8);
  PutInt(out, spec.max_retries, 4);
  PutInt(out, spec.args.size(), 4);
  for (const WireArg& arg : spec.args) {
    if (arg.is_ref) {
      PutInt(out, kRefArg, 1);
      PutInt(out, arg.slot, 4);
    } else {
      PutInt(out, kInlineArg, 1);
      PutString(out, arg.value);
    }
  }
  return out;
}

Result<CallSpec> DecodeCallSpec(std::string_view bytes) {
  Reader reader(bytes, "call spec");
  RETURN_IF_ERROR(reader.Expect(kSpecMagic));
  CallSpec spec;
  ASSIGN_OR_RETURN(uint64_t kind, reader.Int(1));
  if (kind < static_cast<uint8_t>(CallKind::kTask) ||
      kind > static_cast<uint8_t>(CallKind::kCallActor)) {
    return reader.Error("unknown call kind " + std::to_string(kind));
  }
  spec.kind = static_cast<CallKind>(kind);
  ASSIGN_OR_RETURN(std::string_view target, reader.String());
  ASSIGN_OR_RETURN(std::string_view name, reader.String());
  spec.target = std::string(target);
  spec.name = std::string(name);
  ASSIGN_OR_RETURN(uint64_t cpus, reader.Int(8));
  spec.resources.cpus = std::bit_cast<double>(cpus);
  if (!std::isfinite(spec.resources.cpus)) return reader.Error("CPUs are not finite");
  ASSIGN_OR_RETURN(uint64_t memory, reader.Int(8));
  spec.resources.memory_bytes = static_cast<int64_t>(memory);
  ASSIGN_OR_RETURN(uint64_t max_retries, reader.Int(4));
  spec.max_retries = static_cast<uint32_t>(max_retries);
  ASSIGN_OR_RETURN(uint64_t arg_count, reader.Int(4));
  for (uint64_t arg_idx = 0; arg_idx < arg_count; ++arg_idx) {
    WireArg arg;
    ASSIGN_OR_RETURN(uint64_t tag, reader.Int(1));
    if (tag == kRefArg) {
      arg.is_ref = true;
      ASSIGN_OR_RETURN(uint64_t slot, reader.Int(4));
      arg.slot = static_cast<uint32_t>(slot);
    } else if (tag == kInlineArg) {
      ASSIGN_OR_RETURN(std::string_view value, reader.String());
      arg.value = std::string(value);
    } else {
      return reader.Error("argument " + std::to_string(arg_idx) + " has unknown tag " +
                          std::to_string(tag));
    }
    spec.args.push_back(std::move(arg));
  }
  if (!reader.done()) return reader.Error("trailing bytes");
  return spec;
}

std::string EncodeValueResult(std::string_view serialized_value) {
  std::string out(kResultMagic);
  out.push_back(kValueTag);
  out.append(serialized_value);
  return out;
}

std::string EncodeErrorResult(const Status& error) {
  std::string out(kResultMagic);
  out.push_back(kErrorTag);
  PutInt(out, static_cast<uint32_t>(error.code()), 4);
  out.append(error.message());
  return out;
}

Result<std::string_view> DecodeResult(std::string_view bytes) {
  Reader reader(bytes, "result");
  RETURN_IF_ERROR(reader.Expect(kResultMagic));
  ASSIGN_OR_RETURN(uint64_t tag, reader.Int(1));
  if (tag == static_cast<unsigned char>(kValueTag)) return reader.Rest();
  if (tag != static_cast<unsigned char>(kErrorTag)) {
    return reader.Error("unknown result tag " + std::to_string(tag));
  }
  ASSIGN_OR_RETURN(uint64_t code, reader.Int(4));
  if (code == static_cast<uint64_t>(StatusCode::kOk) ||
      code > static_cast<uint64_t>(StatusCode::kDataLoss)) {
    return reader.Error("bad status code " + std::to_string(code));
  }
  return Status(static_cast<StatusCode>(code), std::string(reader.Rest()));
}

}  // namespace raypipe::compute::ray_wire
