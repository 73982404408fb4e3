#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace imgflow {

/// An allocator whose resize() leaves new bytes uninitialised: image buffers are always
/// overwritten whole, so zero-filling megabytes first would be wasted work.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
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
