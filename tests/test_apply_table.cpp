#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "kernels/apply_table.hpp"
#include "kernels/lookup_table.hpp"

using namespace imgflow;

namespace {

template <typename T>
void check_fast_equals_reference(int width, int height, int channels, std::ptrdiff_t padding,
                                 std::mt19937& rng, bool runs = false) {
  CAPTURE(runs);
  CAPTURE(width);
  CAPTURE(height);
  CAPTURE(channels);
  CAPTURE(padding);
  CAPTURE(sizeof(T));
  // A random table so that a wrong index or a skipped/extra sample shows.
  std::vector<T> table(std::size_t{1} << (8 * sizeof(T)));
  for (auto& v : table) v = static_cast<T>(rng());

  const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(width) * channels + padding;
  std::vector<T> src(static_cast<std::size_t>(stride * height + 1));
  for (auto& v : src) v = static_cast<T>(rng());
  // Runs of one value, as paper is (the vector paths take 32 equal bytes in one lookup).
  if (runs)
    for (std::size_t at = 0; at < src.size();) {
      const std::size_t length = 1 + rng() % 100;
      const T value = static_cast<T>(rng());
      for (std::size_t end = std::min(src.size(), at + length); at < end; ++at) src[at] = value;
    }
  const ImageView<const T> in{src.data(), width, height, channels, stride};

  std::vector<T> expected(src.size(), 7), fast(src.size(), 7);
  apply_table_reference(in, ImageView<T>{expected.data(), width, height, channels, stride}, table.data());
  apply_table(in, ImageView<T>{fast.data(), width, height, channels, stride}, table.data());
  REQUIRE(fast == expected);  // padding samples untouched by both
  if constexpr (sizeof(T) == 1) {
    for (const LutPath path : {LutPath::scalar, LutPath::avx2, LutPath::avx512vbmi}) {
      if (!lut_path_supported(path)) continue;
      CAPTURE(lut_path_name(path));
      std::vector<T> on_path(src.size(), 7);
      apply_table(in, ImageView<T>{on_path.data(), width, height, channels, stride}, table.data(), path);
      REQUIRE(on_path == expected);
    }
  }

  auto in_place = src;
  apply_table(ImageView<const T>{in_place.data(), width, height, channels, stride},
              ImageView<T>{in_place.data(), width, height, channels, stride}, table.data());
  for (int y = 0; y < height; ++y)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(width) * channels; ++i)
      REQUIRE(in_place[y * stride + i] == expected[y * stride + i]);
}

}  // namespace

TEST_CASE("table kernel equals the naive reference for every layout and depth") {
  std::mt19937 rng(2024);
  for (int channels = 1; channels <= 4; ++channels)
    for (const auto& [w, h] : {std::pair{1, 1}, {3, 5}, {17, 3}, {64, 2}, {257, 4}, {1000, 3}})
      for (const std::ptrdiff_t padding : {0, 3})
        for (const bool runs : {false, true}) {
          check_fast_equals_reference<std::uint8_t>(w, h, channels, padding, rng, runs);
          check_fast_equals_reference<std::uint16_t>(w, h, channels, padding, rng, runs);
        }
}

TEST_CASE("alpha passes through untouched, colour goes through the table") {
  const auto tables = build_tables(*parse_chain("invert"));
  std::vector<std::uint8_t> ga{10, 20, 30, 40};  // two gray+alpha pixels
  apply_table(ImageView<const std::uint8_t>{ga.data(), 2, 1, 2, 4},
              ImageView<std::uint8_t>{ga.data(), 2, 1, 2, 4}, tables.lut8().data());
  CHECK(ga == std::vector<std::uint8_t>{245, 20, 225, 40});

  std::vector<std::uint16_t> rgba{0, 1, 65535, 1234};
  apply_table(ImageView<const std::uint16_t>{rgba.data(), 1, 1, 4, 4},
              ImageView<std::uint16_t>{rgba.data(), 1, 1, 4, 4}, tables.lut16().data());
  CHECK(rgba == std::vector<std::uint16_t>{65535, 65534, 0, 1234});
}
