#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/image_view.hpp"

namespace imgflow {

/// bild's effect.Grayscale of one pixel: 0.3 R + 0.6 G + 0.1 B in double, in that order, plus
/// 0.5, truncated. (Samples of 8 or 16 bits.)
double bild_luma(double r, double g, double b);
/// bild's util.Rank, truncated as segment.Threshold truncates it: 0.3 R + 0.6 G + 0.1 B, no 0.5.
std::uint8_t bild_rank(std::uint8_t r, std::uint8_t g, std::uint8_t b);

/// What a colour-to-gray conversion makes of each pixel.
enum class GrayKind {
  luma,  ///< bild_luma; alpha kept (RGBA -> gray+alpha)
  rank,  ///< bild_rank of the pixel's high bytes; alpha dropped, a fully transparent pixel is 255
};

/// Converts a view (after `table`, applied to colour samples first: identity when null) to gray:
/// one sample per pixel, or two for luma of RGBA. A gray sample v counts as the colour (v, v, v),
/// so that the ranks of a gray or gray+alpha view are those bild gives its RGBA conversion. `dst` has room for it and may
/// be `src`'s own buffer (it is written behind the reads). When `histogram` is not null, the
/// gray values are counted in it as they are made (it has 256 or 65536 entries, by sample size).
void to_gray(ImageView<const std::uint8_t> src, const std::uint8_t* table, GrayKind kind, std::uint8_t* dst,
             std::uint64_t* histogram);
/// Luma only: bild's threshold works on 8-bit samples (see high_bytes).
void to_gray(ImageView<const std::uint16_t> src, const std::uint16_t* table, std::uint16_t* dst,
             std::uint64_t* histogram);
/// 16-bit samples after `table` (alpha as it is), reduced to their high byte as Go's conversion
/// to 8-bit RGBA does. `dst` may be `src`'s own buffer.
void high_bytes(ImageView<const std::uint16_t> src, const std::uint16_t* table, std::uint8_t* dst);

/// Adds the colour samples of a view (alpha excluded) to a histogram of 256 or 65536 entries.
void count_samples(ImageView<const std::uint8_t> src, std::uint64_t* histogram);
void count_samples(ImageView<const std::uint16_t> src, std::uint64_t* histogram);

/// The histogram of values after a table: out[table[v]] += in[v].
template <typename T>
std::vector<std::uint64_t> map_histogram(const std::vector<std::uint64_t>& in, const std::vector<T>& table);

/// Otsu's level on a 256-bin histogram, as OpenCV's THRESH_OTSU computes it: the t that
/// maximises the between-class variance, pixels > t being white. 0 when the histogram has a
/// single value.
int otsu_threshold(const std::uint64_t* histogram);

/// The levels that cut `low_percent` of the samples off the dark end and `100 - high_percent`
/// off the light end: low is the smallest v with more than low% of the samples at or below it,
/// high the largest v with more than (100 - high)% at or above it. {0, max} for an empty
/// histogram.
struct LevelBounds {
  int low, high;
};
LevelBounds percentile_bounds(const std::vector<std::uint64_t>& histogram, double low_percent, double high_percent);

/// The table stretching [low, high] to [0, max] (clamped, rounded to nearest); identity when
/// high <= low.
template <typename T>
std::vector<T> stretch_table(LevelBounds bounds, std::size_t entries);

/// Writes a bilevel image (8 pixels per byte, most significant first, 1 = white, rows padded to
/// a byte with zeros) from a gray view of one channel, or two (gray+alpha: a pixel of alpha 0
/// and gray 0 is white, as bild's fully transparent black): white where table[v] != 0.
void pack_bilevel(ImageView<const std::uint8_t> gray, const std::uint8_t* white, std::uint8_t* dst);

/// Sauvola's local threshold on one 8-bit gray channel: with m and s the mean and standard
/// deviation of the window x window square centred on a pixel (the image's edge rows and
/// columns repeated beyond it), T = m * (1 + k * (s / 128 - 1)); the pixel is white where
/// v > T - as OpenCV contrib's niBlackThreshold with BINARIZATION_SAUVOLA, THRESH_BINARY and
/// r = 128, but in exact integer sums and double arithmetic where OpenCV uses float. The sums
/// come from integral images, of which only the window's rows are kept (in `scratch`). Writes
/// a bilevel image like pack_bilevel. `window` is odd.
void sauvola_bilevel(ImageView<const std::uint8_t> gray, int window, double k, std::vector<std::uint64_t>& scratch,
                     std::uint8_t* dst);

}  // namespace imgflow
