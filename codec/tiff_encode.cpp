#include "codec/tiff_encode.hpp"

#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/ccitt_g4.hpp"
#include "codec/document.hpp"
#include "codec/encode.hpp"
#include "codec/metadata.hpp"
#include "codec/png_filter.hpp"
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

using Tiff = std::unique_ptr<TIFF, decltype(&TIFFClose)>;

// libtiff on a client's file (a memory buffer, a document's file), its first error kept in
// `complaint`. Throws EncodeError.
Tiff open_client(const char* name, const char* mode, thandle_t handle, TIFFReadWriteProc read, TIFFReadWriteProc write,
                 TIFFSeekProc seek, TIFFCloseProc close, TIFFSizeProc size, TIFFMapFileProc map, TIFFUnmapFileProc unmap,
                 Complaint& complaint) {
  std::unique_ptr<TIFFOpenOptions, decltype(&TIFFOpenOptionsFree)> options(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
  if (!options) throw std::bad_alloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), on_error, &complaint);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), on_warning, nullptr);
  Tiff tif(TIFFClientOpenExt(name, mode, handle, read, write, seek, close, size, map, unmap, options.get()), TIFFClose);
  if (!tif) throw EncodeError(complaint.text[0] ? std::string(complaint.text) : "cannot open " + std::string(name));
  return tif;
}

Tiff open_memory(tiff_memory::File& file, Complaint& complaint, const char* mode) {
  return open_client("a TIFF in memory", mode, &file, tiff_memory::read_proc, tiff_memory::write_proc,
                     tiff_memory::seek_proc, tiff_memory::close_proc, tiff_memory::size_proc, tiff_memory::map_proc,
                     tiff_memory::unmap_proc, complaint);
}

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

// TIFF's horizontal predictor: each sample less the same channel's sample to its left, `rows`
// rows from `src` into `dst`. On 8-bit samples it is PNG's Sub filter, a pixel's bytes wide.
template <int Bpp>
void sub_rows(const std::uint8_t* src, std::uint8_t* dst, std::size_t row_bytes, std::uint32_t rows) {
  for (std::uint32_t r = 0; r < rows; ++r) png::filter_row<Bpp>(1, src + r * row_bytes, nullptr, dst + r * row_bytes, row_bytes);
}
void horizontal_predictor(const Image& image, const std::uint8_t* src, std::uint8_t* dst, std::uint32_t rows) {
  const std::size_t row_bytes = image.row_bytes();
  if (image.bit_depth == 16) {
    const std::size_t step = static_cast<std::size_t>(image.channels), samples = row_bytes / 2;
    for (std::uint32_t r = 0; r < rows; ++r) {
      const std::uint8_t* in = src + r * row_bytes;
      std::uint8_t* out = dst + r * row_bytes;
      std::memcpy(out, in, step * 2);
      for (std::size_t i = step; i < samples; ++i) {
        std::uint16_t sample, left;  // (through memcpy: no assumption about the rows' alignment)
        std::memcpy(&sample, in + 2 * i, 2);
        std::memcpy(&left, in + 2 * (i - step), 2);
        sample = static_cast<std::uint16_t>(sample - left);
        std::memcpy(out + 2 * i, &sample, 2);
      }
    }
    return;
  }
  switch (image.channels) {
    case 1: return sub_rows<1>(src, dst, row_bytes, rows);
    case 2: return sub_rows<2>(src, dst, row_bytes, rows);
    case 3: return sub_rows<3>(src, dst, row_bytes, rows);
    default: return sub_rows<4>(src, dst, row_bytes, rows);
  }
}

}  // namespace

void encode_tiff(const Image& image, const TiffEncodeSettings& settings, std::string_view software,
                 std::string_view description, Bytes& out, CodecScratch* scratch) {
  if (!image.has_encodable_layout() || image.width <= 0 || image.height <= 0)
    throw EncodeError("no TIFF layout for " + std::to_string(image.channels) + " channels of " +
                      std::to_string(image.bit_depth) + " bits");
  const std::uint16_t compression = compression_for(image, settings.compression);
  // libtiff seeks back to patch offsets, and reads what it wrote when it rewrites a directory.
  tiff_memory::File file = tiff_memory::writing(out);
  Complaint complaint;
  Tiff tif = open_memory(file, complaint, "w");
  const auto fail = [&](const char* what) {
    throw EncodeError(complaint.text[0] ? std::string(complaint.text) : std::string(what));
  };

  const bool bilevel = image.bit_depth == 1;
  const bool alpha = image.channels == 2 || image.channels == 4;
  const std::uint32_t width = static_cast<std::uint32_t>(image.width), height = static_cast<std::uint32_t>(image.height);
  const std::size_t row_bytes = image.row_bytes();
  // Strips of about 256 KiB; of up to 8 MiB for a bilevel page (one strip for any page a scanner
  // makes: G4 codes a strip as a whole, and a page as one strip is what fax readers expect).
  const std::size_t strip_bytes = bilevel ? (8u << 20) : (256u << 10);
  std::uint32_t rows_per_strip = static_cast<std::uint32_t>(std::clamp<std::size_t>(strip_bytes / row_bytes, 1, height));
  // JPEG codes 8x8 blocks (16 rows for subsampled colour): a strip is a whole number of them.
  if (compression == COMPRESSION_JPEG && rows_per_strip < height)
    rows_per_strip = std::min(height, std::max<std::uint32_t>(16, rows_per_strip / 16 * 16));
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
  // The horizontal predictor works on samples of 8 bits or more: not on a 1-bit page's bits.
  const bool predicted = (compression == COMPRESSION_ADOBE_DEFLATE || compression == COMPRESSION_LZW) && !bilevel;
  if (predicted) ok = ok && TIFFSetField(tif.get(), TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
  // Each JPEG strip with its own tables: shared ones (the JPEGTables tag) are made only when the
  // first strip is coded, and would grow the directory written before the strips over them.
  if (compression == COMPRESSION_JPEG)
    ok = ok && TIFFSetField(tif.get(), TIFFTAG_JPEGQUALITY, std::clamp(settings.jpeg_quality, 1, 100)) &&
         TIFFSetField(tif.get(), TIFFTAG_JPEGTABLESMODE, 0);
  if (const auto dpi = whole_resolution_dpi(image)) {
    ok = ok && TIFFSetField(tif.get(), TIFFTAG_XRESOLUTION, static_cast<float>(dpi->first)) &&
         TIFFSetField(tif.get(), TIFFTAG_YRESOLUTION, static_cast<float>(dpi->second)) &&
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

  // Deflate: the predictor and the deflater here, each strip written as it is (libtiff's own
  // zlib at level 6 takes three to six times as long as imgflow's default deflater). G4: imgflow's
  // coder (codec/ccitt_g4.hpp), a few percent smaller than libtiff's.
  std::optional<CodecScratch> own_scratch;
  const bool deflate = compression == COMPRESSION_ADOBE_DEFLATE;
  const bool g4 = compression == COMPRESSION_CCITTFAX4;
  if (deflate && !scratch) scratch = &own_scratch.emplace();
  // The deflater, chosen once for the page (on a sample of its predicted rows): ISA-L 2 where the
  // row deflater does not pay, for TIFF's time target (a PNG takes libdeflate 6 there).
  const RowShape shape{row_bytes, image.channels * image.bytes_per_sample()};
  const PngEncoderSettings deflater =
      !deflate ? settings.deflate
               : resolve_deflater(settings.deflate, image.height, shape, [&](int first, int rows, std::uint8_t* to) {
                   horizontal_predictor(image, image.pixels.data() + row_bytes * static_cast<std::size_t>(first), to,
                                        static_cast<std::uint32_t>(rows));
                 }, *scratch, PngEncoderSettings::Deflater::isal, 2);
  Bytes strip;
  Bytes packed;
  for (std::uint32_t first = 0, index = 0; first < height; first += rows_per_strip, ++index) {
    const std::uint32_t rows = std::min(rows_per_strip, height - first);
    const std::uint8_t* rows_start = image.pixels.data() + first * row_bytes;
    const std::size_t size = rows * row_bytes;
    if (g4) {
      packed.clear();
      encode_g4(rows_start, row_bytes, image.width, static_cast<int>(rows), packed);
      if (TIFFWriteRawStrip(tif.get(), index, packed.data(), static_cast<tmsize_t>(packed.size())) < 0)
        fail("cannot write a strip");
      continue;
    }
    // The strip's samples as written: a bilevel page min-is-white; Deflate's predicted here;
    // otherwise a copy, since libtiff's encoders may modify the buffer they are given (its
    // predictor does).
    strip.resize(size);
    if (bilevel)
      for (std::size_t i = 0; i < size; ++i) strip[i] = static_cast<std::uint8_t>(~rows_start[i]);
    else if (deflate)
      horizontal_predictor(image, rows_start, strip.data(), rows);
    else
      std::memcpy(strip.data(), rows_start, size);
    if (deflate) {
      packed.clear();
      zlib_compress({strip.data(), size}, deflater, packed, {}, *scratch, shape);
      if (TIFFWriteRawStrip(tif.get(), index, packed.data(), static_cast<tmsize_t>(packed.size())) < 0)
        fail("cannot write a strip");
    } else if (TIFFWriteEncodedStrip(tif.get(), index, strip.data(), static_cast<tmsize_t>(size)) < 0) {
      fail("cannot write a strip");
    }
  }
  if (!TIFFWriteDirectory(tif.get())) fail("cannot write the page's directory");
  tif.reset();  // TIFFClose flushes
  if (complaint.text[0]) throw EncodeError(complaint.text);
}

namespace {

// libtiff on a document's file (files/ owns it): the procs never throw, they fail the call.
struct DocumentHandle {
  DocumentFile& file;
  toff_t position = 0;
};
tmsize_t document_read(thandle_t h, void* out, tmsize_t size) {
  auto* d = static_cast<DocumentHandle*>(h);
  try {
    const std::size_t n = d->file.read_at(d->position, {static_cast<std::uint8_t*>(out), static_cast<std::size_t>(size)});
    d->position += n;
    return static_cast<tmsize_t>(n);
  } catch (...) {
    return -1;
  }
}
tmsize_t document_write(thandle_t h, void* data, tmsize_t size) {
  auto* d = static_cast<DocumentHandle*>(h);
  try {
    d->file.write_at(d->position, {static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)});
    d->position += static_cast<toff_t>(size);
    return size;
  } catch (...) {
    return -1;
  }
}
toff_t document_seek(thandle_t h, toff_t offset, int whence) {
  auto* d = static_cast<DocumentHandle*>(h);
  try {
    const toff_t base = whence == SEEK_CUR ? d->position : whence == SEEK_END ? d->file.size() : 0;
    d->position = base + offset;
    return d->position;
  } catch (...) {
    return static_cast<toff_t>(-1);
  }
}
toff_t document_size(thandle_t h) {
  try {
    return static_cast<DocumentHandle*>(h)->file.size();
  } catch (...) {
    return 0;
  }
}
int document_close(thandle_t) { return 0; }
int document_map(thandle_t, void**, toff_t*) { return 0; }
void document_unmap(thandle_t, void*, toff_t) {}

// A multi-page TIFF: each page's directory and strips copied from the one-page TIFF the encoder
// made (its strips as they are, never decoded again). A page's directory is written when the
// next page comes, or at the end with the document's stamp.
class TiffDocument final : public DocumentWriter {
 public:
  explicit TiffDocument(DocumentFile& file)
      : handle_{file},
        tif_(open_client("the document", "w", &handle_, document_read, document_write, document_seek, document_close,
                         document_size, document_map, document_unmap, complaint_)) {}

  void add_page(std::span<const std::uint8_t> page_file) override {
    if (pending_ && !TIFFWriteDirectory(tif_.get())) fail("cannot write a page's directory");
    pending_ = false;
    tiff_memory::File memory = tiff_memory::reading(page_file);
    Complaint page_complaint;
    const Tiff page = open_memory(memory, page_complaint, "r");
    TIFF* in = page.get();
    TIFF* out = tif_.get();
    bool ok = TIFFSetField(out, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    const auto copy_u32 = [&](ttag_t tag) {
      std::uint32_t v = 0;
      if (TIFFGetField(in, tag, &v)) ok = ok && TIFFSetField(out, tag, v);
    };
    const auto copy_u16 = [&](ttag_t tag) {
      std::uint16_t v = 0;
      if (TIFFGetField(in, tag, &v)) ok = ok && TIFFSetField(out, tag, v);
    };
    const auto copy_float = [&](ttag_t tag) {
      float v = 0;
      if (TIFFGetField(in, tag, &v)) ok = ok && TIFFSetField(out, tag, v);
    };
    const auto copy_string = [&](ttag_t tag) {
      char* v = nullptr;
      if (TIFFGetField(in, tag, &v) && v) ok = ok && TIFFSetField(out, tag, v);
    };
    const auto copy_counted = [&](ttag_t tag) {
      std::uint32_t count = 0;
      void* data = nullptr;
      if (TIFFGetField(in, tag, &count, &data) && data) ok = ok && TIFFSetField(out, tag, count, data);
    };
    for (const ttag_t tag : {TIFFTAG_IMAGEWIDTH, TIFFTAG_IMAGELENGTH, TIFFTAG_ROWSPERSTRIP}) copy_u32(tag);
    for (const ttag_t tag : {TIFFTAG_BITSPERSAMPLE, TIFFTAG_SAMPLESPERPIXEL, TIFFTAG_PHOTOMETRIC, TIFFTAG_PLANARCONFIG,
                             TIFFTAG_ORIENTATION, TIFFTAG_COMPRESSION, TIFFTAG_RESOLUTIONUNIT})
      copy_u16(tag);
    std::uint16_t compression = COMPRESSION_NONE;
    TIFFGetField(in, TIFFTAG_COMPRESSION, &compression);
    // (No JPEGTables: imgflow's JPEG strips carry their own tables.)
    if (compression == COMPRESSION_ADOBE_DEFLATE || compression == COMPRESSION_LZW) copy_u16(TIFFTAG_PREDICTOR);
    for (const ttag_t tag : {TIFFTAG_XRESOLUTION, TIFFTAG_YRESOLUTION}) copy_float(tag);
    for (const ttag_t tag : {TIFFTAG_SOFTWARE, TIFFTAG_IMAGEDESCRIPTION}) copy_string(tag);
    copy_counted(TIFFTAG_ICCPROFILE);
    std::uint16_t extra_count = 0;
    std::uint16_t* extra = nullptr;
    if (TIFFGetField(in, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) && extra_count)
      ok = ok && TIFFSetField(out, TIFFTAG_EXTRASAMPLES, extra_count, extra);
    if (!ok) fail("cannot copy a page's tags");
    std::vector<std::uint8_t> strip;
    for (std::uint32_t s = 0; s < TIFFNumberOfStrips(in); ++s) {
      const tmsize_t size = TIFFRawStripSize(in, s);
      if (size <= 0) throw EncodeError("a page's strip is missing");
      strip.resize(static_cast<std::size_t>(size));
      if (TIFFReadRawStrip(in, s, strip.data(), size) != size) throw EncodeError("a page's strip is cut short");
      if (TIFFWriteRawStrip(out, s, strip.data(), size) != size) fail("cannot write a page's strip");
    }
    pending_ = true;
  }

  void finish(std::string_view software, std::string_view description) override {
    if (!pending_) throw EncodeError("a TIFF needs at least one page");
    bool ok = true;
    if (!software.empty())
      ok = TIFFSetField(tif_.get(), TIFFTAG_SOFTWARE, std::string(software).c_str()) &&
           TIFFSetField(tif_.get(), TIFFTAG_IMAGEDESCRIPTION, std::string(description).c_str());
    if (!ok || !TIFFWriteDirectory(tif_.get())) fail("cannot write the last page's directory");
    pending_ = false;
    tif_.reset();  // TIFFClose flushes
    if (complaint_.text[0]) throw EncodeError(complaint_.text);
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw EncodeError(complaint_.text[0] ? std::string(complaint_.text) : std::string(what));
  }

  DocumentHandle handle_;
  Complaint complaint_;
  Tiff tif_;  // after what its procs and handlers use
  bool pending_ = false;
};

}  // namespace

std::unique_ptr<DocumentWriter> open_tiff_document(DocumentFile& file, std::string_view) {
  return std::make_unique<TiffDocument>(file);
}

}  // namespace imgflow
