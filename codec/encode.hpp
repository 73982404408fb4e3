#pragma once
// What every encoder of the format table (codec/formats.hpp) is told, and the encoders' rows'
// functions. No flags: the command line fills these values.
#include <string>
#include <string_view>

#include "codec/png_fast_encode.hpp"
#include "codec/scratch.hpp"
#include "codec/tiff_encode.hpp"

namespace imgflow {

/// The quality of the lossy encoders (JPEG, lossy WebP, JPEG in PDF) when none is given: high
/// enough that text and halftones keep their edges on scanned pages.
inline constexpr int kDefaultQuality = 90;

/// Each written format's settings, the texts an output records (the resume stamp: which
/// software made it, and from which input), and how the encoder's bands may run at once.
struct EncodeSettings {
  PngEncoderSettings png = find_png_level(kDefaultPngLevel)->settings;
  TiffEncodeSettings tiff;
  int quality = 0;        ///< 1-100 (JPEG 2000: target PSNR in dB); 0: the format's default
  bool lossless = false;  ///< WebP and JPEG 2000 (JPEG 2000 is lossless unless given a quality)
  /// The page is one of a document's (codec/document.hpp): for PDF, a page part rather than a
  /// file; other formats' pages are one-page files either way.
  bool document_page = false;
  BandRunner bands;
  std::string_view software;     ///< PNG: a tEXt "Software"; TIFF: Software. Empty: none
  std::string_view description;  ///< PNG: a tEXt "imgflow-source"; TIFF: ImageDescription
};

/// The texts an output file records, and whether it is whole (every byte its structure
/// promises, its checksums right), as read back for --skip-existing.
struct Recorded {
  bool whole = false;
  std::string software, description;
};

// The rows' functions. An encoder may append to `image.metadata` what it records (PNG's texts).
// Each throws EncodeError for a layout its format cannot hold (the encode stage fits a page to
// the row's `holds` first).
void encode_png_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
void encode_tiff_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
void encode_jpeg_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
void encode_webp_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
void encode_jp2_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
void encode_pdf_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
Recorded read_png_record(std::span<const std::uint8_t> bytes);
Recorded read_tiff_record(std::span<const std::uint8_t> bytes);
Recorded read_jpeg_record(std::span<const std::uint8_t> bytes);
Recorded read_webp_record(std::span<const std::uint8_t> bytes);
Recorded read_jp2_record(std::span<const std::uint8_t> bytes);
Recorded read_pdf_record(std::span<const std::uint8_t> bytes);

/// A JPEG of an 8-bit gray or RGB image at `quality` (1-100), with the JFIF density, the ICC
/// profile and, when `software` is not empty, the stamp as XMP.
void encode_jpeg(const Image& image, int quality, std::string_view software, std::string_view description, Bytes& out);

}  // namespace imgflow
