#pragma once
#include <cstdint>
#include <span>

#include "pipeline/image.hpp"
#include "pipeline/png_fast_decode.hpp"

namespace imgflow {

/// Whether the bytes start like a format imgflow hands to OpenCV: JPEG, TIFF, BMP, WebP, PNM.
bool is_opencv_format(std::span<const std::uint8_t> bytes);

/// Sets up what must be set before the first decode and applies process-wide (OpenCV's pixel
/// limit). Call once before decoding from several threads.
void prepare_decoders(const PngDecodeOptions& options);

/// Decodes an image file's bytes, choosing the decoder by content, not by name: PNG through
/// libpng (decode_png), everything else (JPEG, TIFF, BMP, WebP, PNM) through OpenCV, with
/// JPEG's EXIF orientation applied. Colour comes back as gray/RGB(A), 8 or 16 bits.
/// Throws std::runtime_error naming the reason. Images over `options.max_pixels` are refused
/// before their pixels are allocated, whatever the format (see prepare_decoders).
/// PNGs take decode_png_fast when they can, libpng otherwise. `image`'s buffers are reused.
void decode_image(std::span<const std::uint8_t> bytes, const PngDecodeOptions& options, Image& image);

}  // namespace imgflow
