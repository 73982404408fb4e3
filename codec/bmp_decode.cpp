// BMP (Windows and OS/2 bitmaps) by our own strict reader: 1/4/8-bit palettes (RLE4/RLE8 too),
// 16/24/32-bit with or without bit fields. A palette of black and white stays bilevel, a gray
// palette gray; other palettes expand to RGB. Pixels per metre go to pHYs as they are.
#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "codec/formats.hpp"
#include "codec/metadata.hpp"

namespace imgflow {
namespace {

std::uint32_t le32(std::span<const std::uint8_t> b, std::size_t at) {
  return at + 4 <= b.size() ? std::uint32_t(b[at]) | b[at + 1] << 8 | b[at + 2] << 16 | std::uint32_t(b[at + 3]) << 24 : 0;
}
std::uint32_t le16(std::span<const std::uint8_t> b, std::size_t at) {
  return at + 2 <= b.size() ? std::uint32_t(b[at]) | b[at + 1] << 8 : 0;
}

struct Colour {
  std::uint8_t r, g, b;
};

// Scales a field of `mask` to 8 bits (rounded); 0 for an empty mask.
std::uint8_t field(std::uint32_t value, std::uint32_t mask) {
  if (!mask) return 0;
  const int shift = std::countr_zero(mask);
  const std::uint64_t max = mask >> shift;
  return static_cast<std::uint8_t>((((value & mask) >> shift) * 255 + max / 2) / max);
}

// Expands run-length data (RLE8, or RLE4 when `nibbles`) into one index per pixel, rows in
// file order. Pixels the runs skip (delta and end-of-line escapes) are left as index 0 and
// counted.
std::size_t expand_rle(std::span<const std::uint8_t> data, int width, int height, bool nibbles, Bytes& indices) {
  indices.assign(std::size_t(width) * height, 0);
  std::size_t at = 0, written = 0;
  int x = 0, y = 0;
  const auto put = [&](int index) {
    if (x < width && y < height) indices[std::size_t(y) * width + x] = static_cast<std::uint8_t>(index), ++written;
    ++x;
  };
  while (y < height) {
    if (at + 2 > data.size()) throw DecodeError("truncated: run-length data ends before the image does");
    const int count = data[at], value = data[at + 1];
    at += 2;
    if (count > 0) {
      for (int i = 0; i < count; ++i) put(nibbles ? (i & 1 ? value & 15 : value >> 4) : value);
      continue;
    }
    if (value == 0) {  // end of line
      x = 0, ++y;
    } else if (value == 1) {  // end of bitmap
      break;
    } else if (value == 2) {  // delta
      if (at + 2 > data.size()) throw DecodeError("truncated: run-length data ends inside a delta");
      x += data[at], y += data[at + 1];
      at += 2;
    } else {  // absolute run of `value` pixels, padded to 16 bits
      const std::size_t bytes = nibbles ? (std::size_t(value) + 1) / 2 : std::size_t(value);
      if (at + bytes > data.size()) throw DecodeError("truncated: run-length data ends inside a run");
      for (int i = 0; i < value; ++i) put(nibbles ? (i & 1 ? data[at + i / 2] & 15 : data[at + i / 2] >> 4) : data[at + i]);
      at += (bytes + 1) & ~std::size_t{1};
    }
  }
  return std::size_t(width) * height - written;
}

}  // namespace

void decode_bmp(std::span<const std::uint8_t> b, const DecodeOptions& options, std::uint64_t, Image& image,
                DecodeNotes& notes, CodecScratch&) {
  if (b.size() < 26) throw DecodeError("truncated: the headers are incomplete");
  const std::uint32_t data_offset = le32(b, 10), header = le32(b, 14);
  std::int64_t width = 0, height = 0;
  std::uint32_t bpp = 0, compression = 0, colours_used = 0;
  std::int32_t x_ppm = 0, y_ppm = 0;
  if (header == 12) {  // OS/2 BITMAPCOREHEADER
    width = le16(b, 18), height = static_cast<std::int16_t>(le16(b, 20)), bpp = le16(b, 24);
  } else if (header == 40 || header == 52 || header == 56 || header == 64 || header == 108 || header == 124) {
    if (b.size() < 14 + 40) throw DecodeError("truncated: the headers are incomplete");
    width = static_cast<std::int32_t>(le32(b, 18)), height = static_cast<std::int32_t>(le32(b, 22));
    bpp = le16(b, 28), compression = le32(b, 30);
    x_ppm = static_cast<std::int32_t>(le32(b, 38)), y_ppm = static_cast<std::int32_t>(le32(b, 42));
    colours_used = le32(b, 46);
  } else {
    throw DecodeError("unknown BMP header size " + std::to_string(header));
  }
  const bool top_down = height < 0;
  if (top_down) height = -height;
  if (width <= 0 || height <= 0) throw DecodeError("the image has no pixels");
  check_pixel_limit(static_cast<std::uint64_t>(width), static_cast<std::uint64_t>(height), options.max_pixels);
  const int w = static_cast<int>(width), h = static_cast<int>(height);

  // Bit fields: in the header from V2 (52 bytes) on, else right after a 40-byte header.
  std::uint32_t masks[4] = {0, 0, 0, 0};
  const bool bitfields = compression == 3 || compression == 6;
  if (bitfields) {
    for (int i = 0; i < (compression == 6 || header >= 56 ? 4 : 3); ++i) masks[i] = le32(b, 54 + 4 * std::size_t(i));
  } else if (bpp == 16) {
    masks[0] = 0x7C00, masks[1] = 0x03E0, masks[2] = 0x001F;
  } else if (bpp == 24 || bpp == 32) {
    masks[0] = 0xFF0000, masks[1] = 0xFF00, masks[2] = 0xFF;
  }
  const bool supported = (bpp == 1 || bpp == 4 || bpp == 8 ? compression == 0 || (compression == 1 && bpp == 8) ||
                                                                  (compression == 2 && bpp == 4)
                          : bpp == 16 || bpp == 32 ? compression == 0 || bitfields
                          : bpp == 24              ? compression == 0
                                                   : false);
  if (!supported)
    throw DecodeError("unsupported: " + std::to_string(bpp) + " bits per pixel with compression " + std::to_string(compression) +
                      (compression == 4 || compression == 5 ? " (embedded JPEG/PNG)" : ""));

  std::vector<Colour> palette;
  if (bpp <= 8) {
    const std::size_t entry = header == 12 ? 3 : 4;
    std::size_t count = colours_used ? colours_used : std::size_t{1} << bpp;
    if (count > 256) throw DecodeError("palette of " + std::to_string(count) + " entries");
    const std::size_t at = 14 + header + (compression == 3 && header == 40 ? 12 : 0);
    if (at + count * entry > b.size() || at + count * entry > data_offset) throw DecodeError("truncated: the palette is incomplete");
    for (std::size_t i = 0; i < count; ++i)
      palette.push_back({b[at + i * entry + 2], b[at + i * entry + 1], b[at + i * entry]});
  }
  if (data_offset >= b.size()) throw DecodeError("truncated: no pixel data");
  const auto data = b.subspan(data_offset);

  // Indices or packed pixels, row by row in display order.
  const std::size_t stride = ((std::size_t(w) * bpp + 31) / 32) * 4;
  Bytes indices;
  if (compression == 1 || compression == 2) {
    const std::size_t skipped = expand_rle(data, w, h, compression == 2, indices);
    if (skipped) warn(options, notes, std::to_string(skipped) + " pixels skipped by the run-length data, shown as palette entry 0");
  } else if (data.size() < stride * h) {
    throw DecodeError("truncated: " + std::to_string(data.size()) + " bytes of pixel data, " + std::to_string(stride * h) + " needed");
  }
  const auto stored_row = [&](int y) { return top_down ? y : h - 1 - y; };

  image.width = w;
  image.height = h;
  if (bpp <= 8) {
    bool gray = true;
    for (const Colour& c : palette) gray &= c.r == c.g && c.g == c.b;
    const bool bilevel = bpp == 1 && palette.size() == 2 && gray &&
                         ((palette[0].r == 0 && palette[1].r == 255) || (palette[0].r == 255 && palette[1].r == 0));
    const auto index_at = [&](int x, int y) -> std::size_t {
      if (!indices.empty()) return indices[std::size_t(stored_row(y)) * w + x];  // RLE rows are bottom-up too
      const std::uint8_t* row = data.data() + std::size_t(stored_row(y)) * stride;
      const std::size_t bit = std::size_t(x) * bpp;
      return (row[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
    };
    if (bilevel) {
      image.channels = 1, image.bit_depth = 1;
      image.allocate();
      const std::uint8_t flip = palette[0].r == 255 ? 0xFF : 0x00;  // index 1 must mean white
      for (int y = 0; y < h; ++y)
        for (std::size_t i = 0; i < image.row_bytes(); ++i)
          image.pixels[std::size_t(y) * image.row_bytes() + i] =
              static_cast<std::uint8_t>(data[std::size_t(stored_row(y)) * stride + i] ^ flip);
    } else {
      image.channels = gray ? 1 : 3, image.bit_depth = 8;
      image.allocate();
      std::uint8_t* out = image.pixels.data();
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          const std::size_t index = index_at(x, y);
          if (index >= palette.size())
            throw DecodeError("pixel index " + std::to_string(index) + " past the palette's " + std::to_string(palette.size()) + " entries");
          *out++ = palette[index].r;
          if (!gray) *out++ = palette[index].g, *out++ = palette[index].b;
        }
    }
  } else {
    const bool alpha = masks[3] != 0;
    image.channels = alpha ? 4 : 3, image.bit_depth = 8;
    image.allocate();
    std::uint8_t* out = image.pixels.data();
    const std::size_t pixel_bytes = bpp / 8;
    for (int y = 0; y < h; ++y) {
      const std::uint8_t* row = data.data() + std::size_t(stored_row(y)) * stride;
      for (int x = 0; x < w; ++x) {
        const std::uint8_t* p = row + std::size_t(x) * pixel_bytes;
        const std::uint32_t v = pixel_bytes == 2 ? std::uint32_t(p[0] | p[1] << 8)
                                : pixel_bytes == 3 ? std::uint32_t(p[0] | p[1] << 8 | p[2] << 16)
                                                   : le32({p, 4}, 0);
        for (int c = 0; c < image.channels; ++c) *out++ = field(v, masks[c]);
      }
    }
  }
  if (x_ppm > 0 && y_ppm > 0) add_resolution(image, x_ppm, y_ppm, ResolutionUnit::metre, notes);
  // A V5 header may embed an ICC profile ('MBED'), at an offset from the header's start.
  if (header == 124 && le32(b, 14 + 56) == 0x4D424544) {
    const std::size_t at = 14 + std::size_t{le32(b, 14 + 112)}, size = le32(b, 14 + 116);
    if (at < b.size() && size <= b.size() - at)
      add_icc_profile(image, b.subspan(at, size), notes);
    else
      notes.drop_profile("the embedded profile lies outside the file");
  }
}

}  // namespace imgflow
