#pragma once
// The boxes of a JP2 file (ISO 15444-1 annex I): a 4-byte length (1: an 8-byte length follows;
// 0: to the end), a 4-byte type, the body; and OpenJPEG's handles and messages. Shared by the
// JPEG 2000 decoder and encoder.
#include <openjpeg.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string_view>

#include "codec/png_format.hpp"

namespace imgflow::jp2 {

struct CodecDeleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

/// Copies one of OpenJPEG's messages into a fixed buffer (its handlers must not throw), without
/// the new line OpenJPEG ends it with.
inline void copy_message(char* out, std::size_t size, const char* text) {
  std::snprintf(out, size, "%s", text);
  std::size_t n = std::strlen(out);
  while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = 0;
}

struct Box {
  std::string_view type;
  std::size_t start = 0;              ///< of the box's header within the walked bytes
  std::span<const std::uint8_t> body;
};

/// Calls `visit(box)` for each box of `in` in order; true when the boxes fill `in` exactly
/// (false at the first that is cut short or malformed, where the walk stops).
template <typename Visit>
bool walk_boxes(std::span<const std::uint8_t> in, Visit&& visit) {
  std::size_t at = 0;
  while (at + 8 <= in.size()) {
    std::uint64_t length = png::load_be32(in.data() + at);
    std::size_t header = 8;
    if (length == 1) {
      if (at + 16 > in.size()) return false;
      length = std::uint64_t{png::load_be32(in.data() + at + 8)} << 32 | png::load_be32(in.data() + at + 12);
      header = 16;
    } else if (length == 0) {
      length = in.size() - at;
    }
    if (length < header || length > in.size() - at) return false;
    visit(Box{std::string_view(reinterpret_cast<const char*>(in.data() + at + 4), 4), at,
              in.subspan(at + header, static_cast<std::size_t>(length) - header)});
    at += static_cast<std::size_t>(length);
  }
  return at == in.size();
}

/// The body of the first box of `type` in `in`, or empty.
inline std::span<const std::uint8_t> find_box(std::span<const std::uint8_t> in, std::string_view type) {
  std::span<const std::uint8_t> found;
  bool seen = false;
  walk_boxes(in, [&](const Box& box) {
    if (!seen && box.type == type) found = box.body, seen = true;
  });
  return found;
}

}  // namespace imgflow::jp2
