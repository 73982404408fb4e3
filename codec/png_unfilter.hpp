#pragma once
// Reversing PNG's row filters (specification, section 9) for a whole image, with the widest
// instructions this CPU has. Every path gives the same bytes; the tests hold each to a naive
// reference on random rows of every filter and pixel width.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace imgflow::png {

/// scalar: plain C++ (the compiler vectorises Up); sse41: SSE2 prefix sums for Sub, SSE4.1
/// per-pixel Avg and Paeth for 3 to 8 bytes a pixel; avx2: sse41 with 32-byte Up.
enum class UnfilterPath { scalar, sse41, avx2 };

std::string_view unfilter_path_name(UnfilterPath path);
bool unfilter_path_supported(UnfilterPath path);  ///< by this CPU, asked at run time
UnfilterPath best_unfilter_path();                ///< decided once

/// Unfilters `height` rows of `row_bytes` bytes, each preceded in `filtered` by its filter
/// type, into `pixels` (a separate buffer). `bpp` is the filter's pixel width: 1, 2, 3, 4, 6
/// or 8 bytes. False on another width or a filter type above 4.
bool unfilter_image(UnfilterPath path, int bpp, const std::uint8_t* filtered, std::uint8_t* pixels,
                    std::size_t row_bytes, std::size_t height);
inline bool unfilter_image(int bpp, const std::uint8_t* filtered, std::uint8_t* pixels,
                           std::size_t row_bytes, std::size_t height) {
  return unfilter_image(best_unfilter_path(), bpp, filtered, pixels, row_bytes, height);
}

}  // namespace imgflow::png
