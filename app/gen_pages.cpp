// imgflow-gen: writes N synthetic document pages (text, a figure, optional scan noise) as PNGs.
// Deterministic: the same options give byte-identical files on every machine.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "files/file_io.hpp"
#include "codec/metadata.hpp"
#include "codec/png_codec.hpp"

namespace fs = std::filesystem;

namespace {

struct PageOptions {
  int width = 1654, height = 2339;  // A4 at 200 dpi
  bool rgb = false;
  bool noisy = false;
  double skew_degrees = 0;  ///< the page turned counter-clockwise (as seen) by this much
  double dpi = 0;           ///< recorded in pHYs when > 0
  std::uint64_t seed = 1;
};

std::string random_word(cv::RNG& rng) {
  std::string word(static_cast<std::size_t>(rng.uniform(1, 11)), 'a');
  for (char& c : word) c = static_cast<char>('a' + rng.uniform(0, 26));
  return word;
}

cv::Mat render_page(const PageOptions& o, int page_number) {
  cv::RNG rng(o.seed * 1000003ULL + static_cast<std::uint64_t>(page_number));
  const cv::Scalar paper = o.noisy ? cv::Scalar(228, 238, 242) : cv::Scalar(255, 255, 255);  // BGR
  const cv::Scalar ink = o.rgb ? cv::Scalar(70, 35, 30) : cv::Scalar(20, 20, 20);
  cv::Mat page(o.height, o.width, CV_8UC3, paper);

  const double scale = o.width / 1654.0;
  const int margin = static_cast<int>(o.width * 0.09);
  const int line_height = std::max(8, static_cast<int>(34 * scale));
  const double font = 0.85 * scale;
  const int thickness = std::max(1, static_cast<int>(std::lround(1.6 * scale)));

  int y = margin + line_height;
  cv::putText(page, "Page " + std::to_string(page_number) + " - " + random_word(rng),
              {margin, y}, cv::FONT_HERSHEY_DUPLEX, font * 1.8, ink, thickness + 1, cv::LINE_AA);
  y += 2 * line_height;

  const int figure_at = rng.uniform(0, 3);  // which paragraph is followed by a figure
  for (int paragraph = 0; y < o.height - margin - line_height; ++paragraph) {
    const int lines = rng.uniform(3, 9);
    for (int l = 0; l < lines && y < o.height - margin; ++l, y += line_height) {
      int x = margin + (l == 0 ? static_cast<int>(40 * scale) : 0);
      const int right = l + 1 == lines ? o.width / 2 + rng.uniform(0, o.width / 3) : o.width - margin;
      for (;;) {
        const std::string word = random_word(rng);
        int baseline = 0;
        const cv::Size size = cv::getTextSize(word, cv::FONT_HERSHEY_SIMPLEX, font, thickness, &baseline);
        if (x + size.width > right) break;
        cv::putText(page, word, {x, y}, cv::FONT_HERSHEY_SIMPLEX, font, ink, thickness, cv::LINE_AA);
        x += size.width + static_cast<int>(14 * scale);
      }
    }
    y += line_height / 2;
    if (paragraph == figure_at && y + o.height / 5 < o.height - margin) {
      // A figure: a shaded box with a plotted curve and a frame.
      const cv::Rect box(margin, y, o.width - 2 * margin, o.height / 6);
      for (int r = 0; r < box.height; ++r) {
        const double shade = 200 + 40.0 * r / box.height;
        cv::line(page, {box.x, box.y + r}, {box.x + box.width - 1, box.y + r},
                 cv::Scalar(shade, shade, o.rgb ? shade - 30 : shade));
      }
      cv::Point previous(-1, -1);
      for (int x = box.x; x < box.x + box.width; x += std::max(1, box.width / 200)) {
        const double t = (x - box.x) / static_cast<double>(box.width);
        const cv::Point p(x, box.y + box.height / 2 +
                                 static_cast<int>(box.height * 0.35 * std::sin(t * 12 + page_number)));
        if (previous.x >= 0) cv::line(page, previous, p, o.rgb ? cv::Scalar(40, 40, 200) : ink, thickness + 1, cv::LINE_AA);
        previous = p;
      }
      cv::rectangle(page, box, ink, thickness);
      y += box.height + 2 * line_height;
    }
  }

  if (o.skew_degrees != 0) {  // as a feeder skews a sheet: turned about its centre, white comes in
    const cv::Mat turn = cv::getRotationMatrix2D({static_cast<float>(o.width - 1) / 2.0F, static_cast<float>(o.height - 1) / 2.0F}, o.skew_degrees, 1.0);
    cv::warpAffine(page, page, turn, page.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, paper);
  }
  if (o.noisy) {
    cv::GaussianBlur(page, page, {3, 3}, 0.8);
    cv::Mat noise(page.size(), CV_16SC3);
    rng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(7));
    cv::Mat noisy;
    page.convertTo(noisy, CV_16SC3);
    noisy += noise;
    noisy.convertTo(page, CV_8UC3);  // saturating
    for (int i = 0; i < 200; ++i)    // specks of dust
      cv::circle(page, {rng.uniform(0, o.width), rng.uniform(0, o.height)}, rng.uniform(1, 4),
                 cv::Scalar::all(rng.uniform(0, 90)), cv::FILLED);
  }
  if (!o.rgb) cv::cvtColor(page, page, cv::COLOR_BGR2GRAY);
  else cv::cvtColor(page, page, cv::COLOR_BGR2RGB);
  return page;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imgflow-gen: write synthetic document pages (deterministic for a given seed)",
               "imgflow-gen"};
  fs::path out_dir;
  int count = 10;
  std::string size = "1654x2339", colour = "gray", noise = "clean", prefix = "page-";
  PageOptions o;
  app.add_option("OUTPUT_DIR", out_dir, "Where the pages go (created if missing)")->required();
  app.add_option("-n,--count", count, "Number of pages")->default_val(count)->check(CLI::PositiveNumber);
  app.add_option("--size", size, "WIDTHxHEIGHT in pixels")->default_val(size);
  app.add_option("--color", colour, "gray or rgb")->default_val(colour)->check(CLI::IsMember({"gray", "rgb"}));
  app.add_option("--noise", noise, "clean or noisy (scan-like paper, blur, noise, dust)")
      ->default_val(noise)
      ->check(CLI::IsMember({"clean", "noisy"}));
  app.add_option("--seed", o.seed, "Random seed")->default_val(o.seed);
  int zlib_level = 6;
  app.add_option("--zlib-level", zlib_level,
                 "zlib level of the PNGs written (libpng's default 6; 9: a few percent smaller, about ten "
                 "times slower, what scripts/bench uses so that its datasets stay those of its figures)")
      ->default_val(zlib_level)
      ->check(CLI::Range(0, 9));
  app.add_option("--prefix", prefix, "File name prefix")->default_val(prefix);
  app.add_option("--skew", o.skew_degrees, "Turn each page counter-clockwise by DEGREES (OpenCV's warpAffine)")
      ->check(CLI::Range(-45.0, 45.0));
  app.add_option("--dpi", o.dpi, "Record this resolution (pHYs)")->check(CLI::Range(1.0, 100000.0));
  CLI11_PARSE(app, argc, argv);

  if (std::sscanf(size.c_str(), "%dx%d", &o.width, &o.height) != 2 || o.width < 64 || o.height < 64) {
    std::fprintf(stderr, "imgflow-gen: --size must be WIDTHxHEIGHT, each at least 64\n");
    return 2;
  }
  o.rgb = colour == "rgb";
  o.noisy = noise == "noisy";

  imgflow::Bytes encoded;
  for (int i = 1; i <= count; ++i) {
    const cv::Mat page = render_page(o, i);
    imgflow::Image image;
    image.width = page.cols;
    image.height = page.rows;
    image.channels = page.channels();
    image.pixels.assign(page.datastart, page.dataend);
    if (o.dpi > 0) imgflow::set_resolution_dpi(image, o.dpi);
    imgflow::encode_png(image, encoded, {.zlib_level = zlib_level});
    char name[64];
    std::snprintf(name, sizeof name, "%04d.png", i);
    imgflow::write_file_atomically(out_dir / (prefix + name), encoded);
  }
  return 0;
}
