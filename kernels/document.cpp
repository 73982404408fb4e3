#include "kernels/document.hpp"

#include <algorithm>
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
  for (int y = 0; y < src.height; ++y) {
    const T* s = src.row(y);
    for (int x = 0; x < src.width; ++x, s += in) {
      T r = s[0], g = s[1], b = s[2];
      const T a = alpha ? s[3] : T{0};
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
  for (int y = 0; y < src.height; ++y) {
    const T* s = src.row(y);
    if (colours == src.channels) {
      const std::size_t n = static_cast<std::size_t>(src.width) * src.channels;
      for (std::size_t i = 0; i < n; ++i) ++histogram[s[i]];
      continue;
    }
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
  const std::size_t row_bytes = (static_cast<std::size_t>(gray.width) + 7) / 8;
  const bool alpha = gray.channels == 2;
  for (int y = 0; y < gray.height; ++y, dst += row_bytes) {
    const std::uint8_t* s = gray.row(y);
    std::memset(dst, 0, row_bytes);
    for (int x = 0; x < gray.width; ++x, s += gray.channels) {
      const bool is_white = white[s[0]] != 0 || (alpha && s[0] == 0 && s[1] == 0);
      dst[x >> 3] |= static_cast<std::uint8_t>(is_white << (7 - (x & 7)));
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
