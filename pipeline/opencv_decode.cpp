// The OpenCV decoder for every non-PNG format, built as a module that decode.cpp loads on the
// first non-PNG file: linking OpenCV's imgcodecs pulls in some 140 shared libraries (GDAL and
// friends) whose loading and start-up cost about 60 ms per run, paid even when every input is
// a PNG.
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>

#include "pipeline/image.hpp"
#include "pipeline/png_fast_decode.hpp"

namespace imgflow {
namespace {

bool is_jpeg(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

void decode_with_opencv(std::span<const std::uint8_t> bytes, std::uint64_t max_pixels, Image& image) {
  // OpenCV's own warnings would print unstructured lines; our caller reports the failure.
  static const bool silenced = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    return true;
  }();
  (void)silenced;

  // IMREAD_UNCHANGED keeps alpha and 16-bit samples but ignores EXIF orientation, which only
  // JPEGs (never with alpha) carry in practice; for those ask for any depth/colour instead.
  const int flags = is_jpeg(bytes) ? cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR : cv::IMREAD_UNCHANGED;
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8U,
                        const_cast<std::uint8_t*>(bytes.data()));
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(encoded, flags);
  } catch (const cv::Exception& e) {
    throw std::runtime_error("cannot decode: " + e.err);
  }
  if (decoded.empty()) throw std::runtime_error("not a readable image (unknown format or corrupt data)");
  if (decoded.depth() != CV_8U && decoded.depth() != CV_16U)
    throw std::runtime_error("unsupported sample type (only 8- and 16-bit integer images)");
  if (std::string refusal = imgflow::over_pixel_limit(static_cast<std::uint64_t>(decoded.cols),
                                                      static_cast<std::uint64_t>(decoded.rows), max_pixels);
      !refusal.empty())
    throw std::runtime_error(std::move(refusal));

  switch (decoded.channels()) {
    case 3: cv::cvtColor(decoded, decoded, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(decoded, decoded, cv::COLOR_BGRA2RGBA); break;
    case 1: case 2: break;
    default: throw std::runtime_error("unsupported channel count " + std::to_string(decoded.channels()));
  }

  image.metadata.clear();
  image.width = decoded.cols;
  image.height = decoded.rows;
  image.channels = decoded.channels();
  image.bit_depth = decoded.depth() == CV_16U ? 16 : 8;
  image.allocate();
  for (int y = 0; y < image.height; ++y)
    std::memcpy(image.pixels.data() + y * image.row_bytes(), decoded.ptr(y), image.row_bytes());
}

}  // namespace
}  // namespace imgflow

/// The module's one entry point (see decode.cpp). Throws std::runtime_error like any decoder.
extern "C" __attribute__((visibility("default"))) void imgflow_decode_with_opencv(
    const std::uint8_t* data, std::size_t size, std::uint64_t max_pixels, imgflow::Image* image) {
  imgflow::decode_with_opencv({data, size}, max_pixels, *image);
}
