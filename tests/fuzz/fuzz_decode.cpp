#include "tests/fuzz/fuzz_decode.hpp"

#include <exception>

#include "pipeline/decode.hpp"
#include "pipeline/png_codec.hpp"
#include "pipeline/png_fast_decode.hpp"

namespace imgflow::fuzz {
namespace {

std::string compare(const Image& fast, const Image& slow) {
  if (fast.width != slow.width || fast.height != slow.height || fast.channels != slow.channels ||
      fast.bit_depth != slow.bit_depth)
    return "the decoders disagree on the layout";
  if (fast.pixels != slow.pixels) return "the decoders disagree on the pixels";
  if (fast.metadata.size() != slow.metadata.size()) {
    const auto names = [](const Image& image) {
      std::string list;
      for (const auto& chunk : image.metadata) list.append(chunk.type.data(), 4).append(" ");
      return list;
    };
    return "the decoders keep different chunks: fast [" + names(fast) + "], libpng [" + names(slow) + "]";
  }
  for (std::size_t i = 0; i < fast.metadata.size(); ++i)
    if (fast.metadata[i].type != slow.metadata[i].type || fast.metadata[i].data != slow.metadata[i].data)
      return "the decoders keep different chunk contents";
  return {};
}

}  // namespace

std::string check_decoders(std::span<const std::uint8_t> bytes) {
  PngDecodeOptions options;
  options.max_pixels = 1u << 22;  // large enough for every seed, small enough to stay fast
  Image image;
  for (const bool strict : {false, true}) {
    options.strict = strict;
    try {
      decode_image(bytes, options, image);
    } catch (const std::exception&) {
    }
  }
  options.strict = false;
  if (!is_png(bytes)) return {};
  for (const bool verify : {true, false}) {
    options.verify_checksums = verify;
    Image fast, slow;
    bool fast_ok = false;
    try {
      fast_ok = decode_png_fast(bytes, options, fast);
    } catch (const std::exception&) {
      return "the fast decoder threw instead of deferring to libpng";
    }
    if (!fast_ok) continue;
    try {
      decode_png(bytes, options, slow);
    } catch (const std::exception& e) {
      return std::string("the fast decoder accepted a file libpng rejects: ") + e.what();
    }
    if (std::string difference = compare(fast, slow); !difference.empty())
      return difference + (verify ? "" : " (checksums not verified)");
  }
  return {};
}

}  // namespace imgflow::fuzz
