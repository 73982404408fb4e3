#pragma once
#include <cstddef>
#include <cstdint>

namespace imgflow {

/// Widens `height` rows of a bilevel image (8 pixels per byte, most significant bit first,
/// each row starting on a byte, 1 = white) to one byte per pixel: 0 or 255.
void unpack_bilevel(const std::uint8_t* src, int width, int height, std::uint8_t* dst);

/// What an 8-bit table does to a bilevel image: keep it, invert it, or make every pixel one
/// colour (black or white) - all of which stay bilevel - or none of these (it must be widened).
enum class BilevelMapping { identity, invert, all_black, all_white, widen };
BilevelMapping bilevel_mapping(const std::uint8_t* lut8);

/// Applies a mapping other than widen to the `bytes` packed bytes of a bilevel image in place.
/// (Padding bits at the end of each row are changed too; readers ignore them.)
void map_bilevel(std::uint8_t* bytes, std::size_t count, BilevelMapping mapping);

}  // namespace imgflow
