#include "codec/png_unfilter.hpp"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

#include "codec/png_filter.hpp"

namespace imgflow::png {
namespace {

// ---- scalar ---------------------------------------------------------------------------------

// The first row, whose row above is zeros: Up is a copy, Paeth is Sub, Avg halves the left.
template <int Bpp>
void first_row(std::uint8_t filter, const std::uint8_t* src, std::uint8_t* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const int left = i >= Bpp ? dst[i - Bpp] : 0;
    const int predicted = filter == 1 || filter == 4 ? left : filter == 3 ? left >> 1 : 0;
    dst[i] = static_cast<std::uint8_t>(src[i] + predicted);
  }
}

// In a function of its own: inlined into decode_png_fast, 30 copies of these loops (six widths,
// five filters) sat behind the decoder's twenty early returns, GCC's static profile rated them
// cold, and GCC does not vectorise a loop it optimises for size. Here Up is vectorised.

template <int Bpp>
[[gnu::hot]] void unfilter_rows_scalar(const std::uint8_t* filtered, std::uint8_t* pixels, std::size_t n,
                                       std::size_t height) {
  for (std::size_t y = 0; y < height; ++y) {
    const std::uint8_t* src = filtered + y * (n + 1);
    std::uint8_t* dst = pixels + y * n;
    if (y == 0) {
      first_row<Bpp>(src[0], src + 1, dst, n);
    } else {
      unfilter_row<Bpp>(src[0], src + 1, dst, dst - n, n);
    }
  }
}

// ---- SSE2 / SSE4.1 --------------------------------------------------------------------------

// Up: dst = src + prev, 16 or 32 bytes at a time.
[[gnu::target("sse4.1")]] void up_sse(const std::uint8_t* src, std::uint8_t* dst, const std::uint8_t* prev,
                                      std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(prev + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_add_epi8(x, b));
  }
  for (; i < n; ++i) dst[i] = static_cast<std::uint8_t>(src[i] + prev[i]);
}

[[gnu::target("avx2")]] void up_avx2(const std::uint8_t* src, std::uint8_t* dst, const std::uint8_t* prev,
                                     std::size_t n) {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(prev + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_add_epi8(x, b));
  }
  up_sse(src + i, dst + i, prev + i, n - i);
}

// Each byte plus every byte of its channel before it in the vector: a prefix sum, Bpp apart
// (log2(16 / Bpp) shifted adds).
template <int Bpp>
[[gnu::target("sse4.1")]] inline __m128i prefix_sum(__m128i x) {
  x = _mm_add_epi8(x, _mm_slli_si128(x, Bpp));
  if constexpr (Bpp <= 4) x = _mm_add_epi8(x, _mm_slli_si128(x, 2 * Bpp));
  if constexpr (Bpp <= 2) x = _mm_add_epi8(x, _mm_slli_si128(x, 4 * Bpp));
  if constexpr (Bpp == 1) x = _mm_add_epi8(x, _mm_slli_si128(x, 8));
  return x;
}

// Sub for widths that divide 16: the prefix sum inside each vector, plus the last pixel of the
// vector before, broadcast.
template <int Bpp>
[[gnu::target("sse4.1")]] void sub_prefix_sse(const std::uint8_t* src, std::uint8_t* dst, std::size_t n) {
  static_assert(16 % Bpp == 0);
  alignas(16) std::uint8_t last_pixel[16];
  for (int k = 0; k < 16; ++k) last_pixel[k] = static_cast<std::uint8_t>(16 - Bpp + k % Bpp);
  const __m128i broadcast_last = _mm_load_si128(reinterpret_cast<const __m128i*>(last_pixel));
  __m128i carry = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i x = prefix_sum<Bpp>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    x = _mm_add_epi8(x, carry);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), x);
    carry = _mm_shuffle_epi8(x, broadcast_last);
  }
  for (; i < n; ++i) dst[i] = static_cast<std::uint8_t>(src[i] + (i >= Bpp ? dst[i - Bpp] : 0));
}

// One pixel of Bpp bytes (3 to 8) in the low bytes of a register: loads and stores of Width
// bytes (4 or 8), so a pixel of 3 or 6 bytes reads and writes one byte past itself, which the
// next pixel then overwrites. The row's last pixel is done by the scalar tail instead.
template <int Bpp>
constexpr int kWidth = Bpp <= 4 ? 4 : 8;

template <int Bpp>
[[gnu::target("sse4.1")]] inline __m128i load_pixel(const std::uint8_t* p) {
  if constexpr (kWidth<Bpp> == 4) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm_cvtsi32_si128(v);
  } else {
    return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  }
}

template <int Bpp>
[[gnu::target("sse4.1")]] inline void store_pixel(std::uint8_t* p, __m128i v) {
  if constexpr (kWidth<Bpp> == 4) {
    const std::int32_t w = _mm_cvtsi128_si32(v);
    std::memcpy(p, &w, 4);
  } else {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), v);
  }
}

// The pixels that can be done a register at a time: all but those whose wide load would
// run past the row.
template <int Bpp>
std::size_t vector_pixels_end(std::size_t n) {
  return n >= static_cast<std::size_t>(kWidth<Bpp>) ? (n - kWidth<Bpp>) / Bpp * Bpp + Bpp : 0;
}

template <int Bpp>
[[gnu::target("sse4.1")]] void sub_pixels_sse(const std::uint8_t* src, std::uint8_t* dst, std::size_t n) {
  const std::size_t end = vector_pixels_end<Bpp>(n);
  __m128i a = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i < end; i += Bpp) {
    a = _mm_add_epi8(a, load_pixel<Bpp>(src + i));
    store_pixel<Bpp>(dst + i, a);
  }
  for (; i < n; ++i) dst[i] = static_cast<std::uint8_t>(src[i] + (i >= Bpp ? dst[i - Bpp] : 0));
}

template <int Bpp>
[[gnu::target("sse4.1")]] void avg_pixels_sse(const std::uint8_t* src, std::uint8_t* dst, const std::uint8_t* prev,
                                              std::size_t n) {
  const std::size_t end = vector_pixels_end<Bpp>(n);
  const __m128i one = _mm_set1_epi8(1);
  __m128i a = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i < end; i += Bpp) {
    const __m128i b = load_pixel<Bpp>(prev + i);
    // floor((a + b) / 2): pavgb rounds up, so take back the odd sums' half.
    const __m128i average = _mm_sub_epi8(_mm_avg_epu8(a, b), _mm_and_si128(_mm_xor_si128(a, b), one));
    a = _mm_add_epi8(load_pixel<Bpp>(src + i), average);
    store_pixel<Bpp>(dst + i, a);
  }
  for (; i < n; ++i)
    dst[i] = static_cast<std::uint8_t>(src[i] + (((i >= Bpp ? dst[i - Bpp] : 0) + prev[i]) >> 1));
}

// Paeth across the channels of a pixel, in 16-bit lanes.
template <int Bpp>
[[gnu::target("sse4.1")]] void paeth_pixels_sse(const std::uint8_t* src, std::uint8_t* dst, const std::uint8_t* prev,
                                                std::size_t n) {
  const std::size_t end = vector_pixels_end<Bpp>(n);
  const __m128i zero = _mm_setzero_si128();
  __m128i a = zero, c = zero;  // 16-bit lanes
  std::size_t i = 0;
  for (; i < end; i += Bpp) {
    const __m128i b = _mm_unpacklo_epi8(load_pixel<Bpp>(prev + i), zero);
    const __m128i b_minus_c = _mm_sub_epi16(b, c), a_minus_c = _mm_sub_epi16(a, c);
    const __m128i pa = _mm_abs_epi16(b_minus_c), pb = _mm_abs_epi16(a_minus_c);
    const __m128i pc = _mm_abs_epi16(_mm_add_epi16(b_minus_c, a_minus_c));
    const __m128i smallest = _mm_min_epi16(pc, _mm_min_epi16(pa, pb));
    const __m128i b_or_c = _mm_blendv_epi8(c, b, _mm_cmpeq_epi16(pb, smallest));
    const __m128i predicted = _mm_blendv_epi8(b_or_c, a, _mm_cmpeq_epi16(pa, smallest));
    const __m128i x = _mm_add_epi8(_mm_packus_epi16(predicted, zero), load_pixel<Bpp>(src + i));
    store_pixel<Bpp>(dst + i, x);
    a = _mm_unpacklo_epi8(x, zero);
    c = b;
  }
  for (; i < n; ++i) {
    const int left = i >= Bpp ? dst[i - Bpp] : 0, corner = i >= Bpp ? prev[i - Bpp] : 0;
    dst[i] = static_cast<std::uint8_t>(src[i] + paeth_predictor(left, prev[i], corner));
  }
}

// Paeth at one or two bytes a pixel is serial byte by byte: each byte's left neighbour is the
// byte just made. The left and corner values stay in registers (the generic row code reloads
// the left byte from memory, behind the store just made), and the choice is branchless. Bytes
// i to end of the row (whole pixels).
template <int Bpp>
void paeth_serial(const std::uint8_t* src, std::uint8_t* dst, const std::uint8_t* prev, std::size_t i,
                  std::size_t end) {
  int left[Bpp] = {}, corner[Bpp] = {};  // (0 left of the row)
  if (i >= Bpp)
    for (int k = 0; k < Bpp; ++k) left[k] = dst[i - Bpp + k], corner[k] = prev[i - Bpp + k];
  for (; i + Bpp <= end; i += Bpp) {
    for (int k = 0; k < Bpp; ++k) {
      const int a = left[k], b = prev[i + k], c = corner[k];
      const int p_a = b - c, p_b = a - c;  // p - a and p - b, where p = a + b - c
      const int pa = std::abs(p_a), pb = std::abs(p_b), pc = std::abs(p_a + p_b);
      const int b_or_c = pb <= pc ? b : c;
      const int predicted = (pa <= pb && pa <= pc) ? a : b_or_c;
      left[k] = (src[i + k] + predicted) & 0xFF;
      dst[i + k] = static_cast<std::uint8_t>(left[k]);
      corner[k] = b;
    }
  }
}

// Paeth at one or two bytes a pixel, 16 bytes at a time: where the row above is flat over them
// (each byte equal to the same channel's byte a pixel to its left), b == c, so pa = 0 and the
// predictor is a: they reverse as Sub does, a prefix sum. Where only one half of the 16 is flat,
// that half is taken at once and the other serially. Text pages and scans' margins and gaps
// are mostly flat above.
template <int Bpp, int Bytes>
[[gnu::target("sse4.1")]] inline void paeth_flat_prefix(const std::uint8_t* src, std::uint8_t* dst) {
  // (8 bytes: the upper half is summed too, and not stored.)
  __m128i x = prefix_sum<Bpp>(Bytes == 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src))
                                          : _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src)));
  std::uint16_t left = 0;
  std::memcpy(&left, dst - Bpp, Bpp);  // the pixel to the left, into every lane
  const __m128i carry = Bpp == 1 ? _mm_set1_epi8(static_cast<char>(left)) : _mm_set1_epi16(static_cast<short>(left));
  x = _mm_add_epi8(x, carry);
  if constexpr (Bytes == 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), x);
  else _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), x);
}

template <int Bpp>
[[gnu::target("sse4.1")]] void paeth_flat_sse(const std::uint8_t* src, std::uint8_t* dst, const std::uint8_t* prev,
                                             std::size_t n) {
  static_assert(Bpp == 1 || Bpp == 2);
  for (std::size_t i = 0; i < n; i += 16) {
    if (i > 0 && i + 16 <= n) {
      const __m128i above = _mm_loadu_si128(reinterpret_cast<const __m128i*>(prev + i));
      const __m128i above_left = _mm_loadu_si128(reinterpret_cast<const __m128i*>(prev + i - Bpp));
      const int flat = _mm_movemask_epi8(_mm_cmpeq_epi8(above, above_left));
      if (flat == 0xFFFF) {
        paeth_flat_prefix<Bpp, 16>(src + i, dst + i);
        continue;
      }
      for (std::size_t half = 0; half < 16; half += 8) {
        if (((flat >> half) & 0xFF) == 0xFF) paeth_flat_prefix<Bpp, 8>(src + i + half, dst + i + half);
        else paeth_serial<Bpp>(src, dst, prev, i + half, i + half + 8);
      }
      continue;
    }
    paeth_serial<Bpp>(src, dst, prev, i, std::min(n, i + 16));
  }
}

template <int Bpp>
[[gnu::target("sse4.1")]] void sub_sse(const std::uint8_t* src, std::uint8_t* dst, std::size_t n) {
  if constexpr (16 % Bpp == 0) {
    sub_prefix_sse<Bpp>(src, dst, n);
  } else {
    sub_pixels_sse<Bpp>(src, dst, n);
  }
}

template <int Bpp, bool Avx2>
[[gnu::target("sse4.1")]] void unfilter_rows_simd(const std::uint8_t* filtered, std::uint8_t* pixels,
                                                  std::size_t n, std::size_t height) {
  for (std::size_t y = 0; y < height; ++y) {
    const std::uint8_t* src = filtered + y * (n + 1) + 1;
    std::uint8_t* dst = pixels + y * n;
    const std::uint8_t* prev = dst - n;
    const std::uint8_t filter = src[-1];
    // Avg at one or two bytes a pixel is serial byte by byte; the scalar code does it.
    if (y == 0 && filter != 1) {
      first_row<Bpp>(filter, src, dst, n);
    } else if (filter == 1) {
      sub_sse<Bpp>(src, dst, n);
    } else if (filter == 2) {
      if constexpr (Avx2) up_avx2(src, dst, prev, n);
      else up_sse(src, dst, prev, n);
    } else if (filter == 3 && Bpp >= 3) {
      avg_pixels_sse<Bpp>(src, dst, prev, n);
    } else if (filter == 4) {
      if constexpr (Bpp >= 3) paeth_pixels_sse<Bpp>(src, dst, prev, n);
      else paeth_flat_sse<Bpp>(src, dst, prev, n);
    } else {
      unfilter_row<Bpp>(filter, src, dst, prev, n);
    }
  }
}

template <int Bpp>
void unfilter_rows(UnfilterPath path, const std::uint8_t* filtered, std::uint8_t* pixels, std::size_t n,
                   std::size_t height) {
  switch (path) {
    case UnfilterPath::avx2: return unfilter_rows_simd<Bpp, true>(filtered, pixels, n, height);
    case UnfilterPath::sse41: return unfilter_rows_simd<Bpp, false>(filtered, pixels, n, height);
    default: return unfilter_rows_scalar<Bpp>(filtered, pixels, n, height);
  }
}

}  // namespace

std::string_view unfilter_path_name(UnfilterPath path) {
  switch (path) {
    case UnfilterPath::avx2: return "avx2";
    case UnfilterPath::sse41: return "sse4.1";
    default: return "scalar";
  }
}

bool unfilter_path_supported(UnfilterPath path) {
  switch (path) {
    case UnfilterPath::avx2: return __builtin_cpu_supports("avx2");
    case UnfilterPath::sse41: return __builtin_cpu_supports("sse4.1");
    default: return true;
  }
}

UnfilterPath best_unfilter_path() {
  static const UnfilterPath best = unfilter_path_supported(UnfilterPath::avx2)    ? UnfilterPath::avx2
                                   : unfilter_path_supported(UnfilterPath::sse41) ? UnfilterPath::sse41
                                                                                  : UnfilterPath::scalar;
  return best;
}

bool unfilter_image(UnfilterPath path, int bpp, const std::uint8_t* filtered, std::uint8_t* pixels,
                    std::size_t row_bytes, std::size_t height) {
  for (std::size_t y = 0; y < height; ++y)
    if (filtered[y * (row_bytes + 1)] > 4) return false;
  switch (bpp) {
    case 1: unfilter_rows<1>(path, filtered, pixels, row_bytes, height); return true;
    case 2: unfilter_rows<2>(path, filtered, pixels, row_bytes, height); return true;
    case 3: unfilter_rows<3>(path, filtered, pixels, row_bytes, height); return true;
    case 4: unfilter_rows<4>(path, filtered, pixels, row_bytes, height); return true;
    case 6: unfilter_rows<6>(path, filtered, pixels, row_bytes, height); return true;
    case 8: unfilter_rows<8>(path, filtered, pixels, row_bytes, height); return true;
    default: return false;
  }
}

}  // namespace imgflow::png
