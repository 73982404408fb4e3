#include "kernels/document.hpp"

#include "kernels/apply_table.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>

namespace imgflow {

// Compiled with -ffp-contract=off (kernels/CMakeLists.txt): bild's sums are unfused.
double bild_luma(double r, double g, double b) { return 0.3 * r + 0.6 * g + 0.1 * b + 0.5; }

std::uint8_t bild_rank(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return static_cast<std::uint8_t>(0.3 * r + 0.6 * g + 0.1 * b);
}

namespace {

template <typename T>
void to_gray_impl(ImageView<const T> src, const T* table, GrayKind kind, T* dst, std::uint64_t* histogram) {
  const int in = src.channels;
  const bool alpha = src.has_alpha();
  const bool keep_alpha = alpha && kind == GrayKind::luma;
  const int green = in >= 3 ? 1 : 0, blue = in >= 3 ? 2 : 0;  // a gray pixel v is (v, v, v)
  for (int y = 0; y < src.height; ++y) {
    const T* s = src.row(y);
    for (int x = 0; x < src.width; ++x, s += in) {
      T r = s[0], g = s[green], b = s[blue];
      const T a = alpha ? s[in - 1] : T{0};
      if (table) r = table[r], g = table[g], b = table[b];
      T v;
      if (kind == GrayKind::luma) {
        v = static_cast<T>(bild_luma(r, g, b));
      } else {
        // bild's segment.Threshold sees premultiplied RGBA: a fully transparent pixel is
        // (0, 0, 0, 0), which it makes white.
        v = alpha && a == 0 ? T(255) : static_cast<T>(bild_rank(static_cast<std::uint8_t>(r),
                                                                static_cast<std::uint8_t>(g),
                                                                static_cast<std::uint8_t>(b)));
      }
      if (histogram) ++histogram[v];
      *dst++ = v;
      if (keep_alpha) *dst++ = a;
    }
  }
}

template <typename T>
void count_impl(ImageView<const T> src, std::uint64_t* histogram) {
  const int colours = src.has_alpha() ? src.channels - 1 : src.channels;
  if (sizeof(T) == 1 && colours == src.channels) {
    // Four tables in turn, so that runs of one value do not wait on the same counter.
    std::vector<std::uint32_t> four(4 * 256, 0);
    const std::size_t n = static_cast<std::size_t>(src.width) * src.channels;
    for (int y = 0; y < src.height; ++y) {
      const T* s = src.row(y);
      std::size_t i = 0;
      for (; i + 4 <= n; i += 4) {
        ++four[s[i]];
        ++four[256 + s[i + 1]];
        ++four[512 + s[i + 2]];
        ++four[768 + s[i + 3]];
      }
      for (; i < n; ++i) ++four[s[i]];
      if (y % 1024 == 1023 || y + 1 == src.height) {  // before a 32-bit counter could fill up
        for (std::size_t v = 0; v < 256; ++v) histogram[v] += four[v] + four[256 + v] + four[512 + v] + four[768 + v];
        std::fill(four.begin(), four.end(), 0);
      }
    }
    return;
  }
  for (int y = 0; y < src.height; ++y) {
    const T* s = src.row(y);
    for (int x = 0; x < src.width; ++x, s += src.channels)
      for (int c = 0; c < colours; ++c) ++histogram[s[c]];
  }
}

}  // namespace

void to_gray(ImageView<const std::uint8_t> src, const std::uint8_t* table, GrayKind kind, std::uint8_t* dst,
             std::uint64_t* histogram) {
  to_gray_impl(src, table, kind, dst, histogram);
}

void to_gray(ImageView<const std::uint16_t> src, const std::uint16_t* table, std::uint16_t* dst,
             std::uint64_t* histogram) {
  to_gray_impl(src, table, GrayKind::luma, dst, histogram);
}

void high_bytes(ImageView<const std::uint16_t> src, const std::uint16_t* table, std::uint8_t* dst) {
  const bool alpha = src.has_alpha();
  for (int y = 0; y < src.height; ++y) {
    const std::uint16_t* s = src.row(y);
    for (int x = 0; x < src.width; ++x)
      for (int c = 0; c < src.channels; ++c, ++s) {
        const bool is_alpha = alpha && c == src.channels - 1;
        *dst++ = static_cast<std::uint8_t>((table && !is_alpha ? table[*s] : *s) >> 8);
      }
  }
}

void count_samples(ImageView<const std::uint8_t> src, std::uint64_t* histogram) { count_impl(src, histogram); }
void count_samples(ImageView<const std::uint16_t> src, std::uint64_t* histogram) { count_impl(src, histogram); }

template <typename T>
std::vector<std::uint64_t> map_histogram(const std::vector<std::uint64_t>& in, const std::vector<T>& table) {
  std::vector<std::uint64_t> out(in.size());
  for (std::size_t v = 0; v < in.size(); ++v) out[table[v]] += in[v];
  return out;
}
template std::vector<std::uint64_t> map_histogram(const std::vector<std::uint64_t>&, const std::vector<std::uint8_t>&);
template std::vector<std::uint64_t> map_histogram(const std::vector<std::uint64_t>&, const std::vector<std::uint16_t>&);

int otsu_threshold(const std::uint64_t* histogram) {
  // OpenCV's getThreshVal_Otsu_8u, in the same order of operations.
  double total = 0, mu = 0;
  for (int i = 0; i < 256; ++i) total += static_cast<double>(histogram[i]);
  if (total == 0) return 0;
  const double scale = 1.0 / total;
  for (int i = 0; i < 256; ++i) mu += i * static_cast<double>(histogram[i]);
  mu *= scale;
  double mu1 = 0, q1 = 0, max_sigma = 0;
  int best = 0;
  constexpr double kEpsilon = 1.1920928955078125e-07;  // FLT_EPSILON, as OpenCV
  for (int i = 0; i < 256; ++i) {
    const double p_i = static_cast<double>(histogram[i]) * scale;
    mu1 *= q1;
    q1 += p_i;
    const double q2 = 1. - q1;
    if (std::min(q1, q2) < kEpsilon || std::max(q1, q2) > 1. - kEpsilon) continue;
    mu1 = (mu1 + i * p_i) / q1;
    const double mu2 = (mu - q1 * mu1) / q2;
    const double sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
    if (sigma > max_sigma) {
      max_sigma = sigma;
      best = i;
    }
  }
  return best;
}

LevelBounds percentile_bounds(const std::vector<std::uint64_t>& histogram, double low_percent, double high_percent) {
  const int last = static_cast<int>(histogram.size()) - 1;
  std::uint64_t total = 0;
  for (const auto count : histogram) total += count;
  if (total == 0) return {0, last};
  const double low_cut = static_cast<double>(total) * low_percent / 100.0;
  const double high_cut = static_cast<double>(total) * (100.0 - high_percent) / 100.0;
  LevelBounds bounds{0, last};
  std::uint64_t seen = 0;
  for (int v = 0; v <= last; ++v) {
    seen += histogram[static_cast<std::size_t>(v)];
    if (static_cast<double>(seen) > low_cut) {
      bounds.low = v;
      break;
    }
  }
  seen = 0;
  for (int v = last; v >= 0; --v) {
    seen += histogram[static_cast<std::size_t>(v)];
    if (static_cast<double>(seen) > high_cut) {
      bounds.high = v;
      break;
    }
  }
  return bounds;
}

template <typename T>
std::vector<T> stretch_table(LevelBounds bounds, std::size_t entries) {
  std::vector<T> table(entries);
  const double max = static_cast<double>(entries - 1);
  for (std::size_t v = 0; v < entries; ++v) {
    if (bounds.high <= bounds.low) {
      table[v] = static_cast<T>(v);
      continue;
    }
    const double stretched = (static_cast<double>(v) - bounds.low) * max / (bounds.high - bounds.low);
    table[v] = static_cast<T>(std::clamp(std::floor(stretched + 0.5), 0.0, max));
  }
  return table;
}
template std::vector<std::uint8_t> stretch_table(LevelBounds, std::size_t);
template std::vector<std::uint16_t> stretch_table(LevelBounds, std::size_t);

void pack_bilevel(ImageView<const std::uint8_t> gray, const std::uint8_t* white, std::uint8_t* dst) {
  static_assert(std::endian::native == std::endian::little, "the packing below reads 8 pixels as a little-endian word");
  const std::size_t row_bytes = (static_cast<std::size_t>(gray.width) + 7) / 8;
  std::array<std::uint8_t, 256> ones{};  // 0xFF where white
  for (std::size_t v = 0; v < 256; ++v) ones[v] = white[v] ? 0xFF : 0;
  std::vector<std::uint8_t> row(row_bytes * 8, 0);  // the bytes past the width stay 0: padding bits 0
  for (int y = 0; y < gray.height; ++y, dst += row_bytes) {
    const std::uint8_t* s = gray.row(y);
    if (gray.channels == 1) {
      apply_table({s, gray.width, 1, 1, gray.width}, {row.data(), gray.width, 1, 1, gray.width}, ones.data());
    } else {  // gray+alpha: a pixel of alpha 0 is white (bild's fully transparent black)
      for (int x = 0; x < gray.width; ++x, s += 2) row[static_cast<std::size_t>(x)] = s[1] == 0 ? 0xFF : ones[s[0]];
    }
    // Eight pixels' 0x00/0xFF bytes to one byte, first pixel in the top bit: each byte keeps
    // its own bit, and the multiply adds them all into the top byte.
    for (std::size_t i = 0; i < row_bytes; ++i) {
      std::uint64_t eight;
      std::memcpy(&eight, row.data() + 8 * i, 8);
      dst[i] = static_cast<std::uint8_t>(((eight & 0x0102040810204080ULL) * 0x0101010101010101ULL) >> 56);
    }
  }
}

void sauvola_bilevel(ImageView<const std::uint8_t> gray, int window, double k, std::vector<std::uint64_t>& scratch,
                     std::uint8_t* dst) {
  const int w = gray.width, h = gray.height, r = window / 2;
  // Integral rows of the image extended by r repeated pixels on each side: row p of the ring
  // holds, for each padded column x, the sums over padded rows <= p and columns < x.
  const std::size_t cols = static_cast<std::size_t>(w) + 2 * r + 1;
  const std::size_t ring = static_cast<std::size_t>(window) + 1;
  scratch.assign(2 * cols * ring, 0);
  std::uint64_t* sums = scratch.data();
  std::uint64_t* squares = sums + cols * ring;
  const auto slot = [&](int padded_row) { return static_cast<std::size_t>(padded_row % static_cast<int>(ring)) * cols; };
  // Padded row p (0-based) is image row clamp(p - r); the ring's row p+1 holds rows <= p.
  // Before the first row the sums are zero: slot(0) starts zeroed.
  const auto add_row = [&](int p) {
    const std::uint8_t* s = gray.row(std::clamp(p - r, 0, h - 1));
    const std::size_t prev = slot(p), cur = slot(p + 1);
    std::uint64_t run = 0, run_sq = 0;
    sums[cur] = squares[cur] = 0;
    for (std::size_t x = 1; x < cols; ++x) {
      const std::uint64_t v = s[std::clamp(static_cast<int>(x) - 1 - r, 0, w - 1) * gray.channels];
      run += v;
      run_sq += v * v;
      sums[cur + x] = sums[prev + x] + run;
      squares[cur + x] = squares[prev + x] + run_sq;
    }
  };
  const std::size_t row_bytes = (static_cast<std::size_t>(w) + 7) / 8;
  const double area = static_cast<double>(window) * window;
  int added = 0;
  for (int y = 0; y < h; ++y, dst += row_bytes) {
    // The window of image row y covers padded rows y .. y + 2r.
    while (added < y + window) add_row(added++);
    const std::size_t top = slot(y), bottom = slot(y + window);
    const std::uint8_t* s = gray.row(y);
    std::memset(dst, 0, row_bytes);
    for (int x = 0; x < w; ++x) {
      const std::size_t x0 = static_cast<std::size_t>(x), x1 = x0 + window;
      const double sum = static_cast<double>(sums[bottom + x1] - sums[bottom + x0] - sums[top + x1] + sums[top + x0]);
      const double sum_sq =
          static_cast<double>(squares[bottom + x1] - squares[bottom + x0] - squares[top + x1] + squares[top + x0]);
      const double mean = sum / area;
      const double deviation = std::sqrt(std::max(0.0, sum_sq / area - mean * mean));
      const double threshold = mean * (1.0 + k * (deviation / 128.0 - 1.0));
      if (s[x * gray.channels] > threshold) dst[x >> 3] |= static_cast<std::uint8_t>(0x80 >> (x & 7));
    }
  }
}

}  // namespace imgflow
