#pragma once
// PNG's row filters (specification, section 9), both ways: the encoder filters rows, the
// decoder reverses them. Bpp is the filter's pixel width in bytes (1 for packed bilevel rows).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace imgflow::png {

// Paeth's predictor without branches: on text pages the choice flips unpredictably, and this
// runs serially (each byte depends on the one before).
inline int paeth_predictor(int a, int b, int c) {
  const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
  const int b_or_c = pb <= pc ? b : c;
  return (pa <= pb && pa <= pc) ? a : b_or_c;
}

// Reverses one row's filter from `src` (the inflated data) into `dst` (the pixels); `prev` is
// the row above. The scalar path of png_unfilter.cpp, and the tail of its vector paths.
template <int Bpp>
inline void unfilter_row(std::uint8_t filter, const std::uint8_t* __restrict src, std::uint8_t* __restrict dst,
                  const std::uint8_t* __restrict prev, std::size_t n) {
  switch (filter) {
    case 0:
      std::memcpy(dst, src, n);
      break;
    case 1:
      for (std::size_t i = 0; i < Bpp; ++i) dst[i] = src[i];
      for (std::size_t i = Bpp; i < n; ++i) dst[i] = static_cast<std::uint8_t>(src[i] + dst[i - Bpp]);
      break;
    case 2:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<std::uint8_t>(src[i] + prev[i]);
      break;
    case 3:
      for (std::size_t i = 0; i < Bpp; ++i) dst[i] = static_cast<std::uint8_t>(src[i] + (prev[i] >> 1));
      for (std::size_t i = Bpp; i < n; ++i)
        dst[i] = static_cast<std::uint8_t>(src[i] + ((dst[i - Bpp] + prev[i]) >> 1));
      break;
    case 4:
      for (std::size_t i = 0; i < Bpp; ++i) dst[i] = static_cast<std::uint8_t>(src[i] + prev[i]);
      for (std::size_t i = Bpp; i < n; ++i)
        dst[i] = static_cast<std::uint8_t>(src[i] + paeth_predictor(dst[i - Bpp], prev[i], prev[i - Bpp]));
      break;
  }
}

// Writes row `x` filtered with `filter` into `out`; `prev` is the row above (zeros for the first).
template <int Bpp>
void filter_row(int filter, const std::uint8_t* x, const std::uint8_t* prev, std::uint8_t* out,
                std::size_t n) {
  switch (filter) {
    case 0: std::memcpy(out, x, n); break;
    case 1:
      for (std::size_t i = 0; i < Bpp; ++i) out[i] = x[i];
      for (std::size_t i = Bpp; i < n; ++i) out[i] = static_cast<std::uint8_t>(x[i] - x[i - Bpp]);
      break;
    case 2:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(x[i] - prev[i]);
      break;
    case 3:
      for (std::size_t i = 0; i < Bpp; ++i) out[i] = static_cast<std::uint8_t>(x[i] - (prev[i] >> 1));
      for (std::size_t i = Bpp; i < n; ++i)
        out[i] = static_cast<std::uint8_t>(x[i] - ((x[i - Bpp] + prev[i]) >> 1));
      break;
    case 4:
      for (std::size_t i = 0; i < Bpp; ++i) out[i] = static_cast<std::uint8_t>(x[i] - prev[i]);
      for (std::size_t i = Bpp; i < n; ++i)
        out[i] = static_cast<std::uint8_t>(x[i] - paeth_predictor(x[i - Bpp], prev[i], prev[i - Bpp]));
      break;
  }
}

// PNG stores 16-bit samples big-endian: swaps each byte pair of `bytes` bytes from `src` into
// `dst` (which may be `src`), between file order and a little-endian machine's.
inline void swap_byte_pairs(const std::uint8_t* src, std::uint8_t* dst, std::size_t bytes) {
  for (std::size_t i = 0; i + 1 < bytes; i += 2) {
    const std::uint8_t first = src[i];
    dst[i] = src[i + 1];
    dst[i + 1] = first;
  }
}

}  // namespace imgflow::png
