#include <doctest/doctest.h>

#include <random>

#include "pipeline/decode.hpp"
#include "pipeline/file_io.hpp"
#include "pipeline/png_codec.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {
Image random_image(int width, int height, int channels, int depth, std::mt19937& rng) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.bit_depth = depth;
  image.allocate();
  for (auto& b : image.pixels) b = static_cast<std::uint8_t>(rng());
  return image;
}
}  // namespace

TEST_CASE("PNG round trip keeps layout, depth and every sample") {
  std::mt19937 rng(7);
  for (int channels = 1; channels <= 4; ++channels)
    for (const int depth : {8, 16})
      for (const int level : {0, 1, 6, 9}) {
        CAPTURE(channels);
        CAPTURE(depth);
        CAPTURE(level);
        const Image image = random_image(37, 11, channels, depth, rng);
        std::vector<std::uint8_t> encoded;
        encode_png(image, encoded, {.zlib_level = level});
        REQUIRE(is_png(encoded));
        const Image decoded = decode_png(encoded, 1'000'000);
        CHECK(decoded.width == 37);
        CHECK(decoded.height == 11);
        CHECK(decoded.channels == channels);
        CHECK(decoded.bit_depth == depth);
        CHECK(decoded.pixels == image.pixels);
      }
}

TEST_CASE("decoder refuses bad data with a reason") {
  std::mt19937 rng(8);
  const Image image = random_image(20, 20, 3, 8, rng);
  std::vector<std::uint8_t> good;
  encode_png(image, good, {});

  CHECK_THROWS_WITH_AS(decode_image({}, 1'000'000), "empty file", std::runtime_error);

  auto truncated = good;
  truncated.resize(good.size() / 2);
  CHECK_THROWS_AS(decode_image(truncated, 1'000'000), std::runtime_error);

  auto bad_crc = good;
  bad_crc[29] ^= 0xFF;  // the IHDR CRC
  CHECK_THROWS_WITH_AS(decode_image(bad_crc, 1'000'000), doctest::Contains("CRC"), std::runtime_error);

  const std::vector<std::uint8_t> text{'h', 'e', 'l', 'l', 'o'};
  CHECK_THROWS_WITH_AS(decode_image(text, 1'000'000), doctest::Contains("not a readable image"),
                       std::runtime_error);

  CHECK_THROWS_WITH_AS(decode_image(good, 399), doctest::Contains("--max-pixels"), std::runtime_error);
  CHECK_NOTHROW(decode_image(good, 400));
}

TEST_CASE("files: atomic write replaces the target and leaves no temporary file") {
  test::TempDir dir;
  const fs::path target = dir / "sub" / "out.png";
  const std::vector<std::uint8_t> first{1, 2, 3}, second{4, 5};
  write_file_atomically(target, first);
  CHECK(read_file(target) == first);
  write_file_atomically(target, second);
  CHECK(read_file(target) == second);
  CHECK(test::files_below(dir.path()) == std::vector<std::string>{"sub/out.png"});

  CHECK_THROWS_WITH_AS(read_file(dir / "missing.png"), doctest::Contains("No such file"), std::runtime_error);
  CHECK_THROWS_WITH_AS(read_file(dir / "sub"), doctest::Contains("Is a directory"), std::runtime_error);
  // A file where a directory must go.
  CHECK_THROWS_WITH_AS(write_file_atomically(target / "x.png", first),
                       doctest::Contains("cannot create directory"), std::runtime_error);
}
