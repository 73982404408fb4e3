// The document operations end to end, through the real binary: outputs read back with
// OpenCV's decoder and compared with bild's values, OpenCV's Otsu and resize, and pages that
// OpenCV turned by known angles.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using imgflow::test::TempDir;

namespace {

struct GrayRow {
  int r, g, b, grayscale, min_level;
};

std::vector<GrayRow> bild_gray_rows() {
  std::ifstream in(imgflow::test::shared_dir() / "reference" / "bild-gray.tsv");
  REQUIRE(in.good());
  std::vector<GrayRow> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    GrayRow row{};
    fields >> row.r >> row.g >> row.b >> row.grayscale >> row.min_level;
    rows.push_back(row);
  }
  return rows;
}

json load_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

// bild's rank, written out here: 0.3 R + 0.6 G + 0.1 B in double, truncated.
int rank_of(int r, int g, int b) { return static_cast<int>(0.3 * r + 0.6 * g + 0.1 * b); }

cv::Mat read_unchanged(const fs::path& path) {
  cv::Mat image = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  REQUIRE_MESSAGE(!image.empty(), path.string());
  return image;
}

}  // namespace

TEST_CASE("--grayscale and --threshold LEVEL: every row of bild-gray.tsv through the binary, gray and 1-bit PNGs") {
  TempDir dir;
  const std::vector<GrayRow> rows = bild_gray_rows();
  // 65,792 rows as a 257 x 256 RGB page (OpenCV writes BGR).
  cv::Mat page(257, 256, CV_8UC3);
  for (std::size_t i = 0; i < rows.size(); ++i)
    page.at<cv::Vec3b>(static_cast<int>(i / 256), static_cast<int>(i % 256)) = {
        static_cast<std::uint8_t>(rows[i].b), static_cast<std::uint8_t>(rows[i].g), static_cast<std::uint8_t>(rows[i].r)};
  fs::create_directories(dir / "in");
  REQUIRE(cv::imwrite((dir / "in" / "rows.png").string(), page));
  // The first 256 rows are the gray values: as a gray page they take the gray path (a table).
  cv::Mat grays(1, 256, CV_8UC1);
  for (int v = 0; v < 256; ++v) {
    REQUIRE((rows[static_cast<std::size_t>(v)].r == v && rows[static_cast<std::size_t>(v)].b == v));
    grays.at<std::uint8_t>(0, v) = static_cast<std::uint8_t>(v);
  }
  REQUIRE(cv::imwrite((dir / "in" / "grays.png").string(), grays));

  REQUIRE(imgflow::test::run_imgflow({(dir / "in").string(), (dir / "gray").string(), "--grayscale", "-q"}).exit_code == 0);
  const auto header = imgflow::test::read_png_header(dir / "gray" / "rows.png");
  CHECK((header.colour_type == 0 && header.bit_depth == 8));  // gray, not three equal channels
  const cv::Mat gray = read_unchanged(dir / "gray" / "rows.png");
  REQUIRE(gray.channels() == 1);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) wrong += gray.at<std::uint8_t>(static_cast<int>(i / 256), static_cast<int>(i % 256)) != rows[i].grayscale;
  CHECK(wrong == 0);

  for (const int level : {0, 1, 2, 4, 11, 100, 128, 200, 255, 256}) {  // 1, 2, 4, 11: gray v ranks v - 1
    const fs::path out = dir / fmt::format("t{}", level);
    REQUIRE(imgflow::test::run_imgflow({(dir / "in").string(), out.string(), "--threshold", std::to_string(level), "-q"}).exit_code == 0);
    const auto bits = imgflow::test::read_png_header(out / "rows.png");
    CHECK((bits.colour_type == 0 && bits.bit_depth == 1));
    const cv::Mat binary = read_unchanged(out / "rows.png");
    std::size_t off = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const int want = level < rows[i].min_level ? 255 : 0;
      off += binary.at<std::uint8_t>(static_cast<int>(i / 256), static_cast<int>(i % 256)) != want;
    }
    const cv::Mat gray_binary = read_unchanged(out / "grays.png");
    for (int v = 0; v < 256; ++v) off += gray_binary.at<std::uint8_t>(0, v) != (level < rows[static_cast<std::size_t>(v)].min_level ? 255 : 0);
    CAPTURE(level);
    CHECK(off == 0);
  }
  const cv::Mat gray_gray = read_unchanged(dir / "gray" / "grays.png");
  for (int v = 0; v < 256; ++v) CHECK(gray_gray.at<std::uint8_t>(0, v) == rows[static_cast<std::size_t>(v)].grayscale);
}

TEST_CASE("--grayscale keeps alpha (RGBA to gray+alpha) and leaves gray pages as they are") {
  TempDir dir;
  fs::create_directories(dir / "in");
  cv::Mat rgba(16, 16, CV_8UC4), gray(16, 16, CV_8UC1);
  for (int i = 0; i < 256; ++i) {
    rgba.at<cv::Vec4b>(i / 16, i % 16) = {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(255 - i), static_cast<std::uint8_t>(i / 2),
                                          static_cast<std::uint8_t>(i ^ 0x5A)};
    gray.at<std::uint8_t>(i / 16, i % 16) = static_cast<std::uint8_t>(i);
  }
  REQUIRE(cv::imwrite((dir / "in" / "rgba.png").string(), rgba));
  REQUIRE(cv::imwrite((dir / "in" / "gray.png").string(), gray));
  REQUIRE(imgflow::test::run_imgflow({(dir / "in").string(), (dir / "out").string(), "--grayscale", "-q"}).exit_code == 0);
  CHECK(imgflow::test::read_png_header(dir / "out" / "rgba.png").colour_type == 4);
  const cv::Mat two = read_unchanged(dir / "out" / "rgba.png");  // OpenCV reads gray+alpha as BGRA
  for (int i = 0; i < 256; ++i) {
    const cv::Vec4b in = rgba.at<cv::Vec4b>(i / 16, i % 16), out = two.at<cv::Vec4b>(i / 16, i % 16);
    const int want = static_cast<int>(0.3 * in[2] + 0.6 * in[1] + 0.1 * in[0] + 0.5);
    CHECK(out[0] == want);
    CHECK(out[3] == in[3]);
  }
  CHECK(cv::norm(read_unchanged(dir / "out" / "gray.png"), gray, cv::NORM_INF) == 0);
}

TEST_CASE("--threshold otsu: OpenCV's THRESH_OTSU on the page's ranks, pixel for pixel, the level in the report") {
  TempDir dir;
  REQUIRE(imgflow::test::run_generator({"-n", "2", "--size", "700x900", "--noise", "noisy", "--color", "rgb", (dir / "in").string()}).exit_code == 0);
  REQUIRE(imgflow::test::run_generator({"-n", "2", "--size", "700x900", "--noise", "noisy", "--prefix", "gray-", (dir / "in").string()}).exit_code == 0);
  const auto run = imgflow::test::run_imgflow(
      {(dir / "in").string(), (dir / "out").string(), "--threshold", "otsu", "--report", (dir / "report.json").string(), "-q"});
  REQUIRE(run.exit_code == 0);
  std::map<std::string, int> levels;
  const json report = load_json(dir / "report.json");
  for (const json& page : report.at("pages"))
    levels[fs::path(page.at("input").get<std::string>()).filename().string()] = page.at("threshold_level").get<int>();
  REQUIRE(levels.size() == 4);
  // The gray pages' histograms are counted by analyse; the RGB ones' while their ranks are made.
  for (const json& stage : report.at("stages"))
    if (stage.at("name") == "analyse") CHECK(stage.at("images") == 2);
  for (const auto& [name, level] : levels) {
    const cv::Mat input = read_unchanged(dir / "in" / name);
    cv::Mat ranks(input.size(), CV_8UC1);
    for (int y = 0; y < input.rows; ++y)
      for (int x = 0; x < input.cols; ++x) {
        if (input.channels() == 1) {
          const int v = input.at<std::uint8_t>(y, x);
          ranks.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(rank_of(v, v, v));
        } else {
          const cv::Vec3b bgr = input.at<cv::Vec3b>(y, x);
          ranks.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(rank_of(bgr[2], bgr[1], bgr[0]));
        }
      }
    cv::Mat want;
    const double t = cv::threshold(ranks, want, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
    CAPTURE(name);
    CHECK(level == static_cast<int>(t) + 1);
    CHECK(imgflow::test::read_png_header(dir / "out" / name).bit_depth == 1);
    CHECK(cv::norm(read_unchanged(dir / "out" / name), want, cv::NORM_INF) == 0);
  }
}

TEST_CASE("1-bit output: a thresholded text page is at least 4x smaller than the same page as 8-bit gray") {
  TempDir dir;
  REQUIRE(imgflow::test::run_generator({"-n", "1", "--noise", "noisy", "--color", "rgb", (dir / "in").string()}).exit_code == 0);
  REQUIRE(imgflow::test::run_imgflow({(dir / "in").string(), (dir / "gray").string(), "--grayscale", "-q"}).exit_code == 0);
  REQUIRE(imgflow::test::run_imgflow({(dir / "in").string(), (dir / "bits").string(), "--grayscale", "--threshold", "otsu", "-q"}).exit_code == 0);
  const auto gray = fs::file_size(dir / "gray" / "page-0001.png"), bits = fs::file_size(dir / "bits" / "page-0001.png");
  MESSAGE(gray << " bytes as 8-bit gray, " << bits << " as 1-bit: " << static_cast<double>(gray) / static_cast<double>(bits) << "x");
  CHECK(gray >= 4 * bits);
}

TEST_CASE("operations apply in command-line order: --invert --threshold differs from --threshold --invert, each as composed") {
  TempDir dir;
  fs::create_directories(dir / "in");
  cv::Mat gray(1, 256, CV_8UC1);
  for (int v = 0; v < 256; ++v) gray.at<std::uint8_t>(0, v) = static_cast<std::uint8_t>(v);
  REQUIRE(cv::imwrite((dir / "in" / "ramp.png").string(), gray));
  const auto run = [&](const std::string& name, std::vector<std::string> flags) {
    std::vector<std::string> args{(dir / "in").string(), (dir / name).string(), "-q"};
    args.insert(args.end(), flags.begin(), flags.end());
    REQUIRE(imgflow::test::run_imgflow(args).exit_code == 0);
    return read_unchanged(dir / name / "ramp.png");
  };
  const cv::Mat invert_first = run("a", {"--invert", "--threshold", "100"});
  const cv::Mat threshold_first = run("b", {"--threshold", "100", "--invert"});
  const cv::Mat with_brightness = run("c", {"--brightness", "0.5", "--threshold", "128", "--brightness", "0.1"});
  for (int v = 0; v < 256; ++v) {
    CAPTURE(v);
    CHECK(invert_first.at<std::uint8_t>(0, v) == (rank_of(255 - v, 255 - v, 255 - v) >= 100 ? 255 : 0));
    CHECK(threshold_first.at<std::uint8_t>(0, v) == (rank_of(v, v, v) >= 100 ? 0 : 255));
    // brightness 0.5 as bild: v * 1.5 clamped, truncated; a later brightness keeps 0 and 255.
    const int bright = static_cast<int>(std::min(255.0, v * 1.5));
    CHECK(with_brightness.at<std::uint8_t>(0, v) == (rank_of(bright, bright, bright) >= 128 ? 255 : 0));
  }
  CHECK(imgflow::test::read_png_header(dir / "c" / "ramp.png").bit_depth == 1);  // bilevel stays bilevel
}

TEST_CASE("--normalize: the page's percentiles become black and white, composed with the adjustments around it") {
  TempDir dir;
  fs::create_directories(dir / "in");
  cv::Mat gray(100, 101, CV_8UC1);  // 50 .. 150, each value on 100 pixels
  for (int y = 0; y < gray.rows; ++y)
    for (int x = 0; x < gray.cols; ++x) gray.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(50 + x);
  REQUIRE(cv::imwrite((dir / "in" / "flat.png").string(), gray));
  const auto run = imgflow::test::run_imgflow({(dir / "in").string(), (dir / "out").string(), "--normalize=1,99", "--invert",
                                               "--report", (dir / "report.json").string(), "-q"});
  REQUIRE(run.exit_code == 0);
  // 1% of 10,100 samples is 101: the 1st and 2nd values (50, 51) hold 200, so low = 51, high = 149.
  const json page = load_json(dir / "report.json").at("pages").at(0);
  CHECK(page.at("normalize_levels") == json::array({51, 149}));
  const cv::Mat out = read_unchanged(dir / "out" / "flat.png");
  for (int x = 0; x < gray.cols; ++x) {
    const int v = 50 + x;
    const int stretched = static_cast<int>(std::clamp(std::floor((v - 51) * 255.0 / 98.0 + 0.5), 0.0, 255.0));
    CAPTURE(v);
    CHECK(out.at<std::uint8_t>(0, x) == 255 - stretched);
  }
}

TEST_CASE("--deskew: angles found within 0.1 degree of the truth on pages turned by known angles, reported - straight and blank pages untouched") {
  TempDir dir;
  const std::vector<double> angles{-5.0, -4.1, -2.75, -1.3, -0.6, -0.2, 0.0, 0.15, 0.45, 1.05, 2.2, 3.35, 4.6, 5.0};
  std::map<std::string, double> truth;
  for (std::size_t i = 0; i < angles.size(); ++i) {
    const bool noisy = i % 3 == 1;
    const std::string prefix = fmt::format("a{:02d}-", i);
    std::vector<std::string> args{"-n", "1", "--size", "1240x1754", "--seed", std::to_string(i + 1), "--skew",
                                  std::to_string(angles[i]), "--prefix", prefix, (dir / "in").string()};
    if (noisy) args.insert(args.end(), {"--noise", "noisy", "--color", "rgb"});
    REQUIRE(imgflow::test::run_generator(args).exit_code == 0);
    truth[prefix + "0001.png"] = angles[i];
  }
  cv::Mat blank(600, 400, CV_8UC1, cv::Scalar(255));
  REQUIRE(cv::imwrite((dir / "in" / "blank.png").string(), blank));
  // A photo has no text lines: once found "skewed" by -4.4 degrees at a confidence of 2.
  const fs::path photo = imgflow::test::shared_dir() / "corpus" / "real" / "pillow__uncompressed_rgb.png";
  REQUIRE(fs::exists(photo));
  fs::copy_file(photo, dir / "in" / "photo.png");
  const auto run = imgflow::test::run_imgflow({(dir / "in").string(), (dir / "out").string(), "--deskew", "--report",
                                               (dir / "report.json").string(), "-v"});
  REQUIRE(run.exit_code == 0);
  std::map<std::string, json> found;
  const json report = load_json(dir / "report.json");
  for (const json& page : report.at("pages"))
    found[fs::path(page.at("input").get<std::string>()).filename().string()] = page.at("skew");
  REQUIRE(found.size() == truth.size() + 2);
  double worst = 0;
  std::string errors;
  for (const auto& [name, angle] : truth) {
    const json& skew = found.at(name);
    const double error = std::abs(skew.at("degrees").get<double>() - angle);
    worst = std::max(worst, error);
    errors += fmt::format(" {:+.2f}:{:+.3f}", angle, skew.at("degrees").get<double>() - angle);
    CAPTURE(name);
    CHECK(error <= 0.1);
    CHECK(skew.at("turned_back") == (angle != 0.0));
  }
  MESSAGE("deskew error by angle (truth:error):" << errors << "; worst " << worst);
  // The straight page is left as it was: the same pixels.
  const std::string straight = fmt::format("a{:02d}-0001.png", 6);
  CHECK(found.at(straight).at("turned_back") == false);
  CHECK(cv::norm(read_unchanged(dir / "out" / straight), read_unchanged(dir / "in" / straight), cv::NORM_INF) == 0);
  CHECK(found.at("blank.png").at("turned_back") == false);
  CHECK(found.at("blank.png").at("note").get<std::string>().find("no reliable skew") == 0);
  CHECK(cv::norm(read_unchanged(dir / "out" / "blank.png"), blank, cv::NORM_INF) == 0);
  CHECK(found.at("photo.png").at("turned_back") == false);
  CHECK(found.at("photo.png").at("note").get<std::string>().find("no reliable skew") == 0);
  CHECK(run.err.find("no reliable skew") != std::string::npos);  // said in -v, as the angles are
  std::size_t turned_lines = 0;
  for (std::size_t at = run.err.find("degrees (confidence"); at != std::string::npos; at = run.err.find("degrees (confidence", at + 1))
    ++turned_lines;
  CHECK(turned_lines == truth.size() - 1);
  // Without -v, a page left unturned for want of a reliable angle is still said, once each.
  const auto quiet = imgflow::test::run_imgflow({(dir / "in").string(), (dir / "plain").string(), "--deskew"});
  REQUIRE(quiet.exit_code == 0);
  std::size_t warnings = 0;
  for (std::size_t at = quiet.err.find("warning: "); at != std::string::npos; at = quiet.err.find("warning: ", at + 1)) ++warnings;
  CHECK(warnings == 2);
  CHECK(quiet.err.find("blank.png: deskew: no reliable skew (confidence") != std::string::npos);
  CHECK(quiet.err.find("photo.png: deskew: no reliable skew (confidence") != std::string::npos);
  // A turned-back page is straight: measured again, it needs no turn.
  const auto again = imgflow::test::run_imgflow({(dir / "out").string(), (dir / "again").string(), "--deskew", "--report",
                                                 (dir / "again.json").string(), "-q"});
  REQUIRE(again.exit_code == 0);
  const json again_report = load_json(dir / "again.json");
  for (const json& page : again_report.at("pages"))
    if (page.at("skew").at("confidence").get<double>() >= 3)
      CHECK(std::abs(page.at("skew").at("degrees").get<double>()) <= 0.1);
}

TEST_CASE("--dpi: area averaging to the new resolution, pHYs updated - a page without one fails unless --assume-dpi") {
  TempDir dir;
  REQUIRE(imgflow::test::run_generator({"-n", "1", "--size", "600x800", "--dpi", "300", "--noise", "noisy", (dir / "in").string()}).exit_code == 0);
  REQUIRE(imgflow::test::run_generator({"-n", "1", "--size", "600x800", "--prefix", "bare-", (dir / "in").string()}).exit_code == 0);
  const auto failed = imgflow::test::run_imgflow({(dir / "in").string(), (dir / "out").string(), "--dpi", "150"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("bare-0001.png: neighbourhood: the page has no resolution to resample to 150 dpi from (give it with --assume-dpi N)") !=
        std::string::npos);
  CHECK(!fs::exists(dir / "out" / "bare-0001.png"));
  REQUIRE(fs::exists(dir / "out" / "page-0001.png"));
  const auto header = imgflow::test::read_png_header(dir / "out" / "page-0001.png");
  CHECK((header.width == 300 && header.height == 400));
  bool has_phys = false;
  for (const auto& chunk : imgflow::test::read_png_chunks(dir / "out" / "page-0001.png"))
    if (chunk.type == "pHYs") {
      has_phys = true;
      CHECK(chunk.data == std::vector<std::uint8_t>{0, 0, 0x17, 0x12, 0, 0, 0x17, 0x12, 1});  // 5906 per metre: 150 dpi
    }
  CHECK(has_phys);
  cv::Mat want;
  cv::resize(read_unchanged(dir / "in" / "page-0001.png"), want, {300, 400}, 0, 0, cv::INTER_AREA);
  CHECK(cv::norm(read_unchanged(dir / "out" / "page-0001.png"), want, cv::NORM_INF) == 0);  // a whole factor: exact

  // --strip drops the chunks from the output, but the page's resolution is still known.
  REQUIRE(imgflow::test::run_imgflow({(dir / "in" / "page-0001.png").string(), (dir / "stripped").string(), "--dpi", "150",
                                      "--strip", "-q"}).exit_code == 0);
  CHECK(imgflow::test::read_png_header(dir / "stripped" / "page-0001.png").width == 300);
  for (const auto& chunk : imgflow::test::read_png_chunks(dir / "stripped" / "page-0001.png")) CHECK(chunk.type != "pHYs");

  // Enlarging is held to the pixel limit: 600x800 at 300 dpi is 432,000,000 pixels at 9000.
  const auto huge = imgflow::test::run_imgflow({(dir / "in" / "page-0001.png").string(), (dir / "huge").string(), "--dpi", "9000"});
  CHECK(huge.exit_code == 1);
  CHECK(huge.err.find("neighbourhood: resampled to 9000 dpi the page would be 18000x24000 is 432000000 pixels, over the "
                      "limit of 200000000 (raise it with --max-pixels)") != std::string::npos);

  const auto assumed = imgflow::test::run_imgflow({(dir / "in").string(), (dir / "assumed").string(), "--dpi", "200", "--assume-dpi", "300", "-q"});
  CHECK(assumed.exit_code == 0);
  const auto bare = imgflow::test::read_png_header(dir / "assumed" / "bare-0001.png");
  CHECK((bare.width == 400 && bare.height == 533));
}

TEST_CASE("--threshold sauvola: a 1-bit page - the flags refuse values out of range with the reason") {
  TempDir dir;
  REQUIRE(imgflow::test::run_generator({"-n", "1", "--size", "400x500", "--noise", "noisy", (dir / "in").string()}).exit_code == 0);
  REQUIRE(imgflow::test::run_imgflow({(dir / "in").string(), (dir / "out").string(), "--threshold", "sauvola:25,0.3", "-q"}).exit_code == 0);
  CHECK(imgflow::test::read_png_header(dir / "out" / "page-0001.png").bit_depth == 1);
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused{
      {{"--threshold", "257"}, "expected a level from 0 to 256, otsu or sauvola[:WINDOW[,K]], got '257'"},
      {{"--threshold", "sauvola:4"}, "the Sauvola window must be an odd whole number from 3 to 1001"},
      {{"--threshold", "sauvola:15,1.5"}, "Sauvola's K must be a number between 0 and 1"},
      {{"--normalize=5,2"}, "expected LOW,HIGH percentages with 0 <= LOW < HIGH <= 100, got '5,2'"},
      {{"--deskew=50"}, "--deskew: the largest angle must be more than 0 and at most 45 degrees"},
      {{"--dpi", "0"}, "--dpi: expected a resolution from 1 to 100000"},
      {{"--assume-dpi", "300"}, "--assume-dpi applies to --dpi"}};
  for (const auto& [flags, message] : refused) {
    std::vector<std::string> args{(dir / "in").string(), (dir / "refused").string()};
    args.insert(args.end(), flags.begin(), flags.end());
    const auto run = imgflow::test::run_imgflow(args);
    CAPTURE(message);
    CHECK(run.exit_code == 2);
    CHECK(run.err.find(message) != std::string::npos);
  }
  CHECK(!fs::exists(dir / "refused"));
}

TEST_CASE("16-bit pages: --grayscale stays 16-bit by bild's formula, --threshold takes the high byte as Go converts it") {
  TempDir dir;
  fs::create_directories(dir / "in");
  cv::Mat rgb(64, 64, CV_16UC3), gray(1, 65536 / 16, CV_16UC1);
  cv::RNG rng(9);
  rng.fill(rgb, cv::RNG::UNIFORM, 0, 65536);
  for (int i = 0; i < gray.cols; ++i) gray.at<std::uint16_t>(0, i) = static_cast<std::uint16_t>(i * 16 + 7);
  REQUIRE(cv::imwrite((dir / "in" / "rgb16.png").string(), rgb));
  REQUIRE(cv::imwrite((dir / "in" / "gray16.png").string(), gray));
  REQUIRE(imgflow::test::run_imgflow({(dir / "in").string(), (dir / "gray").string(), "--grayscale", "-q"}).exit_code == 0);
  const auto header = imgflow::test::read_png_header(dir / "gray" / "rgb16.png");
  CHECK((header.colour_type == 0 && header.bit_depth == 16));
  const cv::Mat luma = read_unchanged(dir / "gray" / "rgb16.png");
  std::size_t wrong = 0;
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) {
      const cv::Vec3w bgr = rgb.at<cv::Vec3w>(y, x);
      wrong += luma.at<std::uint16_t>(y, x) != static_cast<std::uint16_t>(0.3 * bgr[2] + 0.6 * bgr[1] + 0.1 * bgr[0] + 0.5);
    }
  CHECK(wrong == 0);
  REQUIRE(imgflow::test::run_imgflow({(dir / "in").string(), (dir / "bits").string(), "--threshold", "128", "-q"}).exit_code == 0);
  const cv::Mat rgb_bits = read_unchanged(dir / "bits" / "rgb16.png"), gray_bits = read_unchanged(dir / "bits" / "gray16.png");
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) {
      const cv::Vec3w bgr = rgb.at<cv::Vec3w>(y, x);
      wrong += rgb_bits.at<std::uint8_t>(y, x) != (rank_of(bgr[2] >> 8, bgr[1] >> 8, bgr[0] >> 8) >= 128 ? 255 : 0);
    }
  for (int i = 0; i < gray.cols; ++i) {
    const int high = gray.at<std::uint16_t>(0, i) >> 8;
    wrong += gray_bits.at<std::uint8_t>(0, i) != (rank_of(high, high, high) >= 128 ? 255 : 0);
  }
  CHECK(wrong == 0);
}

TEST_CASE("a 1-bit page stays 1-bit through --normalize, --grayscale and tables that keep black and white, pixels as they should be") {
  TempDir dir;
  const fs::path fax = imgflow::test::shared_dir() / "corpus" / "formats" / "image-tiff__fax2d.tif";
  REQUIRE(fs::exists(fax));
  REQUIRE(imgflow::test::run_imgflow({fax.string(), (dir / "plain").string(), "--gamma", "1", "-q"}).exit_code == 0);
  REQUIRE(imgflow::test::run_imgflow({fax.string(), (dir / "ops").string(), "--normalize", "--grayscale", "--invert", "-q"}).exit_code == 0);
  CHECK(imgflow::test::read_png_header(dir / "ops" / "image-tiff__fax2d.png").bit_depth == 1);
  const cv::Mat plain = read_unchanged(dir / "plain" / "image-tiff__fax2d.png"), ops = read_unchanged(dir / "ops" / "image-tiff__fax2d.png");
  cv::Mat inverted;
  cv::bitwise_not(plain, inverted);
  CHECK(cv::norm(ops, inverted, cv::NORM_INF) == 0);
}
