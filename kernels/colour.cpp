#include "kernels/colour.hpp"

#include <algorithm>

namespace imgflow {

void cmyk_to_rgb(const std::uint8_t* cmyk, std::size_t pixels, bool inverted, std::uint8_t* rgb) {
  for (std::size_t i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
    const int k = inverted ? cmyk[3] : 255 - cmyk[3];
    const int c = inverted ? cmyk[0] : 255 - cmyk[0], m = inverted ? cmyk[1] : 255 - cmyk[1],
              y = inverted ? cmyk[2] : 255 - cmyk[2];
    rgb[0] = static_cast<std::uint8_t>((c * k + 127) / 255);
    rgb[1] = static_cast<std::uint8_t>((m * k + 127) / 255);
    rgb[2] = static_cast<std::uint8_t>((y * k + 127) / 255);
  }
}

namespace {

template <typename T>
void unpremultiply_samples(T* p, std::size_t pixels, int channels, std::uint64_t max) {
  for (std::size_t i = 0; i < pixels; ++i, p += channels) {
    const std::uint64_t a = p[channels - 1];
    for (int c = 0; c < channels - 1; ++c)
      p[c] = a == 0 ? T{0} : static_cast<T>(std::min<std::uint64_t>(max, (p[c] * max + a / 2) / a));
  }
}

}  // namespace

void unpremultiply(std::uint8_t* samples, std::size_t pixels, int channels) {
  unpremultiply_samples(samples, pixels, channels, 255);
}
void unpremultiply(std::uint16_t* samples, std::size_t pixels, int channels) {
  unpremultiply_samples(samples, pixels, channels, 65535);
}

void flatten_onto_white(std::uint8_t* samples, std::size_t pixels, int channels) {
  const int colours = channels - 1;
  const std::uint8_t* in = samples;
  std::uint8_t* out = samples;
  for (std::size_t i = 0; i < pixels; ++i, in += channels) {
    const unsigned a = in[colours];
    for (int c = 0; c < colours; ++c) *out++ = static_cast<std::uint8_t>((in[c] * a + 255u * (255u - a) + 127u) / 255u);
  }
}

}  // namespace imgflow
