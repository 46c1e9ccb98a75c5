#include "compute/internal/local_object.h"

namespace raypipe::compute::internal {

bool LocalObject::Complete(Result<Value> result) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ready_.load(std::memory_order_relaxed)) return false;
    result_.emplace(std::move(result));
    // Published under mu_ so that WaitReady's predicate cannot miss it; seq_cst pairs with
    // the scheduler's waiter count (see LocalScheduler::NotifyReady).
    ready_.store(true, std::memory_order_seq_cst);
    callbacks.swap(callbacks_);
  }
  cv_.notify_all();
  for (std::function<void()>& callback : callbacks) callback();
  return true;
}

bool LocalObject::WaitReady(const Timeout& timeout) const {
  if (ready()) return true;
  std::unique_lock<std::mutex> lock(mu_);
  auto is_ready = [this] { return ready_.load(std::memory_order_acquire); };
  if (!timeout.has_value()) {
    cv_.wait(lock, is_ready);
    return true;
  }
  return cv_.wait_for(lock, *timeout, is_ready);
}

void LocalObject::OnReady(std::function<void()> callback) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ready_.load(std::memory_order_relaxed)) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

Status ValueGate::CheckArgs(const std::vector<Arg>& args, std::string_view what) const {
  if (mode_ == CodecCheck::kNone) return Status::Ok();
  for (size_t arg_idx = 0; arg_idx < args.size(); ++arg_idx) {
    if (args[arg_idx].is_ref() || codecs_.CanEncode(args[arg_idx].value())) continue;
    return InvalidArgumentError(std::string(what) + ": argument " + std::to_string(arg_idx) +
                                " has type " + std::string(args[arg_idx].value().type_name()) +
                                ", which has no registered codec (a Ray executor could not "
                                "move it)");
  }
  return Status::Ok();
}

Result<Value> ValueGate::Cross(const Value& value, std::string_view what) const {
  switch (mode_) {
    case CodecCheck::kNone:
      return value;
    case CodecCheck::kTypes:
      if (codecs_.CanEncode(value)) return value;
      return InvalidArgumentError(std::string(what) + " has type " +
                                  std::string(value.type_name()) +
                                  ", which has no registered codec (a Ray executor could not "
                                  "move it)");
    case CodecCheck::kRoundTrip: {
      Result<std::string> bytes = codecs_.Serialize(value);
      if (!bytes.ok()) return InvalidArgumentError(std::string(what) + ": " +
                                                   std::string(bytes.status().message()));
      Result<Value> copy = codecs_.Deserialize(*bytes);
      if (!copy.ok()) return copy.status().WithContext(what);
      return copy;
    }
  }
  return InternalError("unknown codec check mode");
}

Status FailedDependency(const std::vector<Arg>& args, std::string_view what) {
  for (size_t arg_idx = 0; arg_idx < args.size(); ++arg_idx) {
    if (!args[arg_idx].is_ref()) continue;
    const LocalObject& object = ObjectOf(args[arg_idx].ref());
    if (!object.ready() || object.result().ok()) continue;
    return object.result().status().WithContext(std::string(what) + ": argument " +
                                                std::to_string(arg_idx) + " (" +
                                                args[arg_idx].ref().ToString() + ") failed");
  }
  return Status::Ok();
}

Result<std::vector<Value>> ResolveArgs(const std::vector<Arg>& args, const ValueGate& gate,
                                       std::string_view what) {
  RETURN_IF_ERROR(FailedDependency(args, what));
  std::vector<Value> values;
  values.reserve(args.size());
  for (size_t arg_idx = 0; arg_idx < args.size(); ++arg_idx) {
    std::string where = std::string(what) + ": argument " + std::to_string(arg_idx);
    if (args[arg_idx].is_ref() && !ObjectOf(args[arg_idx].ref()).ready()) {
      return InternalError(where + " is not ready");  // a scheduler bug, not a user error
    }
    const Value& value =
        args[arg_idx].is_ref() ? ObjectOf(args[arg_idx].ref()).result().value()
                               : args[arg_idx].value();
    ASSIGN_OR_RETURN(Value crossed, gate.Cross(value, where));
    values.push_back(std::move(crossed));
  }
  return values;
}

}  // namespace raypipe::compute::internal
