// End-to-end over every format but PNG: the real-world files in ../shared/corpus/formats (each
// with the outcome, page count, size, resolution and ICC profile SOURCES.tsv records for it),
// pixels compared with another decoder (djpeg, opj_decompress, dwebp, ImageMagick), layouts
// made with Debian's own tools (tiffcp, cjpeg, exiftool), and hostile files per format.
#include <doctest/doctest.h>
#include <png.h>

#include <nlohmann/json.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

fs::path formats_dir() { return test::shared_dir() / "corpus" / "formats"; }

std::map<std::string, std::string> row_of(const std::vector<std::string>& header, const std::string& line) {
  std::map<std::string, std::string> row;
  std::istringstream fields(line);
  std::string field;
  for (const auto& name : header) {
    if (!std::getline(fields, field, '\t')) field.clear();
    row[name] = field;
  }
  return row;
}

std::vector<std::map<std::string, std::string>> sources() {
  std::ifstream in(formats_dir() / "SOURCES.tsv");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::istringstream names(line);
  for (std::string name; std::getline(names, name, '\t');) header.push_back(name);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(row_of(header, line));
  return rows;
}

// Runs a Debian tool (from /usr/bin: some machines put stand-ins earlier on the PATH) and
// requires it to succeed.
void tool(const std::string& program, const std::vector<std::string>& args) {
  const auto run = test::run_program("/usr/bin/" + program, args);
  REQUIRE_MESSAGE(run.exit_code == 0, program << " failed: " << run.err);
}

// libpng's warnings when it reads `path` whole (ancillary chunks included).
std::string libpng_warnings(const fs::path& path) {
  std::string warnings;
  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return "cannot open";
  png_structp png = png_create_read_struct(
      PNG_LIBPNG_VER_STRING, &warnings,
      [](png_structp p, png_const_charp message) {
        *static_cast<std::string*>(png_get_error_ptr(p)) += std::string("error: ") + message + "; ";
        png_longjmp(p, 1);
      },
      [](png_structp p, png_const_charp message) {
        *static_cast<std::string*>(png_get_error_ptr(p)) += std::string(message) + "; ";
      });
  png_infop info = png_create_info_struct(png);
  if (!setjmp(png_jmpbuf(png))) {
    png_init_io(png, file);
    png_read_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  std::fclose(file);
  return warnings;
}

// A chunk's data, or empty.
std::vector<std::uint8_t> chunk(const fs::path& png, std::string_view type) {
  for (const auto& c : test::read_png_chunks(png))
    if (c.type == type) return c.data;
  return {};
}

std::uint32_t be32(const std::vector<std::uint8_t>& d, std::size_t at) {
  return std::uint32_t(d[at]) << 24 | d[at + 1] << 16 | d[at + 2] << 8 | d[at + 3];
}

// Pixels as OpenCV reads them, colour in BGR(A) order, for comparison with a reference.
cv::Mat pixels(const fs::path& path) { return cv::imread(path.string(), cv::IMREAD_UNCHANGED); }

std::string compare(const cv::Mat& got, const cv::Mat& want) {
  if (got.empty() || want.empty()) return "an image could not be read";
  if (got.size() != want.size() || got.type() != want.type())
    return "layout differs: " + std::to_string(got.cols) + "x" + std::to_string(got.rows) + " type " +
           std::to_string(got.type()) + " vs " + std::to_string(want.cols) + "x" + std::to_string(want.rows) +
           " type " + std::to_string(want.type());
  const double diff = cv::norm(got, want, cv::NORM_INF);
  return diff == 0 ? std::string{} : "pixels differ by up to " + std::to_string(diff);
}

// Each corpus file in its own folder (two pairs share a stem), run once with an identity chain.
struct CorpusRun {
  test::TempDir dir;
  test::RunResult run;
  std::string failures;
  CorpusRun() {
    for (const auto& entry : fs::directory_iterator(formats_dir())) {
      const auto name = entry.path().filename().string();
      if (name == "SOURCES.tsv" || name == "README.md") continue;
      fs::create_directories(dir.path() / "in" / name);
      fs::copy_file(entry.path(), dir.path() / "in" / name / name);
    }
    run = test::run_imgflow({dir.path() / "in", dir.path() / "out", "-r", "--brightness", "0", "--failures",
                             dir.path() / "failures.tsv"});
    std::ifstream in(dir.path() / "failures.tsv");
    failures.assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::path output(const std::string& file, int page = 0) const {
    fs::path out = dir.path() / "out" / file / fs::path(file).stem();
    if (page) out += "-p" + std::string(4 - std::min<std::size_t>(4, std::to_string(page).size()), '0') + std::to_string(page);
    return out += ".png";
  }
};

const CorpusRun& corpus_run() {
  static const CorpusRun run;
  return run;
}

}  // namespace

TEST_CASE("formats corpus: each file's outcome, pages, size, depth, resolution and ICC profile as recorded") {
  const CorpusRun& c = corpus_run();
  CHECK(c.run.exit_code == 1);  // the corpus holds damaged files on purpose
  std::size_t decoded = 0, rejected = 0;
  for (const auto& row : sources()) {
    const std::string& file = row.at("file");
    CAPTURE(file);
    const fs::path input = c.dir.path() / "in" / file / file;
    if (row.at("expected") == "reject") {
      ++rejected;
      CHECK(c.failures.find(input.string() + "\tdecode\t") != std::string::npos);
      CHECK(c.run.err.find("error: " + input.string() + ": decode: ") != std::string::npos);
      CHECK_FALSE(fs::exists(c.dir.path() / "out" / file));
      continue;
    }
    ++decoded;
    CHECK(c.failures.find(input.string() + "\t") == std::string::npos);
    // Pages: a TIFF's pages, less its reduced-resolution overviews; one for everything else
    // (animations give their first frame).
    const bool overviews = row.at("notes").find("overviews") != std::string::npos;
    const int pages = row.at("format") == "tiff" && !overviews ? std::stoi(row.at("pages")) : 1;
    const fs::path first = c.output(file, pages > 1 ? 1 : 0);
    CHECK(test::files_below(c.dir.path() / "out" / file).size() == static_cast<std::size_t>(pages));
    REQUIRE(fs::exists(first));
    // Size, upright (EXIF orientation 5-8 swap the stored width and height).
    const auto size = row.at("width_x_height");
    int width = std::stoi(size.substr(0, size.find('x'))), height = std::stoi(size.substr(size.find('x') + 1));
    const int orientation = row.at("exif_orientation").empty() ? 1 : std::stoi(row.at("exif_orientation"));
    if (orientation >= 5) std::swap(width, height);
    const test::PngHeader header = test::read_png_header(first);
    CHECK(header.width == width);
    CHECK(header.height == height);
    // Depth: bilevel stays 1-bit, 16-bit stays 16-bit.
    const std::string samples = row.at("samples");
    // (The 1-bit BMP's palette is black and white: bilevel too.)
    CHECK(header.bit_depth == (samples == "gray1" || samples == "palette1" ? 1 : samples.find("16") != std::string::npos ? 16 : 8));
    // Resolution -> pHYs in pixels per metre.
    const auto phys = chunk(first, "pHYs");
    const std::string unit = row.at("dpi_unit");
    if (unit == "inch" || unit == "cm" || unit == "m") {
      const double per = unit == "inch" ? 1 / 0.0254 : unit == "cm" ? 100 : 1;
      REQUIRE(phys.size() == 9);
      CHECK(phys[8] == 1);
      CHECK(std::abs(static_cast<double>(be32(phys, 0)) - std::stod(row.at("xdpi")) * per) <= 1.0 + 0.001 * per);
      CHECK(std::abs(static_cast<double>(be32(phys, 4)) - std::stod(row.at("ydpi")) * per) <= 1.0 + 0.001 * per);
    } else if (unit.empty() || row.at("xdpi") == row.at("ydpi")) {
      CHECK(phys.empty());  // none, or square pixels without a unit: nothing to say
    }
    // ICC profile -> iCCP, except a CMYK one (the output is RGB).
    // (The standard sRGB profile travels as an sRGB chunk, which libpng does not warn about.)
    const bool icc = !row.at("icc_bytes").empty() && row.at("icc_bytes") != "0" && samples.rfind("cmyk", 0) != 0;
    CHECK((chunk(first, "iCCP").empty() && chunk(first, "sRGB").empty()) == !icc);
    // Every output reads back through libpng with no warning.
    for (const auto& out : test::files_below(c.dir.path() / "out" / file))
      CHECK_MESSAGE(libpng_warnings(c.dir.path() / "out" / file / out).empty(), out);
  }
  CHECK(decoded >= 55);
  CHECK(rejected == 6);
  // No library printed anything itself: every line on stderr is one of imgflow's.
  std::istringstream lines(c.run.err);
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    const bool ours = line.rfind("error: ", 0) == 0 || line.rfind("warning: ", 0) == 0 ||
                      line.find(" written, ") != std::string::npos || line.rfind("stage time", 0) == 0 ||
                      line.rfind("bottleneck: ", 0) == 0 || line.find(" skipped (not read)") != std::string::npos ||
                      line.rfind("to retry: ", 0) == 0;
    CHECK(ours);
  }
}

TEST_CASE("formats corpus: pixels equal another decoder's (djpeg, opj_decompress, dwebp, ImageMagick)") {
  const CorpusRun& c = corpus_run();
  test::TempDir ref;
  struct Reference {
    std::string file;
    std::string program;
    std::vector<std::string> args;  // {in} and {out} are replaced
    std::string out_name;
  };
  const std::vector<Reference> references{
      {"wuffs__harvesters.jpeg", "djpeg", {"-outfile", "{out}", "{in}"}, "ref.ppm"},
      {"wuffs__peacock.progressive.jpeg", "djpeg", {"-outfile", "{out}", "{in}"}, "ref.ppm"},
      {"wuffs__bricks-gray.jpeg", "djpeg", {"-outfile", "{out}", "{in}"}, "ref.pgm"},
      {"Pillow__pil_sample_rgb.jpg", "djpeg", {"-outfile", "{out}", "{in}"}, "ref.ppm"},
      {"glymur__goodstuff.j2k", "opj_decompress", {"-quiet", "-i", "{in}", "-o", "{out}"}, "ref.ppm"},
      {"glymur__uint16.j2k", "opj_decompress", {"-quiet", "-i", "{in}", "-o", "{out}"}, "ref.pgm"},
      {"Pillow__test-card-lossless.jp2", "opj_decompress", {"-quiet", "-i", "{in}", "-o", "{out}"}, "ref.ppm"},
      {"wuffs__hat.lossy.webp", "dwebp", {"-quiet", "{in}", "-ppm", "-o", "{out}"}, "ref.ppm"},
      {"wuffs__bricks-color.lossless.webp", "dwebp", {"-quiet", "{in}", "-ppm", "-o", "{out}"}, "ref.ppm"},
      {"image__yellow_rose.lossy-with-alpha.webp", "dwebp", {"-quiet", "{in}", "-o", "{out}"}, "ref.png"},
      {"wuffs__hat.gif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"wuffs__hippopotamus.interlaced.gif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"image__bmp_4bpp.bmp", "convert", {"{in}", "-type", "TrueColor", "{out}"}, "ref.png"},
      {"image__video-001.bmp", "convert", {"{in}", "{out}"}, "ref.png"},
      {"Pillow__pal8rle.bmp", "convert", {"{in}", "-type", "TrueColor", "{out}"}, "ref.png"},
      {"image__bmp_1bpp.bmp", "convert", {"{in}", "{out}"}, "ref.png"},
      {"wuffs__hippopotamus.ppm", "convert", {"{in}", "{out}"}, "ref.png"},
      {"Pillow__hopper_16bit.pgm", "convert", {"{in}", "-depth", "16", "{out}"}, "ref.pgm"},
      {"Pillow__hopper_1bit.pbm", "convert", {"{in}", "{out}"}, "ref.png"},
      {"Pillow__hopper_lzw.tif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"image-tiff__cramps.tif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"image-tiff__ladoga.tif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"image__video-001-16bit.tiff", "convert", {"{in}[0]", "-depth", "16", "{out}"}, "ref.ppm"},
      {"image-tiff__jello.tif", "convert", {"{in}[0]", "-type", "TrueColor", "{out}"}, "ref.png"},
      {"image-tiff__quad-jpeg.tif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"glymur__astronaut_ycbcr_jpeg_tiled.tif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"image-tiff__fax2d.tif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"Pillow__pport_g4.tif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
      {"Pillow__tiff_strip_planar_raw_with_overviews.tif", "convert", {"{in}[0]", "{out}"}, "ref.png"},
  };
  for (const auto& r : references) {
    CAPTURE(r.file);
    const fs::path out = ref.path() / (r.file + "." + r.out_name);
    std::vector<std::string> args;
    for (std::string a : r.args) {
      if (const auto at = a.find("{in}"); at != std::string::npos) a.replace(at, 4, (formats_dir() / r.file).string());
      if (a == "{out}") a = out.string();
      args.push_back(a);
    }
    tool(r.program, args);
    CHECK_MESSAGE(compare(pixels(c.output(r.file)), pixels(out)).empty(), compare(pixels(c.output(r.file)), pixels(out)));
  }
  // Each page of a multi-page G4 scan of pages of different sizes, against ImageMagick.
  for (int page = 1; page <= 5; ++page) {
    CAPTURE(page);
    const std::string file = "TwelveMonkeys__fivepages-scan-causingerrors.tif";
    const fs::path out = ref.path() / ("five-" + std::to_string(page) + ".png");
    tool("convert", {(formats_dir() / file).string() + "[" + std::to_string(page - 1) + "]", out.string()});
    CHECK(compare(pixels(c.output(file, page)), pixels(out)).empty());
  }
}

TEST_CASE("JPEG orientation 1-8 (set with exiftool) is applied once, as ImageMagick's -auto-orient does") {
  test::TempDir dir;
  fs::create_directories(dir.path() / "in");
  // A 24x16 picture with distinct corners (so every flip and turn shows), as a lossless-ish JPEG.
  cv::Mat image(16, 24, CV_8UC3);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 24; ++x) image.at<cv::Vec3b>(y, x) = {static_cast<uchar>(x * 10), static_cast<uchar>(y * 15), 128};
  cv::imwrite((dir.path() / "base.ppm").string(), image);
  for (int o = 1; o <= 8; ++o) {
    const fs::path jpeg = dir.path() / "in" / ("o" + std::to_string(o) + ".jpg");
    tool("cjpeg", {"-quality", "100", "-outfile", jpeg.string(), (dir.path() / "base.ppm").string()});
    tool("exiftool", {"-q", "-overwrite_original", "-Orientation#=" + std::to_string(o), jpeg.string()});
  }
  const auto run = test::run_imgflow({dir.path() / "in", dir.path() / "out", "--brightness", "0"});
  REQUIRE(run.exit_code == 0);
  for (int o = 1; o <= 8; ++o) {
    CAPTURE(o);
    const std::string name = "o" + std::to_string(o);
    const fs::path want = dir.path() / (name + "-ref.png");
    tool("convert", {(dir.path() / "in" / (name + ".jpg")).string(), "-auto-orient", want.string()});
    CHECK(compare(pixels(dir.path() / "out" / (name + ".png")), pixels(want)).empty());
  }
}

TEST_CASE("TIFF orientation (set with tiffset) is applied once, float samples are refused with the reason") {
  test::TempDir dir;
  fs::create_directories(dir.path() / "in");
  cv::Mat image(10, 16, CV_8UC3);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 16; ++x) image.at<cv::Vec3b>(y, x) = {static_cast<uchar>(x * 15), static_cast<uchar>(y * 25), 60};
  cv::imwrite((dir.path() / "base.png").string(), image);
  for (const int o : {3, 6, 8}) {
    const fs::path tiff = dir.path() / "in" / ("o" + std::to_string(o) + ".tif");
    tool("convert", {(dir.path() / "base.png").string(), "-compress", "LZW", tiff.string()});
    tool("tiffset", {"-s", "274", std::to_string(o), tiff.string()});
  }
  tool("convert", {(dir.path() / "base.png").string(), "-colorspace", "Gray", "-depth", "32", "-define",
                   "quantum:format=floating-point", (dir.path() / "in" / "float.tif").string()});
  const auto run = test::run_imgflow({dir.path() / "in", dir.path() / "out", "--brightness", "0"});
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("error: " + (dir.path() / "in" / "float.tif").string() +
                     ": decode: floating-point samples cannot be written as PNG") != std::string::npos);
  for (const int o : {3, 6, 8}) {
    CAPTURE(o);
    const std::string name = "o" + std::to_string(o);
    const fs::path want = dir.path() / (name + "-ref.png");
    tool("convert", {(dir.path() / "in" / (name + ".tif")).string(), "-auto-orient", want.string()});
    CHECK(compare(pixels(dir.path() / "out" / (name + ".png")), pixels(want)).empty());
  }
}

// Pillow writes a palette TIFF's 16-bit colour map as v * 256, ImageMagick (like libtiff's tools)
// as v * 257: both must give back v, as tiff2rgba does (a rule such as v * 255 / 65535 gives
// white as 254 on Pillow's maps). Every one of 256 entries, random but for 0 and 255.
TEST_CASE("palette TIFFs: colour maps written as v*256 (Pillow) and v*257 (ImageMagick) both give v, as tiff2rgba") {
  if (test::run_program("/usr/bin/python3", {"-c", "import PIL"}).exit_code != 0) {
    test::skip("Pillow (python3-pil) is not installed");
    return;
  }
  test::TempDir dir;
  fs::create_directories(dir / "in");
  const std::string script = R"(
import random, sys
from PIL import Image
random.seed(7)
palette = [0, 0, 0, 255, 255, 255] + [random.randrange(256) for _ in range(254 * 3)]
image = Image.new("P", (16, 16))
image.putpalette(palette)
image.putdata(list(range(256)))
image.save(sys.argv[1] + "/palette.png")
image.save(sys.argv[1] + "/in/pillow.tif")
)";
  REQUIRE(test::run_program("/usr/bin/python3", {"-c", script, dir.path().string()}).exit_code == 0);
  tool("convert", {(dir / "palette.png").string(), "-type", "palette", (dir / "in" / "magick.tif").string()});
  // The two kinds of map, as written (tiffdump prints the map's first entries).
  const auto pillow_dump = test::run_program("/usr/bin/tiffdump", {(dir / "in" / "pillow.tif").string()});
  const auto magick_dump = test::run_program("/usr/bin/tiffdump", {(dir / "in" / "magick.tif").string()});
  REQUIRE(pillow_dump.out.find("Colormap (320) SHORT (3) 768<0 65280") != std::string::npos);
  REQUIRE(magick_dump.out.find("Colormap (320) SHORT (3)") != std::string::npos);
  REQUIRE(magick_dump.out.find("65535") != std::string::npos);

  const auto run = test::run_imgflow({dir / "in", dir / "out", "--brightness", "0"});
  REQUIRE(run.exit_code == 0);
  const cv::Mat want = pixels(dir / "palette.png");
  for (const std::string name : {"pillow", "magick"}) {
    CAPTURE(name);
    const cv::Mat got = pixels(dir / "out" / (name + ".png"));
    CHECK(compare(got, want).empty());
    // tiff2rgba: libtiff's own reading of the same file (RGBA, alpha opaque).
    const fs::path rgba = dir / (name + "-rgba.tif");
    tool("tiff2rgba", {(dir / "in" / (name + ".tif")).string(), rgba.string()});
    cv::Mat reference = pixels(rgba);
    REQUIRE(reference.channels() == 4);
    cv::cvtColor(reference, reference, cv::COLOR_BGRA2BGR);
    CHECK(compare(got, reference).empty());
  }
}

// OpenCV writes a 4-channel image as an RGB TIFF of 4 samples with no ExtraSamples tag, at 8
// and at 16 bits: Pillow, OpenCV and tiff2rgba read the fourth as alpha, and so must we.
TEST_CASE("RGBA TIFFs without an ExtraSamples tag (as OpenCV writes them, 8- and 16-bit) keep their alpha, with a -v note") {
  test::TempDir dir;
  fs::create_directories(dir / "in");
  cv::Mat rgba8(7, 9, CV_8UC4), rgba16(7, 9, CV_16UC4);
  cv::randu(rgba8, 0, 256);
  cv::randu(rgba16, 0, 65536);
  REQUIRE(cv::imwrite((dir / "in" / "rgba8.tif").string(), rgba8));
  REQUIRE(cv::imwrite((dir / "in" / "rgba16.tif").string(), rgba16));
  for (const std::string name : {"rgba8", "rgba16"}) {
    const auto dump = test::run_program("/usr/bin/tiffdump", {(dir / "in" / (name + ".tif")).string()});
    REQUIRE(dump.out.find("SamplesPerPixel (277) SHORT (3) 1<4>") != std::string::npos);
    REQUIRE(dump.out.find("ExtraSamples") == std::string::npos);
  }
  const auto run = test::run_imgflow({dir / "in", dir / "out", "--brightness", "0", "-v"});
  REQUIRE(run.exit_code == 0);
  for (const std::string name : {"rgba8", "rgba16"}) {
    CAPTURE(name);
    CHECK(run.err.find("note: " + (dir / "in" / (name + ".tif")).string() +
                       ": decode: 4 samples of RGB without an ExtraSamples tag: the fourth taken as straight alpha\n") !=
          std::string::npos);
    CHECK(test::read_png_header(dir / "out" / (name + ".png")).colour_type == 6);  // RGBA
  }
  CHECK(compare(pixels(dir / "out" / "rgba8.png"), rgba8).empty());
  CHECK(compare(pixels(dir / "out" / "rgba16.png"), rgba16).empty());
  // Without -v, no line about it: it is how the file is read, not a loss.
  const auto quiet = test::run_imgflow({dir / "in", dir / "out2", "--brightness", "0"});
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err.find("ExtraSamples") == std::string::npos);
}

TEST_CASE("a WebP's ICC profile (set with webpmux) is carried") {
  test::TempDir dir;
  fs::create_directories(dir.path() / "in");
  const fs::path profile = dir.path() / "profile.icc", plain = dir.path() / "plain.webp";
  const auto icc = test::run_program("/usr/bin/exiftool", {"-b", "-ICC_Profile", (formats_dir() / "Pillow__hopper.iccprofile.tif").string()});
  REQUIRE(icc.out.size() == 3144);
  std::ofstream(profile, std::ios::binary).write(icc.out.data(), static_cast<std::streamsize>(icc.out.size()));
  tool("cwebp", {"-quiet", "-lossless", (formats_dir() / "wuffs__hippopotamus.ppm").string(), "-o", plain.string()});
  tool("webpmux", {"-set", "icc", profile.string(), plain.string(), "-o", (dir.path() / "in" / "icc.webp").string()});
  REQUIRE(test::run_imgflow({dir.path() / "in", dir.path() / "out"}).exit_code == 0);
  // This profile is the sRGB one libpng calls "known incorrect": it travels as an sRGB chunk
  // with the rendering intent its header gives (bytes 64-67).
  const auto intent = static_cast<std::uint8_t>(icc.out[67]);
  CHECK(intent == 1);
  CHECK(chunk(dir.path() / "out" / "icc.png", "sRGB") == std::vector<std::uint8_t>{intent});
  CHECK(libpng_warnings(dir.path() / "out" / "icc.png").empty());
  // Without the profile, no colour chunk at all.
  fs::remove(dir.path() / "in" / "icc.webp");
  fs::copy_file(plain, dir.path() / "in" / "plain.webp");
  REQUIRE(test::run_imgflow({dir.path() / "in", dir.path() / "out2"}).exit_code == 0);
  CHECK(chunk(dir.path() / "out2" / "plain.png", "sRGB").empty());
  CHECK(chunk(dir.path() / "out2" / "plain.png", "iCCP").empty());
}

// A profile that cannot be carried changes the colours every colour-managed viewer shows: a
// warning line without -v, a count in the summary and the report, and the page in the report.
TEST_CASE("a colour profile that cannot be carried is a warning without -v, counted, and listed per page in the report") {
  test::TempDir dir;
  fs::create_directories(dir / "in");
  // Photoshop's CMYK JPEG (its SWOP profile cannot describe the RGB output), and an RGB WebP
  // given a gray profile with webpmux (the profile of the corpus's G4 fax page).
  fs::copy_file(formats_dir() / "format-corpus__Neddy_Flyer_ft_HeatherRyan.jpg", dir / "in" / "cmyk.jpg");
  const auto gray_icc = test::run_program("/usr/bin/exiftool", {"-b", "-ICC_Profile", (formats_dir() / "Pillow__pport_g4.tif").string()});
  REQUIRE(gray_icc.out.size() == 3588);
  std::ofstream(dir / "gray.icc", std::ios::binary).write(gray_icc.out.data(), static_cast<std::streamsize>(gray_icc.out.size()));
  tool("cwebp", {"-quiet", "-lossless", (formats_dir() / "wuffs__hippopotamus.ppm").string(), "-o", (dir / "plain.webp").string()});
  tool("webpmux", {"-set", "icc", (dir / "gray.icc").string(), (dir / "plain.webp").string(), "-o", (dir / "in" / "gray-profile.webp").string()});
  fs::copy_file(formats_dir() / "Pillow__pil_sample_rgb.jpg", dir / "in" / "kept.jpg");  // its sRGB profile travels

  const auto run = test::run_imgflow({dir / "in", dir / "out", "--report", dir / "report.json"});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("warning: " + (dir / "in" / "cmyk.jpg").string() +
                     ": colour profile dropped: a CMYK profile does not describe the RGB output") != std::string::npos);
  CHECK(run.err.find("warning: " + (dir / "in" / "gray-profile.webp").string() +
                     ": colour profile dropped: ICC profile for colour space 'GRAY' on a") != std::string::npos);
  CHECK(run.err.find("kept.jpg") == std::string::npos);
  CHECK(run.err.find("3 written, 0 skipped, 0 failed (2 without the input's colour profile)") != std::string::npos);
  std::ifstream report_file(dir / "report.json");
  const auto report = nlohmann::json::parse(report_file);
  CHECK(report["counts"]["colour_profile_dropped"] == 2);
  std::set<std::string> pages;
  for (const auto& page : report["pages"])
    if (page.contains("profile_dropped")) pages.insert(fs::path(page["input"].get<std::string>()).filename().string());
  CHECK(pages == std::set<std::string>{"cmyk.jpg", "gray-profile.webp"});
  // -q: errors only.
  const auto quiet = test::run_imgflow({dir / "in", dir / "out-q", "-q"});
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err == "");
}

TEST_CASE("multi-page TIFF made with tiffcp: a file per page, bilevel G4 stays 1-bit, a damaged page fails alone") {
  test::TempDir dir;
  const fs::path work = dir.path() / "work", in = dir.path() / "in";
  fs::create_directories(work);
  fs::create_directories(in);
  // Three bilevel pages of different content, 300 dpi, CCITT G4, joined into one TIFF by tiffcp.
  std::vector<std::string> pages;
  for (int p = 1; p <= 3; ++p) {
    const fs::path page = work / ("p" + std::to_string(p) + ".tif");
    tool("convert", {"-size", "400x300", "xc:white", "-fill", "black", "-draw",
                     "rectangle " + std::to_string(20 * p) + ",20 " + std::to_string(100 + 40 * p) + ",200",
                     "-monochrome", "-compress", "Group4", "-density", "300", "-units", "PixelsPerInch", page.string()});
    pages.push_back(page.string());
  }
  std::vector<std::string> args;
  args.insert(args.end(), pages.begin(), pages.end());
  args.push_back((in / "scan.tif").string());
  tool("tiffcp", args);
  fs::copy_file(pages[0], in / "single.tif");

  const auto run = test::run_imgflow({in, dir.path() / "out", "--failures", dir.path() / "f.tsv"});
  CHECK(run.exit_code == 0);
  CHECK(test::files_below(dir.path() / "out") ==
        std::vector<std::string>{"scan-p0001.png", "scan-p0002.png", "scan-p0003.png", "single.png"});
  for (const auto& name : test::files_below(dir.path() / "out")) {
    CAPTURE(name);
    const auto header = test::read_png_header(dir.path() / "out" / name);
    CHECK(header.bit_depth == 1);  // the default chain keeps black and white
    CHECK(header.colour_type == 0);
    const auto phys = chunk(dir.path() / "out" / name, "pHYs");
    REQUIRE(phys.size() == 9);
    CHECK(be32(phys, 0) == 11811);  // 300 dpi
  }
  for (int p = 1; p <= 3; ++p) {  // pixels: white stays white, black stays black
    const cv::Mat want = cv::imread(pages[static_cast<std::size_t>(p - 1)], cv::IMREAD_GRAYSCALE);
    CHECK(compare(cv::imread((dir.path() / "out" / ("scan-p000" + std::to_string(p) + ".png")).string(),
                             cv::IMREAD_GRAYSCALE),
                  want)
              .empty());
  }

  SUBCASE("--pages first") {
    const auto first = test::run_imgflow({in, dir.path() / "first", "--pages", "first"});
    CHECK(first.exit_code == 0);
    CHECK(test::files_below(dir.path() / "first") == std::vector<std::string>{"scan-p0001.png", "single.png"});
    CHECK(test::run_imgflow({in, dir.path() / "bad", "--pages", "2-1"}).exit_code == 2);
  }
  SUBCASE("a damaged page fails alone, named with its page; --files-from retries just that page") {
    // Cut page 2's compressed data in half (its strip offsets and counts, read with tiffinfo).
    auto bytes = test::file_bytes(in / "scan.tif");
    const auto info = test::run_program("/usr/bin/tiffdump", {(in / "scan.tif").string()});
    REQUIRE(info.exit_code == 0);
    // tiffdump lists StripOffsets (273) and StripByteCounts (279) per directory, in order.
    std::vector<std::uint64_t> offsets, counts;
    std::istringstream lines(info.out);
    for (std::string line; std::getline(lines, line);) {
      const auto value = [&] { return std::stoull(line.substr(line.find('<') + 1)); };
      if (line.find("StripOffsets (273)") != std::string::npos) offsets.push_back(value());
      if (line.find("StripByteCounts (279)") != std::string::npos) counts.push_back(value());
    }
    REQUIRE(offsets.size() == 3);
    REQUIRE(counts.size() == 3);
    for (std::uint64_t i = offsets[1] + counts[1] / 3; i < offsets[1] + counts[1]; ++i) bytes[i] = 0xFF;
    std::ofstream(in / "scan.tif", std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    fs::remove_all(dir.path() / "out");
    const auto damaged = test::run_imgflow({in, dir.path() / "out", "--failures", dir.path() / "f.tsv"});
    CHECK(damaged.exit_code == 1);
    CHECK(damaged.err.find("error: " + (in / "scan.tif").string() + ": page 2 of 3: decode: ") != std::string::npos);
    CHECK(test::files_below(dir.path() / "out") ==
          std::vector<std::string>{"scan-p0001.png", "scan-p0003.png", "single.png"});
    std::ifstream list(dir.path() / "f.tsv");
    const std::string failures(std::istreambuf_iterator<char>(list), {});
    CHECK(failures.find((in / "scan.tif").string() + "\tdecode\t") == 0);
    CHECK(failures.find("\tpage=2\n") != std::string::npos);
    // The retry takes page 2 only (and fails it again: the data is still damaged).
    fs::remove_all(dir.path() / "retry");
    const auto retry = test::run_imgflow({in, dir.path() / "retry", "--files-from", dir.path() / "f.tsv"});
    CHECK(retry.exit_code == 1);
    CHECK(retry.err.find("0 written, 0 skipped, 1 failed") != std::string::npos);
  }
}

TEST_CASE("PNM of any maxval is scaled to the full range with its true depth in sBIT") {
  test::TempDir dir;
  fs::create_directories(dir.path() / "in");
  struct Case {
    std::string name;
    int maxval;
    int depth, sbit;
  };
  for (const Case& c : {Case{"m15", 15, 8, 4}, Case{"m1000", 1000, 16, 10}, Case{"m4095", 4095, 16, 12}}) {
    std::ofstream out(dir.path() / "in" / (c.name + ".pgm"));
    out << "P2\n# maxval " << c.maxval << "\n4 1\n" << c.maxval << "\n0 1 " << c.maxval / 2 << " " << c.maxval << "\n";
  }
  const auto run = test::run_imgflow({dir.path() / "in", dir.path() / "out", "--brightness", "0"});
  REQUIRE(run.exit_code == 0);
  for (const Case& c : {Case{"m15", 15, 8, 4}, Case{"m1000", 1000, 16, 10}, Case{"m4095", 4095, 16, 12}}) {
    CAPTURE(c.name);
    const fs::path out = dir.path() / "out" / (c.name + ".png");
    CHECK(test::read_png_header(out).bit_depth == c.depth);
    CHECK(chunk(out, "sBIT") == std::vector<std::uint8_t>{static_cast<std::uint8_t>(c.sbit)});
    const cv::Mat got = pixels(out);
    const double max = c.depth == 16 ? 65535 : 255;
    for (int i = 0; i < 4; ++i) {  // v * max / maxval, rounded (the PNG specification's scaling)
      const int v = i == 0 ? 0 : i == 1 ? 1 : i == 2 ? c.maxval / 2 : c.maxval;
      const double want = std::floor(v * max / c.maxval + 0.5);
      CHECK((c.depth == 16 ? got.at<std::uint16_t>(0, i) : got.at<std::uint8_t>(0, i)) == want);
    }
  }
}

TEST_CASE("hostile files of every format: refused with one line naming file and reason, fast, nothing written") {
  test::TempDir dir;
  const fs::path in = dir.path() / "in";
  fs::create_directories(in);
  const auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    std::ofstream(in / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  };
  // Truncated at 50% and 90% of real files of each format.
  const std::vector<std::string> sources_to_cut{
      "wuffs__harvesters.jpeg", "wuffs__peacock.progressive.jpeg", "Pillow__hopper_lzw.tif", "Pillow__pport_g4.tif",
      "image-tiff__quad-jpeg.tif", "glymur__goodstuff.j2k", "Pillow__test-card-lossless.jp2", "wuffs__hat.lossy.webp",
      "wuffs__bricks-color.lossless.webp", "wuffs__hat.gif", "image__video-001.bmp", "Pillow__pal8rle.bmp",
      "wuffs__hippopotamus.ppm", "Pillow__hopper_16bit.pgm", "Pillow__hopper_1bit.pbm"};
  std::set<std::string> names;
  for (const auto& source : sources_to_cut)
    for (const int percent : {50, 90}) {
      const auto bytes = test::file_bytes(formats_dir() / source);
      const auto cut = std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() * percent / 100));
      const std::string name = "cut" + std::to_string(percent) + "-" + source;
      write(name, cut);
      names.insert(name);
    }
  // Forged sizes: a 1 KB JPEG whose header says 14000x14000 (SOF0 width/height patched).
  {
    auto jpeg = test::file_bytes(formats_dir() / "wuffs__peacock.default.truncated.jpeg");
    for (std::size_t i = 0; i + 9 < jpeg.size(); ++i)
      if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
        jpeg[i + 5] = 0x36, jpeg[i + 6] = 0xB0, jpeg[i + 7] = 0x36, jpeg[i + 8] = 0xB0;  // 14000
        break;
      }
    write("forged-14000.jpg", jpeg);
    names.insert("forged-14000.jpg");
  }
  // Little-endian TIFFs of 8-bit gray in one strip: one declaring 14000x14000 with 128 bytes of
  // PackBits data, and a valid 16x16 page whose next-directory offset points back at itself (a loop).
  const auto tiff = [](std::uint32_t size, std::uint32_t data_bytes, std::uint32_t next, std::uint16_t compression) {
    std::vector<std::uint8_t> t{'I', 'I', 42, 0, 8, 0, 0, 0, 8, 0};
    const auto entry = [&](std::uint16_t tag, std::uint16_t type, std::uint32_t value) {
      for (const int b : {tag & 0xFF, tag >> 8, type & 0xFF, type >> 8, 1, 0, 0, 0}) t.push_back(static_cast<std::uint8_t>(b));
      for (int i = 0; i < 4; ++i) t.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    };
    entry(256, 4, size), entry(257, 4, size), entry(258, 3, 8), entry(259, 3, compression);
    entry(262, 3, 1), entry(273, 4, 8 + 2 + 8 * 12 + 4), entry(278, 4, size), entry(279, 4, data_bytes);
    for (int i = 0; i < 4; ++i) t.push_back(static_cast<std::uint8_t>(next >> (8 * i)));
    t.resize(t.size() + data_bytes, 0x80);
    return t;
  };
  write("forged-tiff-14000.tif", tiff(14000, 128, 0, 32773));  // PackBits: at most 64:1
  names.insert("forged-tiff-14000.tif");
  write("ifd-loop.tif", tiff(16, 256, 8, 1));
  // A three-page TIFF (TwelveMonkeys') cut inside its second directory's link to the third:
  // libtiff takes the chain as ended there, and the third page would be lost unseen.
  {
    std::ifstream whole(formats_dir() / "TwelveMonkeys__multipage.tif", std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() == 824);
    bytes.resize(562);  // the second directory is at 365, with 16 entries: its link at 559-562
    write("cut-link.tif", bytes);
  }
  write("zero-pages.tif", {'I', 'I', 42, 0, 0, 0, 0, 0});
  names.insert("zero-pages.tif");
  write("maxval-0.pgm", {'P', '5', ' ', '2', ' ', '2', ' ', '0', '\n', 0, 0, 0, 0});
  names.insert("maxval-0.pgm");
  write("huge-count.tif", {'I', 'I', 42, 0, 8, 0, 0, 0, 0xFF, 0xFF});
  names.insert("huge-count.tif");

  const auto start = std::chrono::steady_clock::now();
  const auto run = test::run_imgflow({in, dir.path() / "out", "-j", "2"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(names.size() << " hostile files in " << seconds << " s, peak RSS " << run.max_rss_kb / 1024 << " MB");
  CHECK(run.exit_code == 1);
  for (const auto& name : names) {
    CAPTURE(name);
    CHECK(run.err.find("error: " + (in / name).string() + ": decode: ") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "out" / fs::path(name).replace_extension(".png")));
  }
  // The IFD loop: its one page is written once, and the loop reported after it.
  CHECK(fs::exists(dir.path() / "out" / "ifd-loop.png"));
  CHECK(run.err.find("error: " + (in / "ifd-loop.tif").string() + ": after page 1: decode: the page chain is damaged: "
                     "the next directory (at offset 8) loops back to an earlier one") != std::string::npos);
  // The cut link: the two pages before it written, the damage reported after them.
  CHECK(fs::exists(dir.path() / "out" / "cut-link-p0001.png"));
  CHECK(fs::exists(dir.path() / "out" / "cut-link-p0002.png"));
  CHECK(run.err.find("error: " + (in / "cut-link.tif").string() + ": after page 2: decode: the page chain is damaged: "
                     "the file ends inside the directory at offset 365, before its link to a next page") != std::string::npos);
  CHECK(run.max_rss_kb < 200 * 1024);  // no forged size was allocated (14000x14000 is 196 MB)
  // Refused by what the data can hold, before any allocation.
  CHECK(run.err.find("128 bytes of image data (inside the file) cannot hold a 14000x14000 page") != std::string::npos);
  CHECK(run.err.find("cannot hold a 14000x14000 JPEG") != std::string::npos);
}

TEST_CASE("nothing skipped silently: non-images counted with the reason, animations warned with their frame count") {
  test::TempDir dir;
  const fs::path in = dir.path() / "in";
  fs::create_directories(in);
  std::ofstream(in / "notes.txt") << "hello";
  std::ofstream(in / "scan.pdf") << "%PDF-1.4\n";
  fs::copy_file(formats_dir() / "wuffs__muybridge.gif", in / "anim.gif");
  const auto run = test::run_imgflow({in, dir.path() / "out", "--report", dir.path() / "r.json"});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("warning: " + (in / "anim.gif").string() + ": animated, 15 frames: only the first was written") !=
        std::string::npos);
  CHECK(run.err.find("1 written, 0 skipped, 0 failed (1 animated: first frame only)") != std::string::npos);
  CHECK(run.err.find("2 files skipped (not read): 1 PDF: rasterise it first, e.g. `pdftoppm -r 300 -png`; 1 not an image") !=
        std::string::npos);
  std::ifstream report(dir.path() / "r.json");
  const auto json = nlohmann::json::parse(report);
  CHECK(json["counts"]["files_not_read"] == 2);
  CHECK(json["counts"]["animated_first_frame_only"] == 1);
  CHECK(json["files_not_read"][1]["path"] == (in / "scan.pdf").string());
  const auto verbose = test::run_imgflow({in, dir.path() / "out2", "-v"});
  CHECK(verbose.err.find("skipped " + (in / "notes.txt").string() + ": not an image") != std::string::npos);
}
