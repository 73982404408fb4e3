// Output formats other than PNG, end to end (--format): read back by decoders that are not ours
// (OpenCV, libtiff's tiffinfo, exiftool), compared with the PNG run of the same pages, resumed
// with --skip-existing as PNG outputs are, and refused combinations.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <string>

#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

bool same_pixels(const fs::path& a, const fs::path& b) {
  return test::same_samples(test::read_unchanged(a), test::read_unchanged(b));
}

}  // namespace

TEST_CASE("--format tiff: one TIFF per page with the PNG run's pixels, 1-bit pages as G4, resumed by its stamp") {
  test::TempDir dir;
  const fs::path data = test::data_dir();
  const std::vector<std::string> names{"page-0001", "page-0002", "page-0003", "page-0004", "page-rgb-0001",
                                       "scan-gray-0001", "scan-rgb-0001"};
  REQUIRE(test::run_imgflow({data, dir / "png", "-q"}).exit_code == 0);
  const auto run = test::run_imgflow({data, dir / "tiff", "--format", "tiff"});
  CHECK(run.exit_code == 0);
  std::vector<std::string> expected;
  for (const auto& name : names) expected.push_back(name + ".tif");
  CHECK(test::files_below(dir / "tiff") == expected);
  for (const auto& name : names) {
    CAPTURE(name);
    CHECK(same_pixels(dir / "tiff" / (name + ".tif"), dir / "png" / (name + ".png")));
    const std::string info = test::tiffinfo(dir / "tiff" / (name + ".tif"));
    CHECK(info.find("Compression Scheme: AdobeDeflate") != std::string::npos);
    CHECK(info.find("Software: imgflow brightness=0.25,contrast=0.25") != std::string::npos);
  }

  // Thresholded: 1-bit CCITT G4, min-is-white, the same pixels as the 1-bit PNGs, far smaller
  // than the 8-bit gray TIFFs.
  REQUIRE(test::run_imgflow({data, dir / "png1", "--grayscale", "--threshold", "otsu", "-q"}).exit_code == 0);
  REQUIRE(test::run_imgflow({data, dir / "g4", "--grayscale", "--threshold", "otsu", "--format", "tiff", "-q"}).exit_code == 0);
  REQUIRE(test::run_imgflow({data, dir / "gray", "--grayscale", "--format", "tiff", "-q"}).exit_code == 0);
  for (const auto& name : names) {
    CAPTURE(name);
    const fs::path g4 = dir / "g4" / (name + ".tif");
    CHECK(same_pixels(g4, dir / "png1" / (name + ".png")));
    const std::string info = test::tiffinfo(g4);
    CHECK(info.find("Compression Scheme: CCITT Group 4") != std::string::npos);
    CHECK(info.find("Bits/Sample: 1") != std::string::npos);
    CHECK(info.find("Photometric Interpretation: min-is-white") != std::string::npos);
    CHECK(fs::file_size(g4) * 4 < fs::file_size(dir / "gray" / (name + ".tif")));
  }

  // Resumed like PNG outputs: all finished; another value of the same operation redoes all; a
  // damaged output (cut in half) is redone, and comes out as a fresh run makes it.
  auto again = test::run_imgflow({data, dir / "g4", "--grayscale", "--threshold", "otsu", "--format", "tiff", "--skip-existing"});
  CHECK(again.err.find("0 written, 7 skipped, 0 failed") != std::string::npos);
  const fs::path cut = dir / "g4" / "page-0002.tif";
  const auto whole = test::file_bytes(cut);
  std::ofstream(cut, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(whole.data()), static_cast<std::streamsize>(whole.size() / 2));
  again = test::run_imgflow({data, dir / "g4", "--grayscale", "--threshold", "otsu", "--format", "tiff", "--skip-existing"});
  CHECK(again.err.find("1 written, 6 skipped, 0 failed") != std::string::npos);
  CHECK(test::file_bytes(cut) == whole);
  again = test::run_imgflow({data, dir / "g4", "--grayscale", "--threshold", "100", "--format", "tiff", "--skip-existing"});
  CHECK(again.err.find("7 written, 0 skipped, 0 failed") != std::string::npos);
  // A PNG output is not a TIFF run's finished output, nor the other way round: names differ.
  again = test::run_imgflow({data, dir / "png", "--format", "tiff", "--skip-existing", "-q"});
  CHECK(again.exit_code == 0);
  CHECK(test::files_below(dir / "png").size() == 14);
}

TEST_CASE("--format tiff carries resolution and ICC profile, names pages -pNNNN.tif, and refuses what a compression cannot hold") {
  test::TempDir dir;
  const fs::path formats = test::shared_dir() / "corpus" / "formats";
  fs::create_directories(dir / "in");
  // The scanner's 200 dpi G4 fax page with its gray profile, and the five-page scan.
  fs::copy_file(formats / "Pillow__pport_g4.tif", dir / "in" / "fax.tif");
  fs::copy_file(formats / "TwelveMonkeys__fivepages-scan-causingerrors.tif", dir / "in" / "five.tif");
  const auto run = test::run_imgflow({dir / "in", dir / "out", "--format", "tiff", "--brightness", "0"});
  CHECK(run.exit_code == 0);
  CHECK(test::files_below(dir / "out") == std::vector<std::string>{"fax.tif", "five-p0001.tif", "five-p0002.tif",
                                                                   "five-p0003.tif", "five-p0004.tif", "five-p0005.tif"});
  const std::string fax = test::tiffinfo(dir / "out" / "fax.tif");
  CHECK(fax.find("Resolution: 200, 200 pixels/inch") != std::string::npos);
  CHECK(fax.find("Compression Scheme: CCITT Group 4") != std::string::npos);
  const auto profile_in = test::run_program("/usr/bin/exiftool", {"-b", "-ICC_Profile", (formats / "Pillow__pport_g4.tif").string()});
  const auto profile_out = test::run_program("/usr/bin/exiftool", {"-b", "-ICC_Profile", (dir / "out" / "fax.tif").string()});
  CHECK(profile_in.out.size() == 3588);
  CHECK(profile_out.out == profile_in.out);
  // The re-encoded fax page is no larger than the scanner's own G4 file.
  CHECK(fs::file_size(dir / "out" / "fax.tif") <= fs::file_size(formats / "Pillow__pport_g4.tif"));
  MESSAGE("G4 fax page: " << fs::file_size(formats / "Pillow__pport_g4.tif") << " bytes in, "
                          << fs::file_size(dir / "out" / "fax.tif") << " out");
  // ImageMagick's G4 pages (libtiff's coder, as scanners' software writes them; the benchmark's
  // set): through the tutorial chain, each the same pixels and smaller, its resume stamp included.
  fs::create_directories(dir / "magick");
  for (const std::string name : {"page-0001", "page-0003", "scan-gray-0001"}) {
    const auto made = test::run_program("/usr/bin/convert", {(test::data_dir() / (name + ".png")).string(), "-threshold", "50%",
                                                             "-monochrome", "-compress", "Group4", "-density", "300", "-units",
                                                             "PixelsPerInch", (dir / "magick" / (name + ".tif")).string()});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  }
  REQUIRE(test::run_imgflow({dir / "magick", dir / "magick-out", "--format", "tiff", "-q"}).exit_code == 0);
  for (const std::string name : {"page-0001", "page-0003", "scan-gray-0001"}) {
    CAPTURE(name);
    const fs::path in = dir / "magick" / (name + ".tif"), out = dir / "magick-out" / (name + ".tif");
    CHECK(test::tiffinfo(out).find("Compression Scheme: CCITT Group 4") != std::string::npos);
    CHECK(same_pixels(out, in));
    CHECK(fs::file_size(out) < fs::file_size(in));
    MESSAGE(name << ": ImageMagick's G4 " << fs::file_size(in) << " bytes, imgflow's " << fs::file_size(out));
  }

  // G4 asked for 8-bit pages: each fails with the reason, exit 1, nothing left behind.
  const auto refused = test::run_imgflow({test::data_dir() / "page-0001.png", dir / "refused", "--format", "tiff", "--compression", "g4"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("error: " + (test::data_dir() / "page-0001.png").string() +
                         ": encode: CCITT G4 compression holds 1-bit pages only (this one is 8-bit gray)") != std::string::npos);
  CHECK(test::files_below(dir / "refused").empty());
  // TIFF's settings without --format tiff: a usage error.
  const auto usage = test::run_imgflow({test::data_dir(), dir / "usage", "--compression", "lzw"});
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.find("--compression applies to --format tiff") != std::string::npos);
  const auto unknown = test::run_imgflow({test::data_dir(), dir / "usage", "--format", "bmp"});
  CHECK(unknown.exit_code == 2);
}
