#include "pipeline/decode.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/png_codec.hpp"
#include "pipeline/png_format.hpp"

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

bool starts_with(std::span<const std::uint8_t> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() && std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

// Formats OpenCV cannot read here but that users meet, so the error can say what the file is.
std::string_view unsupported_format(std::span<const std::uint8_t> bytes) {
  if (starts_with(bytes, "GIF87a") || starts_with(bytes, "GIF89a")) return "GIF";
  if (starts_with(bytes, "%PDF-")) return "PDF";
  if (starts_with(bytes, "PK\x03\x04")) return "ZIP";
  if (bytes.size() >= 12 && starts_with(bytes.subspan(4), "ftyp")) return "HEIF/AVIF";
  return {};
}

}  // namespace

bool is_opencv_format(std::span<const std::uint8_t> bytes) {
  if (starts_with(bytes, "\xFF\xD8\xFF")) return true;                         // JPEG
  if (starts_with(bytes, "II*") && bytes.size() >= 4 && bytes[3] == 0) return true;  // TIFF, little-endian
  if (starts_with(bytes, "MM") && bytes.size() >= 4 && bytes[2] == 0 && bytes[3] == '*') return true;
  if (starts_with(bytes, "BM")) return true;                                     // BMP
  if (starts_with(bytes, "RIFF") && bytes.size() >= 12 && starts_with(bytes.subspan(8), "WEBP")) return true;
  return bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6';  // PNM
}

namespace {

// The checks every PNG passes before a decoder allocates anything: the pixel limit, image data
// too short to hold the declared size (forged dimensions, truncation), and under --strict any
// checksum error or a missing IEND.
void check_png_structure(std::span<const std::uint8_t> bytes, const PngDecodeOptions& options) {
  const png::Structure s = png::inspect(bytes, options.strict);
  if (s.header && options.verify_checksums && !s.header_crc_ok)
    throw std::runtime_error("IHDR: CRC error (the header is damaged)");
  if (s.header) {
    if (std::string refusal = over_pixel_limit(s.width, s.height, options.max_pixels); !refusal.empty())
      throw std::runtime_error(std::move(refusal));
    if (s.idat_bytes * png::kMaxDeflateRatio < s.minimum_inflated_bytes())
      throw std::runtime_error(fmt::format("{}: {} bytes of compressed data cannot hold a {}x{} image",
                                           s.complete ? "too little image data" : "file is truncated",
                                           s.idat_bytes, s.width, s.height));
  }
  if (!options.strict) return;
  if (!s.bad_crc_chunk.empty())
    throw std::runtime_error("CRC error in " + s.bad_crc_chunk + " chunk (rejected by --strict)");
  if (!s.complete) throw std::runtime_error("file is truncated: no IEND chunk (rejected by --strict)");
}

// libpng's reason, with what a walk over the chunks says about the file: a CRC mismatch or a
// file that ends early explains most of its terser messages ("bad adaptive filter value").
std::string explain_png_failure(std::span<const std::uint8_t> bytes, const PngDecodeOptions& options,
                                const std::string& reason) {
  const png::Structure s = png::inspect(bytes, options.verify_checksums);
  if (!s.bad_crc_chunk.empty()) return "damaged: CRC error in the " + s.bad_crc_chunk + " chunk (" + reason + ")";
  if (!s.complete) {
    const std::string what = "truncated: the file ends before its IEND chunk";
    return reason == "file is truncated" ? what : what + " (" + reason + ")";
  }
  return reason;
}

}  // namespace

void prepare_decoders(const PngDecodeOptions& options) {
  // OpenCV reads its own pixel limit from the environment once, when imgcodecs is loaded; with
  // ours it refuses oversized images before allocating them, as the PNG decoders do.
  ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(options.max_pixels).c_str(), 1);
}

void decode_image(std::span<const std::uint8_t> bytes, const PngDecodeOptions& options, Image& image) {
  if (bytes.empty()) throw std::runtime_error("empty file");
  if (!is_png(bytes)) {
    if (const auto format = unsupported_format(bytes); !format.empty())
      throw std::runtime_error("the file is a " + std::string(format) + ", which imgflow cannot read");
    // Only the formats imgflow lists go to OpenCV: its other decoders (DICOM through GDCM, for
    // one) abort the whole process on some damaged files.
    if (!is_opencv_format(bytes)) throw std::runtime_error("not a readable image (unknown format or corrupt data)");
    return opencv_decoder()(bytes.data(), bytes.size(), options.max_pixels, &image);
  }
  check_png_structure(bytes, options);
  if (decode_png_fast(bytes, options, image)) return;
  try {
    decode_png(bytes, options, image);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(explain_png_failure(bytes, options, e.what()));
  }
}

}  // namespace imgflow
