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

}  // namespace imgflow
