#pragma once
#include <cstdint>

#include "kernels/image_view.hpp"
#include "kernels/lut8_simd.hpp"

namespace imgflow {

/// dst = table[src] for every colour sample; alpha (the last channel of 2- and 4-channel
/// images) is copied unchanged. src and dst have the same size and channel count and may be
/// the same view (in-place). `table` has 2^(8*sizeof(T)) entries.
/// 8-bit samples use the widest SIMD path this CPU has (best_lut_path()).
void apply_table(const ImageView<const std::uint8_t>& src, const ImageView<std::uint8_t>& dst,
                 const std::uint8_t* table);
/// The same on a chosen path, for tests and benchmarks.
void apply_table(const ImageView<const std::uint8_t>& src, const ImageView<std::uint8_t>& dst,
                 const std::uint8_t* table, LutPath path);
void apply_table(const ImageView<const std::uint16_t>& src, const ImageView<std::uint16_t>& dst,
                 const std::uint16_t* table);

/// The obvious per-sample loop, kept as the reference the fast paths are tested against.
template <typename T>
void apply_table_reference(const ImageView<const T>& src, const ImageView<T>& dst, const T* table) {
  const int colour = src.has_alpha() ? src.channels - 1 : src.channels;
  for (int y = 0; y < src.height; ++y)
    for (int x = 0; x < src.width; ++x)
      for (int c = 0; c < src.channels; ++c) {
        const T v = src.row(y)[x * src.channels + c];
        dst.row(y)[x * src.channels + c] = c < colour ? table[v] : v;
      }
}

}  // namespace imgflow
