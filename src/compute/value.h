#pragma once

// Value: what tasks and actors take and return. It holds any C++ object by
// shared_ptr<const T>, so copying a Value or handing it to a kernel never copies the object
// (the LocalExecutor passes the very same object). Moving a Value to another process (the Ray
// backend) needs a codec for its type: see codec.h.

#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <typeinfo>
#include <utility>

#include "core/status.h"

namespace raypipe::compute {

// The identity of a type held by a Value: its type_index and a readable name for messages.
struct ValueType {
  std::type_index index;
  std::string name;
};

namespace internal {
// A readable name for T: "string", "int64", "float64", "json", "list<string>" for the
// built-in value types, the demangled C++ name otherwise.
std::string ReadableTypeName(const std::type_info& type);
}  // namespace internal

// The ValueType of T, one object per type for the life of the program (a constant, not state).
template <typename T>
const ValueType& ValueTypeOf() {
  static const ValueType type{std::type_index(typeid(T)), internal::ReadableTypeName(typeid(T))};
  return type;
}

// An immutable, shared, type-checked value. Cheap to copy (one shared_ptr). Thread-safe for
// concurrent reads; the held object must not be mutated through casts.
class Value {
 public:
  // The empty value (what a kernel with nothing to say returns).
  Value() = default;

  // A value holding `object`, moved into shared storage.
  template <typename T>
  static Value Of(T object) {
    return Share<T>(std::make_shared<const T>(std::move(object)));
  }

  // A value sharing `object` without copying it; a null pointer gives the empty value.
  template <typename T>
  static Value Share(std::shared_ptr<const T> object) {
    Value value;
    if (object == nullptr) return value;
    value.type_ = &ValueTypeOf<T>();
    value.object_ = std::move(object);
    return value;
  }

  bool empty() const { return object_ == nullptr; }

  // The held type, or nullptr when empty.
  const ValueType* type() const { return type_; }
  // "int64", "json", ..., or "empty".
  std::string_view type_name() const { return type_ ? std::string_view(type_->name) : "empty"; }

  template <typename T>
  bool Is() const {
    return type_ != nullptr && type_->index == std::type_index(typeid(T));
  }

  // The held object, or InvalidArgument naming both types ("value holds string, not int64").
  // The pointer lives as long as any Value sharing the object.
  template <typename T>
  Result<const T*> Get() const {
    if (!Is<T>()) return TypeMismatch(ValueTypeOf<T>().name);
    return static_cast<const T*>(object_.get());
  }

  // The held object as a shared pointer, to keep it beyond this Value; same errors as Get.
  template <typename T>
  Result<std::shared_ptr<const T>> GetShared() const {
    if (!Is<T>()) return TypeMismatch(ValueTypeOf<T>().name);
    return std::static_pointer_cast<const T>(object_);
  }

  // The address of the held object (nullptr when empty): lets tests prove zero-copy hand-over.
  const void* address() const { return object_.get(); }

 private:
  Status TypeMismatch(std::string_view wanted) const;

  const ValueType* type_ = nullptr;
  std::shared_ptr<const void> object_;
};

}  // namespace raypipe::compute
