#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "codec/image.hpp"
#include "codec/options.hpp"
#include "codec/scratch.hpp"

namespace imgflow {

/// The fast path for the PNGs that matter most: 8- and 16-bit gray, gray+alpha, RGB and RGBA,
/// not interlaced, no tRNS. Walks the chunks, inflates the gathered IDAT data with libdeflate
/// into `scratch` (sized from IHDR) and unfilters it into `image.pixels`.
/// Returns false, leaving the decision to libpng, for anything else: other layouts, and any
/// file that is not perfectly well-formed, so that errors and their messages are libpng's.
bool decode_png_fast(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     Image& image, CodecScratch& scratch);

}  // namespace imgflow
