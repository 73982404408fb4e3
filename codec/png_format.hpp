#pragma once
// What the PNG codecs share: the signature, big-endian fields, chunk writing, and the list of
// ancillary chunks imgflow carries from input to output.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "codec/bytes.hpp"
#include "codec/image.hpp"

namespace imgflow::png {

inline constexpr std::array<std::uint8_t, 8> kSignature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

/// Colour-space and resolution chunks: they say how to read the samples, which a point
/// adjustment leaves valid, so they are copied verbatim.
inline constexpr std::array<std::string_view, 6> kCarriedChunks{"iCCP", "sRGB", "gAMA",
                                                                "cHRM", "cICP", "pHYs"};

inline bool is_carried_chunk(const std::uint8_t* type) {
  for (const auto carried : kCarriedChunks)
    if (std::memcmp(carried.data(), type, 4) == 0) return true;
  return false;
}

/// The PNG colour type for an image of 1-4 channels (gray, gray+alpha, RGB, RGBA), and back:
/// the channel count of a colour type without a palette, 0 for palette or invalid types.
inline constexpr std::array<std::uint8_t, 5> kColourTypeOfChannels{0, 0, 4, 2, 6};
inline constexpr int channels_of_colour_type(int colour_type) {
  constexpr int kChannels[] = {1, 0, 3, 0, 2, 0, 4};
  return colour_type >= 0 && colour_type <= 6 ? kChannels[colour_type] : 0;
}

inline std::uint32_t load_be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

/// CRC-32 of a chunk's type and data (libdeflate's, with PCLMUL where the CPU has it).
std::uint32_t chunk_crc(const std::uint8_t* type_and_data, std::size_t length);

/// A chunk found by ChunkWalk: its length field, type, data and stored CRC all lie inside the
/// file.
struct Chunk {
  const std::uint8_t* start = nullptr;  ///< the length field; the type follows, then the data
  std::uint32_t length = 0;

  const std::uint8_t* type() const { return start + 4; }
  std::string_view name() const { return {reinterpret_cast<const char*>(start + 4), 4}; }
  bool is(std::string_view four) const { return std::memcmp(start + 4, four.data(), 4) == 0; }
  const std::uint8_t* data() const { return start + 8; }
  std::uint32_t stored_crc() const { return load_be32(start + 8 + length); }
  bool crc_ok() const;
};

/// Walks a PNG's chunks in file order, from `at` (just after the signature by default), never
/// reading outside the file. next() is false at the end of the file or where the next chunk
/// would run past it; tail() then holds whatever bytes are left (empty at a clean end).
class ChunkWalk {
 public:
  explicit ChunkWalk(std::span<const std::uint8_t> file, std::size_t at = 8)
      : file_(file), at_(std::min(at, file.size())) {}
  bool next(Chunk& chunk) {
    const std::size_t left = file_.size() - at_;
    if (left < 12) return false;
    const std::uint32_t length = load_be32(file_.data() + at_);
    if (length > left - 12) return false;
    chunk = {file_.data() + at_, length};
    at_ += 12 + std::size_t{length};
    return true;
  }
  std::span<const std::uint8_t> tail() const { return file_.subspan(at_); }

 private:
  std::span<const std::uint8_t> file_;
  std::size_t at_;
};

/// Appends a whole chunk (length, type, data, CRC) to `out`.
void append_chunk(Bytes& out, std::string_view type, std::span<const std::uint8_t> data);

/// What a walk over a PNG's chunks finds, without inflating anything.
struct Structure {
  bool signature = false;        ///< starts with the PNG signature
  bool header = false;           ///< a 13-byte IHDR comes first (its fields are then below)
  bool header_crc_ok = false;    ///< IHDR's CRC matches (always checked: 17 bytes)
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, colour_type = 0, interlace = 0;
  std::uint64_t idat_bytes = 0;  ///< compressed image data present in the file
  bool complete = false;         ///< every chunk lies inside the file and IEND is reached
  std::string bad_crc_chunk;     ///< the first chunk whose CRC is wrong (when checked), else empty
  std::string software;          ///< the text of a tEXt chunk with keyword "Software", if any
  std::string source;            ///< the text of a tEXt chunk with keyword "imgflow-source", if any

  /// Bytes the inflated image data must at least hold: a filter byte plus the packed samples
  /// of every row (interlaced images need a little more).
  std::uint64_t minimum_inflated_bytes() const;
};

/// Walks every chunk of `bytes`, checking CRCs when `check_crcs`. Never throws, never reads
/// outside `bytes`.
Structure inspect(std::span<const std::uint8_t> bytes, bool check_crcs);

/// The carried chunks (kCarriedChunks) that come before the image data, in file order, into
/// `out` (replacing its contents). With `check_crcs`, a chunk whose CRC is wrong is left out:
/// a damaged colour profile must not be copied into an output. Both PNG decoders use this, so
/// they keep the same chunks.
void collect_carried_chunks(std::span<const std::uint8_t> bytes, bool check_crcs,
                            std::vector<AncillaryChunk>& out);

/// deflate cannot expand data by more than this factor (RFC 1951: 258 bytes from a 2-bit code
/// is 1032:1), so image data that inflates beyond `idat_bytes * kMaxDeflateRatio` is missing.
inline constexpr std::uint64_t kMaxDeflateRatio = 1032;

/// The keyword of the tEXt chunk carrying imgflow's stamp on its outputs.
inline constexpr std::string_view kSoftwareKeyword = "Software";
/// The keyword of the tEXt chunk recording which input an output was made from (files/resume).
inline constexpr std::string_view kSourceKeyword = "imgflow-source";

}  // namespace imgflow::png
