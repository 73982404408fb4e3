#pragma once
// What every encoder of the format table (codec/formats.hpp) is told, and the encoders' rows'
// functions. No flags: the command line fills these values.
#include <string>
#include <string_view>

#include "codec/png_fast_encode.hpp"
#include "codec/scratch.hpp"
#include "codec/tiff_encode.hpp"

namespace imgflow {

/// Each written format's settings, the texts an output records (the resume stamp: which
/// software made it, and from which input), and how the encoder's bands may run at once.
struct EncodeSettings {
  PngEncoderSettings png = find_png_level(kDefaultPngLevel)->settings;
  TiffEncodeSettings tiff;
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
void encode_png_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
void encode_tiff_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
Recorded read_png_record(std::span<const std::uint8_t> bytes);
Recorded read_tiff_record(std::span<const std::uint8_t> bytes);

}  // namespace imgflow
