// The pixel kernels the decoders use, each against a reference that does not share its code:
// OpenCV's flips and rotations for orientation, the formulas written out for CMYK and alpha,
// bit-by-bit reads for bilevel rows.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/bilevel.hpp"
#include "kernels/colour.hpp"
#include "kernels/orient.hpp"

using namespace imgflow;

TEST_CASE("orient_pixels matches OpenCV's flips and rotations for orientations 1-8, any pixel size") {
  std::mt19937 rng(7);
  for (const int channels : {1, 3, 4}) {
    for (const auto& [w, h] : {std::pair{1, 1}, std::pair{7, 3}, std::pair{3, 7}, std::pair{16, 9}}) {
      cv::Mat stored(h, w, CV_8UC(channels));
      for (auto it = stored.datastart; it != stored.dataend; ++it) *const_cast<uchar*>(it) = static_cast<uchar>(rng());
      for (int o = 1; o <= 8; ++o) {
        CAPTURE(channels);
        CAPTURE(w);
        CAPTURE(h);
        CAPTURE(o);
        // What each orientation's display needs (TIFF 6.0 / EXIF 2.3 tag 274).
        cv::Mat want;
        switch (o) {
          case 1: want = stored.clone(); break;
          case 2: cv::flip(stored, want, 1); break;
          case 3: cv::rotate(stored, want, cv::ROTATE_180); break;
          case 4: cv::flip(stored, want, 0); break;
          case 5: cv::transpose(stored, want); break;
          case 6: cv::rotate(stored, want, cv::ROTATE_90_CLOCKWISE); break;
          case 7: cv::transpose(stored, want), cv::rotate(want, want, cv::ROTATE_180); break;
          case 8: cv::rotate(stored, want, cv::ROTATE_90_COUNTERCLOCKWISE); break;
        }
        cv::Mat got(orientation_transposes(o) ? w : h, orientation_transposes(o) ? h : w, stored.type());
        orient_pixels(stored.data, w, h, static_cast<std::size_t>(channels), o, got.data);
        CHECK(cv::norm(got, want, cv::NORM_INF) == 0);
      }
    }
  }
}

TEST_CASE("cmyk_to_rgb: (255 - C)(255 - K) / 255 rounded, plain and Adobe-inverted, in place") {
  std::vector<std::uint8_t> cmyk;
  for (int c = 0; c < 256; c += 5)
    for (int k = 0; k < 256; k += 3) cmyk.insert(cmyk.end(), {static_cast<std::uint8_t>(c), static_cast<std::uint8_t>(255 - c),
                                                              static_cast<std::uint8_t>(c / 2), static_cast<std::uint8_t>(k)});
  const std::size_t pixels = cmyk.size() / 4;
  for (const bool inverted : {false, true}) {
    std::vector<std::uint8_t> rgb = cmyk;
    cmyk_to_rgb(rgb.data(), pixels, inverted, rgb.data());
    for (std::size_t i = 0; i < pixels; ++i)
      for (int c = 0; c < 3; ++c) {
        const double ink = inverted ? 255 - cmyk[i * 4 + c] : cmyk[i * 4 + c];
        const double black = inverted ? 255 - cmyk[i * 4 + 3] : cmyk[i * 4 + 3];
        const double want = std::floor((255 - ink) * (255 - black) / 255 + 0.5);
        REQUIRE(rgb[i * 3 + c] == want);
      }
  }
}

TEST_CASE("unpremultiply: c * max / a rounded, capped, zero where alpha is zero (8 and 16 bits)") {
  std::vector<std::uint8_t> px8;
  for (int a = 0; a < 256; a += 17)
    for (int c = 0; c <= a; c += 3) px8.insert(px8.end(), {static_cast<std::uint8_t>(c), static_cast<std::uint8_t>(a)});
  px8.insert(px8.end(), {200, 100});  // damaged: colour over alpha
  auto got8 = px8;
  unpremultiply(got8.data(), got8.size() / 2, 2);
  for (std::size_t i = 0; i < px8.size(); i += 2) {
    const double a = px8[i + 1], c = px8[i];
    CHECK(got8[i] == (a == 0 ? 0 : std::min(255.0, std::floor(c * 255 / a + 0.5))));
    CHECK(got8[i + 1] == px8[i + 1]);
  }
  std::vector<std::uint16_t> px16{1000, 2000, 3000, 4000, 65535, 65535, 65535, 65535, 5, 5, 5, 0, 100, 200, 300, 30000};
  auto got16 = px16;
  unpremultiply(got16.data(), 4, 4);
  for (std::size_t i = 0; i < px16.size(); i += 4)
    for (int c = 0; c < 3; ++c) {
      const double a = px16[i + 3], v = px16[i + static_cast<std::size_t>(c)];
      CHECK(got16[i + static_cast<std::size_t>(c)] == (a == 0 ? 0 : std::min(65535.0, std::floor(v * 65535 / a + 0.5))));
    }
}

TEST_CASE("bilevel rows: widening reads each bit, tables that keep black and white keep a page bilevel") {
  const int width = 13, height = 3;  // 2 bytes a row, 3 padding bits
  std::vector<std::uint8_t> packed{0b10110000, 0b00001111, 0b01111111, 0b11111000, 0x00, 0x00};
  std::vector<std::uint8_t> wide(static_cast<std::size_t>(width * height));
  unpack_bilevel(packed.data(), width, height, wide.data());
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const bool bit = (packed[static_cast<std::size_t>(y * 2 + x / 8)] >> (7 - x % 8)) & 1;
      CHECK(wide[static_cast<std::size_t>(y * width + x)] == (bit ? 255 : 0));
    }
  std::vector<std::uint8_t> table(256);
  for (int v = 0; v < 256; ++v) table[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(v);
  CHECK(bilevel_mapping(table.data()) == BilevelMapping::identity);
  for (int v = 0; v < 256; ++v) table[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(255 - v);
  CHECK(bilevel_mapping(table.data()) == BilevelMapping::invert);
  table[255] = 255;
  CHECK(bilevel_mapping(table.data()) == BilevelMapping::all_white);
  table[0] = 0, table[255] = 0;
  CHECK(bilevel_mapping(table.data()) == BilevelMapping::all_black);
  table[255] = 200;
  CHECK(bilevel_mapping(table.data()) == BilevelMapping::widen);
  auto inverted = packed;
  map_bilevel(inverted.data(), inverted.size(), BilevelMapping::invert);
  for (std::size_t i = 0; i < packed.size(); ++i) CHECK(inverted[i] == static_cast<std::uint8_t>(~packed[i]));
}
