// imgflow-bench-helper: what scripts/bench needs besides the tools it compares.
//   loop LUT.png IN_DIR OUT_DIR   the plain serial OpenCV baseline: imread, cv::LUT, imwrite
//   check LUT.png IN OUT          largest |OUT - LUT[IN]| over all samples (alpha excluded), or
//                                 different-channels when one is gray and the other colour
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

cv::Mat load_lut(const char* path) {
  const cv::Mat lut = cv::imread(path, cv::IMREAD_GRAYSCALE);
  if (lut.total() != 256) {
    std::fprintf(stderr, "bad LUT image %s\n", path);
    std::exit(2);
  }
  return lut.reshape(1, 1);
}

int loop(const char* lut_path, const fs::path& in_dir, const fs::path& out_dir) {
  cv::setNumThreads(1);
  const cv::Mat lut = load_lut(lut_path);
  fs::create_directories(out_dir);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(in_dir))
    if (const auto ext = entry.path().extension(); ext == ".png" || ext == ".jpg" || ext == ".tif")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    const cv::Mat image = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
    cv::Mat adjusted;
    cv::LUT(image, lut, adjusted);
    if (!cv::imwrite((out_dir / file.stem()).string() + ".png", adjusted)) return 1;
  }
  return 0;
}

int check(const char* lut_path, const char* in_path, const char* out_path) {
  const cv::Mat lut = load_lut(lut_path);
  // The same layout: a gray input stays gray, a colour one colour.
  if (cv::imread(in_path, cv::IMREAD_UNCHANGED).channels() != cv::imread(out_path, cv::IMREAD_UNCHANGED).channels()) {
    std::printf("different-channels\n");
    return 1;
  }
  const cv::Mat in = cv::imread(in_path, cv::IMREAD_COLOR);
  const cv::Mat out = cv::imread(out_path, cv::IMREAD_COLOR);
  if (in.empty() || out.empty() || in.size() != out.size()) {
    std::printf("unreadable-or-different-size\n");
    return 1;
  }
  cv::Mat expected;
  cv::LUT(in, lut, expected);
  cv::Mat difference;
  cv::absdiff(expected, out, difference);
  double max_difference = 0;
  cv::minMaxLoc(difference.reshape(1), nullptr, &max_difference);
  std::printf("%d\n", static_cast<int>(max_difference));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "loop" && argc == 5) return loop(argv[2], argv[3], argv[4]);
  if (command == "check" && argc == 5) return check(argv[2], argv[3], argv[4]);
  std::fprintf(stderr, "usage: %s loop LUT IN_DIR OUT_DIR | check LUT IN OUT\n", argv[0]);
  return 2;
}
