#pragma once

// An allocator for large, short-lived arrays that asks for transparent huge pages: filling
// fresh memory in 2 MiB pages instead of 4 KiB ones spends far less time in page faults.
// Small requests go to operator new.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace raypipe::data::internal {

inline constexpr size_t kHugePageSize = size_t{2} << 20;
// Requests at least this large are mapped with huge pages.
inline constexpr size_t kHugeAllocationMin = size_t{4} << 20;

// Maps `size` bytes (rounded up to whole huge pages) at a huge-page-aligned address, with
// MADV_HUGEPAGE; nullptr on failure. Release with UnmapHugePages(region, size).
inline void* MapHugePages(size_t size) {
  size_t mapped = (size + kHugePageSize - 1) / kHugePageSize * kHugePageSize;
  size_t reserved = mapped + kHugePageSize;
  void* region =
      ::mmap(nullptr, reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) return nullptr;
  // Trim the unaligned head and the tail so the mapping starts on a huge-page boundary.
  char* base = static_cast<char*>(region);
  char* start = reinterpret_cast<char*>(
      (reinterpret_cast<uintptr_t>(base) + kHugePageSize - 1) / kHugePageSize * kHugePageSize);
  if (start > base) ::munmap(base, static_cast<size_t>(start - base));
  char* tail = start + mapped;
  if (tail < base + reserved) ::munmap(tail, static_cast<size_t>(base + reserved - tail));
  ::madvise(start, mapped, MADV_HUGEPAGE);
  return start;
}

inline void UnmapHugePages(void* region, size_t size) {
  ::munmap(region, (size + kHugePageSize - 1) / kHugePageSize * kHugePageSize);
}

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding

  T* allocate(size_t count) {
    size_t bytes = count * sizeof(T);
    if (bytes >= kHugeAllocationMin) {
      if (void* region = MapHugePages(bytes)) return static_cast<T*>(region);
      throw std::bad_alloc();
    }
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* pointer, size_t count) {
    size_t bytes = count * sizeof(T);
    if (bytes >= kHugeAllocationMin) {
      UnmapHugePages(pointer, bytes);
    } else {
      ::operator delete(pointer);
    }
  }

  template <typename U>
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator<U>&) {
    return true;
  }
};

}  // namespace raypipe::data::internal
