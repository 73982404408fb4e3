#pragma once
#include <cstdint>
#include <span>

#include "pipeline/image.hpp"

namespace imgflow {

struct PngDecodeOptions {
  std::uint64_t max_pixels = 200'000'000;
  bool verify_checksums = true;  ///< chunk CRC-32s and the zlib Adler-32
};

/// The fast path for the PNGs that matter most: 8- and 16-bit gray, gray+alpha, RGB and RGBA,
/// not interlaced, no tRNS. Walks the chunks, inflates the gathered IDAT data with libdeflate
/// into a per-thread buffer sized from IHDR and unfilters it into `image.pixels`.
/// Returns false, leaving the decision to libpng, for anything else: other layouts, and any
/// file that is not perfectly well-formed, so that errors and their messages are libpng's.
bool decode_png_fast(std::span<const std::uint8_t> bytes, const PngDecodeOptions& options,
                     Image& image);

}  // namespace imgflow
