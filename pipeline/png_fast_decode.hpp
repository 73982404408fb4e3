#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "pipeline/image.hpp"

namespace imgflow {

struct PngDecodeOptions {
  std::uint64_t max_pixels = 200'000'000;
  bool verify_checksums = true;  ///< chunk CRC-32s and the zlib Adler-32
  /// Reject any checksum error, even in a chunk that cannot change the pixels (by default such a
  /// chunk is dropped with the rest of the file kept), and any file without its IEND chunk.
  bool strict = false;
};

/// Why an image of `width` x `height` is refused under `limit`, naming the way out; empty when
/// it is within the limit. Every decoder says it the same way.
inline std::string over_pixel_limit(std::uint64_t width, std::uint64_t height, std::uint64_t limit) {
  const std::uint64_t pixels = width * height;
  if (pixels <= limit) return {};
  return std::to_string(width) + "x" + std::to_string(height) + " is " + std::to_string(pixels) +
         " pixels, over the limit of " + std::to_string(limit) + " (raise it with --max-pixels)";
}

/// The fast path for the PNGs that matter most: 8- and 16-bit gray, gray+alpha, RGB and RGBA,
/// not interlaced, no tRNS. Walks the chunks, inflates the gathered IDAT data with libdeflate
/// into a per-thread buffer sized from IHDR and unfilters it into `image.pixels`.
/// Returns false, leaving the decision to libpng, for anything else: other layouts, and any
/// file that is not perfectly well-formed, so that errors and their messages are libpng's.
bool decode_png_fast(std::span<const std::uint8_t> bytes, const PngDecodeOptions& options,
                     Image& image);

}  // namespace imgflow
