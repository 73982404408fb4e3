// The library's single-image level and declarations (include/imgflow/imgflow.hpp), in process:
// run here and under ASan+UBSan, where the Python tests (release only) cannot reach. Expected
// values come from bild's tables and from OpenCV's decoder.
#include <doctest/doctest.h>
#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <set>

#include "imgflow/imgflow.hpp"
#include "tests/support.hpp"

namespace {

std::vector<imgflow::Step> tutorial() { return {imgflow::step("brightness", 0.25), imgflow::step("contrast", 0.25)}; }

// bild's table for the tutorial chain (reference/bild-tables.tsv).
std::vector<int> bild_table() {
  const auto tables = imgflow::test::reference_tables();
  const auto found = tables.find("brightness=0.25,contrast=0.25");
  REQUIRE(found != tables.end());
  return found->second;
}

}  // namespace

TEST_CASE("api: apply_in_place on a strided view changes the view exactly as bild, and no byte around it") {
  const std::vector<int> table = bild_table();
  // A 40 x 30 RGBA window inside a 64-pixel-wide buffer with guard rows above and below.
  const int width = 40, height = 30, stride = 64 * 4;
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(stride) * (height + 2));
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<std::uint8_t>(i * 7);
  const std::vector<std::uint8_t> before = buffer;
  imgflow::MutablePixelView view{buffer.data() + stride, width, height, 4, 8, stride};
  imgflow::apply_in_place(view, tutorial());
  for (std::size_t i = 0; i < buffer.size(); ++i) {
    const std::size_t row = i / stride, column = i % stride;
    const bool inside = row >= 1 && row <= static_cast<std::size_t>(height) && column < static_cast<std::size_t>(width) * 4;
    const bool alpha = column % 4 == 3;
    const int expected = inside && !alpha ? table[before[i]] : before[i];
    REQUIRE(int{buffer[i]} == expected);
  }
}

TEST_CASE("api: apply makes new layouts (grayscale, threshold) and keeps 1-bit pages 0 and 255") {
  imgflow::ImageData rgb;
  rgb.width = 17, rgb.height = 5, rgb.channels = 3;
  for (int i = 0; i < 17 * 5 * 3; ++i) rgb.pixels.push_back(static_cast<std::uint8_t>(i * 13));
  const imgflow::ImageData gray = imgflow::apply(rgb, std::vector<imgflow::Step>{{"grayscale", ""}});
  CHECK(gray.channels == 1);
  CHECK(gray.pixels.size() == 17u * 5u);
  const imgflow::ImageData bilevel = imgflow::apply(rgb, std::vector<imgflow::Step>{{"threshold", "128"}});
  CHECK(bilevel.bilevel);
  CHECK(bilevel.pixels.size() == 17u * 5u);
  for (const std::uint8_t v : bilevel.pixels) CHECK((v == 0 || v == 255));
  // A 1-bit page through a table that keeps black and white: still 1-bit, same pixels.
  const imgflow::ImageData again = imgflow::apply(bilevel, std::vector<imgflow::Step>{{"contrast", "0.5"}});
  CHECK(again.bilevel);
  CHECK(again.pixels == bilevel.pixels);
  // In place, a step that changes the layout is refused and the buffer left as it was.
  std::vector<std::uint8_t> copy = rgb.pixels;
  CHECK_THROWS_WITH_AS(imgflow::apply_in_place({copy.data(), 17, 5, 3, 8, 51}, std::vector<imgflow::Step>{{"grayscale", ""}}),
                       doctest::Contains("apply it into a new image"), imgflow::Error);
  CHECK(copy == rgb.pixels);
}

TEST_CASE("api: encode, then decode and OpenCV read back the same pixels, and 16-bit RGBA to JPEG is reported") {
  imgflow::ImageData image;
  image.width = 33, image.height = 21, image.channels = 4, image.bit_depth = 16;
  image.dpi_x = image.dpi_y = 300;
  for (int i = 0; i < 33 * 21 * 4; ++i) {
    const std::uint16_t v = static_cast<std::uint16_t>(i * 977);
    image.pixels.push_back(static_cast<std::uint8_t>(v & 0xff));
    image.pixels.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  for (const char* format : {"png", "tiff"}) {
    const std::vector<std::uint8_t> bytes = imgflow::encode(image, format);
    const imgflow::ImageData back = imgflow::decode(bytes);
    CHECK(back.pixels == image.pixels);
    CHECK(back.dpi_x == 300);
    const cv::Mat theirs = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    REQUIRE(theirs.depth() == CV_16U);
    REQUIRE(theirs.channels() == 4);
    const auto* ours = reinterpret_cast<const std::uint16_t*>(image.pixels.data());
    for (int y = 0; y < 21; ++y)
      for (int x = 0; x < 33; ++x) {
        const auto& bgra = theirs.at<cv::Vec<std::uint16_t, 4>>(y, x);
        const std::size_t at = (static_cast<std::size_t>(y) * 33 + x) * 4;
        REQUIRE(bgra[0] == ours[at + 2]);
        REQUIRE(bgra[1] == ours[at + 1]);
        REQUIRE(bgra[2] == ours[at]);
        REQUIRE(bgra[3] == ours[at + 3]);
      }
  }
  std::vector<std::string> fitted;
  const std::vector<std::uint8_t> jpeg = imgflow::encode(image, "jpeg", {}, &fitted);
  CHECK(fitted.size() == 2);  // 16 bits cut to 8, alpha flattened
  CHECK(imgflow::decode(jpeg).bit_depth == 8);
}

TEST_CASE("api: errors name the stage and the file") {
  const std::vector<std::uint8_t> junk{'n', 'o', 't'};
  CHECK_THROWS_WITH_AS(imgflow::decode(junk), doctest::Contains("decode: not an image"), imgflow::Error);
  try {
    imgflow::decode_file("/nonexistent/x.png");
    FAIL("no error");
  } catch (const imgflow::Error& e) {
    CHECK(e.stage() == "read");
    CHECK(e.file() == "/nonexistent/x.png");
  }
  const std::uint8_t pixel = 0;
  CHECK_THROWS_WITH_AS(imgflow::apply(imgflow::PixelView{&pixel, 1, 1, 5, 8, 5}, tutorial()),
                       doctest::Contains("5 channels"), imgflow::Error);
  CHECK_THROWS_WITH_AS(imgflow::apply(imgflow::PixelView{&pixel, 1, 1, 1, 8, 1}, std::vector<imgflow::Step>{{"gamma", "0"}}),
                       doctest::Contains("gamma must be"), imgflow::Error);
  CHECK_THROWS_WITH_AS(imgflow::apply(imgflow::PixelView{&pixel, 1, 1, 1, 8, 1}, std::vector<imgflow::Step>{{"dpi", "300"}}),
                       doctest::Contains("no resolution"), imgflow::Error);
  imgflow::Settings settings;
  settings.inputs = {"in"};
  settings.output_dir = "out";
  settings.format = "png";
  settings.quality = 50;
  CHECK_THROWS_WITH_AS(imgflow::run(settings), doctest::Contains("--quality applies"), imgflow::Error);
}

TEST_CASE("api: declarations: every setting and operation named once, each with its help") {
  std::set<std::string_view> names;
  for (const imgflow::Declaration& d : imgflow::setting_declarations()) {
    CHECK(names.insert(d.name).second);
    CHECK(!d.help.empty());
    CHECK(!d.type.empty());
  }
  CHECK(names.count("skip_existing"));
  std::set<std::string_view> operations;
  for (const imgflow::Declaration& d : imgflow::operation_declarations()) {
    CHECK(operations.insert(d.name).second);
    CHECK(d.flag == "--" + std::string(d.name));
  }
  for (const char* op : {"brightness", "contrast", "gamma", "invert", "grayscale", "normalize", "threshold", "deskew", "dpi"})
    CHECK(operations.count(op));
  CHECK(imgflow::step("x", 0.1).value == "0.1");
  CHECK(imgflow::step("x", 1.0 / 3).value == "0.3333333333333333");
}
