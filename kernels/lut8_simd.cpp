#include "kernels/lut8_simd.hpp"

#include <immintrin.h>

namespace imgflow {
namespace {

// Bytes [0, 64) of which the alpha ones (every `channels`-th, last of each pixel) are set.
std::uint64_t alpha_mask64(int channels) {
  std::uint64_t mask = 0;
  if (channels == 2 || channels == 4)
    for (int i = channels - 1; i < 64; i += channels) mask |= std::uint64_t{1} << i;
  return mask;
}

// 32 lookups with 16 pshufb, one on each 16-entry slice of the table by the low four bits, then
// a tree of 15 blends on bits 4, 5, 6 and 7 (each shifted to bit 7, which blendv reads): 35
// instructions where each slice took a subtract, a saturating add, a shuffle and an OR (64), and
// fewer registers live (noise 3.5 -> 6.6 GB/s, a text page 8.9 -> 13.7, imgflow-table-speed).
// 32 bytes of one value (most of a page of text is paper) take one lookup instead.
__attribute__((target("avx2"))) std::size_t lut8_avx2(const std::uint8_t* in, std::uint8_t* out,
                                               std::size_t n, int channels,
                                               const std::uint8_t* table) {
  __m256i slices[16];
  for (int k = 0; k < 16; ++k)
    slices[k] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * k)));
  const std::uint64_t alpha = alpha_mask64(channels);
  __m256i alpha_bytes = _mm256_setzero_si256();
  if (alpha) {
    alignas(32) std::uint8_t pattern[32];
    for (int i = 0; i < 32; ++i) pattern[i] = (alpha >> i) & 1 ? 0xFF : 0;
    alpha_bytes = _mm256_load_si256(reinterpret_cast<const __m256i*>(pattern));
  }
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i source = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    __m256i result;
    const __m256i first = _mm256_broadcastb_epi8(_mm256_castsi256_si128(source));
    if (_mm256_movemask_epi8(_mm256_cmpeq_epi8(source, first)) == -1) {
      result = _mm256_set1_epi8(static_cast<char>(table[in[i]]));  // 32 of one value (paper)
    } else {
      const __m256i low = _mm256_and_si256(source, nibble);
      const __m256i bit4 = _mm256_slli_epi16(source, 3), bit5 = _mm256_slli_epi16(source, 2),
                    bit6 = _mm256_slli_epi16(source, 1);
      __m256i quarter[4];
      for (int q = 0; q < 4; ++q) {
        const __m256i* s = slices + 4 * q;
        const __m256i pair0 = _mm256_blendv_epi8(_mm256_shuffle_epi8(s[0], low), _mm256_shuffle_epi8(s[1], low), bit4);
        const __m256i pair1 = _mm256_blendv_epi8(_mm256_shuffle_epi8(s[2], low), _mm256_shuffle_epi8(s[3], low), bit4);
        quarter[q] = _mm256_blendv_epi8(pair0, pair1, bit5);
      }
      result = _mm256_blendv_epi8(_mm256_blendv_epi8(quarter[0], quarter[1], bit6),
                                  _mm256_blendv_epi8(quarter[2], quarter[3], bit6), source);
    }
    if (alpha) result = _mm256_blendv_epi8(result, source, alpha_bytes);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), result);
  }
  return i;
}

// 64 lookups with two vpermi2b (each a 128-entry table in two registers), bit 7 choosing.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) std::size_t lut8_avx512vbmi(
    const std::uint8_t* in, std::uint8_t* out, std::size_t n, int channels, const std::uint8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  const __mmask64 alpha = alpha_mask64(channels);
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i index = _mm512_loadu_si512(in + i);
    const __m512i low = _mm512_permutex2var_epi8(t0, index, t1);
    const __m512i high = _mm512_permutex2var_epi8(t2, index, t3);
    __m512i result = _mm512_mask_blend_epi8(_mm512_movepi8_mask(index), low, high);
    result = _mm512_mask_blend_epi8(alpha, result, index);
    _mm512_storeu_si512(out + i, result);
  }
  return i;
}

}  // namespace

std::string_view lut_path_name(LutPath path) {
  switch (path) {
    case LutPath::avx512vbmi: return "avx512vbmi";
    case LutPath::avx2: return "avx2";
    default: return "scalar";
  }
}

bool lut_path_supported(LutPath path) {
  switch (path) {
    case LutPath::avx512vbmi:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vbmi");
    case LutPath::avx2: return __builtin_cpu_supports("avx2");
    default: return true;
  }
}

LutPath best_lut_path() {
  static const LutPath best = lut_path_supported(LutPath::avx512vbmi) ? LutPath::avx512vbmi
                              : lut_path_supported(LutPath::avx2)     ? LutPath::avx2
                                                                      : LutPath::scalar;
  return best;
}

std::size_t lut8_vectors(LutPath path, const std::uint8_t* in, std::uint8_t* out, std::size_t n,
                         int channels, const std::uint8_t* table) {
  switch (path) {
    case LutPath::avx512vbmi: return lut8_avx512vbmi(in, out, n, channels, table);
    case LutPath::avx2: return lut8_avx2(in, out, n, channels, table);
    default: return 0;
  }
}

}  // namespace imgflow
