#include "codec/png_format.hpp"

#include <libdeflate.h>

#include <string>

namespace imgflow::png {

std::uint32_t chunk_crc(const std::uint8_t* type_and_data, std::size_t length) {
  return libdeflate_crc32(0, type_and_data, length);
}

void append_chunk(Bytes& out, std::string_view type, std::span<const std::uint8_t> data) {
  const std::size_t at = out.size();
  out.resize(at + 12 + data.size());
  std::uint8_t* p = out.data() + at;
  store_be32(p, static_cast<std::uint32_t>(data.size()));
  std::memcpy(p + 4, type.data(), 4);
  if (!data.empty()) std::memcpy(p + 8, data.data(), data.size());
  store_be32(p + 8 + data.size(), chunk_crc(p + 4, 4 + data.size()));
}


std::uint64_t Structure::minimum_inflated_bytes() const {
  const int channels = colour_type == 3 ? 1 : channels_of_colour_type(colour_type);
  const std::uint64_t row_bits = std::uint64_t{width} * static_cast<std::uint64_t>(channels) *
                                 static_cast<std::uint64_t>(bit_depth);
  return std::uint64_t{height} * (1 + (row_bits + 7) / 8);
}

bool Chunk::crc_ok() const { return chunk_crc(type(), 4 + std::size_t{length}) == stored_crc(); }

namespace {

// A tEXt chunk's text into `text` when its keyword is `keyword`.
void text_of(const Chunk& chunk, std::string_view keyword, std::string& text) {
  const std::uint8_t* data = chunk.data();
  if (chunk.length > keyword.size() && std::memcmp(data, keyword.data(), keyword.size()) == 0 &&
      data[keyword.size()] == 0)
    text.assign(reinterpret_cast<const char*>(data) + keyword.size() + 1, chunk.length - keyword.size() - 1);
}

}  // namespace

Structure inspect(std::span<const std::uint8_t> bytes, bool check_crcs) {
  Structure s;
  s.signature = bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature.data(), 8) == 0;
  if (!s.signature) return s;
  ChunkWalk walk(bytes);
  for (Chunk chunk; walk.next(chunk);) {
    if (check_crcs && s.bad_crc_chunk.empty() && !chunk.crc_ok()) s.bad_crc_chunk = chunk.name();
    const std::uint8_t* data = chunk.data();
    if (chunk.start == bytes.data() + 8 && chunk.is("IHDR") && chunk.length == 13) {
      s.header = true;
      s.header_crc_ok = chunk.crc_ok();
      s.width = load_be32(data);
      s.height = load_be32(data + 4);
      s.bit_depth = data[8];
      s.colour_type = data[9];
      s.interlace = data[12];
    } else if (chunk.is("IDAT")) {
      s.idat_bytes += chunk.length;
    } else if (chunk.is("tEXt")) {
      text_of(chunk, kSoftwareKeyword, s.software);
      text_of(chunk, kSourceKeyword, s.source);
    } else if (chunk.is("IEND")) {
      s.complete = true;
      return s;
    }
  }
  // A truncated last chunk of image data still counts what there is of it.
  if (const auto tail = walk.tail(); tail.size() >= 12 && std::memcmp(tail.data() + 4, "IDAT", 4) == 0)
    s.idat_bytes += tail.size() - 8;
  return s;
}

void collect_carried_chunks(std::span<const std::uint8_t> bytes, bool check_crcs,
                            std::vector<AncillaryChunk>& out) {
  out.clear();
  ChunkWalk walk(bytes);
  for (Chunk chunk; walk.next(chunk);) {
    if (chunk.is("IDAT") || chunk.is("IEND")) return;
    if (!is_carried_chunk(chunk.type()) || (check_crcs && !chunk.crc_ok())) continue;
    AncillaryChunk& carried = out.emplace_back();
    std::memcpy(carried.type.data(), chunk.type(), 4);
    carried.data.assign(chunk.data(), chunk.data() + chunk.length);
  }
}

}  // namespace imgflow::png
