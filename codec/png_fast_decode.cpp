#include "codec/png_fast_decode.hpp"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>

#include "codec/png_filter.hpp"
#include "codec/png_unfilter.hpp"
#include "codec/scratch_deflaters.hpp"
#include "codec/png_format.hpp"

namespace imgflow {
namespace {

using png::load_be32;

bool is_critical(const std::uint8_t* type) { return (type[0] & 0x20) == 0; }
// Chunk names are four ASCII letters; libpng rejects anything else, so the fast path defers.
bool is_valid_type(const std::uint8_t* type) {
  for (int i = 0; i < 4; ++i)
    if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z'))) return false;
  return true;
}

bool zlib_header_ok(std::span<const std::uint8_t> idat) {
  return idat.size() >= 2 && (idat[0] & 0x0F) == 8 && (idat[0] >> 4) <= 7 && !(idat[1] & 0x20) &&
         ((idat[0] << 8) | idat[1]) % 31 == 0;
}

bool inflate_with_libdeflate(std::span<const std::uint8_t> idat, std::span<std::uint8_t> out, bool verify_checksum,
                             libdeflate_decompressor* inflater) {
  std::size_t produced = 0;
  if (verify_checksum)
    return libdeflate_zlib_decompress(inflater, idat.data(), idat.size(), out.data(), out.size(), &produced) ==
               LIBDEFLATE_SUCCESS &&
           produced == out.size();
  // The zlib header still has to be right, and the Adler-32 has to be there (libpng reads it
  // even when told to ignore its value, and rejects a stream that ends without it); only its
  // value is not checked.
  if (!zlib_header_ok(idat)) return false;
  std::size_t consumed = 0;
  return libdeflate_deflate_decompress_ex(inflater, idat.data() + 2, idat.size() - 2, out.data(), out.size(),
                                          &consumed, &produced) == LIBDEFLATE_SUCCESS &&
         produced == out.size() && consumed + 4 <= idat.size() - 2;
}

// Verified only: ISA-L accepts some code tables that zlib and libdeflate refuse as malformed
// (an over-subscribed set of distance codes), so its output is trusted only with the Adler-32.
bool inflate_with_isal_verified(std::span<const std::uint8_t> idat, std::span<std::uint8_t> out,
                                inflate_state& state) {
  // ISA-L takes 32-bit sizes; its own zlib header parsing is not used, so that the header is
  // held to exactly libdeflate's rules.
  if (!zlib_header_ok(idat) || idat.size() - 2 > UINT32_MAX || out.size() > UINT32_MAX) return false;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_ZLIB_NO_HDR_VER;
  state.next_in = const_cast<std::uint8_t*>(idat.data() + 2);
  state.avail_in = static_cast<std::uint32_t>(idat.size() - 2);
  state.next_out = out.data();
  state.avail_out = static_cast<std::uint32_t>(out.size());
  return isal_inflate(&state) == ISAL_DECOMP_OK && state.block_state == ISAL_BLOCK_FINISH && state.avail_out == 0;
}

}  // namespace

bool inflate_image_data(std::span<const std::uint8_t> idat, std::span<std::uint8_t> out, bool verify_checksum,
                        CodecScratch& scratch, Inflater inflater) {
  if (inflater == Inflater::automatic)
    inflater = verify_checksum && out.size() < 4 * idat.size() ? Inflater::isal : Inflater::libdeflate;
  if (inflater == Inflater::isal && verify_checksum)
    return inflate_with_isal_verified(idat, out, scratch.deflaters->isal_state());
  return inflate_with_libdeflate(idat, out, verify_checksum, scratch.deflaters->inflater());
}

bool decode_png_fast(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     Image& image, CodecScratch& scratch) {
  const std::uint8_t* const file = bytes.data();
  const std::size_t size = bytes.size();
  if (size < 8 + 25 || std::memcmp(file, png::kSignature.data(), 8) != 0) return false;

  // IHDR, first and exactly 13 bytes.
  if (load_be32(file + 8) != 13 || std::memcmp(file + 12, "IHDR", 4) != 0) return false;
  const std::uint8_t* ihdr = file + 16;
  if (options.verify_checksums && png::chunk_crc(file + 12, 17) != load_be32(file + 29)) return false;
  const std::uint32_t width = load_be32(ihdr), height = load_be32(ihdr + 4);
  const int depth = ihdr[8], colour_type = ihdr[9];
  if (width == 0 || height == 0 || width > 0x7FFFFFFF || height > 0x7FFFFFFF) return false;
  if ((depth != 8 && depth != 16) || ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] != 0) return false;
  const int channels = png::channels_of_colour_type(colour_type);
  if (channels == 0) return false;
  if (std::uint64_t{width} * height > options.max_pixels) return false;

  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.channels = channels;
  image.bit_depth = depth;

  // Walk the chunks to the end of the IDAT run (carried chunks are collected on success).
  Bytes& gathered = scratch.gathered;
  gathered.clear();
  const std::uint8_t* idat = nullptr;
  std::size_t idat_size = 0, idat_chunks = 0;
  bool idat_ended = false, palette_seen = false;
  png::ChunkWalk walk(bytes, 33);
  for (png::Chunk chunk;;) {
    if (!walk.next(chunk)) {
      if (idat_ended) break;  // trailing damage after the image data cannot change the pixels
      return false;
    }
    const std::uint8_t* type = chunk.type();
    const bool crc_ok = !options.verify_checksums || chunk.crc_ok();
    if (!is_valid_type(type)) {
      if (idat_ended) break;  // after the image data, as with the truncation above
      return false;
    }

    if (chunk.is("IDAT")) {
      if (idat_ended || !crc_ok) return false;
      if (++idat_chunks == 1) {
        idat = chunk.data();
        idat_size = chunk.length;
      } else {
        if (idat_chunks == 2) gathered.assign(idat, idat + idat_size);
        gathered.insert(gathered.end(), chunk.data(), chunk.data() + chunk.length);
      }
      continue;
    }
    if (idat_chunks) idat_ended = true;
    if (chunk.is("IEND")) break;
    if (idat_ended) continue;  // chunks after the image data are not read (as with libpng)
    if (chunk.is("tRNS") || chunk.is("IHDR")) return false;
    if (chunk.is("PLTE")) {
      // Invalid for gray, damaged or repeated: libpng rejects all three (a critical chunk).
      if (colour_type == 0 || colour_type == 4 || !crc_ok || palette_seen) return false;
      palette_seen = true;
      continue;  // a suggested palette: unused
    }
    if (is_critical(type)) return false;
  }
  if (idat_chunks == 0) return false;
  if (idat_chunks > 1) {
    idat = gathered.data();
    idat_size = gathered.size();
  }

  // Inflate into the scratch buffer (rows with their filter bytes), then unfilter into the
  // pixel buffer.
  const std::size_t row_bytes = image.row_bytes();
  const std::size_t filtered_size = (row_bytes + 1) * height;
  Bytes& filtered = scratch.filtered;
  filtered.resize(filtered_size);
  if (!inflate_image_data({idat, idat_size}, {filtered.data(), filtered_size}, options.verify_checksums, scratch))
    return false;

  image.pixels.resize(row_bytes * height);
  const int bpp = image.channels * (depth / 8);
  if (!png::unfilter_image(bpp, filtered.data(), image.pixels.data(), row_bytes, height)) return false;

  if (depth == 16 && std::endian::native == std::endian::little)
    png::swap_byte_pairs(image.pixels.data(), image.pixels.data(), image.pixels.size());
  png::collect_carried_chunks(bytes, options.verify_checksums, image.metadata);
  return true;
}

}  // namespace imgflow
