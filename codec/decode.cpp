#include "codec/decode.hpp"

#include <fmt/format.h>

#include <string>

#include "codec/metadata.hpp"
#include "codec/png_codec.hpp"
#include "codec/png_format.hpp"

namespace imgflow {
namespace {

// The checks every PNG passes before a decoder allocates anything: the pixel limit, image data
// too short to hold the declared size (forged dimensions, truncation), and under --strict any
// checksum error or a missing IEND.
void check_png_structure(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
  const png::Structure s = png::inspect(bytes, options.strict);
  if (s.header && options.verify_checksums && !s.header_crc_ok)
    throw DecodeError("IHDR: CRC error (the header is damaged)");
  if (s.header) {
    check_pixel_limit(s.width, s.height, options.max_pixels);
    if (s.idat_bytes * png::kMaxDeflateRatio < s.minimum_inflated_bytes())
      throw DecodeError(fmt::format("{}: {} bytes of compressed data cannot hold a {}x{} image",
                                           s.complete ? "too little image data" : "file is truncated",
                                           s.idat_bytes, s.width, s.height));
  }
  if (!options.strict) return;
  if (!s.bad_crc_chunk.empty())
    throw DecodeError("CRC error in " + s.bad_crc_chunk + " chunk (rejected when strict)");
  if (!s.complete) throw DecodeError("file is truncated: no IEND chunk (rejected when strict)");
}

// libpng's reason, with what a walk over the chunks says about the file: a CRC mismatch or a
// file that ends early explains most of its terser messages ("bad adaptive filter value").
std::string explain_png_failure(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                                const std::string& reason) {
  const png::Structure s = png::inspect(bytes, options.verify_checksums);
  if (!s.bad_crc_chunk.empty()) return "damaged: CRC error in the " + s.bad_crc_chunk + " chunk (" + reason + ")";
  if (!s.complete) {
    const std::string what = "truncated: the file ends before its IEND chunk";
    return reason == "file is truncated" ? what : what + " (" + reason + ")";
  }
  return reason;
}

}  // namespace

void decode_png_file(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t,
                     Image& image, DecodeNotes&, CodecScratch& scratch) {
  check_png_structure(bytes, options);
  if (decode_png_fast(bytes, options, image, scratch)) return;
  try {
    decode_png(bytes, options, image);
  } catch (const PixelLimitError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw DecodeError(explain_png_failure(bytes, options, e.what()));
  }
}

namespace {

const Format& readable_format(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) throw DecodeError("empty file");
  const Format* format = format_of(bytes);
  if (!format) throw DecodeError("not a readable image (unknown format or corrupt data)");
  if (!format->decode)
    throw DecodeError(fmt::format("the file is a {}, which imgflow cannot read: {}", format->name, format->advice));
  return *format;
}

}  // namespace

PageList list_pages(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
  const Format& format = readable_format(bytes);
  if (!format.list_pages) return {{0}, {}};
  PageList list = format.list_pages(bytes, options);
  if (list.pages.empty())
    throw DecodeError(list.damage.empty() ? "the file has no pages" : "no readable page: " + list.damage);
  return list;
}

namespace {

// A packed row's bits past its last pixel are not pixels, and decoders leave them as they
// found them (libpng keeps the destination's bits there): in a recycled buffer, whatever the
// previous image left. Cleared, so that the encoder, which filters and deflates whole bytes,
// writes the same file however buffers were reused.
void clear_row_padding(Image& image) {
  const std::size_t bits = static_cast<std::size_t>(image.width) * image.channels * image.bit_depth;
  if (bits % 8 == 0) return;
  const auto keep = static_cast<std::uint8_t>(0xFF << (8 - bits % 8));
  const std::size_t row = image.row_bytes();
  for (std::size_t y = 0; y < static_cast<std::size_t>(image.height); ++y) image.pixels[y * row + row - 1] &= keep;
}

}  // namespace

void decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t page,
                  Image& image, DecodeNotes& notes, CodecScratch& scratch) {
  notes.clear();
  image.metadata.clear();
  readable_format(bytes).decode(bytes, options, page, image, notes, scratch);
  clear_row_padding(image);
  validate_carried_chunks(image, notes);
}

void decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t page,
                  Image& image, DecodeNotes& notes) {
  CodecScratch scratch;
  decode_image(bytes, options, page, image, notes, scratch);
}

}  // namespace imgflow
