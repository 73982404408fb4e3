#include "kernels/bilevel.hpp"

#include <cstring>

namespace imgflow {

void unpack_bilevel(const std::uint8_t* src, int width, int height, std::uint8_t* dst) {
  const std::size_t row_bytes = (static_cast<std::size_t>(width) + 7) / 8;
  for (int y = 0; y < height; ++y, src += row_bytes)
    for (int x = 0; x < width; ++x)
      *dst++ = (src[x >> 3] >> (7 - (x & 7))) & 1 ? 255 : 0;
}

BilevelMapping bilevel_mapping(const std::uint8_t* lut8) {
  const std::uint8_t black = lut8[0], white = lut8[255];
  if ((black != 0 && black != 255) || (white != 0 && white != 255)) return BilevelMapping::widen;
  if (black == 0) return white == 255 ? BilevelMapping::identity : BilevelMapping::all_black;
  return white == 0 ? BilevelMapping::invert : BilevelMapping::all_white;
}

void map_bilevel(std::uint8_t* bytes, std::size_t count, BilevelMapping mapping) {
  switch (mapping) {
    case BilevelMapping::invert:
      for (std::size_t i = 0; i < count; ++i) bytes[i] = static_cast<std::uint8_t>(~bytes[i]);
      break;
    case BilevelMapping::all_black: std::memset(bytes, 0x00, count); break;
    case BilevelMapping::all_white: std::memset(bytes, 0xFF, count); break;
    default: break;
  }
}

}  // namespace imgflow
