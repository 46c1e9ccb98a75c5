#pragma once

// Turns XGBoost C API return codes into Status values carrying XGBGetLastError() (which is
// thread-local in XGBoost, so concurrent callers see their own message).

#include <string>
#include <string_view>

#include <xgboost/c_api.h>

#include "core/status.h"

namespace raypipe::ml::internal {

// OK when rc == 0; otherwise Internal "XGBoost <what> failed: <XGBGetLastError()>".
inline Status CheckXgb(int rc, std::string_view what) {
  if (rc == 0) return Status::Ok();
  return InternalError("XGBoost " + std::string(what) + " failed: " + XGBGetLastError());
}

// A numpy __array_interface__ as the JSON text XGBoost's C API reads.
// `typestr` is e.g. "<f4", "<f8", "<i8"; shape is {rows} or {rows, cols}.
std::string ArrayInterface(const void* data, std::string_view typestr, size_t rows,
                           size_t cols = 0);

}  // namespace raypipe::ml::internal

#define RETURN_IF_XGB_ERROR(call, what) RETURN_IF_ERROR(::raypipe::ml::internal::CheckXgb((call), (what)))
