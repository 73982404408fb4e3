#pragma once
// TIFF out, through libtiff: what archives and document systems keep. No threads, no flags, no
// logging: the settings come in as values, libtiff's complaints go out as EncodeError.
#include <stdexcept>
#include <string_view>

#include "codec/image.hpp"
#include "codec/png_fast_encode.hpp"
#include "codec/scratch.hpp"

namespace imgflow {

/// An image an encoder cannot write as asked (a layout the format or compression cannot hold),
/// or the library's own complaint.
struct EncodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class TiffCompression {
  automatic,  ///< CCITT G4 for a bilevel page, Deflate with the horizontal predictor otherwise
  g4,         ///< CCITT Group 4: bilevel pages only
  deflate,    ///< with the horizontal predictor
  lzw,        ///< with the horizontal predictor
  jpeg,       ///< 8-bit gray or RGB without alpha only; `jpeg_quality`
  none,
};

struct TiffEncodeSettings {
  TiffCompression compression = TiffCompression::automatic;
  int jpeg_quality = 90;  ///< 1-100, for TiffCompression::jpeg
  /// How Deflate strips are deflated: --png-level's choice, as for PNG and PDF.
  PngEncoderSettings deflate = find_png_level(kDefaultPngLevel)->settings;
};

/// Encodes `image` as a one-page TIFF into `out` (replacing its contents). The layout is kept: a
/// bilevel page stays 1-bit (written min-is-white, as fax and scanners do), gray and RGB stay
/// at 8 or 16 bits, alpha is an unassociated extra sample. Resolution (pHYs in metres: X/Y
/// resolution per inch) and the ICC profile (iCCP) are carried; `software` and `description`,
/// when not empty, are written as Software and ImageDescription. Throws EncodeError.
/// Deflate strips are deflated by imgflow's PNG deflaters (settings.deflate) rather than libtiff's
/// zlib, with `scratch`'s working memory when given.
void encode_tiff(const Image& image, const TiffEncodeSettings& settings, std::string_view software,
                 std::string_view description, Bytes& out, CodecScratch* scratch = nullptr);

}  // namespace imgflow
