#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace imgflow {

/// What every decoder is told: the limits and how strict to be.
struct DecodeOptions {
  std::uint64_t max_pixels = 200'000'000;
  bool verify_checksums = true;  ///< PNG chunk CRC-32s and the zlib Adler-32
  /// Also reject what cannot change the pixels: any checksum error, a PNG without IEND, and
  /// every decoder warning (see the README, "What rejects a file").
  bool strict = false;
};

/// What a decode says besides the pixels: warnings that did not change them (under --strict
/// each is an error instead), notes on metadata that was dropped, the colour profile that was
/// (the one loss a viewer shows: every colour-managed viewer then shows other colours), how a
/// layout the file left open was read, and how many frames an animation had (only the first is
/// decoded).
struct DecodeNotes {
  std::vector<std::string> warnings;
  std::vector<std::string> dropped;  ///< metadata left out of the output, with the reason
  std::string profile_dropped;       ///< why the colour profile was left out (empty: none was)
  std::vector<std::string> readings;  ///< how the file was read where it left a choice open
  std::size_t frames = 1;
  void clear() {
    warnings.clear();
    dropped.clear();
    profile_dropped.clear();
    readings.clear();
    frames = 1;
  }
  /// Records that the colour profile (ICC or cICP) was left out, and why.
  void drop_profile(const std::string& why) {
    profile_dropped += (profile_dropped.empty() ? "" : "; ") + why;
  }
};

/// A file the decoder refuses: the decoder's own diagnosis, or a limit.
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An image over the pixel limit: a decode error the caller may explain with its own words for
/// the limit (the command line names its flag).
struct PixelLimitError : DecodeError {
  using DecodeError::DecodeError;
};

/// Throws PixelLimitError when `width` x `height` is over `limit`, naming the limit.
inline void check_pixel_limit(std::uint64_t width, std::uint64_t height, std::uint64_t limit) {
  const std::uint64_t pixels = width * height;
  if ((height != 0 && pixels / height != width) || pixels > limit)
    throw PixelLimitError(std::to_string(width) + "x" + std::to_string(height) + " is " +
                          std::to_string(pixels) + " pixels, over the limit of " + std::to_string(limit));
}

/// The same check as a message; empty when within the limit (for code that must not throw).
inline std::string over_pixel_limit(std::uint64_t width, std::uint64_t height, std::uint64_t limit) {
  try {
    check_pixel_limit(width, height, limit);
  } catch (const PixelLimitError& e) {
    return e.what();
  }
  return {};
}

/// A warning: under `strict` it rejects the image, otherwise it is noted.
inline void warn(const DecodeOptions& options, DecodeNotes& notes, std::string message) {
  if (options.strict) throw DecodeError(message + " (a warning, rejected when strict)");
  notes.warnings.push_back(std::move(message));
}

}  // namespace imgflow
