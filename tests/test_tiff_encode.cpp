// The TIFF encoder, read back by decoders that are not ours: OpenCV's (libtiff underneath, none
// of our code) for the pixels, libtiff's tiffinfo for the tags, and the G4 fax page of the
// formats corpus for the size of a bilevel page.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fstream>
#include <random>
#include <string>

#include "codec/decode.hpp"
#include "codec/metadata.hpp"
#include "codec/tiff_encode.hpp"
#include "files/file_io.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

// test::random_image, with a bilevel row's bits past its last pixel zero, as decoders make them.
Image random_page(int width, int height, int channels, int depth, std::mt19937& rng) {
  Image image = test::random_image(width, height, channels, depth, rng);
  if (depth == 1)
    for (int y = 0; y < height; ++y) image.pixels[(y + 1) * image.row_bytes() - 1] &= static_cast<std::uint8_t>(0xFF << (8 - width % 8) % 8);
  return image;
}

// The image as OpenCV holds it: 8 or 16 bits, colour in BGR(A) order, a bilevel page as 0/255.
cv::Mat expected_mat(const Image& image) {
  if (image.bit_depth == 1) {
    cv::Mat gray(image.height, image.width, CV_8UC1);
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x)
        gray.at<std::uint8_t>(y, x) = (image.pixels[y * image.row_bytes() + x / 8] >> (7 - x % 8)) & 1 ? 255 : 0;
    return gray;
  }
  const int type = CV_MAKETYPE(image.bit_depth == 16 ? CV_16U : CV_8U, image.channels);
  cv::Mat mat(image.height, image.width, type, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat out = mat.clone();
  if (image.channels == 3) cv::cvtColor(out, out, cv::COLOR_RGB2BGR);
  if (image.channels == 4) cv::cvtColor(out, out, cv::COLOR_RGBA2BGRA);
  return out;
}

fs::path write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}


}  // namespace

TEST_CASE("TIFF encoder: every layout reads back exactly with OpenCV, bilevel as CCITT G4, the rest Deflate with the predictor") {
  test::TempDir dir;
  std::mt19937 rng(11);
  struct Layout {
    int channels, depth;
    const char* compression;
  };
  for (const Layout layout : {Layout{1, 1, "CCITT Group 4"}, Layout{1, 8, "AdobeDeflate"}, Layout{1, 16, "AdobeDeflate"},
                              Layout{3, 8, "AdobeDeflate"}, Layout{3, 16, "AdobeDeflate"}, Layout{4, 8, "AdobeDeflate"},
                              Layout{4, 16, "AdobeDeflate"}}) {
    CAPTURE(layout.channels);
    CAPTURE(layout.depth);
    const Image image = random_page(203, 67, layout.channels, layout.depth, rng);
    Bytes tiff;
    encode_tiff(image, {}, "imgflow test", "a description", tiff);
    const fs::path file = write_bytes(dir / "page.tif", tiff);
    if (layout.channels == 4 && layout.depth == 8) {
      // OpenCV reads 8-bit RGBA through libtiff's RGBA interface, which premultiplies: our
      // decoder reads it back instead (16-bit RGBA is read by OpenCV below).
      Image back;
      DecodeNotes notes;
      decode_image(read_file(file), {}, 0, back, notes);
      CHECK(back.pixels == image.pixels);
    } else {
      const cv::Mat got = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
      const cv::Mat want = expected_mat(image);
      REQUIRE(!got.empty());
      REQUIRE(got.type() == want.type());
      CHECK(cv::norm(got, want, cv::NORM_INF) == 0);
    }
    const std::string info = test::tiffinfo(file);
    CHECK(info.find(std::string("Compression Scheme: ") + layout.compression) != std::string::npos);
    CHECK(info.find("Software: imgflow test") != std::string::npos);
    CHECK(info.find("ImageDescription: a description") != std::string::npos);
    if (layout.depth == 1) CHECK(info.find("Photometric Interpretation: min-is-white") != std::string::npos);
    if (layout.depth != 1) CHECK(info.find("Predictor: horizontal differencing") != std::string::npos);
    if (layout.channels == 4) CHECK(info.find("Extra Samples: 1<unassoc-alpha>") != std::string::npos);
  }
  // Gray+alpha, which OpenCV does not read: its tags, and its samples read back by our decoder.
  const Image gray_alpha = random_page(31, 9, 2, 8, rng);
  Bytes tiff;
  encode_tiff(gray_alpha, {}, {}, {}, tiff);
  const fs::path file = write_bytes(dir / "gray-alpha.tif", tiff);
  const std::string info = test::tiffinfo(file);
  CHECK(info.find("Samples/Pixel: 2") != std::string::npos);
  CHECK(info.find("Extra Samples: 1<unassoc-alpha>") != std::string::npos);
  CHECK(info.find("Photometric Interpretation: min-is-black") != std::string::npos);
  const auto bytes = read_file(file);
  Image back;
  DecodeNotes notes;
  decode_image(bytes, {}, 0, back, notes);
  CHECK((back.channels == 2 && back.bit_depth == 8));
  CHECK(back.pixels == gray_alpha.pixels);
}

TEST_CASE("TIFF encoder: resolution and ICC profile carried, other compressions and refusals") {
  test::TempDir dir;
  // The corpus's RGB JPEG, given 300 dpi.
  const auto jpeg = read_file(test::shared_dir() / "corpus" / "formats" / "Pillow__pil_sample_rgb.jpg");
  Image image;
  DecodeNotes notes;
  decode_image(jpeg, {}, 0, image, notes);
  set_resolution_dpi(image, 300);
  Bytes tiff;
  encode_tiff(image, {}, {}, {}, tiff);
  const fs::path file = write_bytes(dir / "photo.tif", tiff);
  const std::string info = test::tiffinfo(file);
  CHECK(info.find("Resolution: 300, 300 pixels/inch") != std::string::npos);
  const cv::Mat got = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
  CHECK(cv::norm(got, expected_mat(image), cv::NORM_INF) == 0);

  // An iCCP profile goes out as the ICC tag, byte for byte.
  const auto g4 = read_file(test::shared_dir() / "corpus" / "formats" / "Pillow__pport_g4.tif");
  Image fax;
  decode_image(g4, {}, 0, fax, notes);
  const std::vector<std::uint8_t> profile = icc_profile(fax);
  REQUIRE(profile.size() == 3588);
  encode_tiff(fax, {}, {}, {}, tiff);
  const fs::path fax_file = write_bytes(dir / "fax.tif", tiff);
  const auto exif = test::run_program("/usr/bin/exiftool", {"-b", "-ICC_Profile", fax_file.string()});
  CHECK(exif.out == std::string(profile.begin(), profile.end()));
  CHECK(test::tiffinfo(fax_file).find("Resolution: 200, 200 pixels/inch") != std::string::npos);
  // A G4 page no larger than the scanner's own G4 file it came from.
  CHECK(tiff.size() <= g4.size());
  MESSAGE("G4 fax page: " << g4.size() << " bytes in, " << tiff.size() << " bytes out");

  // LZW, JPEG and none, where the layout allows; refusals name the layout.
  encode_tiff(image, {TiffCompression::lzw}, {}, {}, tiff);
  CHECK(test::tiffinfo(write_bytes(dir / "lzw.tif", tiff)).find("Compression Scheme: LZW") != std::string::npos);
  CHECK(cv::norm(cv::imread((dir / "lzw.tif").string(), cv::IMREAD_UNCHANGED), expected_mat(image), cv::NORM_INF) == 0);
  encode_tiff(image, {TiffCompression::none}, {}, {}, tiff);
  CHECK(tiff.size() > static_cast<std::size_t>(image.byte_size()));
  encode_tiff(image, {TiffCompression::jpeg, 90}, {}, {}, tiff);
  CHECK(test::tiffinfo(write_bytes(dir / "jpeg.tif", tiff)).find("Compression Scheme: JPEG") != std::string::npos);
  std::mt19937 rng(3);
  CHECK_THROWS_WITH_AS(encode_tiff(random_page(8, 8, 1, 8, rng), {TiffCompression::g4}, {}, {}, tiff),
                       "CCITT G4 compression holds 1-bit pages only (this one is 8-bit gray)", EncodeError);
  CHECK_THROWS_WITH_AS(encode_tiff(random_page(8, 8, 3, 16, rng), {TiffCompression::jpeg}, {}, {}, tiff),
                       "JPEG compression holds 8-bit gray or RGB without alpha only (this page is 16-bit RGB)", EncodeError);
}
