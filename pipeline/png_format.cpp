#include "pipeline/png_format.hpp"

#include <libdeflate.h>

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

}  // namespace imgflow::png
