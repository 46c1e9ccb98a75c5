#include "compute/value.h"

#include <cxxabi.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include <nlohmann/json.hpp>

namespace raypipe::compute {
namespace internal {

std::string ReadableTypeName(const std::type_info& type) {
  // The built-in value types get the short names their codecs use, so that messages read
  // "value holds string, not int64" rather than a page of template arguments.
  if (type == typeid(std::string)) return "string";
  if (type == typeid(int64_t)) return "int64";
  if (type == typeid(double)) return "float64";
  if (type == typeid(nlohmann::json)) return "json";
  if (type == typeid(std::vector<std::string>)) return "list<string>";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  if (status == 0 && demangled != nullptr) return demangled.get();
  return type.name();
}

}  // namespace internal

Status Value::TypeMismatch(std::string_view wanted) const {
  return InvalidArgumentError("value holds " + std::string(type_name()) + ", not " +
                              std::string(wanted));
}

}  // namespace raypipe::compute
