#pragma once
// The resume stamp as an XMP packet, for the formats whose place for such text is XMP (JPEG's
// APP1, WebP's "XMP " chunk, JPEG 2000's XMP uuid box): xmp:CreatorTool holds the software
// stamp and imgflow:source what the output was made from.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace imgflow::xmp {

/// The packet (UTF-8 XML, no trailing padding) recording `software` and `source`.
std::string packet(std::string_view software, std::string_view source);

struct Stamp {
  std::string software, source;
};
/// The two values from a packet `packet` wrote (empty when absent). Reads nothing outside `bytes`.
Stamp read(std::span<const std::uint8_t> bytes);

/// JPEG 2000's uuid for XMP (ISO 15444-2 / XMP part 3).
inline constexpr std::uint8_t kJp2Uuid[16] = {0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8,
                                              0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC};
/// JPEG's APP1 identifier of an XMP packet, with its terminating NUL.
inline constexpr std::string_view kJpegNamespace{"http://ns.adobe.com/xap/1.0/\0", 29};

}  // namespace imgflow::xmp
