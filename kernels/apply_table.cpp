#include "kernels/apply_table.hpp"

#include <cstddef>

namespace imgflow {
namespace {

// 16-bit samples (65536-entry table: no SIMD shuffle reaches it) and the reference for
// lut8_row's scalar path. Rows are processed as flat runs of samples. Without alpha every sample goes through the
// table; with alpha the channel count is a template parameter so the inner loop unrolls.
template <typename T>
void map_all(const T* src, T* dst, std::size_t n, const T* table) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const T a = table[src[i]], b = table[src[i + 1]], c = table[src[i + 2]], d = table[src[i + 3]];
    dst[i] = a, dst[i + 1] = b, dst[i + 2] = c, dst[i + 3] = d;
  }
  for (; i < n; ++i) dst[i] = table[src[i]];
}

template <int Channels, typename T>
void map_colour(const T* src, T* dst, int width, const T* table) {
  for (int x = 0; x < width; ++x, src += Channels, dst += Channels) {
    for (int c = 0; c < Channels - 1; ++c) dst[c] = table[src[c]];
    dst[Channels - 1] = src[Channels - 1];
  }
}

template <typename T>
void apply(const ImageView<const T>& src, const ImageView<T>& dst, const T* table) {
  const std::size_t row_samples = static_cast<std::size_t>(src.width) * src.channels;
  for (int y = 0; y < src.height; ++y) {
    const T* in = src.row(y);
    T* out = dst.row(y);
    switch (src.channels) {
      case 2: map_colour<2>(in, out, src.width, table); break;
      case 4: map_colour<4>(in, out, src.width, table); break;
      default: map_all(in, out, row_samples, table); break;
    }
  }
}

}  // namespace

void apply_table(const ImageView<const std::uint8_t>& src, const ImageView<std::uint8_t>& dst,
                 const std::uint8_t* table) {
  apply_table(src, dst, table, best_lut_path());
}

void apply_table(const ImageView<const std::uint8_t>& src, const ImageView<std::uint8_t>& dst,
                 const std::uint8_t* table, LutPath path) {
  if (path == LutPath::scalar) return apply(src, dst, table);
  const std::size_t row_samples = static_cast<std::size_t>(src.width) * src.channels;
  for (int y = 0; y < src.height; ++y) lut8_row(path, src.row(y), dst.row(y), row_samples, src.channels, table);
}

void apply_table(const ImageView<const std::uint16_t>& src, const ImageView<std::uint16_t>& dst,
                 const std::uint16_t* table) {
  apply(src, dst, table);
}

}  // namespace imgflow
