// The TIFF encoder, read back by decoders that are not ours: OpenCV's (libtiff underneath, none
// of our code) for the pixels, libtiff's tiffinfo for the tags, and the G4 fax page of the
// formats corpus for the size of a bilevel page.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <tiffio.h>

#include <array>
#include <fstream>
#include <random>
#include <string>

#include "codec/decode.hpp"
#include "codec/encode.hpp"
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

namespace {

// A bilevel page (1 white, 0 black, as Image holds it) from a function of (x, y) -> black. The
// bits past a row's last pixel, which the coder must ignore, are 0101... or 1010...
template <typename Black>
Image bilevel_page(int width, int height, Black&& black) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = 1;
  image.bit_depth = 1;
  image.pixels.assign(image.byte_size(), 0);
  for (int y = 0; y < height; ++y) {
    image.pixels[(y + 1) * image.row_bytes() - 1] = y % 2 ? 0x55 : 0xAA;
    for (int x = 0; x < width; ++x) {
      auto& byte = image.pixels[y * image.row_bytes() + x / 8];
      const auto bit = static_cast<std::uint8_t>(0x80 >> x % 8);
      byte = static_cast<std::uint8_t>(black(x, y) ? byte & ~bit : byte | bit);
    }
  }
  return image;
}

// The size of the G4 strip libtiff's own coder makes of a page (the standard's greedy choice of
// modes, as ImageMagick, Pillow and scanners' libtiff-based software write it).
std::size_t libtiff_g4_bytes(const Image& image, const fs::path& file) {
  TIFF* out = TIFFOpen(file.c_str(), "w");
  REQUIRE(out);
  TIFFSetField(out, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(image.width));
  TIFFSetField(out, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(image.height));
  TIFFSetField(out, TIFFTAG_BITSPERSAMPLE, 1);
  TIFFSetField(out, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(out, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
  TIFFSetField(out, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
  TIFFSetField(out, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(image.height));
  std::vector<std::uint8_t> bits(image.pixels.begin(), image.pixels.end());
  for (auto& b : bits) b = static_cast<std::uint8_t>(~b);  // min-is-white
  if (image.width % 8)  // (white past the last pixel)
    for (int y = 0; y < image.height; ++y) bits[(y + 1) * image.row_bytes() - 1] &= static_cast<std::uint8_t>(0xFF00 >> image.width % 8);
  REQUIRE(TIFFWriteEncodedStrip(out, 0, bits.data(), static_cast<tmsize_t>(bits.size())) >= 0);
  TIFFClose(out);
  TIFF* in = TIFFOpen(file.c_str(), "r");
  REQUIRE(in);
  const auto size = static_cast<std::size_t>(TIFFRawStripSize(in, 0));
  TIFFClose(in);
  return size;
}

}  // namespace

TEST_CASE("CCITT G4 coder: every run length and mode read back by libtiff's and poppler's decoders, never larger than libtiff's coder") {
  test::TempDir dir;
  std::mt19937 rng(5);
  std::vector<std::pair<std::string, Image>> pages;
  // Rows of alternating runs of every length from 1 to 2700 pixels, white and black, on a line
  // wider than two of T.4's longest make-up codes; an all-white and an all-black row among them.
  pages.emplace_back("runs", bilevel_page(5300, 2702, [](int x, int y) {
                       if (y >= 2700) return y == 2700;
                       return ((x + y % 7) / (y + 1)) % 2 == 1;
                     }));
  // Noise of three densities on widths around a byte's edges, one pixel wide to odd.
  for (const int width : {1, 7, 8, 9, 63, 65, 1001})
    for (const double density : {0.03, 0.5, 0.97}) {
      std::bernoulli_distribution black(density);
      pages.emplace_back("noise " + std::to_string(width) + " " + std::to_string(density),
                         bilevel_page(width, 61, [&](int, int) { return black(rng); }));
    }
  // Strokes and blobs: rectangles of every size, where pass, vertical and horizontal modes meet.
  std::vector<std::array<int, 4>> boxes;
  for (int i = 0; i < 400; ++i) {
    const int x = static_cast<int>(rng() % 900), y = static_cast<int>(rng() % 700);
    boxes.push_back({x, y, x + 1 + static_cast<int>(rng() % 40), y + 1 + static_cast<int>(rng() % 60)});
  }
  pages.emplace_back("boxes", bilevel_page(917, 733, [&](int x, int y) {
                       int inside = 0;
                       for (const auto& b : boxes) inside += x >= b[0] && x < b[2] && y >= b[1] && y < b[3];
                       return inside % 2 == 1;
                     }));
  // A scanner's text page: the corpus's 200 dpi G4 fax page (Pillow's test file).
  const auto fax_file = read_file(test::shared_dir() / "corpus" / "formats" / "Pillow__pport_g4.tif");
  Image fax;
  DecodeNotes notes;
  decode_image(fax_file, {}, 0, fax, notes);
  fax.metadata.clear();
  REQUIRE(fax.bit_depth == 1);
  pages.emplace_back("fax", std::move(fax));

  for (const auto& [name, page] : pages) {
    CAPTURE(name);
    Bytes tiff;
    encode_tiff(page, {TiffCompression::g4}, {}, {}, tiff);
    const fs::path file = write_bytes(dir / "ours.tif", tiff);
    CHECK(test::tiffinfo(file).find("Compression Scheme: CCITT Group 4") != std::string::npos);
    CHECK(cv::norm(cv::imread(file.string(), cv::IMREAD_UNCHANGED), expected_mat(page), cv::NORM_INF) == 0);
    TIFF* in = TIFFOpen(file.c_str(), "r");
    REQUIRE(in);
    const auto ours = static_cast<std::size_t>(TIFFRawStripSize(in, 0));
    TIFFClose(in);
    const std::size_t theirs = libtiff_g4_bytes(page, dir / "libtiff.tif");
    CHECK(ours <= theirs);
    // poppler's T.6 decoder, which is not libtiff's, on the same data in a PDF (pdfimages).
    Image copy = page;
    Bytes pdf;
    CodecScratch scratch;
    encode_pdf_output(copy, {}, pdf, scratch);
    write_bytes(dir / "page.pdf", pdf);
    REQUIRE(test::run_program("/usr/bin/pdfimages", {"-png", (dir / "page.pdf").string(), (dir / "poppler").string()}).exit_code == 0);
    CHECK(cv::norm(cv::imread((dir / "poppler-000.png").string(), cv::IMREAD_UNCHANGED), expected_mat(page), cv::NORM_INF) == 0);
    // On a text page the cheapest modes save what a scan's edges allow: 8.4% on this one.
    if (name == "fax") {
      CHECK(ours * 100 <= theirs * 93);
      MESSAGE("fax page's G4 strip: " << ours << " bytes, libtiff's " << theirs);
    }
  }
}
