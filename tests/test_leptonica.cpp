// imgflow's skew estimate and Sauvola threshold next to Leptonica's (pixFindSkew, which
// Tesseract uses, and pixSauvolaBinarize), on pages OpenCV turned by known angles and on the
// document scans of the shared corpora. Leptonica is a reference, not the truth: the checks
// bound how far the two may differ, and the figures are printed for the README.
#include <doctest/doctest.h>
#include <leptonica/allheaders.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kernels/document.hpp"
#include "kernels/geometry.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

struct PixDeleter {
  void operator()(PIX* pix) const { pixDestroy(&pix); }
};
using PixPtr = std::unique_ptr<PIX, PixDeleter>;

// An 8-bit gray cv::Mat as a Leptonica image.
PixPtr to_pix(const cv::Mat& gray) {
  PixPtr pix(pixCreate(gray.cols, gray.rows, 8));
  REQUIRE(pix);
  l_uint32* data = pixGetData(pix.get());
  const l_int32 wpl = pixGetWpl(pix.get());
  for (int y = 0; y < gray.rows; ++y)
    for (int x = 0; x < gray.cols; ++x) SET_DATA_BYTE(data + y * wpl, x, gray.at<std::uint8_t>(y, x));
  return pix;
}

// A page whose text fills it as imgflow-gen draws (lines of words, a box), turned by `degrees`.
cv::Mat text_page(int seed, double degrees) {
  cv::Mat page(1754, 1240, CV_8UC1, cv::Scalar(255));
  cv::RNG rng(static_cast<std::uint64_t>(seed));
  for (int y = 120; y < page.rows - 120; y += 34) {
    int x = 100;
    while (x < page.cols - 200) {
      std::string word(static_cast<std::size_t>(rng.uniform(2, 10)), 'a');
      for (char& c : word) c = static_cast<char>('a' + rng.uniform(0, 26));
      cv::putText(page, word, {x, y}, cv::FONT_HERSHEY_SIMPLEX, 0.8, cv::Scalar(20), 2, cv::LINE_AA);
      x += static_cast<int>(word.size()) * 17 + 20;
    }
  }
  if (degrees != 0) {
    const cv::Mat turn = cv::getRotationMatrix2D({619.5F, 876.5F}, degrees, 1.0);
    cv::warpAffine(page, page, turn, page.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(255));
  }
  return page;
}

double our_skew(const cv::Mat& gray, double* confidence = nullptr) {
  std::vector<std::uint64_t> histogram(256);
  const ImageView<const std::uint8_t> view{gray.data, gray.cols, gray.rows, 1, static_cast<std::ptrdiff_t>(gray.step)};
  count_samples(view, histogram.data());
  std::vector<std::int32_t> scratch;
  const SkewEstimate found = find_skew(view, otsu_threshold(histogram.data()) + 1, 7.0, scratch);
  if (confidence) *confidence = found.confidence;
  return found.degrees;
}

// Leptonica's angle in imgflow's sign (positive: counter-clockwise), with its confidence.
double leptonica_skew(const cv::Mat& gray, float* confidence) {
  const PixPtr pix = to_pix(gray);
  const PixPtr binary(pixConvertTo1(pix.get(), 130));
  l_float32 angle = 0;
  *confidence = 0;
  if (pixFindSkew(binary.get(), &angle, confidence) != 0) return NAN;
  return angle;
}

}  // namespace

TEST_CASE("skew: imgflow and Leptonica's pixFindSkew on pages turned by known angles, and on real document scans") {
  setMsgSeverity(L_SEVERITY_NONE);
  std::vector<double> ours_errors, leptonica_errors;
  std::string table;
  for (const double degrees : {-4.5, -3.0, -1.6, -0.8, -0.3, 0.0, 0.25, 0.7, 1.4, 2.9, 4.4}) {
    const cv::Mat page = text_page(static_cast<int>(degrees * 10) + 100, degrees);
    float confidence = 0;
    const double ours = our_skew(page), leptonica = leptonica_skew(page, &confidence);
    ours_errors.push_back(std::abs(ours - degrees));
    leptonica_errors.push_back(std::abs(leptonica - degrees));
    table += fmt::format(" {:+.2f}: {:+.3f} / {:+.3f};", degrees, ours - degrees, leptonica - degrees);
    CAPTURE(degrees);
    CHECK(std::abs(ours - degrees) <= 0.1);
  }
  const auto worst = [](const std::vector<double>& errors) { return *std::max_element(errors.begin(), errors.end()); };
  MESSAGE("skew error, truth: imgflow / Leptonica:" << table << " worst " << worst(ours_errors) << " / " << worst(leptonica_errors));

  // Real scans: no truth; where Leptonica is confident the two should agree.
  std::string scans;
  std::size_t compared = 0;
  for (const std::string name : {"image-tiff__fax2d.tif", "Pillow__pport_g4.tif", "image-tiff__g4-fax.tif"}) {
    const fs::path path = test::shared_dir() / "corpus" / "formats" / name;
    if (!fs::exists(path)) continue;
    const PixPtr pix(pixRead(path.string().c_str()));
    if (!pix) continue;
    const PixPtr gray(pixConvertTo8(pix.get(), 0));
    cv::Mat page(pixGetHeight(gray.get()), pixGetWidth(gray.get()), CV_8UC1);
    const l_uint32* data = pixGetData(gray.get());
    const l_int32 wpl = pixGetWpl(gray.get());
    for (int y = 0; y < page.rows; ++y)
      for (int x = 0; x < page.cols; ++x) page.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(GET_DATA_BYTE(data + y * wpl, x));
    float confidence = 0;
    double our_confidence = 0;
    const double ours = our_skew(page, &our_confidence), leptonica = leptonica_skew(page, &confidence);
    scans += fmt::format(" {} {}x{}: {:+.3f} (confidence {:.1f}) / {:+.3f} (confidence {:.1f});", name, page.cols, page.rows,
                         ours, our_confidence, leptonica, confidence);
    CAPTURE(name);
    if (confidence >= 3.0) CHECK(std::abs(ours - leptonica) <= 0.1);
    ++compared;
  }
  MESSAGE("real scans, imgflow / Leptonica:" << scans);
  CHECK(compared >= 2);
}

TEST_CASE("Sauvola: imgflow's threshold agrees with Leptonica's pixSauvolaBinarize on all but a few pixels") {
  setMsgSeverity(L_SEVERITY_NONE);
  // A noisy scan: uneven paper, blur, noise.
  test::TempDir dir;
  REQUIRE(test::run_generator({"-n", "1", "--size", "800x1000", "--noise", "noisy", (dir / "in").string()}).exit_code == 0);
  const cv::Mat page = cv::imread((dir / "in" / "page-0001.png").string(), cv::IMREAD_GRAYSCALE);
  REQUIRE(!page.empty());
  for (const auto& [half, k] : {std::pair{7, 0.2}, std::pair{15, 0.34}, std::pair{25, 0.5}}) {
    std::vector<std::uint8_t> packed((static_cast<std::size_t>(page.cols) + 7) / 8 * page.rows);
    std::vector<std::uint64_t> scratch;
    sauvola_bilevel({page.data, page.cols, page.rows, 1, static_cast<std::ptrdiff_t>(page.step)}, 2 * half + 1, k, scratch,
                    packed.data());
    const PixPtr pix = to_pix(page);
    PIX* binary = nullptr;
    REQUIRE(pixSauvolaBinarize(pix.get(), half, static_cast<l_float32>(k), 1, nullptr, nullptr, nullptr, &binary) == 0);
    const PixPtr leptonica(binary);
    const l_uint32* data = pixGetData(leptonica.get());
    const l_int32 wpl = pixGetWpl(leptonica.get());
    const std::size_t row_bytes = (static_cast<std::size_t>(page.cols) + 7) / 8;
    std::size_t differ = 0, ink = 0;
    for (int y = 0; y < page.rows; ++y)
      for (int x = 0; x < page.cols; ++x) {
        const bool ours_white = (packed[y * row_bytes + static_cast<std::size_t>(x / 8)] >> (7 - x % 8)) & 1;
        const bool leptonica_black = GET_DATA_BIT(data + y * wpl, x);  // Leptonica: 1 is ink
        differ += ours_white == leptonica_black;
        ink += !ours_white;
      }
    const double share = static_cast<double>(differ) / (static_cast<double>(page.total()));
    MESSAGE(fmt::format("window {}, k {}: {} of {} pixels differ ({:.4f}%), {} ink pixels", 2 * half + 1, k, differ,
                        page.total(), 100 * share, ink));
    CHECK(ink > page.total() / 100);  // it found the text
    CHECK(share < 0.005);
  }
}
