#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "codec/png_unfilter.hpp"

using namespace imgflow;
using png::UnfilterPath;

namespace {

// The specification's predictor of a byte (PNG, section 9) from its left (a), upper (b) and
// upper-left (c) neighbours, Paeth written as the specification's if-else.
int reference_predictor(int filter, int a, int b, int c) {
  if (filter == 1) return a;
  if (filter == 2) return b;
  if (filter == 3) return (a + b) / 2;
  if (filter == 4) {
    const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    if (pb <= pc) return b;
    return c;
  }
  return 0;
}

// The specification's unfiltering, byte by byte: the reference every path is held to.
std::vector<std::uint8_t> reference_unfilter(const std::vector<std::uint8_t>& filtered, int bpp, std::size_t n,
                                             std::size_t height) {
  std::vector<std::uint8_t> out(n * height);
  for (std::size_t y = 0; y < height; ++y) {
    const std::uint8_t filter = filtered[y * (n + 1)];
    for (std::size_t i = 0; i < n; ++i) {
      const int x = filtered[y * (n + 1) + 1 + i];
      const int a = i >= static_cast<std::size_t>(bpp) ? out[y * n + i - bpp] : 0;
      const int b = y > 0 ? out[(y - 1) * n + i] : 0;
      const int c = y > 0 && i >= static_cast<std::size_t>(bpp) ? out[(y - 1) * n + i - bpp] : 0;
      out[y * n + i] = static_cast<std::uint8_t>(x + reference_predictor(filter, a, b, c));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("unfiltering: every path equals the specification on random rows of every filter and width") {
  std::mt19937 rng(20261130);
  int paths_run = 0;
  for (const UnfilterPath path : {UnfilterPath::scalar, UnfilterPath::sse41, UnfilterPath::avx2}) {
    if (!png::unfilter_path_supported(path)) {
      MESSAGE("unfilter path " << png::unfilter_path_name(path) << " not supported by this CPU: not tested");
      continue;
    }
    ++paths_run;
    CAPTURE(png::unfilter_path_name(path));
    for (const int bpp : {1, 2, 3, 4, 6, 8}) {
      CAPTURE(bpp);
      // Widths around the vector sizes, each filter on the first row (whose row above is zeros),
      // and pixel data either random or nearly flat (where Paeth's ties and Avg's odd sums are
      // common).
      for (const std::size_t width : {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 64, 101, 300}) {
        for (const int first_filter : {0, 1, 2, 3, 4}) {
          const bool flat = rng() % 2 == 0;
          CAPTURE(width);
          CAPTURE(first_filter);
          CAPTURE(flat);
          const std::size_t n = width * bpp, height = 12;
          std::vector<std::uint8_t> filtered(height * (n + 1));
          for (std::size_t y = 0; y < height; ++y) {
            filtered[y * (n + 1)] = static_cast<std::uint8_t>(y < 10 ? (first_filter + y) % 5 : rng() % 5);
            for (std::size_t i = 1; i <= n; ++i) {
              const auto r = static_cast<unsigned>(rng());
              filtered[y * (n + 1) + i] = static_cast<std::uint8_t>(flat ? (r % 3 == 0 ? 255 - r % 2 : r % 2) : r);
            }
          }
          std::vector<std::uint8_t> pixels(n * height, 0xA5);
          REQUIRE(png::unfilter_image(path, bpp, filtered.data(), pixels.data(), n, height));
          REQUIRE(pixels == reference_unfilter(filtered, bpp, n, height));
        }
      }
    }
  }
  CHECK(paths_run >= 1);
}

TEST_CASE("unfiltering: a filter type above 4 or an unknown pixel width is refused") {
  std::vector<std::uint8_t> filtered(3 * 9, 0), pixels(3 * 8);
  CHECK(png::unfilter_image(4, filtered.data(), pixels.data(), 8, 3));
  filtered[2 * 9] = 5;
  CHECK_FALSE(png::unfilter_image(4, filtered.data(), pixels.data(), 8, 3));
  filtered[2 * 9] = 0;
  CHECK_FALSE(png::unfilter_image(5, filtered.data(), pixels.data(), 10, 3));
}

TEST_CASE("unfiltering: text-like pages (flat rows, runs, glyph edges) filtered every way come back exactly on every path") {
  // Pixels first, then filtered by the specification (section 9), so that rows above are flat
  // where a page's paper is: where Paeth at one or two bytes a pixel reverses 16 bytes at once.
  std::mt19937 rng(20261207);
  for (const UnfilterPath path : {UnfilterPath::scalar, UnfilterPath::sse41, UnfilterPath::avx2}) {
    if (!png::unfilter_path_supported(path)) continue;
    CAPTURE(png::unfilter_path_name(path));
    for (const int bpp : {1, 2, 3, 4}) {
      for (const std::size_t width : {16, 17, 33, 100, 257, 1654}) {
        CAPTURE(bpp);
        CAPTURE(width);
        const std::size_t n = width * bpp, height = 24;
        std::vector<std::uint8_t> image(n * height);
        for (std::size_t y = 0; y < height; ++y) {
          std::uint8_t* row = image.data() + y * n;
          if (rng() % 3 == 0) {  // paper
            std::fill(row, row + n, 255);
            continue;
          }
          // Runs of one value, pixel-aligned or not, some as long as a vector, some a byte.
          for (std::size_t i = 0; i < n;) {
            const std::size_t run = std::min<std::size_t>(n - i, rng() % 4 == 0 ? 1 + rng() % 3 : 1 + rng() % 40);
            const auto value = static_cast<std::uint8_t>(rng() % 2 ? 255 : rng());
            std::fill(row + i, row + i + run, value);
            i += run;
          }
        }
        std::vector<std::uint8_t> filtered(height * (n + 1));
        for (std::size_t y = 0; y < height; ++y) {
          const int filter = y % 3 ? 4 : static_cast<int>(rng() % 5);  // mostly Paeth
          filtered[y * (n + 1)] = static_cast<std::uint8_t>(filter);
          for (std::size_t i = 0; i < n; ++i) {
            const int x = image[y * n + i];
            const int a = i >= static_cast<std::size_t>(bpp) ? image[y * n + i - bpp] : 0;
            const int b = y > 0 ? image[(y - 1) * n + i] : 0;
            const int c = y > 0 && i >= static_cast<std::size_t>(bpp) ? image[(y - 1) * n + i - bpp] : 0;
            filtered[y * (n + 1) + 1 + i] = static_cast<std::uint8_t>(x - reference_predictor(filter, a, b, c));
          }
        }
        std::vector<std::uint8_t> pixels(n * height, 0xA5);
        REQUIRE(png::unfilter_image(path, bpp, filtered.data(), pixels.data(), n, height));
        CHECK(pixels == image);
      }
    }
  }
}
