#include "pipeline/png_format.hpp"

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

Structure inspect(std::span<const std::uint8_t> bytes, bool check_crcs) {
  Structure s;
  const std::uint8_t* const file = bytes.data();
  const std::size_t size = bytes.size();
  s.signature = size >= 8 && std::memcmp(file, kSignature.data(), 8) == 0;
  if (!s.signature) return s;
  for (std::size_t at = 8; size - at >= 12;) {
    const std::uint32_t length = load_be32(file + at);
    if (length > size - at - 12) {  // runs past the end of the file
      if (std::memcmp(file + at + 4, "IDAT", 4) == 0) s.idat_bytes += size - at - 8;  // what is there
      break;
    }
    const bool first = at == 8;
    const std::uint8_t* type = file + at + 4;
    const std::uint8_t* data = type + 4;
    at += 12 + std::size_t{length};
    if (check_crcs && s.bad_crc_chunk.empty() && chunk_crc(type, 4 + std::size_t{length}) != load_be32(data + length))
      s.bad_crc_chunk.assign(reinterpret_cast<const char*>(type), 4);
    const std::string_view name(reinterpret_cast<const char*>(type), 4);
    if (first && name == "IHDR" && length == 13) {
      s.header = true;
      s.header_crc_ok = chunk_crc(type, 4 + 13) == load_be32(data + 13);
      s.width = load_be32(data);
      s.height = load_be32(data + 4);
      s.bit_depth = data[8];
      s.colour_type = data[9];
      s.interlace = data[12];
    } else if (name == "IDAT") {
      s.idat_bytes += length;
    } else if (name == "tEXt" && length > kSoftwareKeyword.size() &&
               std::memcmp(data, kSoftwareKeyword.data(), kSoftwareKeyword.size()) == 0 &&
               data[kSoftwareKeyword.size()] == 0) {
      s.software.assign(reinterpret_cast<const char*>(data) + kSoftwareKeyword.size() + 1,
                        length - kSoftwareKeyword.size() - 1);
    } else if (name == "IEND") {
      s.complete = true;
      break;
    }
  }
  return s;
}

void collect_carried_chunks(std::span<const std::uint8_t> bytes, bool check_crcs,
                            std::vector<AncillaryChunk>& out) {
  out.clear();
  const std::uint8_t* const file = bytes.data();
  const std::size_t size = bytes.size();
  for (std::size_t at = 8; size >= at + 12;) {
    const std::uint32_t length = load_be32(file + at);
    if (length > size - at - 12) return;
    const std::uint8_t* type = file + at + 4;
    const std::uint8_t* data = type + 4;
    at += 12 + std::size_t{length};
    if (std::memcmp(type, "IDAT", 4) == 0 || std::memcmp(type, "IEND", 4) == 0) return;
    if (!is_carried_chunk(type)) continue;
    if (check_crcs && chunk_crc(type, 4 + std::size_t{length}) != load_be32(data + length)) continue;
    AncillaryChunk& chunk = out.emplace_back();
    std::memcpy(chunk.type.data(), type, 4);
    chunk.data.assign(data, data + length);
  }
}

}  // namespace imgflow::png
