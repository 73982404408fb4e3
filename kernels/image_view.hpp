#pragma once
#include <cstddef>

namespace imgflow {

/// A non-owning view of interleaved pixels: `channels` samples of type T per pixel, rows
/// `stride` samples apart. Kernels read one view and write another (possibly the same).
template <typename T>
struct ImageView {
  T* data = nullptr;
  int width = 0;
  int height = 0;
  int channels = 0;
  std::ptrdiff_t stride = 0;  ///< in samples, not bytes

  T* row(int y) const { return data + static_cast<std::ptrdiff_t>(y) * stride; }
  /// True when the last channel is alpha (gray+alpha, RGBA), which adjustments leave untouched.
  bool has_alpha() const { return channels == 2 || channels == 4; }
};

}  // namespace imgflow
