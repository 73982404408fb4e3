// WebP out, through libwebp: lossy (quality 90 unless told) or lossless (every sample exact,
// the colour under transparent pixels too), alpha kept; WebP holds RGB(A) only, so a gray page
// is written as RGB of equal samples (lossy: straight into libwebp's luma plane, the bytes its
// RGB import would give). The ICC profile goes in an ICCP chunk and the resume stamp
// in an "XMP " chunk (libwebpmux); WebP has no field for the resolution.
#include <webp/encode.h>
#include <webp/mux.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "codec/encode.hpp"
#include "codec/metadata.hpp"
#include "codec/xmp.hpp"
#include "kernels/apply_table.hpp"

namespace imgflow {
namespace {

std::string_view encoding_error(WebPEncodingError code) {
  switch (code) {
    case VP8_ENC_ERROR_OUT_OF_MEMORY:
    case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY: return "out of memory";
    case VP8_ENC_ERROR_BAD_DIMENSION: return "the page is too large for WebP (at most 16,383 pixels a side)";
    case VP8_ENC_ERROR_PARTITION0_OVERFLOW:
    case VP8_ENC_ERROR_PARTITION_OVERFLOW: return "the page's data overflows a WebP partition";
    case VP8_ENC_ERROR_FILE_TOO_BIG: return "the page is too large for WebP (over 4 GiB)";
    default: return "libwebp could not encode the page";
  }
}

struct MemoryWriter {
  WebPMemoryWriter writer;
  MemoryWriter() { WebPMemoryWriterInit(&writer); }
  ~MemoryWriter() { WebPMemoryWriterClear(&writer); }
};

}  // namespace

void encode_webp_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch&) {
  if (image.bit_depth != 8 || image.channels < 1 || image.channels > 4)
    throw EncodeError("WebP holds 8-bit samples only (this page is " + std::to_string(image.bit_depth) + "-bit " +
                      std::string(layout_name(image.channels)) + ")");
  if (image.width > WEBP_MAX_DIMENSION || image.height > WEBP_MAX_DIMENSION)
    throw EncodeError(std::string(encoding_error(VP8_ENC_ERROR_BAD_DIMENSION)));
  WebPConfig config;
  if (!WebPConfigInit(&config)) throw EncodeError("libwebp's version does not match its header");
  // Lossy: libwebp's method 2 (sharp and cwebp use 4: on scanned pages 2 costs half the time
  // for 1-2% more bytes). Lossless: sharp's effort (method 4, quality 80), since a faster
  // lossless preset costs 40-65% more bytes on clean pages (docs/formats.md), and the colour
  // under transparent pixels kept exactly.
  if (settings.lossless) {
    config.lossless = 1;
    config.method = 4;
    config.quality = 80.0f;
    config.exact = 1;
  } else {
    config.quality = static_cast<float>(settings.quality ? settings.quality : kDefaultQuality);
    config.method = 2;
  }
  WebPPicture picture;
  if (!WebPPictureInit(&picture)) throw EncodeError("libwebp's version does not match its header");
  std::unique_ptr<WebPPicture, decltype(&WebPPictureFree)> owned(&picture, WebPPictureFree);
  picture.use_argb = settings.lossless ? 1 : 0;
  picture.width = image.width;
  picture.height = image.height;
  const bool alpha = image.channels == 2 || image.channels == 4;
  int imported = 0;
  if (image.channels >= 3) {
    const int stride = static_cast<int>(image.row_bytes());
    imported = alpha ? WebPPictureImportRGBA(&picture, image.pixels.data(), stride)
                     : WebPPictureImportRGB(&picture, image.pixels.data(), stride);
  } else if (!alpha && !settings.lossless) {
    // Gray into libwebp's own planes: luma as libwebp's RGB import computes it for R = G = B
    // (its fixed-point BT.601 with 16-bit fractions), chroma neutral (128: the chroma weights
    // sum to zero). The same picture the RGB import would make, without the page in RGB first.
    if (!WebPPictureAlloc(&picture)) throw EncodeError(std::string(encoding_error(picture.error_code)));
    static const std::array<std::uint8_t, 256> luma = [] {
      std::array<std::uint8_t, 256> table{};
      for (int v = 0; v < 256; ++v) table[v] = static_cast<std::uint8_t>(((16839 + 33059 + 6420) * v + (1 << 15) + (16 << 16)) >> 16);
      return table;
    }();
    apply_table(std::as_const(image).view<std::uint8_t>(), {picture.y, image.width, image.height, 1, picture.y_stride},
                luma.data());
    for (int y = 0; y < (image.height + 1) / 2; ++y) {
      std::memset(picture.u + static_cast<std::ptrdiff_t>(y) * picture.uv_stride, 128, static_cast<std::size_t>(picture.uv_stride));
      std::memset(picture.v + static_cast<std::ptrdiff_t>(y) * picture.uv_stride, 128, static_cast<std::size_t>(picture.uv_stride));
    }
    imported = 1;
  } else {
    // Gray as RGB(A) of equal samples, in a buffer of its own (libwebp imports RGB(A) only).
    const int channels = alpha ? 4 : 3;
    std::vector<std::uint8_t> wide(static_cast<std::size_t>(image.width) * channels * image.height);
    const std::uint8_t* s = image.pixels.data();
    for (std::size_t i = 0, pixels = static_cast<std::size_t>(image.width) * image.height; i < pixels; ++i) {
      std::uint8_t* d = wide.data() + i * channels;
      d[0] = d[1] = d[2] = *s++;
      if (alpha) d[3] = *s++;
    }
    imported = alpha ? WebPPictureImportRGBA(&picture, wide.data(), image.width * 4)
                     : WebPPictureImportRGB(&picture, wide.data(), image.width * 3);
  }
  if (!imported) throw EncodeError(std::string(encoding_error(picture.error_code)));
  MemoryWriter memory;
  picture.writer = WebPMemoryWrite;
  picture.custom_ptr = &memory.writer;
  if (!WebPEncode(&config, &picture)) throw EncodeError(std::string(encoding_error(picture.error_code)));

  const std::vector<std::uint8_t> profile = icc_profile(image);
  const std::string packet = settings.software.empty() ? std::string() : xmp::packet(settings.software, settings.description);
  if (profile.empty() && packet.empty()) {
    out.assign(memory.writer.mem, memory.writer.mem + memory.writer.size);
    return;
  }
  // The chunks around the bitstream, by libwebpmux (which writes the VP8X header they need).
  std::unique_ptr<WebPMux, decltype(&WebPMuxDelete)> mux(WebPMuxNew(), WebPMuxDelete);
  if (!mux) throw std::bad_alloc();
  const WebPData bitstream{memory.writer.mem, memory.writer.size};
  bool ok = WebPMuxSetImage(mux.get(), &bitstream, /*copy_data=*/0) == WEBP_MUX_OK;
  const WebPData icc{profile.data(), profile.size()};
  if (ok && !profile.empty()) ok = WebPMuxSetChunk(mux.get(), "ICCP", &icc, 0) == WEBP_MUX_OK;
  const WebPData xmp_data{reinterpret_cast<const std::uint8_t*>(packet.data()), packet.size()};
  if (ok && !packet.empty()) ok = WebPMuxSetChunk(mux.get(), "XMP ", &xmp_data, 0) == WEBP_MUX_OK;
  WebPData assembled;
  WebPDataInit(&assembled);
  if (ok) ok = WebPMuxAssemble(mux.get(), &assembled) == WEBP_MUX_OK;
  if (!ok) {
    WebPDataClear(&assembled);
    throw EncodeError("libwebpmux could not add the colour profile or the stamp");
  }
  out.assign(assembled.bytes, assembled.bytes + assembled.size);
  WebPDataClear(&assembled);
}

Recorded read_webp_record(std::span<const std::uint8_t> bytes) {
  Recorded recorded;
  const auto u32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(bytes[at]) | static_cast<std::uint32_t>(bytes[at + 1]) << 8 |
           static_cast<std::uint32_t>(bytes[at + 2]) << 16 | static_cast<std::uint32_t>(bytes[at + 3]) << 24;
  };
  if (bytes.size() < 12 || static_cast<std::uint64_t>(u32(4)) + 8 != bytes.size()) return recorded;
  // The chunks, each padded to an even size, must end exactly where the RIFF size says.
  std::size_t at = 12;
  bool image = false;
  while (at + 8 <= bytes.size()) {
    const std::string_view type(reinterpret_cast<const char*>(bytes.data() + at), 4);
    const std::uint64_t size = u32(at + 4);
    const std::uint64_t end = at + 8 + size + (size & 1);
    if (end > bytes.size()) return recorded;
    if (type == "VP8 " || type == "VP8L") image = true;
    if (type == "XMP ") {
      xmp::Stamp stamp = xmp::read(bytes.subspan(at + 8, size));
      recorded.software = std::move(stamp.software);
      recorded.description = std::move(stamp.source);
    }
    at = static_cast<std::size_t>(end);
  }
  recorded.whole = image && at == bytes.size();
  return recorded;
}

}  // namespace imgflow
