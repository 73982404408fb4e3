#pragma once
#include <cstddef>
#include <cstdint>

namespace imgflow {

/// Writes the upright version of a `width` x `height` image whose pixels are `pixel_bytes`
/// bytes each, rows packed, stored with EXIF/TIFF orientation `orientation` (1-8), into `dst`:
/// `width` x `height` for 1-4, `height` x `width` for 5-8 (transposed). `dst` must not overlap
/// `src`.
void orient_pixels(const std::uint8_t* src, int width, int height, std::size_t pixel_bytes, int orientation,
                   std::uint8_t* dst);

/// Whether orientation `orientation` swaps width and height (5-8).
inline bool orientation_transposes(int orientation) { return orientation >= 5 && orientation <= 8; }

}  // namespace imgflow
