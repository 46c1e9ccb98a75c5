#include "compute/ray/test_kernels.h"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace raypipe::compute::ray_testing {
namespace {

using Args = std::span<const Value>;

// Sleeps `ms` milliseconds in short steps, returning early when the run is cancelled.
Status SleepFor(const TaskContext& context, int64_t ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    RETURN_IF_ERROR(context.CheckCancelled());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Ok();
}

Value Pid() { return Value::Of<int64_t>(static_cast<int64_t>(getpid())); }

// A barrier across processes: leaves a file named after this process in `dir`, then waits
// until `count` files are there. Proves that `count` runs overlap in time, without timing.
Result<Value> Meet(const TaskContext& context, std::span<const Value> args) {
  RETURN_IF_ERROR(ExpectArgCount(args, 3));
  ASSIGN_OR_RETURN(const std::string* dir, ArgAs<std::string>(args, 0));
  ASSIGN_OR_RETURN(const int64_t* count, ArgAs<int64_t>(args, 1));
  ASSIGN_OR_RETURN(const int64_t* timeout_ms, ArgAs<int64_t>(args, 2));
  std::error_code error;
  std::filesystem::path mine = std::filesystem::path(*dir) / std::to_string(getpid());
  std::ofstream(mine).put('x');
  if (!std::filesystem::exists(mine, error)) {
    return InternalError("test.meet: cannot create " + mine.string());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*timeout_ms);
  while (true) {
    int64_t arrived = 0;
    for (auto it = std::filesystem::directory_iterator(*dir, error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
      ++arrived;
    }
    if (arrived >= *count) return Value::Of<int64_t>(arrived);
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceededError("test.meet: " + std::to_string(arrived) + " of " +
                                   std::to_string(*count) + " arrived");
    }
    RETURN_IF_ERROR(context.CheckCancelled());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

class Counter : public MethodActor {
 public:
  explicit Counter(int64_t start) : count_(start) {
    AddMethod("Add", [this](TaskContext&, Args args) -> Result<Value> {
      ASSIGN_OR_RETURN(const int64_t* delta, ArgAs<int64_t>(args, 0));
      count_ += *delta;
      return Value::Of<int64_t>(count_);
    });
    AddMethod("Get", [this](TaskContext&, Args) -> Result<Value> {
      return Value::Of<int64_t>(count_);
    });
    AddMethod("Pid", [](TaskContext&, Args) -> Result<Value> { return Pid(); });
    AddMethod("Sleep", [](TaskContext& context, Args args) -> Result<Value> {
      ASSIGN_OR_RETURN(const int64_t* ms, ArgAs<int64_t>(args, 0));
      RETURN_IF_ERROR(SleepFor(context, *ms));
      return Pid();
    });
    AddMethod("Fail", [](TaskContext&, Args) -> Result<Value> {
      return FailedPreconditionError("Counter.Fail failed on purpose");
    });
    AddMethod("Meet", [](TaskContext& context, Args args) { return Meet(context, args); });
    AddMethod("Crash", [](TaskContext&, Args) -> Result<Value> {
      throw std::runtime_error("Counter.Crash threw on purpose");
    });
  }

 private:
  int64_t count_;
};

}  // namespace

Status RegisterTestKernels(KernelRegistry& kernels) {
  RETURN_IF_ERROR(kernels.RegisterTask("test.add", [](TaskContext&, Args args) -> Result<Value> {
    RETURN_IF_ERROR(ExpectArgCount(args, 2));
    ASSIGN_OR_RETURN(const int64_t* a, ArgAs<int64_t>(args, 0));
    ASSIGN_OR_RETURN(const int64_t* b, ArgAs<int64_t>(args, 1));
    return Value::Of<int64_t>(*a + *b);
  }));
  RETURN_IF_ERROR(kernels.RegisterTask("test.sum", [](TaskContext&, Args args) -> Result<Value> {
    double sum = 0;
    for (size_t arg_idx = 0; arg_idx < args.size(); ++arg_idx) {
      ASSIGN_OR_RETURN(const double* term, ArgAs<double>(args, arg_idx));
      sum += *term;
    }
    return Value::Of<double>(sum);
  }));
  RETURN_IF_ERROR(kernels.RegisterTask("test.echo", [](TaskContext&, Args args) -> Result<Value> {
    RETURN_IF_ERROR(ExpectArgCount(args, 1));
    return args[0];
  }));
  RETURN_IF_ERROR(
      kernels.RegisterTask("test.concat", [](TaskContext&, Args args) -> Result<Value> {
        std::string joined;
        for (size_t arg_idx = 0; arg_idx < args.size(); ++arg_idx) {
          ASSIGN_OR_RETURN(const std::string* part, ArgAs<std::string>(args, arg_idx));
          joined += *part;
        }
        return Value::Of<std::string>(std::move(joined));
      }));
  RETURN_IF_ERROR(kernels.RegisterTask("test.fail", [](TaskContext&, Args args) -> Result<Value> {
    ASSIGN_OR_RETURN(const std::string* why, ArgAs<std::string>(args, 0));
    return InvalidArgumentError("test.fail: " + *why);
  }));
  RETURN_IF_ERROR(kernels.RegisterTask(
      "test.pid", [](TaskContext&, Args) -> Result<Value> { return Pid(); }));
  RETURN_IF_ERROR(
      kernels.RegisterTask("test.sleep", [](TaskContext& context, Args args) -> Result<Value> {
        ASSIGN_OR_RETURN(const int64_t* ms, ArgAs<int64_t>(args, 0));
        RETURN_IF_ERROR(SleepFor(context, *ms));
        return Pid();
      }));
  RETURN_IF_ERROR(
      kernels.RegisterTask("test.flaky", [](TaskContext& context, Args args) -> Result<Value> {
        ASSIGN_OR_RETURN(const int64_t* succeed_on, ArgAs<int64_t>(args, 0));
        if (context.attempt() < *succeed_on) {
          return UnavailableError("test.flaky: attempt " + std::to_string(context.attempt()));
        }
        return Value::Of<int64_t>(context.attempt());
      }));
  RETURN_IF_ERROR(kernels.RegisterTask(
      "test.meet", [](TaskContext& context, Args args) { return Meet(context, args); }));
  RETURN_IF_ERROR(kernels.RegisterTask("test.throw", [](TaskContext&, Args) -> Result<Value> {
    throw std::runtime_error("test.throw threw on purpose");
  }));
  RETURN_IF_ERROR(
      kernels.RegisterActor("test.Counter", [](TaskContext&, Args args)
                                                -> Result<std::unique_ptr<ActorInstance>> {
        int64_t start = 0;
        if (!args.empty()) {
          ASSIGN_OR_RETURN(const int64_t* value, ArgAs<int64_t>(args, 0));
          start = *value;
        }
        return std::unique_ptr<ActorInstance>(std::make_unique<Counter>(start));
      }));
  RETURN_IF_ERROR(kernels.RegisterActor(
      "test.Broken", [](TaskContext&, Args) -> Result<std::unique_ptr<ActorInstance>> {
        return FailedPreconditionError("test.Broken cannot be built");
      }));
  return Status::Ok();
}

}  // namespace raypipe::compute::ray_testing
