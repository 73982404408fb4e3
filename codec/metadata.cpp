#include "codec/metadata.hpp"

#include <libdeflate.h>
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "codec/png_format.hpp"
#include "kernels/bilevel.hpp"
#include "kernels/orient.hpp"

namespace imgflow {
namespace {

using png::load_be32;
using png::store_be32;

constexpr std::size_t kMaxProfileBytes = 64u << 20;  // ICC profiles run to a few MiB at most

bool has_chunk(const Image& image, std::string_view type) {
  for (const auto& chunk : image.metadata)
    if (std::string_view(chunk.type.data(), 4) == type) return true;
  return false;
}

AncillaryChunk& new_chunk(Image& image, std::string_view type) {
  AncillaryChunk& chunk = image.metadata.emplace_back();
  std::memcpy(chunk.type.data(), type.data(), 4);
  return chunk;
}

// The ICC colour space (header bytes 16-19) an image of these channels needs.
std::string_view profile_space_for(const Image& image) { return image.channels <= 2 ? "GRAY" : "RGB "; }

// Why `profile` cannot describe `image`'s samples; empty when it can.
std::string profile_problem(const Image& image, std::span<const std::uint8_t> profile) {
  if (profile.size() < 132) return "ICC profile shorter than its 128-byte header";
  if (load_be32(profile.data()) != profile.size()) return "ICC profile's declared size is not its length";
  if (std::memcmp(profile.data() + 36, "acsp", 4) != 0) return "not an ICC profile (no 'acsp' signature)";
  const std::string_view space(reinterpret_cast<const char*>(profile.data() + 16), 4);
  if (space != profile_space_for(image))
    return "ICC profile for colour space '" + std::string(space) + "' on a " +
           std::string(layout_name(image.channels)) + " image";
  return {};
}

// Inflates an iCCP chunk's profile (after keyword, NUL and method byte), at most kMaxProfileBytes.
bool inflate_profile(std::span<const std::uint8_t> compressed, std::vector<std::uint8_t>& profile) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return false;
  z.next_in = const_cast<Bytef*>(compressed.data());
  z.avail_in = static_cast<uInt>(compressed.size());
  profile.clear();
  int status = Z_OK;
  while (status == Z_OK) {
    const std::size_t at = profile.size();
    if (at >= kMaxProfileBytes) break;
    profile.resize(at + 65536);
    z.next_out = profile.data() + at;
    z.avail_out = 65536;
    status = inflate(&z, Z_NO_FLUSH);
    profile.resize(at + 65536 - z.avail_out);
    if (status == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  inflateEnd(&z);
  return status == Z_STREAM_END;
}

// The standard sRGB profile (its description names IEC 61966-2-1): libpng warns about some
// widespread copies of it ("known incorrect sRGB profile"), so it travels as an sRGB chunk,
// which says the same with the profile's rendering intent.
bool is_srgb_profile(std::span<const std::uint8_t> profile) {
  static constexpr std::string_view kNames[] = {"sRGB IEC61966-2.1", "sRGB IEC61966-2-1"};
  for (const auto name : kNames)
    if (std::search(profile.begin(), profile.end(), name.begin(), name.end()) != profile.end()) return true;
  return false;
}

// What libpng says of `profile` on an image of `channels` (empty: nothing). libpng checks every
// iCCP it reads; asking it here means no output carries a profile it would warn about.
std::string libpng_complaint(std::span<const std::uint8_t> profile, int channels) {
  std::string said;
  png_structp png = png_create_write_struct(
      PNG_LIBPNG_VER_STRING, &said,
      [](png_structp p, png_const_charp message) {
        *static_cast<std::string*>(png_get_error_ptr(p)) += message;
        png_longjmp(p, 1);
      },
      [](png_structp p, png_const_charp message) { *static_cast<std::string*>(png_get_error_ptr(p)) += message; });
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (info && !setjmp(png_jmpbuf(png))) {
    png_set_IHDR(png, info, 1, 1, 8, png::kColourTypeOfChannels[static_cast<std::size_t>(channels)], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_iCCP(png, info, "ICC profile", 0, profile.data(), static_cast<png_uint_32>(profile.size()));
  }
  png_destroy_write_struct(&png, &info);
  return said;
}

AncillaryChunk srgb_chunk(std::span<const std::uint8_t> profile) {
  AncillaryChunk chunk;
  std::memcpy(chunk.type.data(), "sRGB", 4);
  const std::uint32_t intent = profile.size() >= 68 ? load_be32(profile.data() + 64) : 0;
  chunk.data.assign(1, static_cast<std::uint8_t>(intent <= 3 ? intent : 0));
  return chunk;
}

// Why a carried chunk cannot go into the output as it is; empty when it can.
std::string chunk_problem(const Image& image, const AncillaryChunk& chunk) {
  const std::string_view type(chunk.type.data(), 4);
  const auto& d = chunk.data;
  const auto size_is = [&](std::size_t n) { return d.size() == n ? std::string{} : "wrong size " + std::to_string(d.size()); };
  if (type == "gAMA") {
    if (auto p = size_is(4); !p.empty()) return p;
    return load_be32(d.data()) == 0 ? "gamma of zero" : "";
  }
  if (type == "sRGB") {
    if (auto p = size_is(1); !p.empty()) return p;
    if (d[0] > 3) return "unknown rendering intent";
    return has_chunk(image, "iCCP") ? "beside an ICC profile (PNG allows one or the other)" : "";
  }
  if (type == "cHRM") return size_is(32);
  if (type == "cICP") return size_is(4);
  if (type == "pHYs") {
    if (auto p = size_is(9); !p.empty()) return p;
    if (d[8] > 1) return "unknown unit";
    return load_be32(d.data()) == 0 || load_be32(d.data() + 4) == 0 ? "zero resolution" : "";
  }
  if (type == "sBIT") {
    const std::size_t channels = static_cast<std::size_t>(image.channels);
    if (d.size() != channels) return "wrong size for a " + std::string(layout_name(image.channels)) + " image";
    for (const std::uint8_t bits : d)
      if (bits == 0 || bits > image.bit_depth) return "more significant bits than the bit depth";
    return {};
  }
  if (type == "iCCP") {
    const auto nul = std::find(d.begin(), d.end(), 0);
    const std::size_t keyword = static_cast<std::size_t>(nul - d.begin());
    if (keyword == 0 || keyword > 79 || nul == d.end() || d.size() < keyword + 2) return "malformed name";
    if (d[keyword + 1] != 0) return "unknown compression method";
    std::vector<std::uint8_t> profile;
    if (!inflate_profile({d.data() + keyword + 2, d.size() - keyword - 2}, profile)) return "profile does not inflate";
    if (std::string problem = profile_problem(image, profile); !problem.empty()) return problem;
    return libpng_complaint(profile, image.channels);
  }
  return "not a carried chunk";
}

}  // namespace

bool has_srgb(const Image& image) {
  return std::any_of(image.metadata.begin(), image.metadata.end(),
                     [](const AncillaryChunk& chunk) { return std::string_view(chunk.type.data(), 4) == "sRGB"; });
}

void add_srgb(Image& image) { image.metadata.push_back(srgb_chunk({})); }

void add_resolution(Image& image, double x, double y, ResolutionUnit unit, DecodeNotes& notes) {
  double scale = 1;
  switch (unit) {
    case ResolutionUnit::inch: scale = 1 / 0.0254; break;
    case ResolutionUnit::centimetre: scale = 100; break;
    case ResolutionUnit::metre: scale = 1; break;
    case ResolutionUnit::none: {
      if (x == y) return;  // square pixels: nothing to say
      // An aspect ratio: keep three decimals of the ratio in whole numbers.
      scale = (x == std::floor(x) && y == std::floor(y)) ? 1 : 1000;
      break;
    }
  }
  const double px = std::round(x * scale), py = std::round(y * scale);
  if (!std::isfinite(px) || !std::isfinite(py) || px < 1 || py < 1 || px > 0x7FFFFFFF || py > 0x7FFFFFFF) {
    notes.dropped.push_back("resolution " + std::to_string(x) + "x" + std::to_string(y) + ": not a usable value");
    return;
  }
  AncillaryChunk& chunk = new_chunk(image, "pHYs");
  chunk.data.resize(9);
  store_be32(chunk.data.data(), static_cast<std::uint32_t>(px));
  store_be32(chunk.data.data() + 4, static_cast<std::uint32_t>(py));
  chunk.data[8] = unit == ResolutionUnit::none ? 0 : 1;
}

std::optional<std::pair<double, double>> resolution_dpi(const Image& image) {
  for (const auto& chunk : image.metadata)
    if (std::string_view(chunk.type.data(), 4) == "pHYs" && chunk.data.size() == 9 && chunk.data[8] == 1) {
      const double x = load_be32(chunk.data.data()) * 0.0254, y = load_be32(chunk.data.data() + 4) * 0.0254;
      if (x > 0 && y > 0) return std::pair{x, y};
    }
  return std::nullopt;
}

std::vector<std::uint8_t> icc_profile(const Image& image) {
  std::vector<std::uint8_t> profile;
  for (const auto& chunk : image.metadata) {
    if (std::string_view(chunk.type.data(), 4) != "iCCP") continue;
    const auto nul = std::find(chunk.data.begin(), chunk.data.end(), 0);
    const std::size_t at = static_cast<std::size_t>(nul - chunk.data.begin()) + 2;  // keyword, NUL, method
    if (at <= chunk.data.size() && inflate_profile({chunk.data.data() + at, chunk.data.size() - at}, profile)) return profile;
  }
  profile.clear();
  return profile;
}

std::optional<std::pair<double, double>> whole_resolution_dpi(const Image& image) {
  auto dpi = resolution_dpi(image);
  const auto whole = [](double& value) {
    const double nearest = std::round(value);
    if (std::abs(value - nearest) <= 0.0127) value = nearest;
  };
  if (dpi) whole(dpi->first), whole(dpi->second);
  return dpi;
}

void set_resolution_dpi(Image& image, double dpi) {
  std::erase_if(image.metadata, [](const AncillaryChunk& chunk) { return std::string_view(chunk.type.data(), 4) == "pHYs"; });
  DecodeNotes ignored;
  add_resolution(image, dpi, dpi, ResolutionUnit::inch, ignored);
}

std::vector<std::string> drop_colour_only_chunks(Image& image) {
  std::vector<std::string> notes;
  std::erase_if(image.metadata, [&](const AncillaryChunk& chunk) {
    const std::string_view type(chunk.type.data(), 4);
    if (type != "iCCP" && type != "cICP") return false;
    notes.push_back(std::string(type) + ": describes RGB samples, not the gray output");
    return true;
  });
  return notes;
}

void add_icc_profile(Image& image, std::span<const std::uint8_t> profile, DecodeNotes& notes) {
  if (profile.empty()) return;
  if (const std::string problem = profile_problem(image, profile); !problem.empty()) {
    notes.drop_profile(problem);
    return;
  }
  if (const std::string complaint = libpng_complaint(profile, image.channels); !complaint.empty()) {
    if (is_srgb_profile(profile))
      image.metadata.push_back(srgb_chunk(profile));
    else
      notes.drop_profile(complaint);
    return;
  }
  static constexpr std::string_view kName{"ICC profile\0\0", 13};  // keyword, NUL, method 0
  std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> compressor(
      libdeflate_alloc_compressor(6), libdeflate_free_compressor);
  if (!compressor) throw std::bad_alloc();
  AncillaryChunk& chunk = new_chunk(image, "iCCP");
  chunk.data.assign(kName.begin(), kName.end());
  chunk.data.resize(kName.size() + libdeflate_zlib_compress_bound(compressor.get(), profile.size()));
  const std::size_t written = libdeflate_zlib_compress(compressor.get(), profile.data(), profile.size(),
                                                       chunk.data.data() + kName.size(), chunk.data.size() - kName.size());
  chunk.data.resize(kName.size() + written);
}

void add_significant_bits(Image& image, int bits) {
  AncillaryChunk& chunk = new_chunk(image, "sBIT");
  chunk.data.assign(static_cast<std::size_t>(image.channels), static_cast<std::uint8_t>(bits));
}

void validate_carried_chunks(Image& image, DecodeNotes& notes) {
  std::vector<AncillaryChunk> kept;
  kept.reserve(image.metadata.size());
  for (auto& chunk : image.metadata) {
    const auto nul = std::find(chunk.data.begin(), chunk.data.end(), 0);
    const std::size_t at = static_cast<std::size_t>(nul - chunk.data.begin()) + 2;
    if (std::string_view(chunk.type.data(), 4) == "iCCP" && at <= chunk.data.size()) {
      std::vector<std::uint8_t> profile;
      if (inflate_profile({chunk.data.data() + at, chunk.data.size() - at}, profile) && is_srgb_profile(profile) &&
          !libpng_complaint(profile, image.channels).empty()) {
        chunk = srgb_chunk(profile);
        for (auto& other : image.metadata)  // an sRGB chunk beside it says the same: keep one
          if (&other != &chunk && std::string_view(other.type.data(), 4) == "sRGB") other.type = {'-', '-', '-', '-'};
      }
    }
    const std::string_view type(chunk.type.data(), 4);
    if (type == "----") continue;
    bool repeated = false;
    for (const auto& k : kept) repeated |= k.type == chunk.type;
    std::string problem = repeated ? "repeated" : chunk_problem(image, chunk);
    if (problem.empty())
      kept.push_back(std::move(chunk));
    else if (type == "iCCP" || type == "cICP")
      notes.drop_profile(std::string(type) + ": " + problem);
    else
      notes.dropped.push_back(std::string(type) + ": " + problem);
  }
  image.metadata = std::move(kept);
}

void apply_orientation(Image& image, int orientation, DecodeNotes& notes) {
  if (orientation == 0 || orientation == 1) return;
  if (orientation < 0 || orientation > 8) {
    notes.warnings.push_back("orientation " + std::to_string(orientation) + " is not one of 1-8; left as stored");
    return;
  }
  if (image.bit_depth == 1) {
    Bytes wide(static_cast<std::size_t>(image.width) * image.height);
    unpack_bilevel(image.pixels.data(), image.width, image.height, wide.data());
    image.pixels.swap(wide);
    image.bit_depth = 8;
  }
  const std::size_t pixel_bytes = static_cast<std::size_t>(image.channels) * image.bytes_per_sample();
  Bytes upright(image.pixels.size());
  orient_pixels(image.pixels.data(), image.width, image.height, pixel_bytes, orientation, upright.data());
  image.pixels.swap(upright);
  if (orientation_transposes(orientation)) {
    std::swap(image.width, image.height);
    for (auto& chunk : image.metadata)
      if (std::string_view(chunk.type.data(), 4) == "pHYs" && chunk.data.size() == 9)
        for (int i = 0; i < 4; ++i) std::swap(chunk.data[static_cast<std::size_t>(i)], chunk.data[static_cast<std::size_t>(i) + 4]);
  }
}

ExifFields read_exif(std::span<const std::uint8_t> exif) {
  ExifFields fields;
  if (exif.size() < 8) return fields;
  const bool little = exif[0] == 'I' && exif[1] == 'I';
  if (!little && !(exif[0] == 'M' && exif[1] == 'M')) return fields;
  const auto u16 = [&](std::size_t at) -> std::uint32_t {
    if (at + 2 > exif.size()) return 0;
    return little ? exif[at] | exif[at + 1] << 8 : exif[at] << 8 | exif[at + 1];
  };
  const auto u32 = [&](std::size_t at) -> std::uint32_t {
    if (at + 4 > exif.size()) return 0;
    return little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2);
  };
  const auto rational = [&](std::size_t at) -> double {
    const std::uint32_t num = u32(at), den = u32(at + 4);
    return den ? static_cast<double>(num) / den : 0.0;
  };
  const std::size_t ifd = u32(4);
  const std::uint32_t count = u16(ifd);
  for (std::uint32_t i = 0; i < count && i < 1000; ++i) {
    const std::size_t entry = ifd + 2 + 12 * std::size_t{i};
    if (entry + 12 > exif.size()) break;
    const std::uint32_t tag = u16(entry), type = u16(entry + 2);
    switch (tag) {
      case 0x0112: if (type == 3) fields.orientation = static_cast<int>(u16(entry + 8)); break;
      case 0x011A: if (type == 5) fields.x_resolution = rational(u32(entry + 8)); break;
      case 0x011B: if (type == 5) fields.y_resolution = rational(u32(entry + 8)); break;
      case 0x0128: if (type == 3) fields.resolution_unit = static_cast<int>(u16(entry + 8)); break;
      default: break;
    }
  }
  return fields;
}

void add_exif_resolution(Image& image, const ExifFields& exif, DecodeNotes& notes) {
  if (exif.x_resolution <= 0 || exif.y_resolution <= 0) return;
  const ResolutionUnit unit = exif.resolution_unit == 1   ? ResolutionUnit::none
                              : exif.resolution_unit == 3 ? ResolutionUnit::centimetre
                                                          : ResolutionUnit::inch;
  add_resolution(image, exif.x_resolution, exif.y_resolution, unit, notes);
}

}  // namespace imgflow
