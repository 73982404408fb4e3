#pragma once
// Metadata from any format, as the PNG chunks an output carries: resolution (pHYs), ICC profile
// (iCCP), significant bits (sBIT); the one check every carried chunk passes; and orientation.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "codec/image.hpp"
#include "codec/options.hpp"

namespace imgflow {

enum class ResolutionUnit { none, inch, centimetre, metre };

/// Adds a pHYs chunk for `x` by `y` pixels per `unit` (unit none: only the aspect ratio).
/// Values that are not positive and finite, or that do not fit, are dropped with a note.
void add_resolution(Image& image, double x, double y, ResolutionUnit unit, DecodeNotes& notes);

/// The resolution in dots per inch from the pHYs chunk (x, y), when it has one in metres.
std::optional<std::pair<double, double>> resolution_dpi(const Image& image);
/// resolution_dpi as other formats record it: pHYs counts whole pixels per metre, 0.0127 dpi
/// apart, so a value within that of a whole number of dots per inch was that number (a 300 dpi
/// scan's 11811 per metre is 299.9994 dpi: 300).
std::optional<std::pair<double, double>> whole_resolution_dpi(const Image& image);
/// Replaces the resolution by `dpi` in both directions.
void set_resolution_dpi(Image& image, double dpi);

/// The ICC profile an iCCP chunk of the image carries, inflated; empty when it has none (or one
/// that does not inflate). For encoders of other formats, which carry the profile as it is.
std::vector<std::uint8_t> icc_profile(const Image& image);

/// After an image's colours became gray: drops the chunks that describe RGB samples (an RGB
/// iCCP profile, cICP), returning a note for each.
std::vector<std::string> drop_colour_only_chunks(Image& image);

/// Adds an iCCP chunk holding `profile` when it is a well-formed ICC profile for the image's
/// colours (a gray profile for gray, an RGB one for RGB); otherwise says why it was dropped.
void add_icc_profile(Image& image, std::span<const std::uint8_t> profile, DecodeNotes& notes);

/// Whether the image carries an sRGB chunk (its colours are sRGB, said without a profile).
bool has_srgb(const Image& image);
/// Adds an sRGB chunk with rendering intent 0 (perceptual).
void add_srgb(Image& image);

/// Adds an sBIT chunk: every colour channel holds `bits` significant bits (alpha too).
void add_significant_bits(Image& image, int bits);

/// Leaves only carried chunks an output can hold as they are: the first of each kind, each of
/// the right size and values, an iCCP that inflates to a profile matching the image's colours
/// (then no sRGB beside it), an sBIT within the bit depth. The rest is dropped with a note.
void validate_carried_chunks(Image& image, DecodeNotes& notes);

/// Turns the image upright by EXIF/TIFF orientation 1-8 (2-8 move pixels; 5-8 swap width and
/// height, and the resolution with them). Bilevel images are widened to 8 bits first.
/// Anything else is ignored with a note.
void apply_orientation(Image& image, int orientation, DecodeNotes& notes);

/// Reads the orientation and resolution from an EXIF block (the TIFF structure after
/// "Exif\0\0"); fields it lacks stay 0. Never reads outside `exif`.
struct ExifFields {
  int orientation = 0;
  double x_resolution = 0, y_resolution = 0;
  int resolution_unit = 0;  ///< TIFF's: 1 none, 2 inch, 3 centimetre (0: absent, meaning inch)
};
ExifFields read_exif(std::span<const std::uint8_t> exif);

/// add_resolution with EXIF's resolution and unit, when it has both values.
void add_exif_resolution(Image& image, const ExifFields& exif, DecodeNotes& notes);

}  // namespace imgflow
