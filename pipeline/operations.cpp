// The stages between decode and encode: each does the page's next operations (recipe.hpp)
// that are its kind of work, and next_stage says where the page goes after.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "codec/metadata.hpp"
#include "kernels/apply_table.hpp"
#include "kernels/bilevel.hpp"
#include "kernels/document.hpp"
#include "kernels/geometry.hpp"
#include "pipeline/stages.hpp"

namespace imgflow {
namespace {

using Kind = Operation::Kind;

// A page whose skew scores below this (best over median score of the sweep) has no reliable
// angle; one whose angle is below kStraight is straight. Both are left untouched. Text pages
// score 6 to 40; at 1.5, 8 of the 75 real-world PNGs (photos, icons) were turned, at 3 one.
constexpr double kMinSkewConfidence = 3.0;
constexpr double kStraightDegrees = 0.05;

template <typename T>
std::vector<T> identity_table() {
  std::vector<T> table(sizeof(T) == 1 ? 256 : 65536);
  for (std::size_t v = 0; v < table.size(); ++v) table[v] = static_cast<T>(v);
  return table;
}

// bild's rank of a gray value v: the rank of (v, v, v).
const std::vector<std::uint8_t>& gray_rank_table() {
  static const std::vector<std::uint8_t> table = [] {
    std::vector<std::uint8_t> t(256);
    for (int v = 0; v < 256; ++v) t[static_cast<std::size_t>(v)] = bild_rank(static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v));
    return t;
  }();
  return table;
}

}  // namespace

void widen_bilevel(Job& job, const StageContext& context) {
  Image& image = job.image;
  Bytes wide = context.pool.pixels.acquire();
  wide.resize(static_cast<std::size_t>(image.width) * image.height);
  unpack_bilevel(image.pixels.data(), image.width, image.height, wide.data());
  context.pool.pixels.release(image.pixels);
  image.pixels = std::move(wide);
  image.bit_depth = 8;
}

namespace {

// The page's samples become `channels` of gray: the chunks that describe RGB ones (the colour
// profile) go, and the app warns.
void make_gray(Job& job, int channels) {
  if (job.image.channels >= 3)
    for (const std::string& note : drop_colour_only_chunks(job.image)) {
      std::string& dropped = job.findings.profile_dropped;
      dropped += (dropped.empty() ? "" : "; ") + note;
    }
  job.image.channels = channels;
}

// A pool buffer for the page's packed 1-bit rows, and `pack` to fill it; the page becomes them.
template <typename Pack>
void pack_page(Job& job, const StageContext& context, Pack&& pack) {
  Image& image = job.image;
  Bytes packed = context.pool.pixels.acquire();
  packed.resize((static_cast<std::size_t>(image.width) + 7) / 8 * image.height);
  pack(packed.data());
  context.pool.pixels.release(image.pixels);
  image.pixels = std::move(packed);
  make_gray(job, 1);
  image.bit_depth = 1;
}

// Makes the page bilevel: white where white[v] of its (8-bit, 1 or 2 channel) samples.
void make_bilevel(Job& job, const StageContext& context, const std::uint8_t* white) {
  const ImageView<const std::uint8_t> gray = job.image.view<const std::uint8_t>();
  pack_page(job, context, [&](std::uint8_t* packed) { pack_bilevel(gray, white, packed); });
}

// Replaces the page's pixels by width x height ones that `draw(src, dst)` makes from them, at
// the page's sample size; a 1-bit page is drawn in 8 bits and thresholded at 128 after.
template <typename Draw>
void redraw_page(Job& job, const StageContext& context, int width, int height, Draw&& draw) {
  Image& image = job.image;
  const bool bilevel = image.bit_depth == 1;
  if (bilevel) widen_bilevel(job, context);
  Image drawn;
  drawn.width = width, drawn.height = height, drawn.channels = image.channels, drawn.bit_depth = image.bit_depth;
  drawn.pixels = context.pool.pixels.acquire();
  drawn.allocate();
  if (image.bit_depth == 16)
    draw(image.view<const std::uint16_t>(), drawn.view<std::uint16_t>());
  else
    draw(image.view<const std::uint8_t>(), drawn.view<std::uint8_t>());
  context.pool.pixels.release(image.pixels);
  image.pixels = std::move(drawn.pixels);
  image.width = width, image.height = height;
  if (bilevel) {
    std::vector<std::uint8_t> white(256);
    for (std::size_t v = 128; v < 256; ++v) white[v] = 1;
    make_bilevel(job, context, white.data());
  }
}

// One 8-bit channel of bild's rank of each pixel (a fully transparent one is white), in
// `out`: what thresholds and skew estimates look at, whatever the page's layout.
ImageView<const std::uint8_t> rank_view(const Image& image, Bytes& out) {
  const std::size_t pixels = static_cast<std::size_t>(image.width) * image.height;
  out.resize(pixels * (image.bit_depth == 16 ? image.channels : 1));
  ImageView<const std::uint8_t> eight = image.view<const std::uint8_t>();
  if (image.bit_depth == 1) {
    unpack_bilevel(image.pixels.data(), image.width, image.height, out.data());
    eight = {out.data(), image.width, image.height, 1, image.width};
  } else if (image.bit_depth == 16) {
    high_bytes(image.view<const std::uint16_t>(), nullptr, out.data());
    eight = {out.data(), image.width, image.height, image.channels, static_cast<std::ptrdiff_t>(image.width) * image.channels};
  }
  to_gray(eight, nullptr, GrayKind::rank, out.data(), nullptr);
  return {out.data(), image.width, image.height, 1, image.width};
}

// The histogram of the page's colour samples as they are.
std::vector<std::uint64_t> count_page(const Image& image) {
  std::vector<std::uint64_t> histogram(image.bit_depth == 16 ? 65536 : 256);
  if (image.bit_depth == 16)
    count_samples(image.view<const std::uint16_t>(), histogram.data());
  else
    count_samples(image.view<const std::uint8_t>(), histogram.data());
  return histogram;
}

// The end of the run of point operations that starts at `first`.
std::size_t point_run_end(const Recipe& recipe, std::size_t first) {
  std::size_t end = first;
  while (end < recipe.operations.size() && recipe.operations[end].is_point()) ++end;
  return end;
}

// Whether a step of [from, end) needs the histogram of an image of `channels` as it is now,
// before a step that makes a new image and counts it on the way: on a colour page --grayscale
// or a threshold, on a gray one a threshold (its bilevel page needs no histogram).
bool needs_current_histogram(const Recipe& recipe, std::size_t from, std::size_t end, int channels) {
  for (std::size_t i = from; i < end; ++i) {
    const Operation& op = recipe.operations[i];
    if (channels >= 3 && (op.kind == Kind::grayscale || op.kind == Kind::threshold)) return false;
    if (op.needs_histogram()) return true;
    if (op.kind == Kind::threshold) return false;
  }
  return false;
}

// Runs the point operations [first, end) on a page of samples T: adjacent tables compose
// into one, applied once at the end or when a step makes a new image (gray, bilevel).
template <typename T>
void run_point_operations(Job& job, const StageContext& context, std::size_t first, std::size_t end) {
  Image& image = job.image;
  const auto& ops = context.recipe.operations;
  std::vector<T> table = identity_table<T>();
  bool pending = false;
  // The histogram of the samples after `table`, when known.
  std::vector<std::uint64_t> histogram = std::move(job.histogram);
  job.histogram.clear();
  const auto compose = [&](const std::vector<T>& step) {
    for (T& v : table) v = step[v];
    if (!histogram.empty()) histogram = map_histogram(histogram, step);
    pending = true;
  };
  const auto need_histogram = [&] {
    if (histogram.empty()) histogram = map_histogram(count_page(image), table);
  };
  const auto became_gray = [&](int channels) {
    make_gray(job, channels);
    image.pixels.resize(image.byte_size());
    table = identity_table<T>();
    pending = false;
  };
  for (std::size_t i = first; i < end; ++i) {
    const Operation& op = ops[i];
    job.next_operation = i + 1;
    switch (op.kind) {
      case Kind::adjust:
        if constexpr (sizeof(T) == 1) compose(op.tables->lut8()); else compose(op.tables->lut16());
        break;
      case Kind::normalize: {
        need_histogram();
        const LevelBounds bounds = percentile_bounds(histogram, op.low_percent, op.high_percent);
        job.findings.normalize_low = bounds.low;
        job.findings.normalize_high = bounds.high;
        compose(stretch_table<T>(bounds, table.size()));
        break;
      }
      case Kind::grayscale: {
        if (image.channels < 3) break;  // gray stays as it is: bild's gray of (v, v, v) is v
        const int gray_channels = image.channels == 4 ? 2 : 1;
        std::vector<std::uint64_t> counted(
            needs_current_histogram(context.recipe, i + 1, end, gray_channels) ? table.size() : 0);
        std::uint64_t* count = counted.empty() ? nullptr : counted.data();
        T* samples = reinterpret_cast<T*>(image.pixels.data());
        if constexpr (sizeof(T) == 1)
          to_gray(image.view<const T>(), pending ? table.data() : nullptr, GrayKind::luma, samples, count);
        else
          to_gray(image.view<const T>(), pending ? table.data() : nullptr, samples, count);
        became_gray(gray_channels);
        histogram = std::move(counted);
        break;
      }
      case Kind::threshold: {
        if constexpr (sizeof(T) == 2) {
          // bild thresholds 8-bit samples: the high bytes of the adjusted ones.
          high_bytes(image.view<const T>(), pending ? table.data() : nullptr, image.pixels.data());
          image.bit_depth = 8;
          image.pixels.resize(image.byte_size());
          if (!histogram.empty()) {
            std::vector<std::uint64_t> narrow(256);
            for (std::size_t v = 0; v < histogram.size(); ++v) narrow[v >> 8] += histogram[v];
            job.histogram = std::move(narrow);
          }
          run_point_operations<std::uint8_t>(job, context, i, end);
          return;
        } else {
          if (image.channels >= 3) {
            std::vector<std::uint64_t> counted(op.method == ThresholdMethod::otsu ? 256 : 0);
            to_gray(image.view<const T>(), pending ? table.data() : nullptr, GrayKind::rank, image.pixels.data(),
                    counted.empty() ? nullptr : counted.data());
            became_gray(1);
            histogram = std::move(counted);
          } else {
            compose(gray_rank_table());
          }
          int level = op.level;
          if (op.method == ThresholdMethod::otsu) {
            need_histogram();
            level = otsu_threshold(histogram.data()) + 1;  // OpenCV: white where > t; bild: where >= level
          }
          job.findings.threshold_level = level;
          std::vector<std::uint8_t> white(256);
          for (std::size_t v = 0; v < 256; ++v) white[v] = table[v] >= level ? 1 : 0;
          make_bilevel(job, context, white.data());
          return;  // the rest of the run, if any, starts again on the bilevel page
        }
      }
      default: break;
    }
  }
  if (!pending) return;
  apply_table(image.view<const T>(), image.view<T>(), table.data());
}

// Turns the page back by its skew: bilinear, white coming in from beyond the edges.
void rotate_page(Job& job, const StageContext& context, double degrees) {
  redraw_page(job, context, job.image.width, job.image.height, [&](auto src, auto dst) {
    using Sample = std::remove_pointer_t<decltype(dst.data)>;
    rotate_bilinear(src, degrees, std::numeric_limits<Sample>::max(), dst);
  });
}

void resample_page(Job& job, const StageContext& context, const Operation& op) {
  Image& image = job.image;
  auto dpi = resolution_dpi(image);
  if (!dpi) {
    if (op.assume_dpi <= 0) {
      job.fail(Stage::neighbourhood, fmt::format("the page has no resolution to resample to {} dpi from", op.dpi));
      job.no_resolution = true;
      return;
    }
    dpi = std::pair{op.assume_dpi, op.assume_dpi};
  }
  job.findings.dpi_from = dpi->first;
  job.findings.dpi_to = op.dpi;
  const double wide = std::max(1.0, std::round(image.width * op.dpi / dpi->first));
  const double high = std::max(1.0, std::round(image.height * op.dpi / dpi->second));
  // Enlarging is held to the decoders' pixel limit too (a 72-dpi page asked for 100000 dpi).
  if (const std::string over = over_pixel_limit(static_cast<std::uint64_t>(std::min(wide, 4e9)),
                                                static_cast<std::uint64_t>(std::min(high, 4e9)),
                                                context.config.decode.max_pixels);
      !over.empty()) {
    job.fail(Stage::neighbourhood, fmt::format("resampled to {} dpi the page would be {}", op.dpi, over));
    job.over_pixel_limit = true;
    return;
  }
  const int width = static_cast<int>(wide), height = static_cast<int>(high);
  if (width != image.width || height != image.height) {
    std::vector<double> scratch;
    redraw_page(job, context, width, height, [&](auto src, auto dst) { resize_area(src, dst, scratch); });
  }
  set_resolution_dpi(image, op.dpi);
}

}  // namespace

Stage next_stage(const Job& job, const Recipe& recipe) {
  if (job.outcome != Outcome::pending || job.next_operation >= recipe.operations.size()) return Stage::encode;
  const Operation& op = recipe.operations[job.next_operation];
  if (op.kind == Kind::deskew) return job.skew_pending ? Stage::neighbourhood : Stage::analyse;
  if (!op.is_point()) return Stage::neighbourhood;
  if (job.histogram.empty() && job.image.bit_depth != 1 &&
      needs_current_histogram(recipe, job.next_operation, point_run_end(recipe, job.next_operation), job.image.channels))
    return Stage::analyse;
  return Stage::adjust;
}

void analyse_stage(Job& job, const StageContext& context) {
  const Operation& op = context.recipe.operations[job.next_operation];
  if (op.kind != Kind::deskew) {
    job.histogram = count_page(job.image);
    return;
  }
  // Ink is what is darker than Otsu's level, taken on every fourth row. A gray page is read as
  // it is; others through their ranks.
  Bytes gray_bytes = context.pool.pixels.acquire();
  const Image& image = job.image;
  const ImageView<const std::uint8_t> gray =
      image.bit_depth == 8 && image.channels == 1 ? image.view<const std::uint8_t>() : rank_view(image, gray_bytes);
  std::vector<std::uint64_t> histogram(256);
  count_samples({gray.data, gray.width, (gray.height + 3) / 4, gray.channels, 4 * gray.stride}, histogram.data());
  std::vector<std::int32_t> scratch;
  const SkewEstimate skew = find_skew(gray, otsu_threshold(histogram.data()) + 1, op.max_degrees, scratch);
  context.pool.pixels.release(gray_bytes);
  Job::Findings& found = job.findings;
  found.skew_measured = true;
  found.skew_degrees = skew.degrees;
  found.skew_confidence = skew.confidence;
  if (skew.confidence < kMinSkewConfidence) {
    found.skew_unreliable = true;
    found.skew_note = fmt::format("no reliable skew (confidence {:.2f}, below {}): left as it is", skew.confidence,
                                  kMinSkewConfidence);
  } else if (std::abs(skew.degrees) < kStraightDegrees) {
    found.skew_note = fmt::format("straight (skew {:.2f} degrees): left as it is", skew.degrees);
  } else {
    job.skew_pending = true;
    return;
  }
  ++job.next_operation;
}

void adjust_stage(Job& job, const StageContext& context) {
  Image& image = job.image;
  std::size_t first = job.next_operation;
  const std::size_t end = point_run_end(context.recipe, first);
  if (image.bit_depth == 1) {
    // A bilevel page stays bilevel through tables that keep black and white black or white,
    // --grayscale (it is gray) and --normalize (black and white are its levels already).
    for (; first < end; ++first) {
      const Operation& op = context.recipe.operations[first];
      if (op.kind == Kind::grayscale || op.kind == Kind::normalize) continue;
      if (op.kind != Kind::adjust) break;
      const BilevelMapping mapping = bilevel_mapping(op.tables->lut8().data());
      if (mapping == BilevelMapping::widen) break;
      map_bilevel(image.pixels.data(), image.pixels.size(), mapping);
    }
    job.next_operation = first;
    if (first == end) return;
    widen_bilevel(job, context);
  }
  if (image.bit_depth == 16)
    run_point_operations<std::uint16_t>(job, context, first, end);
  else
    run_point_operations<std::uint8_t>(job, context, first, end);
  job.bit_depth = image.bit_depth;
  job.channels = image.channels;
}

void neighbourhood_stage(Job& job, const StageContext& context) {
  const Operation& op = context.recipe.operations[job.next_operation];
  Image& image = job.image;
  switch (op.kind) {
    case Kind::threshold: {  // Sauvola's
      Bytes gray_bytes = context.pool.pixels.acquire();
      const ImageView<const std::uint8_t> gray = rank_view(image, gray_bytes);
      std::vector<std::uint64_t> scratch;
      pack_page(job, context, [&](std::uint8_t* packed) { sauvola_bilevel(gray, op.window, op.k, scratch, packed); });
      context.pool.pixels.release(gray_bytes);
      break;
    }
    case Kind::deskew:
      rotate_page(job, context, -job.findings.skew_degrees);
      job.findings.deskewed = true;
      job.skew_pending = false;
      break;
    case Kind::resample: resample_page(job, context, op); break;
    default: break;
  }
  ++job.next_operation;
  job.width = image.width;
  job.height = image.height;
  job.bit_depth = image.bit_depth;
  job.channels = image.channels;
}

}  // namespace imgflow
