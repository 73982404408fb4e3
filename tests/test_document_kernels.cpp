// The document kernels, each against a reference that does not share its code: bild's own
// values (bild-gray.tsv), OpenCV's Otsu, warpAffine and INTER_AREA resize, and naive
// per-pixel versions written out here (percentiles from sorted samples, Sauvola's windows
// summed pixel by pixel).
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "kernels/document.hpp"
#include "kernels/geometry.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

struct GrayRow {
  int r, g, b, grayscale, min_level;
};

// Every row of bild-gray.tsv: 256 gray values, then 65,536 random RGB triples.
std::vector<GrayRow> bild_gray_rows() {
  std::ifstream in(test::shared_dir() / "reference" / "bild-gray.tsv");
  REQUIRE(in.good());
  std::vector<GrayRow> rows;
  std::string line;
  std::getline(in, line);
  REQUIRE(line == "r\tg\tb\tgrayscale\tthreshold_min_level");
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    GrayRow row{};
    fields >> row.r >> row.g >> row.b >> row.grayscale >> row.min_level;
    REQUIRE(!fields.fail());
    rows.push_back(row);
  }
  return rows;
}

// Packed bilevel rows back to 0/1 per pixel.
std::vector<int> unpack(const std::vector<std::uint8_t>& packed, int width, int height) {
  std::vector<int> out;
  const std::size_t row_bytes = (static_cast<std::size_t>(width) + 7) / 8;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) out.push_back((packed[y * row_bytes + static_cast<std::size_t>(x / 8)] >> (7 - x % 8)) & 1);
  return out;
}

}  // namespace

TEST_CASE("grayscale and threshold ranks: every row of bild-gray.tsv, as bild computed it") {
  const std::vector<GrayRow> rows = bild_gray_rows();
  REQUIRE(rows.size() == 256 + 65536);
  // All rows as one RGB image, one pixel each.
  const int width = static_cast<int>(rows.size());
  std::vector<std::uint8_t> rgb;
  for (const GrayRow& row : rows)
    rgb.insert(rgb.end(), {static_cast<std::uint8_t>(row.r), static_cast<std::uint8_t>(row.g), static_cast<std::uint8_t>(row.b)});
  const ImageView<const std::uint8_t> view{rgb.data(), width, 1, 3, static_cast<std::ptrdiff_t>(rgb.size())};

  std::vector<std::uint8_t> gray(rows.size()), rank(rows.size());
  std::vector<std::uint64_t> histogram(256);
  to_gray(view, nullptr, GrayKind::luma, gray.data(), histogram.data());
  to_gray(view, nullptr, GrayKind::rank, rank.data(), nullptr);
  std::size_t gray_wrong = 0, rank_wrong = 0, quirks = 0;
  std::vector<std::uint64_t> counted(256);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    gray_wrong += gray[i] != rows[i].grayscale;
    // The smallest level that makes the pixel black is its truncated rank plus one.
    rank_wrong += rank[i] + 1 != rows[i].min_level;
    ++counted[gray[i]];
    if (i < 256) quirks += rank[i] + 1 == static_cast<int>(i);  // gray v ranks v - 1 (1, 2, 4, 8, 11...)
  }
  CHECK(gray_wrong == 0);
  CHECK(rank_wrong == 0);
  CHECK(histogram == counted);  // counted on the way, as made
  CHECK(quirks > 0);
  CHECK(rank[1] == 0);  // bild-gray.tsv's gray 1: rank 0

  // Thresholded at every level: white exactly where the level is below the row's min_level.
  std::vector<std::uint8_t> packed((rows.size() + 7) / 8);
  const ImageView<const std::uint8_t> ranks{rank.data(), width, 1, 1, width};
  for (int level = 0; level <= 256; ++level) {
    std::array<std::uint8_t, 256> white{};
    for (int v = 0; v < 256; ++v) white[static_cast<std::size_t>(v)] = v >= level;
    pack_bilevel(ranks, white.data(), packed.data());
    const std::vector<int> bits = unpack(packed, width, 1);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) wrong += bits[i] != (level < rows[i].min_level ? 1 : 0);
    CAPTURE(level);
    CHECK(wrong == 0);
  }
}

TEST_CASE("ranks of gray and gray+alpha views: bild's rank of the gray rows of bild-gray.tsv, alpha 0 white") {
  const std::vector<GrayRow> rows = bild_gray_rows();
  std::vector<std::uint8_t> gray(256), gray_alpha, rank(256), rank_alpha(256);
  for (int v = 0; v < 256; ++v) {
    REQUIRE(rows[static_cast<std::size_t>(v)].r == v);  // the first 256 rows are (v, v, v)
    gray[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(v);
    gray_alpha.insert(gray_alpha.end(), {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v % 3 == 0 ? 0 : 200)});
  }
  to_gray({gray.data(), 256, 1, 1, 256}, nullptr, GrayKind::rank, rank.data(), nullptr);
  to_gray({gray_alpha.data(), 256, 1, 2, 512}, nullptr, GrayKind::rank, rank_alpha.data(), nullptr);
  std::size_t wrong = 0, wrong_alpha = 0;
  for (std::size_t v = 0; v < 256; ++v) {
    wrong += rank[v] + 1 != rows[v].min_level;
    wrong_alpha += v % 3 == 0 ? rank_alpha[v] != 255 : rank_alpha[v] + 1 != rows[v].min_level;
  }
  CHECK(wrong == 0);
  CHECK(wrong_alpha == 0);
  CHECK(rank[1] == 0);  // the v - 1 quirk survives the gray path
  // In place, as the pipeline does it for a page it has just unpacked.
  to_gray({gray.data(), 256, 1, 1, 256}, nullptr, GrayKind::rank, gray.data(), nullptr);
  CHECK(gray == rank);
}

TEST_CASE("transparent pixels: rank makes alpha 0 white, luma keeps alpha, a table applies before either") {
  // RGBA: black transparent, black opaque, a colour half transparent.
  const std::vector<std::uint8_t> rgba{0, 0, 0, 0, 0, 0, 0, 255, 200, 100, 50, 128};
  const ImageView<const std::uint8_t> view{rgba.data(), 3, 1, 4, 12};
  std::vector<std::uint8_t> rank(3), luma(6);
  to_gray(view, nullptr, GrayKind::rank, rank.data(), nullptr);
  CHECK(rank == std::vector<std::uint8_t>{255, 0, bild_rank(200, 100, 50)});
  to_gray(view, nullptr, GrayKind::luma, luma.data(), nullptr);
  CHECK(luma == std::vector<std::uint8_t>{0, 0, 0, 255, static_cast<std::uint8_t>(0.3 * 200 + 0.6 * 100 + 0.1 * 50 + 0.5), 128});
  std::vector<std::uint8_t> invert(256);
  for (int v = 0; v < 256; ++v) invert[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(255 - v);
  to_gray(view, invert.data(), GrayKind::luma, luma.data(), nullptr);
  CHECK(luma[0] == 255);
  CHECK(luma[1] == 0);  // alpha is not a colour: untouched by the table
  // gray+alpha to bilevel: alpha 0 is white even where the level would make it black.
  const std::vector<std::uint8_t> gray_alpha{0, 0, 0, 255, 255, 255};
  std::array<std::uint8_t, 256> white{};
  std::vector<std::uint8_t> packed(1);
  pack_bilevel({gray_alpha.data(), 3, 1, 2, 6}, white.data(), packed.data());
  CHECK(packed[0] == 0x80);
}

TEST_CASE("Otsu: the level OpenCV's THRESH_OTSU picks, on generated, sample and real pages") {
  std::vector<cv::Mat> pages;
  std::mt19937 rng(3);
  for (int i = 0; i < 20; ++i) {  // two or three humps of random heights, widths and places
    cv::Mat page(64, 64, CV_8UC1);
    const auto draw = [&](unsigned below) { return static_cast<double>(rng() % below); };
    std::normal_distribution<double> ink(draw(100), 5 + draw(30)), paper(150 + draw(100), 3 + draw(20));
    const double share = 0.02 + draw(50) / 100.0;
    for (auto it = page.begin<std::uint8_t>(); it != page.end<std::uint8_t>(); ++it)
      *it = cv::saturate_cast<std::uint8_t>(draw(1000) / 1000.0 < share ? ink(rng) : paper(rng));
    pages.push_back(page);
  }
  pages.emplace_back(8, 8, CV_8UC1, cv::Scalar(77));  // one value
  std::size_t real = 0;
  for (const fs::path& dir : {test::data_dir(), test::shared_dir() / "corpus" / "real"})
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".png") continue;
      cv::Mat page = cv::imread(entry.path().string(), cv::IMREAD_GRAYSCALE);
      if (page.empty()) continue;
      pages.push_back(page);
      ++real;
    }
  CHECK(real >= 50);
  for (std::size_t i = 0; i < pages.size(); ++i) {
    std::vector<std::uint64_t> histogram(256);
    count_samples({pages[i].data, pages[i].cols, pages[i].rows, 1, static_cast<std::ptrdiff_t>(pages[i].step)},
                  histogram.data());
    cv::Mat ignored;
    const double opencv = cv::threshold(pages[i], ignored, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
    CAPTURE(i);
    CHECK(otsu_threshold(histogram.data()) == static_cast<int>(opencv));
  }
}

TEST_CASE("normalize: percentile levels as sorted samples give them, and the stretch table") {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::vector<int> samples(1 + rng() % 3000);
    const int low_end = static_cast<int>(rng() % 200), span = 1 + static_cast<int>(rng() % 56);
    for (int& s : samples) s = low_end + static_cast<int>(rng() % static_cast<unsigned>(span));
    std::vector<std::uint64_t> histogram(256);
    for (const int s : samples) ++histogram[static_cast<std::size_t>(s)];
    std::sort(samples.begin(), samples.end());
    const double low = static_cast<double>(rng() % 100) / 10.0, high = 100 - static_cast<double>(rng() % 100) / 10.0;
    const auto n = static_cast<double>(samples.size());
    // Naive: the sample at the low cut counting up, and at the high cut counting down.
    const auto at = [&](double index) { return samples[std::min(samples.size() - 1, static_cast<std::size_t>(std::floor(index)))]; };
    const int want_low = at(n * low / 100), want_high = samples[samples.size() - 1 - std::min(samples.size() - 1, static_cast<std::size_t>(std::floor(n * (100 - high) / 100)))];
    const LevelBounds got = percentile_bounds(histogram, low, high);
    CAPTURE(round);
    CHECK(got.low == want_low);
    CHECK(got.high == want_high);
  }
  const std::vector<std::uint8_t> table = stretch_table<std::uint8_t>({50, 200}, 256);
  for (int v = 0; v < 256; ++v) {
    const double want = std::clamp(std::round((v - 50) * 255.0 / 150.0), 0.0, 255.0);
    CHECK(table[static_cast<std::size_t>(v)] == static_cast<int>(want));
  }
  const std::vector<std::uint16_t> flat = stretch_table<std::uint16_t>({9, 9}, 65536);
  CHECK((flat[0] == 0 && flat[9] == 9 && flat[65535] == 65535));  // one level: left as it is
}

TEST_CASE("Sauvola: the integral-image kernel equals every window summed pixel by pixel") {
  std::mt19937 rng(11);
  for (const auto& [w, h, window, k] : {std::tuple{37, 23, 15, 0.2}, std::tuple{8, 5, 31, 0.5}, std::tuple{100, 3, 3, 0.1},
                                        std::tuple{1, 1, 5, 0.3}, std::tuple{64, 64, 63, 0.34}}) {
    std::vector<std::uint8_t> gray(static_cast<std::size_t>(w) * h);
    for (auto& v : gray) v = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() % 90 : 150 + rng() % 100);
    // A black block: there T = 0 = v, and v > T is false, so it stays black.
    for (int y = 0; y < std::min(h, 12); ++y)
      for (int x = 0; x < std::min(w, 12); ++x) gray[static_cast<std::size_t>(y * w + x)] = 0;
    std::vector<std::uint8_t> packed((static_cast<std::size_t>(w) + 7) / 8 * h);
    std::vector<std::uint64_t> scratch;
    sauvola_bilevel({gray.data(), w, h, 1, w}, window, k, scratch, packed.data());
    const std::vector<int> bits = unpack(packed, w, h);
    const int r = window / 2;
    std::size_t wrong = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        std::int64_t sum = 0, squares = 0;
        for (int dy = -r; dy <= r; ++dy)
          for (int dx = -r; dx <= r; ++dx) {  // the edges repeated beyond the image
            const std::int64_t v = gray[static_cast<std::size_t>(std::clamp(y + dy, 0, h - 1) * w + std::clamp(x + dx, 0, w - 1))];
            sum += v;
            squares += v * v;
          }
        const double area = static_cast<double>(window) * window, mean = static_cast<double>(sum) / area;
        const double deviation = std::sqrt(std::max(0.0, static_cast<double>(squares) / area - mean * mean));
        const int want = gray[static_cast<std::size_t>(y * w + x)] > mean * (1 + k * (deviation / 128 - 1)) ? 1 : 0;
        wrong += bits[static_cast<std::size_t>(y * w + x)] != want;
      }
    CAPTURE(w);
    CAPTURE(window);
    CHECK(wrong == 0);
  }
}

TEST_CASE("rotation: the same turn as OpenCV's warpAffine, identity at zero degrees") {
  cv::Mat page(90, 120, CV_8UC3);
  for (int y = 0; y < page.rows; ++y)
    for (int x = 0; x < page.cols; ++x)
      page.at<cv::Vec3b>(y, x) = {static_cast<std::uint8_t>(2 * x), static_cast<std::uint8_t>(2 * y), static_cast<std::uint8_t>(x + y)};
  const ImageView<const std::uint8_t> src{page.data, page.cols, page.rows, 3, page.cols * 3};
  cv::Mat turned(page.size(), CV_8UC3);
  rotate_bilinear(src, 0.0, 255, {turned.data, page.cols, page.rows, 3, page.cols * 3});
  CHECK(cv::norm(turned, page, cv::NORM_INF) == 0);
  for (const double degrees : {-5.0, -0.7, 1.3, 4.2, 30.0}) {
    rotate_bilinear(src, degrees, 255, {turned.data, page.cols, page.rows, 3, page.cols * 3});
    const cv::Mat turn = cv::getRotationMatrix2D({static_cast<float>(page.cols - 1) / 2.0F, static_cast<float>(page.rows - 1) / 2.0F}, degrees, 1.0);
    cv::Mat opencv;
    cv::warpAffine(page, opencv, turn, page.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(255));
    // OpenCV interpolates in 1/32 pixel steps: a level apart on these gradients, where the
    // source lies inside the page (near the edges the two blend in the white differently).
    const cv::Rect inside(page.cols / 4, page.rows / 4, page.cols / 2, page.rows / 2);
    CAPTURE(degrees);
    CHECK(cv::norm(turned(inside), opencv(inside), cv::NORM_INF) <= 1);
    if (std::abs(degrees) >= 4) CHECK(cv::norm(turned(inside), page(inside), cv::NORM_INF) > 2);  // it did turn
  }
}

TEST_CASE("area resampling: OpenCV's INTER_AREA, exactly at whole factors, within a level otherwise") {
  std::mt19937 rng(2);
  for (const auto& [w, h, to_w, to_h] : {std::tuple{64, 48, 32, 24}, std::tuple{90, 60, 30, 20}, std::tuple{100, 80, 75, 60},
                                         std::tuple{97, 61, 40, 33}}) {
    for (const int channels : {1, 3}) {
      cv::Mat page(h, w, CV_8UC(channels));
      for (auto it = page.datastart; it != page.dataend; ++it) *const_cast<uchar*>(it) = static_cast<uchar>(rng());
      cv::Mat ours(to_h, to_w, CV_8UC(channels)), opencv;
      std::vector<double> scratch;
      resize_area({page.data, w, h, channels, w * channels}, {ours.data, to_w, to_h, channels, to_w * channels}, scratch);
      cv::resize(page, opencv, {to_w, to_h}, 0, 0, cv::INTER_AREA);
      CAPTURE(w);
      CAPTURE(to_w);
      CHECK(cv::norm(ours, opencv, cv::NORM_INF) <= (w % to_w == 0 && h % to_h == 0 ? 0 : 1));
    }
  }
}
