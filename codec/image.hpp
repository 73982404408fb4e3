#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kernels/image_view.hpp"
#include "codec/bytes.hpp"

namespace imgflow {

/// A PNG chunk copied verbatim from input to output: the ones that say how to interpret the
/// samples (colour space, resolution), which a point adjustment leaves valid.
struct AncillaryChunk {
  std::array<char, 4> type;
  std::vector<std::uint8_t> data;
};

/// A decoded image: interleaved samples, rows packed without padding, 16-bit samples in the
/// machine's byte order. Channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. A bilevel page
/// (bit_depth 1, one channel) keeps 8 pixels per byte, most significant bit first, 1 = white
/// (PNG's convention), each row starting on a byte.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  int bit_depth = 8;  ///< 1 (bilevel gray), 8 or 16
  Bytes pixels;
  /// The chunks an output carries (png::kCarriedChunks), ready to write: copied from a PNG input
  /// or made from another format's resolution and ICC profile (see codec/metadata.hpp).
  std::vector<AncillaryChunk> metadata;

  std::size_t bytes_per_sample() const { return bit_depth == 16 ? 2 : 1; }
  std::size_t row_bytes() const {
    if (bit_depth == 1) return (static_cast<std::size_t>(width) * channels + 7) / 8;
    return static_cast<std::size_t>(width) * channels * bytes_per_sample();
  }
  std::size_t byte_size() const { return row_bytes() * height; }
  /// 1-4 channels of 8 or 16 bits, or bilevel gray: what the PNG encoders write.
  bool has_encodable_layout() const {
    if (bit_depth == 1) return channels == 1;
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
