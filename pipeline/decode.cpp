#include "pipeline/decode.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/png_codec.hpp"

namespace imgflow {
namespace {

using OpenCvDecode = void (*)(const std::uint8_t*, std::size_t, std::uint64_t, Image*);

// Loads the OpenCV decoder module once, from beside the executable or from the build tree.
OpenCvDecode opencv_decoder() {
  static std::once_flag once;
  static OpenCvDecode decode = nullptr;
  static std::string problem;
  std::call_once(once, [] {
    std::vector<std::filesystem::path> candidates;
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(exe.parent_path() / IMGFLOW_OPENCV_MODULE_NAME);
    candidates.push_back(IMGFLOW_OPENCV_MODULE_PATH);
    for (const auto& path : candidates) {
      void* module = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!module) {
        problem = ::dlerror();
        continue;
      }
      decode = reinterpret_cast<OpenCvDecode>(::dlsym(module, "imgflow_decode_with_opencv"));
      if (decode) return;
      problem = "imgflow_decode_with_opencv not found in " + path.string();
    }
  });
  if (!decode) throw std::runtime_error("cannot load the decoder for non-PNG formats: " + problem);
  return decode;
}

}  // namespace

void decode_image(std::span<const std::uint8_t> bytes, const PngDecodeOptions& options, Image& image) {
  if (bytes.empty()) throw std::runtime_error("empty file");
  if (!is_png(bytes)) return opencv_decoder()(bytes.data(), bytes.size(), options.max_pixels, &image);
  if (decode_png_fast(bytes, options, image)) return;
  decode_png(bytes, options, image);
}

}  // namespace imgflow
