#pragma once
#include <cstdint>
#include <span>

#include "codec/formats.hpp"
#include "codec/image.hpp"
#include "codec/options.hpp"

namespace imgflow {

/// The pages of an image file: one for every format but TIFF, whose reduced-resolution
/// subfiles (thumbnails, pyramid levels) are not pages. Throws DecodeError when the file is not
/// a readable image or has no page at all; a chain damaged after some pages lists those pages
/// and says what is wrong in PageList::damage.
PageList list_pages(std::span<const std::uint8_t> bytes, const DecodeOptions& options);

/// Decodes one page of an image file (`page` from list_pages; 0 for single-page files),
/// choosing the decoder by content, not by name (codec/formats.hpp). Comes back as bilevel,
/// gray, gray+alpha, RGB or RGBA, 8 or 16 bits, upright (EXIF/TIFF orientation applied once),
/// with the carried chunks validated: none repeated, none malformed, none that libpng would
/// warn about (what is dropped is said in `notes.dropped`). Throws DecodeError naming the
/// reason (PixelLimitError for the pixel limit, checked before the pixels are allocated).
/// `image`'s buffers are reused, and `scratch`'s (the overload without one makes its own).
void decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t page,
                  Image& image, DecodeNotes& notes, CodecScratch& scratch);
void decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t page,
                  Image& image, DecodeNotes& notes);

}  // namespace imgflow
