#include "codec/png_fast_encode.hpp"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "codec/png_filter.hpp"
#include "codec/scratch_deflaters.hpp"
#include "codec/png_format.hpp"
#include "codec/reuse.hpp"

namespace imgflow {
namespace {

using Filter = PngEncoderSettings::Filter;
using Deflater = PngEncoderSettings::Deflater;

// Measured on 1654x2339 pages (see docs/png-levels.md).
constexpr std::array kLevels{
    PngLevel{"fastest", "no row filter, ISA-L igzip level 1",
             {Filter::none, Deflater::isal, 1}},
    PngLevel{"fast", "no filter or adaptive filters (whichever a sample deflates smaller), ISA-L igzip level 2",
             {Filter::automatic, Deflater::isal, 2}},
    PngLevel{"default", "filter chosen as for fast, imgflow's row deflater (which also looks one row up) where it makes a sample of the page at least 7.5% smaller than ISA-L 2 does (text pages), else libdeflate level 6",
             {Filter::automatic, Deflater::automatic, 0}},
    PngLevel{"compact", "filter chosen as for fast, libdeflate level 6 (zlib's default; smaller on noisy scans, 3x slower)",
             {Filter::automatic, Deflater::libdeflate, 6}},
    PngLevel{"smallest", "filter chosen as for fast, libdeflate level 9 (about 10-20x slower)",
             {Filter::automatic, Deflater::libdeflate, 9}},
};

// ---- filtering --------------------------------------------------------------------------

std::uint64_t residual_cost(const std::uint8_t* row, std::size_t n) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<std::uint64_t>(std::abs(static_cast<std::int8_t>(row[i])));
  return sum;
}

// Fills `filtered` with (filter byte, row) pairs for rows [y_begin, y_end): PNG's input to
// deflate. `strategy` is none or adaptive.
template <int Bpp>
void filter_rows(const Image& image, Filter strategy, int y_begin, int y_end, std::uint8_t* filtered,
                 CodecScratch& scratch) {
  const std::size_t n = image.row_bytes();
  const bool swap16 = image.bit_depth == 16 && std::endian::native == std::endian::little;
  Bytes &rows = scratch.rows, &candidate = scratch.candidate;
  if (rows.size() < 2 * n) rows.resize(2 * n);
  if (candidate.size() < n) candidate.resize(n);
  // Row y in file order: the pixels themselves, or for 16-bit a big-endian copy in one of two
  // alternating scratch rows (so the row above stays valid while the next is made).
  const auto file_order_row = [&](int y) -> const std::uint8_t* {
    const std::uint8_t* row = image.pixels.data() + static_cast<std::size_t>(y) * n;
    if (!swap16) return row;
    std::uint8_t* copy = rows.data() + static_cast<std::size_t>((y - y_begin + 1) % 2) * n;
    png::swap_byte_pairs(row, copy, n);
    return copy;
  };
  const std::uint8_t* prev = nullptr;
  if (y_begin > 0) {
    prev = file_order_row(y_begin - 1);
  } else {
    std::memset(rows.data(), 0, n);  // the row above the first is zeros
    prev = rows.data();
  }

  for (int y = y_begin; y < y_end; ++y) {
    const std::uint8_t* x = file_order_row(y);
    std::uint8_t* out = filtered + static_cast<std::size_t>(y - y_begin) * (n + 1);
    if (strategy == Filter::none) {
      out[0] = 0;
      std::memcpy(out + 1, x, n);
    } else {
      // Try each filter, keep the one whose residuals are smallest (libpng's heuristic).
      int best = 0;
      png::filter_row<Bpp>(0, x, prev, out + 1, n);
      std::uint64_t best_cost = residual_cost(out + 1, n);
      for (int f = 1; f <= 4 && best_cost > 0; ++f) {
        png::filter_row<Bpp>(f, x, prev, candidate.data(), n);
        const std::uint64_t cost = residual_cost(candidate.data(), n);
        if (cost < best_cost) {
          best = f, best_cost = cost;
          std::memcpy(out + 1, candidate.data(), n);
        }
      }
      out[0] = static_cast<std::uint8_t>(best);
    }
    prev = x;
  }
}

void filter_rows(const Image& image, Filter strategy, int y_begin, int y_end, std::uint8_t* filtered,
                 CodecScratch& scratch) {
  switch (image.channels * static_cast<int>(image.bytes_per_sample())) {
    case 1: return filter_rows<1>(image, strategy, y_begin, y_end, filtered, scratch);
    case 2: return filter_rows<2>(image, strategy, y_begin, y_end, filtered, scratch);
    case 3: return filter_rows<3>(image, strategy, y_begin, y_end, filtered, scratch);
    case 4: return filter_rows<4>(image, strategy, y_begin, y_end, filtered, scratch);
    case 6: return filter_rows<6>(image, strategy, y_begin, y_end, filtered, scratch);
    case 8: return filter_rows<8>(image, strategy, y_begin, y_end, filtered, scratch);
    default: throw std::invalid_argument("encode_png_fast: unsupported layout");
  }
}

// ---- deflate ----------------------------------------------------------------------------

constexpr std::size_t kBandBytes = std::size_t{1} << 20;  // input per parallel band
constexpr std::size_t kHistory = 32 * 1024;               // deflate's window

std::size_t raw_deflate_bound(std::size_t n) { return n + n / 8 + 1024; }

}  // namespace

// ISA-L 2.30's deflate body, when it starts a stream without history, hashes a register that
// still holds the address of its isal_zstream (its first-byte path reads it uninitialised).
// The same input could then deflate to different, valid bytes depending on where the stream
// object lies: on a thread's stack, that is per thread and per run (ASLR), and one page in a
// few hundred came out different. So no stream here starts without history: a band at the
// start of the data sends its first byte as a stored block of its own and ISA-L continues
// from the second byte with the first as its dictionary.
std::size_t isal_deflate_range(std::span<const std::uint8_t> data, std::size_t begin, std::size_t end,
                               bool last, int level, std::uint8_t* out, std::size_t capacity,
                               isal_zstream& stream, Bytes& level_buffer) {
  std::size_t written = 0;
  if (begin == 0 && end > 0) {
    // BFINAL 0, BTYPE 00 (stored), padding to the byte; LEN 1, NLEN ~1 (little-endian); the byte.
    if (capacity < 6) throw std::runtime_error("ISA-L: output buffer too small");
    const std::uint8_t stored[6] = {0x00, 0x01, 0x00, 0xFE, 0xFF, data[0]};
    std::memcpy(out, stored, sizeof stored);
    written = sizeof stored;
    begin = 1;
    if (begin == end) {
      if (!last) return written;
      // Nothing left to deflate: end with an empty final fixed block (BFINAL 1, BTYPE 01, EOB).
      if (capacity < written + 2) throw std::runtime_error("ISA-L: output buffer too small");
      out[written++] = 0x03;
      out[written++] = 0x00;
      return written;
    }
  }
  if (level_buffer.size() < ISAL_DEF_LVL3_DEFAULT) level_buffer.resize(ISAL_DEF_LVL3_DEFAULT);
  isal_deflate_init(&stream);
  stream.level = static_cast<std::uint32_t>(level);
  stream.level_buf = level_buffer.data();
  stream.level_buf_size = static_cast<std::uint32_t>(level_buffer.size());
  stream.gzip_flag = IGZIP_DEFLATE;
  const std::size_t dictionary = std::min(begin, kHistory);
  if (isal_deflate_set_dict(&stream, const_cast<std::uint8_t*>(data.data() + begin - dictionary),
                            static_cast<std::uint32_t>(dictionary)) != COMP_OK)
    throw std::runtime_error("ISA-L: cannot set dictionary");
  stream.next_in = const_cast<std::uint8_t*>(data.data() + begin);
  stream.avail_in = static_cast<std::uint32_t>(end - begin);
  stream.next_out = out + written;
  stream.avail_out = static_cast<std::uint32_t>(capacity - written);
  stream.end_of_stream = last ? 1 : 0;
  stream.flush = last ? NO_FLUSH : SYNC_FLUSH;
  if (isal_deflate(&stream) != COMP_OK || stream.avail_in != 0 ||
      (last && stream.internal_state.state != ZSTATE_END) ||
      (!last && stream.internal_state.state != ZSTATE_NEW_HDR))
    throw std::runtime_error("ISA-L: deflate did not complete");
  return written + stream.total_out;
}

namespace {

// Deflates data[begin, end) as raw deflate, primed with the 32 KiB before `begin`, ending with
// a sync flush (or the final block when `last`). Returns the bytes written to `out`.
std::size_t isal_deflate_band(const std::uint8_t* data, std::size_t begin, std::size_t end,
                              bool last, int level, std::uint8_t* out, std::size_t capacity, Bytes& level_buffer) {
  isal_zstream stream;
  return isal_deflate_range({data, end}, begin, end, last, level, out, capacity, stream, level_buffer);
}

std::size_t band_workers(const BandRunner& run_bands) {
  return run_bands.run ? std::max<std::size_t>(1, run_bands.workers) : 1;
}

// Appends the zlib stream of `data` to `out` (header flags `flags`): raw deflate in bands of
// about kBandBytes, which deflate_band(begin, end, last, out, capacity, worker) writes, each
// primed with the data before it and ended by a sync flush so that they join; then the Adler-32.
// The caller gives each of band_workers(run_bands) workers its working memory.
template <class DeflateBand>
void zlib_in_bands(std::span<const std::uint8_t> data, std::uint8_t flags, Bytes& out, const BandRunner& run_bands,
                   CodecScratch& scratch, const DeflateBand& deflate_band) {
  out.push_back(0x78);
  out.push_back(flags);
  const std::size_t bands = std::max<std::size_t>(1, data.size() / kBandBytes);
  const std::size_t band_size = (data.size() + bands - 1) / bands;
  if (bands == 1) {
    const std::size_t at = out.size();
    out.resize(at + raw_deflate_bound(data.size()));
    out.resize(at + deflate_band(0, data.size(), true, out.data() + at, out.size() - at, 0));
  } else {
    // Each band has its own output in the scratch.
    if (scratch.band_outputs.size() < bands) scratch.band_outputs.resize(bands);
    std::vector<Bytes>& compressed = scratch.band_outputs;
    const auto one_band = [&](std::size_t b, std::size_t worker) {
      const std::size_t begin = b * band_size, end = std::min(data.size(), begin + band_size);
      compressed[b].resize(raw_deflate_bound(end - begin));
      compressed[b].resize(
          deflate_band(begin, end, b + 1 == bands, compressed[b].data(), compressed[b].size(), worker));
    };
    if (run_bands.run)
      run_bands.run(bands, one_band);
    else
      for (std::size_t b = 0; b < bands; ++b) one_band(b, 0);
    // Room for every band, the Adler-32 and what follows the stream (the IDAT's CRC, IEND).
    std::size_t total = out.size() + 64;
    for (std::size_t b = 0; b < bands; ++b) total += compressed[b].size();
    reserve_for_reuse(out, total);
    for (std::size_t b = 0; b < bands; ++b) out.insert(out.end(), compressed[b].begin(), compressed[b].end());
  }
  const std::uint32_t adler = libdeflate_adler32(1, data.data(), data.size());
  out.resize(out.size() + 4);
  png::store_be32(out.data() + out.size() - 4, adler);
}

void zlib_isal(std::span<const std::uint8_t> data, int level, Bytes& out, const BandRunner& run_bands,
               CodecScratch& scratch) {
  static constexpr std::uint8_t kFlags[] = {0x01, 0x01, 0x5E, 0x9C};
  if (scratch.band_levels.size() < band_workers(run_bands)) scratch.band_levels.resize(band_workers(run_bands));
  zlib_in_bands(data, kFlags[level], out, run_bands, scratch,
                [&](std::size_t begin, std::size_t end, bool last, std::uint8_t* to, std::size_t capacity,
                    std::size_t worker) {
                  return isal_deflate_band(data.data(), begin, end, last, level, to, capacity,
                                           scratch.band_levels.at(worker));
                });
}

void zlib_rows(std::span<const std::uint8_t> data, RowShape shape, Bytes& out, const BandRunner& run_bands,
               CodecScratch& scratch) {
  if (scratch.band_rows.size() < band_workers(run_bands)) scratch.band_rows.resize(band_workers(run_bands));
  zlib_in_bands(data, 0x9C, out, run_bands, scratch,
                [&](std::size_t begin, std::size_t end, bool last, std::uint8_t* to, std::size_t capacity,
                    std::size_t worker) {
                  if (capacity < row_deflate_bound(end - begin))
                    throw std::runtime_error("row_deflate: output buffer too small");
                  return row_deflate(data, begin, end, shape, last, to, scratch.band_rows.at(worker));
                });
}

void zlib_libdeflate(std::span<const std::uint8_t> data, int level, Bytes& out, CodecScratch& scratch) {
  libdeflate_compressor* compressor = scratch.deflaters->deflater(level);
  const std::size_t at = out.size();
  out.resize(at + libdeflate_zlib_compress_bound(compressor, data.size()));
  const std::size_t written = libdeflate_zlib_compress(compressor, data.data(), data.size(),
                                                       out.data() + at, out.size() - at);
  if (written == 0) throw std::runtime_error("libdeflate: output buffer too small");
  out.resize(at + written);
}

// Rows a sample band for the filter's choice (16 chose the same on the benchmark's pages, for
// 1.3% more instructions a page).
constexpr int kSampleRows = 8;

// Neither choice wins everywhere: clean text pages compress best unfiltered (long runs of
// paper), photos and noisy scans with adaptive filters. Deflate a few sample bands both ways
// with the fastest deflater and keep the smaller.
Filter choose_filter(const Image& image, CodecScratch& scratch) {
  const std::size_t n = image.row_bytes() + 1;
  Bytes &sample = scratch.sample, &compressed = scratch.sample_deflated;
  if (scratch.band_levels.empty()) scratch.band_levels.resize(1);
  std::size_t size[2] = {0, 0};
  for (const Filter strategy : {Filter::none, Filter::adaptive}) {
    sample_rows(image.height, n, kSampleRows, [&](int first, int rows, std::uint8_t* out) {
      filter_rows(image, strategy, first, first + rows, out, scratch);
    }, sample);
    compressed.resize(raw_deflate_bound(sample.size()));
    size[strategy == Filter::adaptive] =
        isal_deflate_band(sample.data(), 0, sample.size(), true, 1, compressed.data(), compressed.size(),
                          scratch.band_levels[0]);
  }
  return size[1] < size[0] ? Filter::adaptive : Filter::none;
}

}  // namespace

void zlib_compress(std::span<const std::uint8_t> data, const PngEncoderSettings& settings, Bytes& out,
                   const BandRunner& run_bands, CodecScratch& scratch, RowShape shape) {
  switch (settings.deflater) {
    case PngEncoderSettings::Deflater::isal: return zlib_isal(data, std::clamp(settings.level, 1, 3), out, run_bands, scratch);
    case PngEncoderSettings::Deflater::rows: return zlib_rows(data, shape, out, run_bands, scratch);
    case PngEncoderSettings::Deflater::automatic:
      throw std::invalid_argument("zlib_compress: the automatic deflater is resolved by resolve_deflater first");
    case PngEncoderSettings::Deflater::libdeflate:
      return zlib_libdeflate(data, std::clamp(settings.level, 1, 12), out, scratch);
  }
}

void sample_rows(int height, std::size_t stride, int count, const RowMaker& make_rows, Bytes& sample) {
  sample.clear();
  const auto add = [&](int first, int rows) {
    const std::size_t at = sample.size();
    sample.resize(at + stride * static_cast<std::size_t>(rows));
    make_rows(first, rows, sample.data() + at);
  };
  if (height <= 3 * count) return add(0, height);
  for (const int quarter : {1, 2, 3}) add(height * quarter / 4 - count / 2, count);
}

PngEncoderSettings resolve_deflater(const PngEncoderSettings& settings, int height, RowShape shape,
                                    const RowMaker& make_rows, CodecScratch& scratch, Deflater fallback,
                                    int fallback_level) {
  if (settings.deflater != Deflater::automatic) return settings;
  PngEncoderSettings resolved = settings;
  resolved.deflater = fallback;
  resolved.level = fallback_level;
  sample_rows(height, shape.stride, kDeflaterSampleRows, make_rows, scratch.sample);
  const Bytes& sample = scratch.sample;
  if (sample.empty()) return resolved;
  Bytes& out = scratch.sample_deflated;
  out.resize(std::max(raw_deflate_bound(sample.size()), row_deflate_bound(sample.size())));
  if (scratch.band_levels.empty()) scratch.band_levels.resize(1);
  if (scratch.band_rows.empty()) scratch.band_rows.resize(1);
  const std::size_t isal = isal_deflate_band(sample.data(), 0, sample.size(), true, 2, out.data(), out.size(),
                                             scratch.band_levels[0]);
  const std::size_t rows = row_deflate(sample, 0, sample.size(), shape, true, out.data(), scratch.band_rows[0]);
  if (rows * 1000 <= isal * 925) resolved.deflater = Deflater::rows;
  return resolved;
}

std::span<const PngLevel> png_levels() { return kLevels; }

const PngLevel* find_png_level(std::string_view name) {
  for (const auto& level : kLevels)
    if (level.name == name) return &level;
  return nullptr;
}

void encode_png_fast(const Image& image, Bytes& out, const PngEncoderSettings& settings,
                     const BandRunner& run_bands, CodecScratch& scratch) {
  if (!image.has_encodable_layout())
    throw std::invalid_argument("encode_png_fast: unsupported layout");

  Bytes& filtered = scratch.filtered;
  filtered.resize((image.row_bytes() + 1) * static_cast<std::size_t>(image.height));
  const Filter filter = settings.filter == Filter::automatic ? choose_filter(image, scratch) : settings.filter;
  filter_rows(image, filter, 0, image.height, filtered.data(), scratch);

  out.clear();
  out.insert(out.end(), png::kSignature.begin(), png::kSignature.end());
  std::array<std::uint8_t, 13> ihdr{};
  png::store_be32(ihdr.data(), static_cast<std::uint32_t>(image.width));
  png::store_be32(ihdr.data() + 4, static_cast<std::uint32_t>(image.height));
  ihdr[8] = static_cast<std::uint8_t>(image.bit_depth);
  ihdr[9] = png::kColourTypeOfChannels[image.channels];
  png::append_chunk(out, "IHDR", ihdr);
  for (const AncillaryChunk& chunk : image.metadata)
    png::append_chunk(out, std::string_view(chunk.type.data(), 4), chunk.data);

  // One IDAT holding the whole zlib stream, deflated straight into place.
  const std::size_t idat_at = out.size();
  out.resize(idat_at + 8);
  std::memcpy(out.data() + idat_at + 4, "IDAT", 4);
  const std::size_t stride = image.row_bytes() + 1;
  const RowShape shape{stride, image.channels * image.bytes_per_sample()};  // the filters' pixel, as filter_rows
  // Where the row deflater does not pay (noisy scans, photographs), libdeflate's level 6: at most
  // sharp's bytes there too, for about three times ISA-L 2's time (docs/png-levels.md); a PDF's
  // Flate streams, which are these PNGs' data, too. TIFF's Deflate strips take ISA-L 2 there.
  const PngEncoderSettings resolved = resolve_deflater(
      settings, image.height, shape,
      [&](int first, int rows, std::uint8_t* to) {
        std::memcpy(to, filtered.data() + stride * static_cast<std::size_t>(first), stride * static_cast<std::size_t>(rows));
      },
      scratch, Deflater::libdeflate, 6);
  zlib_compress(filtered, resolved, out, run_bands, scratch, shape);
  const std::size_t idat_length = out.size() - idat_at - 8;
  if (idat_length > 0x7FFFFFFF) throw std::runtime_error("compressed image over 2 GiB");
  png::store_be32(out.data() + idat_at, static_cast<std::uint32_t>(idat_length));
  const std::uint32_t crc = png::chunk_crc(out.data() + idat_at + 4, 4 + idat_length);
  out.resize(out.size() + 4);
  png::store_be32(out.data() + out.size() - 4, crc);
  png::append_chunk(out, "IEND", {});
}

}  // namespace imgflow

namespace imgflow {

void encode_png_fast(const Image& image, Bytes& out, const PngEncoderSettings& settings, const BandRunner& run_bands) {
  CodecScratch scratch;
  encode_png_fast(image, out, settings, run_bands, scratch);
}

}  // namespace imgflow
