#include "codec/tiff_encode.hpp"

#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codec/metadata.hpp"
#include "codec/tiff_memory.hpp"

namespace imgflow {
namespace {


// libtiff's first error, in a fixed buffer (the handler runs inside libtiff: nothing may throw).
struct Complaint {
  char text[512] = {};
};
int on_error(TIFF*, void* user, const char* module, const char* format, va_list args) {
  auto* complaint = static_cast<Complaint*>(user);
  if (complaint->text[0]) return 1;
  int n = module && *module ? std::snprintf(complaint->text, sizeof complaint->text, "%s: ", module) : 0;
  if (n < 0 || static_cast<std::size_t>(n) >= sizeof complaint->text) n = 0;
  std::vsnprintf(complaint->text + n, sizeof complaint->text - static_cast<std::size_t>(n), format, args);
  return 1;
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// Which compression a page gets; refuses what the compression cannot hold.
std::uint16_t compression_for(const Image& image, TiffCompression asked) {
  const bool bilevel = image.bit_depth == 1;
  switch (asked) {
    case TiffCompression::automatic: return bilevel ? COMPRESSION_CCITTFAX4 : COMPRESSION_ADOBE_DEFLATE;
    case TiffCompression::g4:
      if (!bilevel) throw EncodeError("CCITT G4 compression holds 1-bit pages only (this one is " +
                                      std::to_string(image.bit_depth) + "-bit " + std::string(layout_name(image.channels)) + ")");
      return COMPRESSION_CCITTFAX4;
    case TiffCompression::deflate: return COMPRESSION_ADOBE_DEFLATE;
    case TiffCompression::lzw: return COMPRESSION_LZW;
    case TiffCompression::jpeg:
      if (image.bit_depth != 8 || (image.channels != 1 && image.channels != 3))
        throw EncodeError("JPEG compression holds 8-bit gray or RGB without alpha only (this page is " +
                          std::to_string(image.bit_depth) + "-bit " + std::string(layout_name(image.channels)) + ")");
      return COMPRESSION_JPEG;
    case TiffCompression::none: return COMPRESSION_NONE;
  }
  return COMPRESSION_NONE;
}

}  // namespace

void encode_tiff(const Image& image, const TiffEncodeSettings& settings, std::string_view software,
                 std::string_view description, Bytes& out) {
  if (!image.has_encodable_layout() || image.width <= 0 || image.height <= 0)
    throw EncodeError("no TIFF layout for " + std::to_string(image.channels) + " channels of " +
                      std::to_string(image.bit_depth) + " bits");
  const std::uint16_t compression = compression_for(image, settings.compression);
  // libtiff seeks back to patch offsets, and reads what it wrote when it rewrites a directory.
  tiff_memory::File file = tiff_memory::writing(out);
  Complaint complaint;
  std::unique_ptr<TIFFOpenOptions, decltype(&TIFFOpenOptionsFree)> options(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
  if (!options) throw std::bad_alloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), on_error, &complaint);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), on_warning, nullptr);
  std::unique_ptr<TIFF, decltype(&TIFFClose)> tif(
      TIFFClientOpenExt("output", "w", &file, tiff_memory::read_proc, tiff_memory::write_proc, tiff_memory::seek_proc,
                        tiff_memory::close_proc, tiff_memory::size_proc, tiff_memory::map_proc, tiff_memory::unmap_proc,
                        options.get()),
      TIFFClose);
  const auto fail = [&](const char* what) {
    throw EncodeError(complaint.text[0] ? std::string(complaint.text) : std::string(what));
  };
  if (!tif) fail("cannot start a TIFF");

  const bool bilevel = image.bit_depth == 1;
  const bool alpha = image.channels == 2 || image.channels == 4;
  const std::uint32_t width = static_cast<std::uint32_t>(image.width), height = static_cast<std::uint32_t>(image.height);
  const std::size_t row_bytes = image.row_bytes();
  // Strips of about 256 KiB; of up to 8 MiB for a bilevel page (one strip for any page a scanner
  // makes: G4 codes a strip as a whole, and a page as one strip is what fax readers expect).
  const std::size_t strip_bytes = bilevel ? (8u << 20) : (256u << 10);
  const std::uint32_t rows_per_strip = static_cast<std::uint32_t>(std::clamp<std::size_t>(strip_bytes / row_bytes, 1, height));
  bool ok = TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, width) && TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, height) &&
            TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(image.bit_depth)) &&
            TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(image.channels)) &&
            TIFFSetField(tif.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
            TIFFSetField(tif.get(), TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) &&
            TIFFSetField(tif.get(), TIFFTAG_ROWSPERSTRIP, rows_per_strip) &&
            TIFFSetField(tif.get(), TIFFTAG_COMPRESSION, compression);
  // Fax and scanner practice: a bilevel page is min-is-white (0 white), the opposite of PNG's.
  const std::uint16_t photometric = bilevel ? PHOTOMETRIC_MINISWHITE
                                    : image.channels >= 3 ? PHOTOMETRIC_RGB
                                                          : PHOTOMETRIC_MINISBLACK;
  ok = ok && TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC, photometric);
  if (alpha) {
    const std::uint16_t extra = EXTRASAMPLE_UNASSALPHA;
    ok = ok && TIFFSetField(tif.get(), TIFFTAG_EXTRASAMPLES, 1, &extra);
  }
  if (compression == COMPRESSION_ADOBE_DEFLATE || compression == COMPRESSION_LZW)
    ok = ok && TIFFSetField(tif.get(), TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
  if (compression == COMPRESSION_ADOBE_DEFLATE) ok = ok && TIFFSetField(tif.get(), TIFFTAG_ZIPQUALITY, 6);
  if (compression == COMPRESSION_JPEG) ok = ok && TIFFSetField(tif.get(), TIFFTAG_JPEGQUALITY, std::clamp(settings.jpeg_quality, 1, 100));
  if (const auto dpi = resolution_dpi(image)) {
    // pHYs counts whole pixels per metre, 0.0127 dpi apart: within that of a whole number of dots
    // per inch, the resolution was that number (a 300 dpi scan's 11811 per metre, 299.9994 dpi).
    const auto whole = [](double value) {
      const double nearest = std::round(value);
      return std::abs(value - nearest) <= 0.0127 ? nearest : value;
    };
    ok = ok && TIFFSetField(tif.get(), TIFFTAG_XRESOLUTION, static_cast<float>(whole(dpi->first))) &&
         TIFFSetField(tif.get(), TIFFTAG_YRESOLUTION, static_cast<float>(whole(dpi->second))) &&
         TIFFSetField(tif.get(), TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
  }
  if (const std::vector<std::uint8_t> profile = icc_profile(image); !profile.empty())
    ok = ok && TIFFSetField(tif.get(), TIFFTAG_ICCPROFILE, static_cast<std::uint32_t>(profile.size()), profile.data());
  if (!software.empty()) ok = ok && TIFFSetField(tif.get(), TIFFTAG_SOFTWARE, std::string(software).c_str());
  if (!description.empty()) ok = ok && TIFFSetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, std::string(description).c_str());
  if (!ok) fail("cannot set the page's tags");
  // The directory first, before the strips (rewritten in place once their offsets are known),
  // so that a file cut short still shows what it is and who made it (files/resume.hpp).
  if (!TIFFCheckpointDirectory(tif.get())) fail("cannot write the page's directory");

  std::vector<std::uint8_t> strip;
  for (std::uint32_t first = 0, index = 0; first < height; first += rows_per_strip, ++index) {
    const std::uint32_t rows = std::min(rows_per_strip, height - first);
    const std::uint8_t* rows_start = image.pixels.data() + first * row_bytes;
    const std::size_t size = rows * row_bytes;
    // libtiff's encoders may modify the buffer they are given (the predictor does): a copy.
    strip.assign(rows_start, rows_start + size);
    if (bilevel)
      for (auto& byte : strip) byte = static_cast<std::uint8_t>(~byte);
    if (TIFFWriteEncodedStrip(tif.get(), index, strip.data(), static_cast<tmsize_t>(size)) < 0) fail("cannot write a strip");
  }
  if (!TIFFWriteDirectory(tif.get())) fail("cannot write the page's directory");
  tif.reset();  // TIFFClose flushes
  if (complaint.text[0]) throw EncodeError(complaint.text);
}

}  // namespace imgflow
