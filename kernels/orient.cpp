#include "kernels/orient.hpp"

#include <cstring>

namespace imgflow {

void orient_pixels(const std::uint8_t* src, int width, int height, std::size_t pixel_bytes, int orientation,
                   std::uint8_t* dst) {
  const bool transposed = orientation_transposes(orientation);
  const int out_width = transposed ? height : width, out_height = transposed ? width : height;
  const std::size_t src_stride = static_cast<std::size_t>(width) * pixel_bytes;
  // For each output pixel (X, Y), the stored pixel (x, y) that shows there (TIFF 6.0, tag 274:
  // where the stored 0th row and 0th column appear).
  for (int Y = 0; Y < out_height; ++Y) {
    std::uint8_t* out = dst + static_cast<std::size_t>(Y) * out_width * pixel_bytes;
    for (int X = 0; X < out_width; ++X, out += pixel_bytes) {
      int x = X, y = Y;
      switch (orientation) {
        case 2: x = width - 1 - X; break;
        case 3: x = width - 1 - X, y = height - 1 - Y; break;
        case 4: y = height - 1 - Y; break;
        case 5: x = Y, y = X; break;
        case 6: x = Y, y = height - 1 - X; break;
        case 7: x = width - 1 - Y, y = height - 1 - X; break;
        case 8: x = width - 1 - Y, y = X; break;
        default: break;
      }
      std::memcpy(out, src + static_cast<std::size_t>(y) * src_stride + static_cast<std::size_t>(x) * pixel_bytes,
                  pixel_bytes);
    }
  }
}

}  // namespace imgflow
