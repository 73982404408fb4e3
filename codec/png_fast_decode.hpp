#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "codec/image.hpp"
#include "codec/options.hpp"
#include "codec/scratch.hpp"

namespace imgflow {

/// The fast path for the PNGs that matter most: 8- and 16-bit gray, gray+alpha, RGB and RGBA,
/// not interlaced, no tRNS. Walks the chunks, inflates the gathered IDAT data into `scratch`
/// (sized from IHDR) and unfilters it into `image.pixels`.
/// Returns false, leaving the decision to libpng, for anything else: other layouts, and any
/// file that is not perfectly well-formed, so that errors and their messages are libpng's.
bool decode_png_fast(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     Image& image, CodecScratch& scratch);

/// Which library inflates a PNG's image data. ISA-L decodes streams of mostly literals (noisy
/// scans, photographs: deflate saving less than three quarters) up to a fifth faster than
/// libdeflate, and streams of long matches (clean pages) slower: `automatic` picks by that
/// ratio, known before inflating (the IDAT bytes against the filtered size IHDR gives). ISA-L
/// only ever with the checksum verified: it accepts some malformed code tables that libdeflate
/// and zlib refuse, so unverified (and `isal` unverified) it is libdeflate.
enum class Inflater { automatic, libdeflate, isal };

/// Inflates the zlib stream `idat` into exactly `out.size()` bytes: false when the stream is
/// damaged or gives more or fewer bytes. The zlib header must be right and the Adler-32 be
/// there; its value is checked when `verify_checksum`. Both libraries give the same verdict and
/// bytes (held by the tests on streams of every kind, whole and damaged).
bool inflate_image_data(std::span<const std::uint8_t> idat, std::span<std::uint8_t> out, bool verify_checksum,
                        CodecScratch& scratch, Inflater inflater = Inflater::automatic);

}  // namespace imgflow
