#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kernels/image_view.hpp"
#include "pipeline/bytes.hpp"

namespace imgflow {

/// A PNG chunk copied verbatim from input to output: the ones that say how to interpret the
/// samples (colour space, resolution), which a point adjustment leaves valid.
struct AncillaryChunk {
  std::array<char, 4> type;
  std::vector<std::uint8_t> data;
};

/// A decoded image: interleaved samples, rows packed without padding, 16-bit samples in the
/// machine's byte order. Channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  int bit_depth = 8;  ///< 8 or 16
  Bytes pixels;
  std::vector<AncillaryChunk> metadata;  ///< iCCP, sRGB, gAMA, cHRM, cICP, pHYs from a PNG input

  std::size_t bytes_per_sample() const { return bit_depth == 16 ? 2 : 1; }
  std::size_t row_bytes() const {
    return static_cast<std::size_t>(width) * channels * bytes_per_sample();
  }
  std::size_t byte_size() const { return row_bytes() * height; }
  /// 1-4 channels of 8 or 16 bits: what the PNG encoders write.
  bool has_encodable_layout() const {
    return channels >= 1 && channels <= 4 && (bit_depth == 8 || bit_depth == 16);
  }
  void allocate() { pixels.resize(byte_size()); }

  template <typename T>
  ImageView<T> view() {
    return {reinterpret_cast<T*>(pixels.data()), width, height, channels,
            static_cast<std::ptrdiff_t>(width) * channels};
  }
  template <typename T>
  ImageView<const T> view() const {
    return {reinterpret_cast<const T*>(pixels.data()), width, height, channels,
            static_cast<std::ptrdiff_t>(width) * channels};
  }
};

/// "gray", "gray+alpha", "RGB" or "RGBA".
std::string_view layout_name(int channels);

}  // namespace imgflow
