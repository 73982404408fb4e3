#include "kernels/apply_table.hpp"

#include <cstddef>

namespace imgflow {
namespace {

// The scalar path: 16-bit samples (no SIMD shuffle reaches a 65536-entry table), 8-bit ones on
// CPUs without AVX2, and the tails of the SIMD rows. Without alpha every sample goes through
// the table; with alpha the channel count is a template parameter so the inner loop unrolls.
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

// `samples` from a pixel boundary, a whole number of pixels.
template <typename T>
void map_row(const T* in, T* out, std::size_t samples, int channels, const T* table) {
  const int pixels = static_cast<int>(samples / static_cast<std::size_t>(channels));
  switch (channels) {
    case 2: map_colour<2>(in, out, pixels, table); break;
    case 4: map_colour<4>(in, out, pixels, table); break;
    default: map_all(in, out, samples, table); break;
  }
}

// Each row: the widest whole-vector prefix on `path` (nothing on the scalar path), then the
// rest with map_row. The SIMD prefix is a multiple of 32 samples, so it ends on a pixel
// boundary for 2 and 4 channels; 1 and 3 channels have no alpha to keep in step with.
template <typename T>
void apply(const ImageView<const T>& src, const ImageView<T>& dst, const T* table, LutPath path) {
  const std::size_t row_samples = static_cast<std::size_t>(src.width) * src.channels;
  for (int y = 0; y < src.height; ++y) {
    const T* in = src.row(y);
    T* out = dst.row(y);
    std::size_t done = 0;
    if constexpr (sizeof(T) == 1) done = lut8_vectors(path, in, out, row_samples, src.channels, table);
    map_row(in + done, out + done, row_samples - done, src.channels, table);
  }
}

}  // namespace

void apply_table(const ImageView<const std::uint8_t>& src, const ImageView<std::uint8_t>& dst,
                 const std::uint8_t* table) {
  apply_table(src, dst, table, best_lut_path());
}

void apply_table(const ImageView<const std::uint8_t>& src, const ImageView<std::uint8_t>& dst,
                 const std::uint8_t* table, LutPath path) {
  apply(src, dst, table, path);
}

void apply_table(const ImageView<const std::uint16_t>& src, const ImageView<std::uint16_t>& dst,
                 const std::uint16_t* table) {
  apply(src, dst, table, LutPath::scalar);
}

}  // namespace imgflow
