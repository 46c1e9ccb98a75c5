#include "compute/ray/kernel_host.h"

#include <exception>
#include <utility>
#include <vector>

#include "compute/ray/wire.h"

namespace raypipe::compute::ray_wire {

// One actor instance, with what it takes to rebuild it in place after a crash. Ray restarts
// an actor whose process dies; a crash inside a method (an exception escaping it) leaves the
// process alive, so the host rebuilds the instance itself, as the LocalExecutor does.
struct KernelHost::ActorEntry {
  std::mutex mu;  // guards everything below; held for a whole call (calls run one at a time)
  std::string name;
  const ActorFactory* factory = nullptr;
  std::vector<Value> constructor_args;
  Resources resources;
  uint32_t restarts_left = 0;
  std::unique_ptr<ActorInstance> instance;
  Status death;  // set once the actor is dead
};

namespace {

std::string Describe(const CallSpec& spec) {
  switch (spec.kind) {
    case CallKind::kTask:
      return "task '" + spec.name + "'";
    case CallKind::kCreateActor:
      return "actor '" + spec.name + "'";
    case CallKind::kCallActor:
      return "call '" + spec.name + "'";
  }
  return "'" + spec.name + "'";
}

Result<CallSpec> DecodeSpecOf(std::string_view bytes, CallKind kind) {
  ASSIGN_OR_RETURN(CallSpec spec, DecodeCallSpec(bytes));
  if (spec.kind != kind) {
    return DataLossError("call spec of kind " + std::to_string(static_cast<int>(spec.kind)) +
                         " where kind " + std::to_string(static_cast<int>(kind)) +
                         " was expected");
  }
  return spec;
}

Result<std::vector<Value>> DecodeArgs(const CallSpec& spec, std::span<const RefArg> ref_args,
                                      const CodecRegistry& codecs) {
  std::vector<Value> args;
  args.reserve(spec.args.size());
  for (size_t arg_idx = 0; arg_idx < spec.args.size(); ++arg_idx) {
    const WireArg& arg = spec.args[arg_idx];
    std::string context = Describe(spec) + ": argument " + std::to_string(arg_idx);
    std::string_view serialized = arg.value;
    if (arg.is_ref) {
      if (arg.slot >= ref_args.size()) {
        return DataLossError(context + " names ref slot " + std::to_string(arg.slot) + " of " +
                             std::to_string(ref_args.size()));
      }
      const RefArg& ref_arg = ref_args[arg.slot];
      if (!ref_arg.has_value()) {
        return UnavailableError(context +
                                ": the actor call that made it failed: its actor's process died");
      }
      Result<std::string_view> decoded = DecodeResult(*ref_arg);
      // An upstream failure fails this run without running it, with the upstream error.
      if (!decoded.ok()) return decoded.status().WithContext(context);
      serialized = *decoded;
    }
    Result<Value> value = codecs.Deserialize(serialized);
    if (!value.ok()) return value.status().WithContext(context);
    args.push_back(std::move(*value));
  }
  return args;
}

// Runs `body` with TaskContexts for attempt 1, 2, ... while it fails transiently and retries
// are left. An exception escaping `body` propagates (the caller decides what it means).
template <typename Body>
Result<Value> WithRetries(const CallSpec& spec, const Resources& resources, Body&& body) {
  for (uint32_t attempt = 1;; ++attempt) {
    TaskContext context(spec.name, static_cast<int>(attempt), resources, CancellationToken());
    Result<Value> result = body(context);
    if (result.ok() || !result.status().IsTransient() || attempt > spec.max_retries) {
      return result;
    }
  }
}

std::string ExceptionText(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const std::exception& e) {
    return std::string("an exception: ") + e.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

Result<std::unique_ptr<ActorInstance>> Construct(const ActorFactory& factory,
                                                 const std::string& name,
                                                 const Resources& resources,
                                                 const std::vector<Value>& args) {
  TaskContext context(name, 1, resources, CancellationToken());
  Result<std::unique_ptr<ActorInstance>> made = InternalError("unreachable");
  try {
    made = factory(context, args);
  } catch (...) {
    return InternalError("the factory threw " + ExceptionText(std::current_exception()));
  }
  if (made.ok() && *made == nullptr) return InternalError("the factory returned no instance");
  return made;
}

}  // namespace

KernelHost::KernelHost(KernelRegistry kernels, CodecRegistry codecs, Status setup)
    : kernels_(std::move(kernels)),
      codecs_(std::move(codecs)),
      setup_(setup.WithContext("the worker's kernel registration failed")) {}

std::string KernelHost::EncodeResult(const Result<Value>& result, std::string_view what) const {
  if (!result.ok()) return EncodeErrorResult(result.status());
  Result<std::string> serialized = codecs_.Serialize(*result);
  if (!serialized.ok()) {
    return EncodeErrorResult(serialized.status().WithContext("the result of " + std::string(what)));
  }
  return EncodeValueResult(*serialized);
}

std::string KernelHost::RunTask(std::string_view spec_bytes, std::span<const RefArg> ref_args) {
  if (!setup_.ok()) return EncodeErrorResult(setup_);
  Result<CallSpec> spec = DecodeSpecOf(spec_bytes, CallKind::kTask);
  if (!spec.ok()) return EncodeErrorResult(spec.status());
  std::string what = Describe(*spec);
  Result<const TaskKernel*> kernel = kernels_.GetTask(spec->target);
  if (!kernel.ok()) return EncodeErrorResult(kernel.status().WithContext(what));
  Result<std::vector<Value>> args = DecodeArgs(*spec, ref_args, codecs_);
  if (!args.ok()) return EncodeErrorResult(args.status());
  Result<Value> result =
      WithRetries(*spec, spec->resources, [&](TaskContext& context) -> Result<Value> {
        try {
          return (**kernel)(context, *args);
        } catch (...) {
          return InternalError(what + " threw " + ExceptionText(std::current_exception()));
        }
      });
  return EncodeResult(result, what);
}

uint64_t KernelHost::CreateActor(std::string_view spec_bytes, std::span<const RefArg> ref_args) {
  auto entry = std::make_shared<ActorEntry>();
  Status failure = [&]() -> Status {
    RETURN_IF_ERROR(setup_);
    ASSIGN_OR_RETURN(CallSpec spec, DecodeSpecOf(spec_bytes, CallKind::kCreateActor));
    entry->name = spec.name;
    entry->resources = spec.resources;
    entry->restarts_left = spec.max_retries;
    ASSIGN_OR_RETURN(entry->factory, kernels_.GetActor(spec.target));
    ASSIGN_OR_RETURN(entry->constructor_args, DecodeArgs(spec, ref_args, codecs_));
    ASSIGN_OR_RETURN(entry->instance, Construct(*entry->factory, entry->name, entry->resources,
                                                entry->constructor_args));
    return Status::Ok();
  }();
  if (!failure.ok()) {
    entry->death = UnavailableError("actor '" + entry->name +
                                    "' died: creation failed: " + failure.ToString());
  }
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t handle = next_handle_++;
  actors_.emplace(handle, std::move(entry));
  return handle;
}

std::string KernelHost::CallActor(uint64_t handle, std::string_view spec_bytes,
                                  std::span<const RefArg> ref_args) {
  std::shared_ptr<ActorEntry> entry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = actors_.find(handle);
    if (found != actors_.end()) entry = found->second;
  }
  if (entry == nullptr) {
    return EncodeErrorResult(
        InternalError("no actor instance " + std::to_string(handle) + " in this worker"));
  }
  Result<CallSpec> spec = DecodeSpecOf(spec_bytes, CallKind::kCallActor);
  if (!spec.ok()) return EncodeErrorResult(spec.status());
  std::string what = Describe(*spec);

  std::lock_guard<std::mutex> lock(entry->mu);
  if (!entry->death.ok()) return EncodeErrorResult(entry->death);
  Result<std::vector<Value>> args = DecodeArgs(*spec, ref_args, codecs_);
  if (!args.ok()) return EncodeErrorResult(args.status());
  std::string crash;
  Result<Value> result =
      WithRetries(*spec, entry->resources, [&](TaskContext& context) -> Result<Value> {
        try {
          return entry->instance->Call(context, spec->target, *args);
        } catch (...) {
          crash = ExceptionText(std::current_exception());
          return InternalError(what + " threw " + crash);  // not transient: no retry
        }
      });
  if (crash.empty()) return EncodeResult(result, what);

  // An exception escaped the method: the instance may be half-updated, so it is replaced.
  std::string prefix = "actor '" + entry->name + "'";
  std::string crashed = "crashed in " + what + " with " + crash;
  if (entry->restarts_left == 0) {
    entry->death = UnavailableError(prefix + " died: " + crashed);
    entry->instance.reset();
    return EncodeErrorResult(entry->death);
  }
  --entry->restarts_left;
  entry->instance.reset();
  Result<std::unique_ptr<ActorInstance>> rebuilt =
      Construct(*entry->factory, entry->name, entry->resources, entry->constructor_args);
  if (!rebuilt.ok()) {
    entry->death =
        UnavailableError(prefix + " died: restart failed: " + rebuilt.status().ToString());
    return EncodeErrorResult(entry->death);
  }
  entry->instance = std::move(*rebuilt);
  return EncodeErrorResult(UnavailableError(prefix + " " + crashed + "; restarted it"));
}

void KernelHost::DestroyActor(uint64_t handle) {
  std::shared_ptr<ActorEntry> entry;  // destroyed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto found = actors_.find(handle);
  if (found == actors_.end()) return;
  entry = std::move(found->second);
  actors_.erase(found);
}

size_t KernelHost::actor_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return actors_.size();
}

}  // namespace raypipe::compute::ray_wire
