// PNM (PBM, PGM, PPM; plain and raw) by our own strict reader. Any maxval from 1 to 65535:
// samples are scaled to the full 8-bit (maxval up to 255) or 16-bit range, v * max / maxval
// rounded, as the PNG specification says for other depths, and the true depth is kept in sBIT.
// A PBM, or a PGM of maxval 1, is bilevel.
#include <bit>
#include <cctype>
#include <string>

#include "codec/formats.hpp"
#include "codec/metadata.hpp"

namespace imgflow {
namespace {

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}
  // The next header number, after whitespace and comments.
  std::uint64_t number(const char* what) {
    skip_space();
    if (at_ >= b_.size() || !std::isdigit(b_[at_])) throw DecodeError(std::string("bad header: no ") + what);
    std::uint64_t v = 0;
    while (at_ < b_.size() && std::isdigit(b_[at_])) {
      v = v * 10 + (b_[at_++] - '0');
      if (v > 0xFFFFFFFF) throw DecodeError(std::string("bad header: ") + what + " too large");
    }
    return v;
  }
  void skip_space() {
    while (at_ < b_.size()) {
      if (b_[at_] == '#')
        while (at_ < b_.size() && b_[at_] != '\n' && b_[at_] != '\r') ++at_;
      else if (std::isspace(b_[at_]))
        ++at_;
      else
        break;
    }
  }
  // The single whitespace byte between a raw header and its samples.
  void end_header() {
    if (at_ >= b_.size() || !std::isspace(b_[at_])) throw DecodeError("bad header: no whitespace before the samples");
    ++at_;
  }
  std::size_t left() const { return b_.size() - at_; }
  const std::uint8_t* here() const { return b_.data() + at_; }
  void advance(std::size_t n) { at_ += n; }
  // A plain-format sample: decimal (or, for a plain PBM, a single 0 or 1 digit).
  std::uint32_t plain_sample(bool single_digit, std::uint32_t maxval) {
    skip_space();
    if (at_ >= b_.size()) throw DecodeError("truncated: the file ends before its last sample");
    if (single_digit) {
      const std::uint8_t c = b_[at_++];
      if (c != '0' && c != '1') throw DecodeError("bad sample in a plain PBM");
      return c - '0';
    }
    const std::uint64_t v = number("sample");
    if (v > maxval) throw DecodeError("sample " + std::to_string(v) + " is over the maxval " + std::to_string(maxval));
    return static_cast<std::uint32_t>(v);
  }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t at_ = 2;
};

}  // namespace

void decode_pnm(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t, Image& image,
                DecodeNotes& notes, CodecScratch&) {
  const char kind = static_cast<char>(bytes[1]);
  const bool plain = kind <= '3', bitmap = kind == '1' || kind == '4';
  const int channels = kind == '3' || kind == '6' ? 3 : 1;
  Reader r(bytes);
  const std::uint64_t width = r.number("width"), height = r.number("height");
  const std::uint64_t maxval = bitmap ? 1 : r.number("maxval");
  if (width == 0 || height == 0) throw DecodeError("the image has no pixels");
  if (maxval == 0 || maxval > 65535) throw DecodeError("maxval " + std::to_string(maxval) + " is not 1 to 65535");
  check_pixel_limit(width, height, options.max_pixels);
  const std::uint64_t samples = width * height * channels;
  const int sample_bytes = maxval > 255 ? 2 : 1;
  const std::uint64_t raw_bytes = bitmap ? (width + 7) / 8 * height : samples * sample_bytes;
  if (plain) {
    r.skip_space();
    // Each sample is at least a digit; decimal ones need a separator between them as well.
    const std::uint64_t needed = bitmap ? samples : 2 * samples - 1;
    if (r.left() < needed) throw DecodeError("truncated: " + std::to_string(r.left()) + " bytes cannot hold " + std::to_string(samples) + " samples");
  } else {
    r.end_header();
    if (r.left() < raw_bytes)
      throw DecodeError("truncated: " + std::to_string(r.left()) + " bytes of samples, " + std::to_string(raw_bytes) + " needed");
  }

  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.channels = channels;
  const bool bilevel = channels == 1 && maxval == 1;
  image.bit_depth = bilevel ? 1 : (maxval > 255 ? 16 : 8);
  image.allocate();
  if (bilevel) {
    const std::size_t row_bytes = image.row_bytes();
    if (kind == '4') {  // PBM: 1 = black; PNG: 1 = white
      for (std::size_t i = 0; i < raw_bytes; ++i) image.pixels[i] = static_cast<std::uint8_t>(~r.here()[i]);
      r.advance(raw_bytes);
    } else {
      std::fill(image.pixels.begin(), image.pixels.end(), 0);
      const bool pbm = kind == '1';
      for (std::uint64_t y = 0; y < height; ++y)
        for (std::uint64_t x = 0; x < width; ++x) {
          std::uint32_t v = 0;
          if (kind == '5') {
            v = r.here()[0];
            r.advance(1);
            if (v > 1) throw DecodeError("sample " + std::to_string(v) + " is over the maxval 1");
          } else {
            v = r.plain_sample(pbm, 1);
          }
          const bool white = pbm ? v == 0 : v == 1;
          if (white) image.pixels[y * row_bytes + x / 8] |= static_cast<std::uint8_t>(0x80 >> (x % 8));
        }
    }
  } else {
    const std::uint32_t max_out = image.bit_depth == 16 ? 65535 : 255;
    const auto m = static_cast<std::uint32_t>(maxval);
    for (std::uint64_t i = 0; i < samples; ++i) {
      std::uint32_t v = 0;
      if (plain) {
        v = r.plain_sample(false, m);
      } else {
        v = sample_bytes == 2 ? std::uint32_t(r.here()[0]) << 8 | r.here()[1] : r.here()[0];
        r.advance(sample_bytes);
        if (v > m) throw DecodeError("sample " + std::to_string(v) + " is over the maxval " + std::to_string(m));
      }
      const std::uint32_t scaled = m == max_out ? v : (v * max_out + m / 2) / m;
      if (image.bit_depth == 16)
        reinterpret_cast<std::uint16_t*>(image.pixels.data())[i] = static_cast<std::uint16_t>(scaled);
      else
        image.pixels[i] = static_cast<std::uint8_t>(scaled);
    }
    if (m != max_out) add_significant_bits(image, std::bit_width(m));
  }
  r.skip_space();
  if (r.left() > 0) warn(options, notes, std::to_string(r.left()) + " bytes after the image (a second image?) left unread");
}

}  // namespace imgflow
