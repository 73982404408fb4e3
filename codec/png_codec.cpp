#include "codec/png_codec.hpp"

#include "codec/png_format.hpp"

#include <png.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <span>
#include <string>

namespace imgflow {
namespace {

// libpng reports errors through a callback that must not return; it longjmps back to the
// setjmp in the decode/encode function, which then throws. No C++ object is created between
// setjmp and a possible longjmp in those functions: everything that owns memory lives in
// the caller's frame.
struct PngErrorMessage {
  char text[200] = "unknown libpng error";
};

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  auto* error = static_cast<PngErrorMessage*>(png_get_error_ptr(png));
  std::snprintf(error->text, sizeof error->text, "%s", message);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

// The largest ancillary chunk libpng may allocate: ICC profiles run to a few megabytes.
constexpr png_alloc_size_t kMaxChunkBytes = 64u << 20;  // ancillary problems do not fail an image

struct MemoryReader {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t position;
};

void read_from_memory(png_structp png, png_bytep out, std::size_t length) {
  auto* reader = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (length > reader->size - reader->position) png_error(png, "file is truncated");
  std::memcpy(out, reader->data + reader->position, length);
  reader->position += length;
}

void write_to_vector(png_structp png, png_bytep data, std::size_t length) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  try {
    out->insert(out->end(), data, data + length);
  } catch (...) {
    png_error(png, "out of memory while encoding");
  }
}

void flush_nothing(png_structp) {}

constexpr bool kLittleEndian = std::endian::native == std::endian::little;

// The carried chunks are handed to libpng as "unknown" so that it keeps their bytes unparsed.
void keep_carried_chunks_as_raw(png_structp png) {
  static const auto list = [] {
    std::array<png_byte, png::kCarriedChunks.size() * 5> names{};
    for (std::size_t i = 0; i < png::kCarriedChunks.size(); ++i)
      std::memcpy(names.data() + 5 * i, png::kCarriedChunks[i].data(), 4);  // NUL-separated
    return names;
  }();
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, list.data(),
                              static_cast<int>(png::kCarriedChunks.size()));
}

// Reads the header and sets up the transforms. Returns false (message in `error`) on failure.
// Expands palette indices to RGB, or RGBA when the palette has transparency (tRNS). False for an
// index past the palette's end: libpng would silently make it black, but such a file is damaged.
bool expand_palette(const Bytes& indices, std::span<const png_color> palette,
                    std::span<const png_byte> alphas, Image& image, PngErrorMessage& error) {
  const std::size_t channels = alphas.empty() ? 3 : 4;
  std::uint8_t* out = image.pixels.data();
  for (const std::uint8_t index : indices) {
    if (index >= palette.size()) {
      std::snprintf(error.text, sizeof error.text, "palette index %d out of range (the palette has %zu entries)",
                    index, palette.size());
      return false;
    }
    out[0] = palette[index].red;
    out[1] = palette[index].green;
    out[2] = palette[index].blue;
    if (channels == 4) out[3] = index < alphas.size() ? alphas[index] : 255;
    out += channels;
  }
  return true;
}

bool read_png(png_structp png, png_infop info, Image& image, std::vector<png_bytep>& rows,
              Bytes& indices, const DecodeOptions& options, PngErrorMessage& error) {
  if (setjmp(png_jmpbuf(png))) return false;

  if (!options.verify_checksums) {
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
    png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
  }
  const std::uint64_t max_pixels = options.max_pixels;
  // Ignore every ancillary chunk: text (zTXt/iTXt bombs), sPLT, eXIf... are never parsed, let
  // alone inflated; the carried ones are collected by png::collect_carried_chunks, which checks
  // their CRCs (libpng would keep a damaged one it treats as unknown).
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nullptr, -1);
  png_set_chunk_malloc_max(png, kMaxChunkBytes);
  png_read_info(png, info);
  png_uint_32 width = 0, height = 0;
  int depth = 0, colour_type = 0;
  png_get_IHDR(png, info, &width, &height, &depth, &colour_type, nullptr, nullptr, nullptr);
  if (const std::string refusal = over_pixel_limit(width, height, max_pixels); !refusal.empty()) {
    std::snprintf(error.text, sizeof error.text, "%s", refusal.c_str());
    return false;
  }
  const bool palette = colour_type == PNG_COLOR_TYPE_PALETTE;
  if (palette) {
    png_set_packing(png);  // one index per byte; expanded below, where indices are checked
  } else {
    // Bilevel stays bilevel (packed, 1 = white, as the PNG itself); 2/4-bit gray is widened.
    const bool bilevel = colour_type == PNG_COLOR_TYPE_GRAY && depth == 1 && !png_get_valid(png, info, PNG_INFO_tRNS);
    if (colour_type == PNG_COLOR_TYPE_GRAY && depth < 8 && !bilevel) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  }
  if (depth == 16 && kLittleEndian) png_set_swap(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  png_colorp colours = nullptr;
  int entries = 0;
  png_bytep alphas = nullptr;
  int alpha_count = 0;
  if (palette) {
    png_get_PLTE(png, info, &colours, &entries);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_get_tRNS(png, info, &alphas, &alpha_count, nullptr);
  }
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.channels = palette ? (alpha_count > 0 ? 4 : 3) : png_get_channels(png, info);
  image.bit_depth = palette ? 8 : png_get_bit_depth(png, info);
  const std::size_t row_bytes = palette ? width : image.row_bytes();
  if (png_get_rowbytes(png, info) != row_bytes) png_error(png, "unexpected row layout");
  // May throw std::bad_alloc: caught by the caller's caller, never across libpng.
  image.allocate();
  if (palette) indices.resize(std::size_t{width} * height);
  std::uint8_t* const base = palette ? indices.data() : image.pixels.data();
  rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = base + y * row_bytes;
  png_read_image(png, rows.data());
  if (palette &&
      !expand_palette(indices, {colours, static_cast<std::size_t>(entries)},
                      {alphas, static_cast<std::size_t>(std::max(alpha_count, 0))}, image, error))
    return false;
  // Stop after the pixels: chunks after the image data cannot change them.
  return true;
}

bool write_png(png_structp png, png_infop info, const Image& image, std::vector<png_bytep>& rows,
               std::vector<png_unknown_chunk>& chunks, const PngEncodeOptions& options) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width),
               static_cast<png_uint_32>(image.height), image.bit_depth,
               png::kColourTypeOfChannels[image.channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, options.zlib_level);
  if (!chunks.empty()) {
    keep_carried_chunks_as_raw(png);
    png_set_unknown_chunks(png, info, chunks.data(), static_cast<int>(chunks.size()));
  }
  png_write_info(png, info);
  if (image.bit_depth == 16 && kLittleEndian) png_set_swap(png);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

bool is_png(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 8 && png_sig_cmp(bytes.data(), 0, 8) == 0;
}

void decode_png(std::span<const std::uint8_t> bytes, const DecodeOptions& options, Image& image) {
  PngErrorMessage error;
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &error, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw std::bad_alloc();
  }
  MemoryReader reader{bytes.data(), bytes.size(), 0};
  png_set_read_fn(png, &reader, read_from_memory);
  // We enforce our own pixel limit; libpng's default 1e6 x 1e6 limit stays as a backstop.

  std::vector<png_bytep> rows;
  Bytes indices;
  bool ok = false;
  try {
    ok = read_png(png, info, image, rows, indices, options, error);
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) throw std::runtime_error(error.text);
  png::collect_carried_chunks(bytes, options.verify_checksums, image.metadata);
}

void encode_png(const Image& image, Bytes& out,
                const PngEncodeOptions& options) {
  if (!image.has_encodable_layout())
    throw std::invalid_argument("encode_png: unsupported layout");
  PngErrorMessage error;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, &error, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    throw std::bad_alloc();
  }
  out.clear();
  png_set_write_fn(png, &out, write_to_vector, flush_nothing);
  std::vector<png_bytep> rows(static_cast<std::size_t>(image.height));
  for (std::size_t y = 0; y < rows.size(); ++y)
    rows[y] = const_cast<png_bytep>(image.pixels.data() + y * image.row_bytes());
  std::vector<png_unknown_chunk> chunks(image.metadata.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const AncillaryChunk& from = image.metadata[i];
    std::memcpy(chunks[i].name, from.type.data(), 4);
    chunks[i].name[4] = 0;
    chunks[i].data = const_cast<png_byte*>(from.data.data());
    chunks[i].size = from.data.size();
    chunks[i].location = PNG_HAVE_IHDR;
  }
  const bool ok = write_png(png, info, image, rows, chunks, options);
  png_destroy_write_struct(&png, &info);
  if (!ok) throw std::runtime_error(error.text);
}

}  // namespace imgflow
