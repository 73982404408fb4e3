#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace imgflow {

/// An allocator whose resize() leaves new bytes uninitialised: image buffers are always
/// overwritten whole, so zero-filling megabytes first would be wasted work. A block of 2 MiB or
/// more is aligned to 2 MiB and offered to the kernel for transparent huge pages, so that it is
/// first touched with one page fault per 2 MiB rather than one per 4 KiB (a 1654x2339 page: 2
/// against about 950; where huge pages are off, nothing changes).
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return std::allocator<T>::allocate(n);
    const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (!p) throw std::bad_alloc();
    ::madvise(p, rounded, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < kHugePage) return std::allocator<T>::deallocate(p, n);
    std::free(p);
  }
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// The byte buffer of file contents, pixels and encoded PNGs.
using Bytes = std::vector<std::uint8_t, DefaultInitAllocator<std::uint8_t>>;

/// Gives a buffer's memory back. (`v = {}` would only clear it: it assigns an empty
/// initializer_list and keeps the capacity.)
template <typename Vector>
void free_buffer(Vector& v) {
  Vector().swap(v);
}

}  // namespace imgflow
