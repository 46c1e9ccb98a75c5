#pragma once

// The bytes that cross the Ray bridge between the driver (RayExecutor) and the kernel host in
// Ray's workers. The bridge moves them without looking inside; both ends are this project's
// new-ABI code and share this encoding.
//
//   call spec:  "RPC1" kind:u8 target name cpus:f64 memory:i64 max_retries:u32
//               arg_count:u32 { tag:u8 (0 inline, 1 ref) inline: size:u32 bytes | ref: slot:u32 }
//   result:     "RPR1" 'V' <CodecRegistry::Serialize bytes>
//             | "RPR1" 'E' code:u32 <message bytes>
//
// Strings are size:u32 + bytes; integers little-endian. Decoding never trusts the bytes:
// anything malformed is DataLoss naming the offset.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compute/resources.h"
#include "core/status.h"

namespace raypipe::compute::ray_wire {

enum class CallKind : uint8_t {
  kTask = 1,         // run task kernel `target`
  kCreateActor = 2,  // construct an instance of actor class `target`
  kCallActor = 3,    // call method `target` of the actor
};

// One argument: a serialized Value inline, or the index of a ref argument that Ray resolves
// and hands to the worker beside the spec.
struct WireArg {
  bool is_ref = false;
  uint32_t slot = 0;       // when is_ref
  std::string value;       // when !is_ref: CodecRegistry::Serialize bytes
};

struct CallSpec {
  CallKind kind = CallKind::kTask;
  // The kernel, the actor class or the method.
  std::string target;
  // The run's name for messages and TaskContext::name(): "train", "Writer#3.Write", "Writer#3".
  std::string name;
  // What was granted (TaskContext::resources()).
  Resources resources;
  // Tasks and calls: how often a transient error is retried. Actor creation: how often the
  // instance is rebuilt in place after a crash (an exception escaping a method).
  uint32_t max_retries = 0;
  std::vector<WireArg> args;
};

std::string EncodeCallSpec(const CallSpec& spec);
Result<CallSpec> DecodeCallSpec(std::string_view bytes);

// A result holding `serialized_value` (CodecRegistry::Serialize bytes).
std::string EncodeValueResult(std::string_view serialized_value);
// A result holding `error`. REQUIRES: !error.ok().
std::string EncodeErrorResult(const Status& error);
// The serialized value a result holds (a view into `bytes`), or the error it holds, or
// DataLoss when the bytes are no result.
Result<std::string_view> DecodeResult(std::string_view bytes);

}  // namespace raypipe::compute::ray_wire
