#pragma once

// Status and Result<T>: errors are values (STYLE.md, convention 1).
//
// These two vocabulary types live in namespace raypipe rather than raypipe::core because every
// module spells them in nearly every signature.

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace raypipe {

// Canonical codes, after Abseil's. Choose the most specific one:
//   kInvalidArgument    the caller's input is wrong, whatever the system's state (not retryable).
//   kFailedPrecondition the system is not in a state to do this (e.g. a newer schema).
//   kUnavailable        a transient fault: retrying the same call may succeed.
//   kDataLoss           stored bytes are corrupt (a digest or checksum mismatch).
enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
};

std::string_view StatusCodeName(StatusCode code);

// An OK status holds no allocation and costs one null pointer.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message);
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return Status(); }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  std::string_view message() const;

  // "NotFound: message", or "OK".
  std::string ToString() const;

  // The same status with "context: " prepended to its message; OK stays OK.
  Status WithContext(std::string_view context) const;

  // Transient faults that a retry policy may retry: Unavailable, DeadlineExceeded, Aborted,
  // ResourceExhausted.
  bool IsTransient() const;

  // Marks a deliberately ignored status.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

Status CancelledError(std::string message);
Status UnknownError(std::string message);
Status InvalidArgumentError(std::string message);
Status DeadlineExceededError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status ResourceExhaustedError(std::string message);
Status FailedPreconditionError(std::string message);
Status AbortedError(std::string message);
Status OutOfRangeError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);
Status UnavailableError(std::string message);
Status DataLossError(std::string message);

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  // REQUIRES: !status.ok(). An OK status without a value is a programmer error and becomes
  // an Internal error.
  Result(Status status) : repr_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(repr_).ok()) {
      repr_ = Status(StatusCode::kInternal, "Result constructed from an OK status");
    }
  }
  Result(T value) : repr_(std::move(value)) {}  // NOLINT: implicit by design
  template <typename U>
    requires(std::is_convertible_v<U &&, T> && !std::is_same_v<std::decay_t<U>, Status> &&
             !std::is_same_v<std::decay_t<U>, T> && !std::is_same_v<std::decay_t<U>, Result<T>>)
  Result(U&& value) : repr_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(repr_); }

  // The error, or OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(repr_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(repr_); }
  const T& value() const& { return std::get<T>(repr_); }
  T&& value() && { return std::get<T>(std::move(repr_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<Status, T> repr_;
};

namespace internal {
inline Status AsStatus(const Status& status) { return status; }
inline Status AsStatus(Status&& status) { return std::move(status); }
template <typename T>
Status AsStatus(const Result<T>& result) {
  return result.status();
}
}  // namespace internal

}  // namespace raypipe

#define RAYPIPE_CONCAT_INNER(a, b) a##b
#define RAYPIPE_CONCAT(a, b) RAYPIPE_CONCAT_INNER(a, b)

// Returns the Status of `expr` (a Status or a Result) from the enclosing function when not OK.
#define RETURN_IF_ERROR(expr)                                                      \
  do {                                                                             \
    ::raypipe::Status raypipe_status_ = ::raypipe::internal::AsStatus((expr));     \
    if (!raypipe_status_.ok()) return raypipe_status_;                             \
  } while (false)

// `lhs` = the value of the Result `rexpr`, or returns its Status. `lhs` may declare a
// variable: ASSIGN_OR_RETURN(auto table, ReadCsv(path));
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  RAYPIPE_ASSIGN_OR_RETURN_IMPL(RAYPIPE_CONCAT(raypipe_result_, __LINE__), lhs, rexpr)
#define RAYPIPE_ASSIGN_OR_RETURN_IMPL(result, lhs, rexpr) \
  auto result = (rexpr);                                  \
  if (!result.ok()) return result.status();               \
  lhs = std::move(result).value()
