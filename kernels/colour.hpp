#pragma once
#include <cstddef>
#include <cstdint>

namespace imgflow {

/// CMYK to RGB without a colour profile, as Pillow converts: R = (255 - C)(255 - K) / 255,
/// rounded, likewise G from M and B from Y. `inverted`: the samples store 255 - ink (Adobe's
/// CMYK JPEGs). `rgb` may be `cmyk` itself (it is written behind the reads).
void cmyk_to_rgb(const std::uint8_t* cmyk, std::size_t pixels, bool inverted, std::uint8_t* rgb);

/// Straight alpha from premultiplied ("associated") alpha, in place: each colour sample c of a
/// pixel with alpha a becomes round(c * max / a), at most max; 0 where a is 0. `channels`
/// counts the alpha, which is last. 8-bit (max 255) and 16-bit (max 65535) samples.
void unpremultiply(std::uint8_t* samples, std::size_t pixels, int channels);
void unpremultiply(std::uint16_t* samples, std::size_t pixels, int channels);

/// An 8-bit page with alpha flattened onto white paper, in place: gray+alpha becomes gray, RGBA
/// RGB; each colour sample c under alpha a becomes round((c * a + 255 * (255 - a)) / 255).
/// `channels` (2 or 4) counts the alpha; the samples are packed to channels - 1 from the start.
void flatten_onto_white(std::uint8_t* samples, std::size_t pixels, int channels);

}  // namespace imgflow
