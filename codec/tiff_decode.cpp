// TIFF through libtiff: every page, every compression libtiff has (CCITT G3/G4, LZW, Deflate,
// JPEG, PackBits...), strips or tiles, contiguous or separate planes.
//
// What rejects a page: any libtiff error; any libtiff warning while the pixels are decoded
// (CCITT "premature EOL", old-JPEG and the like mean the decoder padded or guessed); and a
// directory warning in which libtiff says it assumes or recalculates something. Other directory
// warnings (unknown tags, unsorted tags) leave the pixels alone: warnings, errors when strict.
#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <memory>
#include <string>

#include "codec/formats.hpp"
#include "codec/encode.hpp"
#include "codec/metadata.hpp"
#include "codec/tiff_memory.hpp"
#include "kernels/colour.hpp"

namespace imgflow {
namespace {

constexpr std::size_t kMaxPages = 100000;

// ---- libtiff on a memory buffer, its messages collected ------------------------------------

using MemoryFile = tiff_memory::File;
using namespace tiff_memory;  // the procs TIFFClientOpenExt takes

// What libtiff said, in fixed buffers (the handlers run inside libtiff: nothing may throw).
struct TiffMessages {
  static constexpr int kMax = 8;
  char error[512] = {};
  char warnings[kMax][512] = {};
  int warning_count = 0;
  bool decoding_pixels = false;
  char pixel_warning[512] = {};  // the first warning while decoding pixels
};

void format_message(char* out, std::size_t size, const char* module, const char* format, va_list args) {
  int n = 0;
  if (module && *module) n = std::snprintf(out, size, "%s: ", module);
  if (n >= 0 && static_cast<std::size_t>(n) < size) std::vsnprintf(out + n, size - static_cast<std::size_t>(n), format, args);
}

int on_error(TIFF*, void* user, const char* module, const char* format, va_list args) {
  auto* messages = static_cast<TiffMessages*>(user);
  if (!messages->error[0]) format_message(messages->error, sizeof messages->error, module, format, args);
  return 1;
}

int on_warning(TIFF*, void* user, const char* module, const char* format, va_list args) {
  auto* messages = static_cast<TiffMessages*>(user);
  // libtiff says this of every old-style JPEG page it reads: advice, not damage.
  if (std::strstr(format, "Deprecated and troublesome old-style JPEG")) return 1;
  if (messages->decoding_pixels) {
    if (!messages->pixel_warning[0])
      format_message(messages->pixel_warning, sizeof messages->pixel_warning, module, format, args);
  } else if (messages->warning_count < TiffMessages::kMax) {
    char* slot = messages->warnings[messages->warning_count];
    format_message(slot, sizeof messages->warnings[0], module, format, args);
    bool repeated = false;  // libtiff reads the first directory twice when a page is chosen
    for (int i = 0; i < messages->warning_count; ++i) repeated |= std::strcmp(messages->warnings[i], slot) == 0;
    if (!repeated) ++messages->warning_count;
  }
  return 1;
}

struct TiffCloser {
  void operator()(TIFF* tif) const { TIFFClose(tif); }
};
using TiffHandle = std::unique_ptr<TIFF, TiffCloser>;

TiffHandle open_tiff(MemoryFile& file, TiffMessages& messages, const DecodeOptions& options) {
  std::unique_ptr<TIFFOpenOptions, decltype(&TIFFOpenOptionsFree)> open_options(TIFFOpenOptionsAlloc(),
                                                                               TIFFOpenOptionsFree);
  if (!open_options) throw std::bad_alloc();
  TIFFOpenOptionsSetErrorHandlerExtR(open_options.get(), on_error, &messages);
  TIFFOpenOptionsSetWarningHandlerExtR(open_options.get(), on_warning, &messages);
  // No single allocation inside libtiff beyond what the largest allowed page needs.
  TIFFOpenOptionsSetMaxSingleMemAlloc(
      open_options.get(), static_cast<tmsize_t>(std::min<std::uint64_t>(options.max_pixels * 8 + (16u << 20), 1ull << 40)));
  TiffHandle tif(TIFFClientOpenExt("input", "rm", &file, read_proc, write_proc, seek_proc, close_proc, size_proc,
                                   map_proc, unmap_proc, open_options.get()));
  if (!tif) throw DecodeError(messages.error[0] ? messages.error : "not a readable TIFF");
  return tif;
}

bool is_reduced_resolution(TIFF* tif) {
  std::uint32_t subfile = 0;
  return TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &subfile) && (subfile & FILETYPE_REDUCEDIMAGE);
}

// A directory warning in which libtiff guesses what the file does not say.
bool is_guess(std::string_view warning) {
  return warning.find("ssum") != std::string_view::npos || warning.find("alculat") != std::string_view::npos ||
         warning.find("Bogus") != std::string_view::npos;
}

// ---- the data bound --------------------------------------------------------------------------

// The fewest compressed bytes that can hold `raw` decoded bytes of `rows` rows of `pixels`
// pixels under `compression` (see docs/formats.md, "Bounded before allocating"). 0: no bound known.
std::uint64_t minimum_compressed_bytes(int compression, std::uint64_t raw, std::uint64_t rows, std::uint64_t pixels) {
  switch (compression) {
    case COMPRESSION_NONE: return raw;
    case COMPRESSION_PACKBITS: return raw / 64;  // 2 bytes repeat one byte 128 times
    case COMPRESSION_LZW: return raw / 3641;      // a code of 9+ bits yields at most 4096 bytes
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: return raw / 1032;  // deflate's limit (RFC 1951)
    case COMPRESSION_CCITTRLE:
    case COMPRESSION_CCITTRLEW:
    case COMPRESSION_CCITTFAX3:
    case COMPRESSION_CCITTFAX4: return rows / 8;  // at least one bit per row
    case COMPRESSION_JPEG:
    case COMPRESSION_OJPEG: return pixels / 64 / 8;  // at least one bit per 8x8 block
    default: return 0;
  }
}

// ---- the page's layout -------------------------------------------------------------------------

struct Layout {
  std::uint32_t width = 0, height = 0;
  std::uint16_t bits = 1, samples = 1, photometric = PHOTOMETRIC_MINISBLACK, planar = PLANARCONFIG_CONTIG;
  std::uint16_t compression = COMPRESSION_NONE, sample_format = SAMPLEFORMAT_UINT, orientation = ORIENTATION_TOPLEFT;
  int colour_samples = 1;   // samples that make the colour: 1 gray/palette, 3 RGB, 4 CMYK
  int alpha_sample = -1;    // index of the alpha sample, or -1
  bool associated_alpha = false;
  std::uint16_t extra_count = 0;
  bool ycbcr_as_rgb = false;  // JPEG-compressed YCbCr, which libtiff's JPEG codec turns into RGB
};

Layout read_layout(TIFF* tif) {
  Layout l;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l.width);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l.height);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &l.bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &l.samples);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &l.planar);
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &l.compression);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &l.sample_format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &l.orientation);
  if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l.photometric))
    l.photometric = l.samples >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  std::uint16_t* extra_types = nullptr;
  if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &l.extra_count, &extra_types) && l.extra_count && extra_types &&
      (extra_types[0] == EXTRASAMPLE_ASSOCALPHA || extra_types[0] == EXTRASAMPLE_UNASSALPHA)) {
    l.alpha_sample = l.samples - l.extra_count;
    l.associated_alpha = extra_types[0] == EXTRASAMPLE_ASSOCALPHA;
  }
  return l;
}

// Which decoding path a page takes; a reason when it cannot be represented.
enum class Path { native, rgba, refuse };

Path choose_path(TIFF* tif, Layout& l, std::string& reason, DecodeNotes& notes) {
  if (l.sample_format != SAMPLEFORMAT_UINT && l.sample_format != SAMPLEFORMAT_VOID) {
    reason = l.sample_format == SAMPLEFORMAT_IEEEFP ? "floating-point samples cannot be written as PNG"
                                                    : "signed or complex samples cannot be written as PNG";
    return Path::refuse;
  }
  if (l.bits > 16) {
    reason = std::to_string(l.bits) + "-bit samples cannot be written as PNG (at most 16 bits)";
    return Path::refuse;
  }
  const bool usual_bits = l.bits == 1 || l.bits == 2 || l.bits == 4 || l.bits == 8 || l.bits == 16;
  switch (l.photometric) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK: l.colour_samples = 1; break;
    case PHOTOMETRIC_PALETTE: l.colour_samples = 1; break;
    case PHOTOMETRIC_RGB: l.colour_samples = 3; break;
    case PHOTOMETRIC_SEPARATED: {
      std::uint16_t inkset = INKSET_CMYK;
      TIFFGetFieldDefaulted(tif, TIFFTAG_INKSET, &inkset);
      if (inkset != INKSET_CMYK || l.bits != 8) return Path::rgba;
      l.colour_samples = 4;
      break;
    }
    case PHOTOMETRIC_YCBCR:
      if (l.compression == COMPRESSION_JPEG && l.planar == PLANARCONFIG_CONTIG && l.bits == 8) {
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        l.ycbcr_as_rgb = true;
        l.colour_samples = 3;
        break;
      }
      return Path::rgba;
    default: return Path::rgba;
  }
  // Samples past the colour that no ExtraSamples tag declares. Four samples of RGB (what OpenCV
  // writes): the fourth is alpha, as Pillow, OpenCV and tiff2rgba take it, and straight, as
  // Pillow and OpenCV do. Any other is left out with a warning (convert).
  if (l.samples > l.colour_samples + l.extra_count) {
    if (l.photometric == PHOTOMETRIC_RGB && l.samples == 4 && l.extra_count == 0) {
      l.alpha_sample = 3;
      l.associated_alpha = false;
      notes.readings.push_back("4 samples of RGB without an ExtraSamples tag: the fourth taken as straight alpha");
    }
    l.extra_count = static_cast<std::uint16_t>(l.samples - l.colour_samples);
  }
  if (l.compression == COMPRESSION_OJPEG || !usual_bits) return Path::rgba;
  if (l.samples < l.colour_samples) {
    reason = std::to_string(l.samples) + " samples per pixel are too few for the photometric interpretation";
    return Path::refuse;
  }
  if (l.photometric == PHOTOMETRIC_PALETTE && l.bits > 8) return Path::rgba;
  if (l.bits < 8 && l.samples > 1) return Path::rgba;
  if (l.colour_samples == 4 && l.alpha_sample >= 0) l.alpha_sample = -1;  // CMYK+alpha: keep the colour only
  return Path::native;
}

// ---- reading the samples -----------------------------------------------------------------

void check_data_bound(TIFF* tif, const Layout& l, std::size_t file_size) {
  const std::uint32_t strips = TIFFIsTiled(tif) ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
  std::uint64_t present = 0;
  for (std::uint32_t i = 0; i < strips; ++i) {
    const std::uint64_t offset = TIFFGetStrileOffset(tif, i), count = TIFFGetStrileByteCount(tif, i);
    if (offset < file_size) present += std::min<std::uint64_t>(count, file_size - offset);
  }
  const std::uint64_t pixels = std::uint64_t{l.width} * l.height;
  const std::uint64_t raw = (std::uint64_t{l.width} * l.samples * l.bits + 7) / 8 * l.height;
  const std::uint64_t needed = minimum_compressed_bytes(l.compression, raw, l.height, pixels);
  if (present < needed)
    throw DecodeError(std::to_string(present) + " bytes of image data (inside the file) cannot hold a " +
                      std::to_string(l.width) + "x" + std::to_string(l.height) + " page of " +
                      std::to_string(l.samples) + "x" + std::to_string(l.bits) + "-bit samples");
}

// Reads every strip or tile into `planes`: one buffer of `height` packed rows per plane (one
// plane when contiguous). Throws on any error or short strip.
void read_planes(TIFF* tif, const Layout& l, TiffMessages& messages, Bytes& planes, std::size_t& plane_row_bytes) {
  const int plane_count = l.planar == PLANARCONFIG_SEPARATE ? l.samples : 1;
  const int samples_per_plane = l.planar == PLANARCONFIG_SEPARATE ? 1 : (l.ycbcr_as_rgb ? 3 : l.samples);
  plane_row_bytes = (std::size_t{l.width} * samples_per_plane * l.bits + 7) / 8;
  const std::size_t plane_bytes = plane_row_bytes * l.height;
  planes.resize(plane_bytes * static_cast<std::size_t>(plane_count));
  const auto fail = [&](const std::string& what) {
    throw DecodeError(messages.error[0] ? std::string(messages.error) : what);
  };
  messages.decoding_pixels = true;
  if (TIFFIsTiled(tif)) {
    std::uint32_t tile_width = 0, tile_height = 0;
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_width);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_height);
    const tmsize_t tile_size = TIFFTileSize(tif);
    const std::size_t tile_row_bytes = static_cast<std::size_t>(TIFFTileRowSize(tif));
    if (tile_width == 0 || tile_height == 0 || tile_size <= 0 || tile_row_bytes == 0) fail("bad tile size");
    Bytes tile(static_cast<std::size_t>(tile_size));
    for (int p = 0; p < plane_count; ++p)
      for (std::uint32_t y = 0; y < l.height; y += tile_height)
        for (std::uint32_t x = 0; x < l.width; x += tile_width) {
          const std::uint32_t index = TIFFComputeTile(tif, x, y, 0, static_cast<std::uint16_t>(p));
          if (TIFFReadEncodedTile(tif, index, tile.data(), tile_size) != tile_size || messages.pixel_warning[0])
            fail("tile " + std::to_string(index) + " cannot be read");
          const std::size_t x_bytes = std::size_t{x} * samples_per_plane * l.bits / 8;
          const std::size_t copy = std::min(tile_row_bytes, plane_row_bytes - x_bytes);
          for (std::uint32_t r = 0; r < tile_height && y + r < l.height; ++r)
            std::memcpy(planes.data() + p * plane_bytes + (y + r) * plane_row_bytes + x_bytes,
                        tile.data() + r * tile_row_bytes, copy);
        }
  } else {
    std::uint32_t rows_per_strip = 0;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    rows_per_strip = std::clamp<std::uint32_t>(rows_per_strip, 1, l.height);
    const std::uint32_t strips_per_plane = (l.height + rows_per_strip - 1) / rows_per_strip;
    for (int p = 0; p < plane_count; ++p)
      for (std::uint32_t s = 0; s < strips_per_plane; ++s) {
        const std::uint32_t rows = std::min(rows_per_strip, l.height - s * rows_per_strip);
        const auto want = static_cast<tmsize_t>(rows * plane_row_bytes);
        std::uint8_t* out = planes.data() + p * plane_bytes + std::size_t{s} * rows_per_strip * plane_row_bytes;
        const tmsize_t got = TIFFReadEncodedStrip(tif, p * strips_per_plane + s, out, want);
        if (got != want || messages.pixel_warning[0])
          fail("strip " + std::to_string(p * strips_per_plane + s) + " holds " + (got < 0 ? "no" : std::to_string(got)) +
               " of its " + std::to_string(want) + " bytes");
      }
  }
  if (messages.pixel_warning[0]) throw DecodeError(messages.pixel_warning);
  messages.decoding_pixels = false;
}

// One sample of `bits` bits (1-16) at sample position `index` of a packed row.
inline std::uint32_t sample_at(const std::uint8_t* row, std::size_t index, int bits) {
  switch (bits) {
    case 8: return row[index];
    case 16: return reinterpret_cast<const std::uint16_t*>(row)[index];  // libtiff swabs to host order
    default: {
      const std::size_t bit = index * static_cast<std::size_t>(bits);
      return (row[bit >> 3] >> (8 - bits - (bit & 7))) & ((1u << bits) - 1);
    }
  }
}

// The page's samples as an Image: bilevel stays bilevel, gray gray, palette and CMYK become RGB,
// 2/4-bit gray is widened to 8 bits (with sBIT), alpha is made straight.
void convert(TIFF* tif, const Layout& l, Bytes& planes, std::size_t plane_row_bytes, Image& image,
             DecodeNotes& notes) {
  const bool separate = l.planar == PLANARCONFIG_SEPARATE;
  const bool inverted_gray = l.photometric == PHOTOMETRIC_MINISWHITE;
  image.width = static_cast<int>(l.width);
  image.height = static_cast<int>(l.height);
  const std::size_t pixels = std::size_t{l.width} * l.height;

  if (l.bits == 1 && l.samples == 1 && l.photometric != PHOTOMETRIC_PALETTE) {
    image.channels = 1;
    image.bit_depth = 1;
    image.pixels.assign(planes.begin(), planes.begin() + static_cast<std::ptrdiff_t>(plane_row_bytes * l.height));
    if (inverted_gray)  // TIFF's min-is-white has 0 = white; PNG's 1 = white
      for (auto& byte : image.pixels) byte = static_cast<std::uint8_t>(~byte);
    return;
  }

  std::uint16_t *red = nullptr, *green = nullptr, *blue = nullptr;
  int palette_shift = 8;
  if (l.photometric == PHOTOMETRIC_PALETTE) {
    if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &red, &green, &blue)) throw DecodeError("palette image without a colour map");
    // 16-bit entries are taken by their high byte, as libtiff's RGBA reader, Pillow and OpenCV
    // do: a map written as v * 256 (Pillow, many scanners) and one written as v * 257 (libtiff's
    // tools, ImageMagick) both give back v. Old writers stored 8-bit values in the 16-bit map;
    // libtiff's reader checks the same way.
    palette_shift = 0;
    for (std::size_t i = 0; i < (std::size_t{1} << l.bits); ++i)
      if (red[i] > 255 || green[i] > 255 || blue[i] > 255) palette_shift = 8;
  }
  const bool palette = red != nullptr;
  const bool cmyk = l.colour_samples == 4;
  const int out_bits = l.bits == 16 && !palette ? 16 : 8;
  const int colour_out = palette || cmyk ? 3 : l.colour_samples;
  image.channels = colour_out + (l.alpha_sample >= 0 ? 1 : 0);
  image.bit_depth = out_bits;
  const int stored_samples = l.ycbcr_as_rgb ? 3 : l.samples;
  const auto finish_alpha = [&] {
    if (l.alpha_sample < 0 || !l.associated_alpha) return;
    if (out_bits == 16)
      unpremultiply(reinterpret_cast<std::uint16_t*>(image.pixels.data()), pixels, image.channels);
    else
      unpremultiply(image.pixels.data(), pixels, image.channels);
  };
  // The common case: the stored samples are the output's, as they are.
  if (!separate && !palette && !cmyk && l.bits >= 8 && stored_samples == image.channels &&
      (!inverted_gray || image.channels == 1)) {
    image.pixels.swap(planes);
    image.pixels.resize(image.byte_size());
    if (inverted_gray && l.bits == 8)
      for (auto& v : image.pixels) v = static_cast<std::uint8_t>(255 - v);
    if (inverted_gray && l.bits == 16)
      for (std::size_t i = 0; i < pixels; ++i) {
        auto* v = reinterpret_cast<std::uint16_t*>(image.pixels.data()) + i;
        *v = static_cast<std::uint16_t>(65535 - *v);
      }
    finish_alpha();
    return;
  }
  image.allocate();
  if (l.extra_count > (l.alpha_sample >= 0 ? 1 : 0))
    notes.warnings.push_back(std::to_string(l.extra_count - (l.alpha_sample >= 0 ? 1 : 0)) +
                             " extra sample(s) of no declared meaning left out");

  const std::size_t plane_bytes = plane_row_bytes * l.height;
  const std::uint32_t max_in = (1u << l.bits) - 1;
  // Source samples wanted, in output order (CMYK's four come out as RGB below).
  int wanted[5], wanted_count = 0;
  for (int s = 0; s < (cmyk ? 4 : l.colour_samples); ++s) wanted[wanted_count++] = s;
  if (l.alpha_sample >= 0) wanted[wanted_count++] = l.alpha_sample;

  Bytes cmyk_row(cmyk ? std::size_t{l.width} * 4 : 0);
  for (std::uint32_t y = 0; y < l.height; ++y) {
    std::uint8_t* out8 = image.pixels.data() + y * image.row_bytes();
    auto* out16 = reinterpret_cast<std::uint16_t*>(out8);
    for (std::uint32_t x = 0; x < l.width; ++x) {
      for (int w = 0; w < wanted_count; ++w) {
        const int s = wanted[w];
        const std::uint8_t* row = planes.data() + (separate ? s * plane_bytes : 0) + y * plane_row_bytes;
        std::uint32_t v = sample_at(row, separate ? x : std::size_t{x} * stored_samples + s, l.bits);
        const bool is_alpha = s == l.alpha_sample;
        if (palette && !is_alpha) {
          const std::uint16_t* maps[3] = {red, green, blue};
          for (int c = 0; c < 3; ++c)
            out8[std::size_t{x} * image.channels + c] =
                static_cast<std::uint8_t>(maps[c][v] >> palette_shift);
          continue;
        }
        if (inverted_gray && !is_alpha) v = max_in - v;
        if (cmyk && !is_alpha) {
          cmyk_row[std::size_t{x} * 4 + s] = static_cast<std::uint8_t>(v);
          continue;
        }
        const std::size_t at = std::size_t{x} * image.channels + (is_alpha ? image.channels - 1 : w);
        if (out_bits == 16)
          out16[at] = static_cast<std::uint16_t>(v);
        else
          out8[at] = static_cast<std::uint8_t>(l.bits == 8 ? v : v * 255 / max_in);
      }
    }
    if (cmyk) {
      cmyk_to_rgb(cmyk_row.data(), l.width, false, cmyk_row.data());
      std::memcpy(out8, cmyk_row.data(), std::size_t{l.width} * 3);  // CMYK comes out without alpha
    }
  }
  finish_alpha();
  if (l.bits < 8 && !palette) add_significant_bits(image, l.bits);
}

// Everything else libtiff knows (old-style JPEG, subsampled YCbCr, CIE L*a*b*, LogLuv, other
// ink sets, ...) through its RGBA interface: 8-bit RGB(A), in stored row order.
void read_through_rgba(TIFF* tif, const Layout& l, TiffMessages& messages, Image& image) {
  char why[1024] = {};
  if (!TIFFRGBAImageOK(tif, why)) throw DecodeError(std::string("unsupported layout: ") + why);
  TIFFRGBAImage rgba{};
  if (!TIFFRGBAImageBegin(&rgba, tif, 1, why)) throw DecodeError(messages.error[0] ? messages.error : why);
  struct End {
    TIFFRGBAImage& rgba;
    ~End() { TIFFRGBAImageEnd(&rgba); }
  } end{rgba};
  rgba.req_orientation = l.orientation;  // as stored: orientation is applied once, by the caller
  std::vector<std::uint32_t> raster(std::size_t{l.width} * l.height);
  messages.decoding_pixels = true;
  if (!TIFFRGBAImageGet(&rgba, raster.data(), l.width, l.height) || messages.error[0] || messages.pixel_warning[0])
    throw DecodeError(messages.error[0] ? messages.error : messages.pixel_warning[0] ? messages.pixel_warning : "cannot decode");
  messages.decoding_pixels = false;
  const bool alpha = rgba.alpha != 0;
  image.width = static_cast<int>(l.width);
  image.height = static_cast<int>(l.height);
  image.channels = alpha ? 4 : 3;
  image.bit_depth = 8;
  image.allocate();
  std::uint8_t* out = image.pixels.data();
  for (const std::uint32_t p : raster) {
    *out++ = static_cast<std::uint8_t>(TIFFGetR(p));
    *out++ = static_cast<std::uint8_t>(TIFFGetG(p));
    *out++ = static_cast<std::uint8_t>(TIFFGetB(p));
    if (alpha) *out++ = static_cast<std::uint8_t>(TIFFGetA(p));
  }
  // libtiff's RGBA interface premultiplies every alpha.
  if (alpha) unpremultiply(image.pixels.data(), raster.size(), 4);
}

void add_tiff_metadata(TIFF* tif, const Layout& l, Image& image, DecodeNotes& notes) {
  float x = 0, y = 0;
  std::uint16_t unit = RESUNIT_INCH;
  if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &x) && TIFFGetField(tif, TIFFTAG_YRESOLUTION, &y)) {
    TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    add_resolution(image, x, y,
                   unit == RESUNIT_NONE ? ResolutionUnit::none
                   : unit == RESUNIT_CENTIMETER ? ResolutionUnit::centimetre
                                                : ResolutionUnit::inch,
                   notes);
  }
  std::uint32_t profile_size = 0;
  void* profile = nullptr;
  if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &profile_size, &profile) && profile && profile_size) {
    if (l.colour_samples == 4 || l.photometric == PHOTOMETRIC_SEPARATED)
      notes.drop_profile("a CMYK profile does not describe the RGB output");
    else
      add_icc_profile(image, {static_cast<const std::uint8_t*>(profile), profile_size}, notes);
  }
}

// The next-directory offset stored after the directory at `offset` (classic TIFF or BigTIFF),
// or 0 when the file ends first.
// The link from the directory at `offset` to the next one (0: none), or nothing when the file
// ends inside the directory or its link (libtiff then takes the chain as ended).
std::optional<std::uint64_t> next_directory_offset(std::span<const std::uint8_t> b, std::uint64_t offset) {
  if (b.size() < 8) return std::nullopt;
  const bool little = b[0] == 'I';
  const bool big = (little ? b[2] : b[3]) == 43;
  const auto read = [&](std::uint64_t at, int bytes) -> std::optional<std::uint64_t> {
    if (at > b.size() || static_cast<std::uint64_t>(bytes) > b.size() - at) return std::nullopt;
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      const std::uint64_t byte = b[at + static_cast<std::uint64_t>(little ? bytes - 1 - i : i)];
      v = v << 8 | byte;
    }
    return v;
  };
  const std::optional<std::uint64_t> count = read(offset, big ? 8 : 2);
  if (!count || *count > (std::uint64_t{1} << 32)) return std::nullopt;
  return big ? read(offset + 8 + 20 * *count, 8) : read(offset + 2 + 12 * *count, 4);
}

}  // namespace

PageList list_tiff_pages(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
  MemoryFile file{bytes};
  TiffMessages messages;
  const TiffHandle tif = open_tiff(file, messages, options);
  PageList list;
  std::vector<std::uint64_t> directories;
  do {
    directories.push_back(TIFFCurrentDirOffset(tif.get()));
    if (!is_reduced_resolution(tif.get())) list.pages.push_back(directories.back());
    if (list.pages.size() > kMaxPages) throw DecodeError("more than " + std::to_string(kMaxPages) + " pages");
  } while (TIFFReadDirectory(tif.get()));
  // libtiff stops without saying so at a directory it has already read, and at a last directory
  // whose link to the next is cut off by the end of the file (a truncated file would lose its
  // later pages unseen): say it.
  const std::optional<std::uint64_t> next = next_directory_offset(bytes, directories.back());
  if (!messages.error[0] && !next)
    std::snprintf(messages.error, sizeof messages.error,
                  "the file ends inside the directory at offset %llu, before its link to a next page",
                  static_cast<unsigned long long>(directories.back()));
  else if (!messages.error[0] && *next != 0 && std::find(directories.begin(), directories.end(), *next) != directories.end())
    std::snprintf(messages.error, sizeof messages.error, "the next directory (at offset %llu) loops back to an earlier one",
                  static_cast<unsigned long long>(*next));
  const char* damage = messages.error[0] ? messages.error : nullptr;
  for (int i = 0; !damage && i < messages.warning_count; ++i)  // libtiff warns of an IFD loop
    if (std::strstr(messages.warnings[i], "loop")) damage = messages.warnings[i];
  if (damage) list.damage = std::string("the page chain is damaged: ") + damage;
  return list;
}

void decode_tiff(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t page, Image& image,
                 DecodeNotes& notes, CodecScratch&) {
  MemoryFile file{bytes};
  TiffMessages messages;
  const TiffHandle tif = open_tiff(file, messages, options);
  if (page != 0 && page != TIFFCurrentDirOffset(tif.get())) {
    messages.warning_count = 0;  // those were the first page's
    if (!TIFFSetSubDirectory(tif.get(), page))
      throw DecodeError(messages.error[0] ? messages.error : "cannot read the page's directory");
  }
  for (int i = 0; i < messages.warning_count; ++i) {
    if (is_guess(messages.warnings[i])) throw DecodeError(messages.warnings[i]);
    warn(options, notes, messages.warnings[i]);
  }
  messages.warning_count = 0;
  Layout l = read_layout(tif.get());
  if (l.width == 0 || l.height == 0) throw DecodeError("the page has no pixels (width or height 0)");
  check_pixel_limit(l.width, l.height, options.max_pixels);
  std::string reason;
  const Path path = choose_path(tif.get(), l, reason, notes);
  if (path == Path::refuse) throw DecodeError(reason);
  check_data_bound(tif.get(), l, bytes.size());
  if (path == Path::native) {
    Bytes planes;
    std::size_t plane_row_bytes = 0;
    read_planes(tif.get(), l, messages, planes, plane_row_bytes);
    convert(tif.get(), l, planes, plane_row_bytes, image, notes);
  } else {
    read_through_rgba(tif.get(), l, messages, image);
  }
  for (int i = 0; i < messages.warning_count; ++i) warn(options, notes, messages.warnings[i]);
  add_tiff_metadata(tif.get(), l, image, notes);
  apply_orientation(image, l.orientation, notes);
}

Recorded read_tiff_record(std::span<const std::uint8_t> bytes) {
  Recorded recorded;
  MemoryFile file{bytes};
  TiffMessages messages;
  TiffHandle tif;
  try {
    tif = open_tiff(file, messages, DecodeOptions{});
  } catch (const std::exception&) {
    return recorded;  // not whole, no texts
  }
  // Whole: every page's strips there and decoding without a word from libtiff. The texts are
  // the last page's (a document's stamp is written with its last page). (The file lies in the
  // output folder, where anything may be: a strip larger than any imgflow writes, whose size a
  // hostile file could set to gigabytes, is not one of ours.)
  constexpr tmsize_t kLargestStrip = tmsize_t{64} << 20;
  bool whole = true;
  std::vector<std::uint8_t> strip;
  std::size_t pages = 0;
  do {
    char* text = nullptr;
    recorded.software = TIFFGetField(tif.get(), TIFFTAG_SOFTWARE, &text) && text ? text : "";
    text = nullptr;
    recorded.description = TIFFGetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, &text) && text ? text : "";
    whole = !TIFFIsTiled(tif.get()) && TIFFNumberOfStrips(tif.get()) > 0 && !messages.error[0] &&
            TIFFStripSize(tif.get()) > 0 && TIFFStripSize(tif.get()) <= kLargestStrip && ++pages <= kMaxPages;
    if (whole) strip.resize(static_cast<std::size_t>(TIFFStripSize(tif.get())));
    for (std::uint32_t s = 0; whole && s < TIFFNumberOfStrips(tif.get()); ++s)
      whole = TIFFReadEncodedStrip(tif.get(), s, strip.data(), static_cast<tmsize_t>(strip.size())) >= 0;
  } while (whole && !messages.error[0] && TIFFReadDirectory(tif.get()));
  recorded.whole = whole && !messages.error[0];
  return recorded;
}

}  // namespace imgflow
