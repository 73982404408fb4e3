#include "kernels/geometry.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace imgflow {
namespace {

constexpr double kRadiansPerDegree = std::numbers::pi / 180.0;

// The ink of a page at 1/reduction of its resolution: a cell is ink when any of its pixels is.
// Kept as the cells' columns, row by row (row_start[y] .. row_start[y + 1]).
struct InkCells {
  std::vector<std::int32_t> x;
  std::vector<std::size_t> row_start;
  int width = 0, height = 0;
  bool empty() const { return x.empty(); }
};

// The ink pixels of a page, one pass over it.
InkCells ink_pixels(ImageView<const std::uint8_t> gray, int ink_below) {
  InkCells cells;
  cells.width = gray.width;
  cells.height = gray.height;
  cells.row_start.push_back(0);
  for (int y = 0; y < gray.height; ++y) {
    const std::uint8_t* s = gray.row(y);
    for (int x = 0; x < gray.width; ++x)
      if (s[x * gray.channels] < ink_below) cells.x.push_back(x);
    cells.row_start.push_back(cells.x.size());
  }
  return cells;
}

// The same ink at 1/reduction of the resolution: a cell is ink when any of its pixels is.
InkCells reduce_cells(const InkCells& fine, int reduction) {
  InkCells cells;
  cells.width = (fine.width + reduction - 1) / reduction;
  cells.height = (fine.height + reduction - 1) / reduction;
  std::vector<std::uint8_t> row(static_cast<std::size_t>(cells.width));
  cells.row_start.push_back(0);
  for (int cy = 0; cy < cells.height; ++cy) {
    std::fill(row.begin(), row.end(), 0);
    for (int y = cy * reduction; y < std::min(fine.height, (cy + 1) * reduction); ++y)
      for (std::size_t i = fine.row_start[static_cast<std::size_t>(y)]; i < fine.row_start[static_cast<std::size_t>(y) + 1]; ++i)
        row[static_cast<std::size_t>(fine.x[i] / reduction)] = 1;
    for (int cx = 0; cx < cells.width; ++cx)
      if (row[static_cast<std::size_t>(cx)]) cells.x.push_back(cx);
    cells.row_start.push_back(cells.x.size());
  }
  return cells;
}

// Sum of squared differences of neighbouring row counts once each cell (x, y) is moved to row
// y + round(x tan(angle)): large when the text lines fall into few rows.
double profile_score(const InkCells& cells, double degrees, double max_degrees, std::vector<std::int32_t>& scratch) {
  const double slope = std::tan(degrees * kRadiansPerDegree);
  const int margin = static_cast<int>(std::ceil(cells.width * std::tan(max_degrees * kRadiansPerDegree))) + 2;
  const std::size_t rows = static_cast<std::size_t>(cells.height + 2 * margin);
  scratch.assign(rows + static_cast<std::size_t>(cells.width), 0);
  std::int32_t* counts = scratch.data();
  std::int32_t* shift = counts + rows;  // each column's move, plus the margin
  for (int x = 0; x < cells.width; ++x)
    shift[x] = std::clamp(static_cast<std::int32_t>(std::lround(x * slope)) + margin, 0, 2 * margin);
  for (int y = 0; y < cells.height; ++y) {
    std::int32_t* row = counts + y;
    for (std::size_t i = cells.row_start[static_cast<std::size_t>(y)]; i < cells.row_start[static_cast<std::size_t>(y) + 1]; ++i)
      ++row[shift[cells.x[i]]];
  }
  double score = 0;
  for (std::size_t i = 1; i < rows; ++i) {
    const double d = counts[i] - counts[i - 1];
    score += d * d;
  }
  return score;
}

}  // namespace

SkewEstimate find_skew(ImageView<const std::uint8_t> gray, int ink_below, double max_degrees,
                       std::vector<std::int32_t>& scratch) {
  SkewEstimate estimate;
  constexpr double kSweepStep = 0.25, kFinest = 0.01;
  const InkCells fine = ink_pixels(gray, ink_below);
  if (fine.empty()) return estimate;
  const InkCells coarse = reduce_cells(fine, 8);
  const int steps = static_cast<int>(std::floor(max_degrees / kSweepStep + 1e-9));
  std::vector<double> scores;
  double best_angle = 0, best_score = -1;
  for (int i = -steps; i <= steps; ++i) {
    const double angle = i * kSweepStep;
    const double score = profile_score(coarse, angle, max_degrees, scratch);
    scores.push_back(score);
    if (score > best_score) best_score = score, best_angle = angle;
  }
  std::vector<double> sorted = scores;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
  const double median = sorted[sorted.size() / 2];
  estimate.confidence = median > 0 ? best_score / median : 0;

  // Halving search at full resolution around the sweep's best, as far as the next sweep angles.
  double centre = best_angle, centre_score = profile_score(fine, centre, max_degrees + kSweepStep, scratch);
  for (double step = kSweepStep; step >= kFinest / 2; step /= 2) {
    const double left = centre - step, right = centre + step;
    const double left_score = profile_score(fine, left, max_degrees + kSweepStep, scratch);
    const double right_score = profile_score(fine, right, max_degrees + kSweepStep, scratch);
    if (left_score > centre_score && left_score >= right_score) {
      centre = left, centre_score = left_score;
    } else if (right_score > centre_score) {
      centre = right, centre_score = right_score;
    }
  }
  estimate.degrees = centre;
  return estimate;
}

namespace {

// Channels as a constant, so that the per-pixel loops unroll.
template <typename T, int kChannels>
void rotate_rows(ImageView<const T> src, double degrees, T fill, ImageView<T> dst) {
  // Source positions in 16.16 fixed point, stepped along each output row; weights of 8 bits.
  const double c = std::cos(degrees * kRadiansPerDegree), s = std::sin(degrees * kRadiansPerDegree);
  const double cx = (src.width - 1) / 2.0, cy = (src.height - 1) / 2.0;
  const auto fixed = [](double v) { return static_cast<std::int64_t>(std::llround(v * 65536.0)); };
  const std::int64_t step_x = fixed(c), step_y = fixed(s);
  for (int y = 0; y < dst.height; ++y) {
    T* out = dst.row(y);
    const double dy = y - cy;
    // The source of an output pixel: the output's offset from the centre turned back.
    std::int64_t sx = fixed(-c * cx - s * dy + cx), sy = fixed(-s * cx + c * dy + cy);
    for (int x = 0; x < dst.width; ++x, out += kChannels, sx += step_x, sy += step_y) {
      const int x0 = static_cast<int>(sx >> 16), y0 = static_cast<int>(sy >> 16);
      const std::uint32_t ax = static_cast<std::uint32_t>((sx >> 8) & 0xFF), ay = static_cast<std::uint32_t>((sy >> 8) & 0xFF);
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < src.width && y0 + 1 < src.height) {
        const T* top = src.row(y0) + x0 * kChannels;
        const T* bottom = top + src.stride;
        for (int ch = 0; ch < kChannels; ++ch) {
          const std::uint64_t upper = top[ch] * (256u - ax) + top[ch + kChannels] * ax;
          const std::uint64_t lower = bottom[ch] * (256u - ax) + bottom[ch + kChannels] * ax;
          out[ch] = static_cast<T>((upper * (256u - ay) + lower * ay + 32768u) >> 16);
        }
        continue;
      }
      if (x0 < -1 || y0 < -1 || x0 >= src.width || y0 >= src.height) {
        std::fill(out, out + kChannels, fill);
        continue;
      }
      for (int ch = 0; ch < kChannels; ++ch) {  // at the edge: what lies beyond is the fill
        const auto at = [&](int px, int py) -> std::uint64_t {
          if (px < 0 || py < 0 || px >= src.width || py >= src.height) return fill;
          return src.row(py)[px * kChannels + ch];
        };
        const std::uint64_t upper = at(x0, y0) * (256u - ax) + at(x0 + 1, y0) * ax;
        const std::uint64_t lower = at(x0, y0 + 1) * (256u - ax) + at(x0 + 1, y0 + 1) * ax;
        out[ch] = static_cast<T>((upper * (256u - ay) + lower * ay + 32768u) >> 16);
      }
    }
  }
}

template <typename T>
void rotate_impl(ImageView<const T> src, double degrees, T fill, ImageView<T> dst) {
  switch (src.channels) {
    case 1: rotate_rows<T, 1>(src, degrees, fill, dst); break;
    case 2: rotate_rows<T, 2>(src, degrees, fill, dst); break;
    case 3: rotate_rows<T, 3>(src, degrees, fill, dst); break;
    default: rotate_rows<T, 4>(src, degrees, fill, dst); break;
  }
}

// For each output position along one axis, the input positions it covers and their weights
// (the covered part of each, over the output pixel's length in input units).
struct AreaWeights {
  std::vector<int> first, count;
  std::vector<double> weights;  // count[i] entries from offset[i]
  std::vector<std::size_t> offset;
};

AreaWeights area_weights(int in, int out) {
  AreaWeights w;
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double start = o * scale, end = (o + 1) * scale;
    const int first = static_cast<int>(std::floor(start));
    const int last = std::min(in - 1, static_cast<int>(std::ceil(end)) - 1);
    w.first.push_back(first);
    w.count.push_back(last - first + 1);
    w.offset.push_back(w.weights.size());
    for (int i = first; i <= last; ++i)
      w.weights.push_back((std::min<double>(end, i + 1) - std::max<double>(start, i)) / scale);
  }
  return w;
}

template <typename T>
void resize_impl(ImageView<const T> src, ImageView<T> dst, std::vector<double>& scratch) {
  const int channels = src.channels;
  const AreaWeights across = area_weights(src.width, dst.width), down = area_weights(src.height, dst.height);
  const std::size_t row = static_cast<std::size_t>(dst.width) * channels;
  scratch.assign(2 * row, 0.0);
  double* narrow = scratch.data();  // one input row, resampled across
  double* sum = narrow + row;
  for (int y = 0; y < dst.height; ++y) {
    std::fill(sum, sum + row, 0.0);
    for (int k = 0; k < down.count[y]; ++k) {
      const T* in = src.row(down.first[y] + k);
      for (int x = 0; x < dst.width; ++x)
        for (int ch = 0; ch < channels; ++ch) {
          double v = 0;
          for (int j = 0; j < across.count[x]; ++j)
            v += in[(across.first[x] + j) * channels + ch] * across.weights[across.offset[x] + j];
          narrow[x * channels + ch] = v;
        }
      const double weight = down.weights[down.offset[y] + k];
      for (std::size_t i = 0; i < row; ++i) sum[i] += narrow[i] * weight;
    }
    T* out = dst.row(y);
    const double max = static_cast<double>(static_cast<T>(~T{0}));
    for (std::size_t i = 0; i < row; ++i) out[i] = static_cast<T>(std::clamp(std::floor(sum[i] + 0.5), 0.0, max));
  }
}

}  // namespace

void rotate_bilinear(ImageView<const std::uint8_t> src, double degrees, std::uint8_t fill, ImageView<std::uint8_t> dst) {
  rotate_impl(src, degrees, fill, dst);
}
void rotate_bilinear(ImageView<const std::uint16_t> src, double degrees, std::uint16_t fill,
                     ImageView<std::uint16_t> dst) {
  rotate_impl(src, degrees, fill, dst);
}
void resize_area(ImageView<const std::uint8_t> src, ImageView<std::uint8_t> dst, std::vector<double>& scratch) {
  resize_impl(src, dst, scratch);
}
void resize_area(ImageView<const std::uint16_t> src, ImageView<std::uint16_t> dst, std::vector<double>& scratch) {
  resize_impl(src, dst, scratch);
}

}  // namespace imgflow
