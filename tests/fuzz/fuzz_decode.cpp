#include "tests/fuzz/fuzz_decode.hpp"

#include <zlib.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "codec/decode.hpp"
#include "codec/encode.hpp"
#include "codec/formats.hpp"
#include "codec/png_codec.hpp"
#include "codec/png_fast_decode.hpp"
#include "codec/png_fast_encode.hpp"
#include "codec/png_format.hpp"
#include "codec/scratch.hpp"
#include "codec/tiff_encode.hpp"

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

// Whether zlib inflates the image data (raw deflate after the 2-byte header, so the Adler-32 is
// not in question). libdeflate is deliberately more accepting than zlib in a few safe edge cases
// (libdeflate issue 288), so the fast decoder may take a stream that libpng refuses; that, and
// only that, is an accepted difference.
bool zlib_inflates_image_data(std::span<const std::uint8_t> bytes) {
  std::vector<std::uint8_t> idat;
  png::ChunkWalk walk(bytes);
  for (png::Chunk chunk; walk.next(chunk);)
    if (chunk.is("IDAT")) idat.insert(idat.end(), chunk.data(), chunk.data() + chunk.length);
  if (idat.size() < 2) return false;
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return false;
  std::vector<std::uint8_t> out(1u << 16);
  z.next_in = idat.data() + 2;
  z.avail_in = static_cast<uInt>(idat.size() - 2);
  int status = Z_OK;
  while (status == Z_OK) {
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    status = inflate(&z, Z_NO_FLUSH);
    if (status == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  inflateEnd(&z);
  return status == Z_STREAM_END || status == Z_OK || status == Z_BUF_ERROR;
}

// The first row whose pixels differ between two pages of one layout ("" if none): the bits past
// a 1-bit row's last pixel are padding, whatever they hold.
std::string differing_row(const Image& page, const Image& back) {
  const std::size_t row = page.row_bytes();
  const std::size_t whole = page.bit_depth == 1 ? static_cast<std::size_t>(page.width) / 8 : row;
  const auto last = static_cast<std::uint8_t>(0xFF00u >> page.width % 8);
  for (std::size_t y = 0; y < static_cast<std::size_t>(page.height); ++y) {
    const std::uint8_t* a = page.pixels.data() + y * row;
    const std::uint8_t* b = back.pixels.data() + y * row;
    if (std::memcmp(a, b, whole) != 0 || (whole < row && ((a[whole] ^ b[whole]) & last))) return std::to_string(y);
  }
  return {};
}

// A bilevel page through imgflow's G4 coder and back through libtiff's decoder: the same pixels
// (the bits past each row's last pixel aside).
std::string g4_round_trip(const Image& page) {
  Bytes tiff;
  Image back;
  DecodeNotes notes;
  try {
    encode_tiff(page, {TiffCompression::g4}, {}, {}, tiff);
    decode_image(tiff, {}, 0, back, notes);
  } catch (const std::exception& e) {
    return std::string("a bilevel page's G4 round trip failed: ") + e.what();
  }
  if (back.width != page.width || back.height != page.height || back.bit_depth != 1 || back.channels != 1)
    return "a bilevel page came back from G4 with another layout";
  if (const std::string row = differing_row(page, back); !row.empty())
    return "a bilevel page came back from G4 with other pixels (row " + row + ")";
  return {};
}

// A page through the default PNG encoder (imgflow's row deflater or ISA-L, after the filter it
// chooses) and back through libpng (zlib's inflate): the same pixels. Pages of up to 8 KiB of
// pixels (every PngSuite layout, 32x32 16-bit RGBA included): with all sizes the fuzzing ran at
// a third of its speed, a fifth of the inputs' budget (tests/test_row_deflate.cpp and the
// end-to-end tests have the large pages). Once, in the default pass.
std::string png_round_trip(const Image& page) {
  if (!page.has_encodable_layout() || page.pixels.size() > (std::size_t{8} << 10)) return {};
  Image bare = page;
  bare.metadata.clear();  // the pixels are the point: a damaged profile would fail libpng
  static CodecScratch scratch;  // the encoder's working memory, made once (one fuzzing thread)
  Bytes png;
  Image back;
  try {
    encode_png_fast(bare, png, find_png_level(kDefaultPngLevel)->settings, {}, scratch);
    decode_png(png, {}, back);
  } catch (const std::exception& e) {
    return std::string("a page's PNG round trip failed: ") + e.what();
  }
  if (back.width != page.width || back.height != page.height || back.channels != page.channels ||
      back.bit_depth != page.bit_depth)
    return "a page came back from the default PNG encoder with another layout";
  if (const std::string row = differing_row(page, back); !row.empty())
    return "a page came back from the default PNG encoder with other pixels (row " + row + ")";
  return {};
}

}  // namespace

std::string check_decoders(std::span<const std::uint8_t> bytes) {
  DecodeOptions options;
  options.max_pixels = 1u << 22;  // large enough for every seed, small enough to stay fast
  Image image;
  DecodeNotes notes;
  // Every format's decoder, every page (at most a few), default and strict.
  for (const bool strict : {false, true}) {
    options.strict = strict;
    try {
      const PageList pages = list_pages(bytes, options);
      for (std::size_t i = 0; i < pages.pages.size() && i < 4; ++i) {
        try {
          decode_image(bytes, options, pages.pages[i], image, notes);
        } catch (const std::exception&) {
          continue;
        }
        if (image.bit_depth == 1)
          if (std::string difference = g4_round_trip(image); !difference.empty()) return difference;
        if (!strict)
          if (std::string difference = png_round_trip(image); !difference.empty()) return difference;
      }
    } catch (const std::exception&) {
    }
  }
  // What --skip-existing reads from a file in the output folder, where anything may lie: the
  // record reader of the format the bytes look like, as files/resume.cpp picks it (never
  // reading outside them, never throwing).
  if (const Format* format = format_of(bytes); format && format->read_record) {
    try {
      (void)format->read_record(bytes);
    } catch (const std::exception& e) {
      return std::string(format->name) + "'s record reader threw: " + e.what();
    }
  }
  options.strict = false;
  if (!is_png(bytes)) return {};
  for (const bool verify : {true, false}) {
    options.verify_checksums = verify;
    Image fast, slow;
    bool fast_ok = false;
    try {
      CodecScratch scratch;
      fast_ok = decode_png_fast(bytes, options, fast, scratch);
    } catch (const std::exception&) {
      return "the fast decoder threw instead of deferring to libpng";
    }
    if (!fast_ok) continue;
    try {
      decode_png(bytes, options, slow);
    } catch (const std::exception& e) {
      if (!zlib_inflates_image_data(bytes)) continue;  // libdeflate's documented leniency
      return std::string("the fast decoder accepted a file libpng rejects: ") + e.what();
    }
    if (std::string difference = compare(fast, slow); !difference.empty())
      return difference + (verify ? "" : " (checksums not verified)");
  }
  return {};
}

}  // namespace imgflow::fuzz
