#include "core/status.h"

namespace raypipe {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "Cancelled";
    case StatusCode::kUnknown: return "Unknown";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kDeadlineExceeded: return "DeadlineExceeded";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kAborted: return "Aborted";
    case StatusCode::kOutOfRange: return "OutOfRange";
    case StatusCode::kUnimplemented: return "Unimplemented";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kDataLoss: return "DataLoss";
  }
  return "Unknown";
}

Status::Status(StatusCode code, std::string message) {
  if (code != StatusCode::kOk) state_ = std::make_unique<State>(State{code, std::move(message)});
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  return *this;
}

std::string_view Status::message() const {
  return state_ ? std::string_view(state_->message) : std::string_view();
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(state_->code));
  out += ": ";
  out += state_->message;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return Status();
  std::string message(context);
  message += ": ";
  message += state_->message;
  return Status(state_->code, std::move(message));
}

bool Status::IsTransient() const {
  switch (code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kAborted:
    case StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

std::ostream& operator<<(std::ostream& os, const Status& status) {
  return os << status.ToString();
}

#define RAYPIPE_DEFINE_ERROR(Name, Code) \
  Status Name(std::string message) { return Status(StatusCode::Code, std::move(message)); }
RAYPIPE_DEFINE_ERROR(CancelledError, kCancelled)
RAYPIPE_DEFINE_ERROR(UnknownError, kUnknown)
RAYPIPE_DEFINE_ERROR(InvalidArgumentError, kInvalidArgument)
RAYPIPE_DEFINE_ERROR(DeadlineExceededError, kDeadlineExceeded)
RAYPIPE_DEFINE_ERROR(NotFoundError, kNotFound)
RAYPIPE_DEFINE_ERROR(AlreadyExistsError, kAlreadyExists)
RAYPIPE_DEFINE_ERROR(PermissionDeniedError, kPermissionDenied)
RAYPIPE_DEFINE_ERROR(ResourceExhaustedError, kResourceExhausted)
RAYPIPE_DEFINE_ERROR(FailedPreconditionError, kFailedPrecondition)
RAYPIPE_DEFINE_ERROR(AbortedError, kAborted)
RAYPIPE_DEFINE_ERROR(OutOfRangeError, kOutOfRange)
RAYPIPE_DEFINE_ERROR(UnimplementedError, kUnimplemented)
RAYPIPE_DEFINE_ERROR(InternalError, kInternal)
RAYPIPE_DEFINE_ERROR(UnavailableError, kUnavailable)
RAYPIPE_DEFINE_ERROR(DataLossError, kDataLoss)
#undef RAYPIPE_DEFINE_ERROR

}  // namespace raypipe
