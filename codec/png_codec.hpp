#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "codec/image.hpp"
#include "codec/png_fast_decode.hpp"

namespace imgflow {

/// True when the bytes start with the 8-byte PNG signature.
bool is_png(std::span<const std::uint8_t> bytes);

/// Decodes any valid PNG with libpng. 1-bit gray stays bilevel; palette images and 2/4-bit gray
/// are expanded to 8 bits,
/// a tRNS chunk becomes an alpha channel, 16-bit stays 16-bit, gray+alpha stays 2 channels.
/// Colour-space and resolution chunks (iCCP, sRGB, gAMA, cHRM, cICP, pHYs) are kept in
/// Image::metadata, unparsed. Refuses images over `max_pixels` before allocating. Throws std::runtime_error with libpng's
/// reason on corrupt data (bad CRC in a critical chunk, bad zlib stream, truncation...).
/// `image`'s buffers are reused.
void decode_png(std::span<const std::uint8_t> bytes, const DecodeOptions& options, Image& image);

struct PngEncodeOptions {
  int zlib_level = 6;  ///< 0..9
};

/// Encodes `image` as a PNG of the same layout and depth into `out` (replacing its contents),
/// with its metadata chunks before the image data.
void encode_png(const Image& image, Bytes& out, const PngEncodeOptions& options);

}  // namespace imgflow
