// JPEG out, through libjpeg-turbo: 8-bit gray or YCbCr 4:2:0 (as libvips and sharp write by
// default), Huffman tables optimised for the page, JFIF density from the resolution, the ICC
// profile in APP2 and the resume stamp as XMP in APP1.
#include <csetjmp>
#include <cstdio>
// jpeglib.h needs size_t and FILE first.
#include <jerror.h>
#include <jpeglib.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "codec/encode.hpp"
#include "codec/metadata.hpp"
#include "codec/xmp.hpp"

namespace imgflow {
namespace {

struct JpegFailure {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "unknown libjpeg error";
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* failure = reinterpret_cast<JpegFailure*>(cinfo->err);
  cinfo->err->format_message(cinfo, failure->message);
  std::longjmp(failure->jump, 1);
}
void on_message(j_common_ptr, int) {}

// libjpeg's destination: the output buffer, grown 64 KiB at a time.
struct Destination {
  jpeg_destination_mgr manager;
  Bytes* out;
};
constexpr std::size_t kGrowth = 64 << 10;
// The buffer grown to `size`, its free part handed to libjpeg from `used` on.
void grow(j_compress_ptr cinfo, std::size_t used, std::size_t size) {
  auto* d = reinterpret_cast<Destination*>(cinfo->dest);
  try {  // nothing may throw through libjpeg's frames
    d->out->resize(size);
  } catch (...) {
    ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
  }
  d->manager.next_output_byte = d->out->data() + used;
  d->manager.free_in_buffer = size - used;
}
void init_destination(j_compress_ptr cinfo) { grow(cinfo, 0, kGrowth); }
boolean empty_output_buffer(j_compress_ptr cinfo) {
  const std::size_t used = reinterpret_cast<Destination*>(cinfo->dest)->out->size();
  grow(cinfo, used, used + std::max(kGrowth, used / 2));
  return TRUE;
}
void term_destination(j_compress_ptr cinfo) {
  auto* d = reinterpret_cast<Destination*>(cinfo->dest);
  d->out->resize(d->out->size() - d->manager.free_in_buffer);
}

}  // namespace

void encode_jpeg(const Image& image, int quality, std::string_view software, std::string_view description, Bytes& out) {
  if (image.bit_depth != 8 || (image.channels != 1 && image.channels != 3))
    throw EncodeError("JPEG holds 8-bit gray or RGB only (this page is " + std::to_string(image.bit_depth) + "-bit " +
                      std::string(layout_name(image.channels)) + ")");
  if (image.width > JPEG_MAX_DIMENSION || image.height > JPEG_MAX_DIMENSION)
    throw EncodeError("JPEG holds at most 65,500 pixels a side (this page is " + std::to_string(image.width) + "x" +
                      std::to_string(image.height) + ")");
  const std::vector<std::uint8_t> profile = icc_profile(image);
  const std::string packet = software.empty() ? std::string() : xmp::packet(software, description);
  if (xmp::kJpegNamespace.size() + packet.size() > 65533)
    throw EncodeError("the resume stamp does not fit in a JPEG marker");
  std::string marker;
  if (!packet.empty()) (marker = xmp::kJpegNamespace) += packet;
  out.clear();
  jpeg_compress_struct cinfo{};
  JpegFailure failure;
  Destination destination{};
  cinfo.err = jpeg_std_error(&failure.manager);
  failure.manager.error_exit = on_error;
  failure.manager.emit_message = on_message;
  // Nothing with a destructor is made between here and the end: a longjmp skips them.
  if (setjmp(failure.jump)) {
    jpeg_destroy_compress(&cinfo);
    out.clear();
    throw EncodeError(failure.message);
  }
  jpeg_create_compress(&cinfo);
  destination.manager.init_destination = init_destination;
  destination.manager.empty_output_buffer = empty_output_buffer;
  destination.manager.term_destination = term_destination;
  destination.out = &out;
  cinfo.dest = &destination.manager;
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, std::clamp(quality, 1, 100), TRUE);
  cinfo.optimize_coding = TRUE;
  cinfo.dct_method = JDCT_ISLOW;
  if (const auto dpi = resolution_dpi(image)) {
    const double x = std::round(dpi->first), y = std::round(dpi->second);
    if (x >= 1 && x <= 65535 && y >= 1 && y <= 65535) {
      cinfo.density_unit = 1;  // dots per inch
      cinfo.X_density = static_cast<UINT16>(x);
      cinfo.Y_density = static_cast<UINT16>(y);
    }
  }
  jpeg_start_compress(&cinfo, TRUE);
  if (!marker.empty()) {
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(marker.data()),
                      static_cast<unsigned>(marker.size()));
  }
  if (!profile.empty()) jpeg_write_icc_profile(&cinfo, profile.data(), static_cast<unsigned>(profile.size()));
  const std::size_t row_bytes = image.row_bytes();
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image.pixels.data() + cinfo.next_scanline * row_bytes);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
}

void encode_jpeg_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch&) {
  encode_jpeg(image, settings.quality ? settings.quality : kDefaultQuality, settings.software, settings.description, out);
}

Recorded read_jpeg_record(std::span<const std::uint8_t> bytes) {
  Recorded recorded;
  const std::size_t n = bytes.size();
  if (n < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return recorded;
  // The segments up to the first scan; the entropy-coded data after it ends with EOI.
  std::size_t at = 2;
  bool scan = false;
  while (at + 4 <= n) {
    if (bytes[at] != 0xFF) return recorded;
    const std::uint8_t marker = bytes[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    const std::size_t length = static_cast<std::size_t>(bytes[at + 2]) << 8 | bytes[at + 3];
    if (length < 2 || at + 2 + length > n) return recorded;
    const auto body = bytes.subspan(at + 4, length - 2);
    if (marker == 0xE1 && body.size() > xmp::kJpegNamespace.size() &&
        std::equal(xmp::kJpegNamespace.begin(), xmp::kJpegNamespace.end(), body.begin())) {
      xmp::Stamp stamp = xmp::read(body.subspan(xmp::kJpegNamespace.size()));
      recorded.software = std::move(stamp.software);
      recorded.description = std::move(stamp.source);
    }
    at += 2 + length;
    if (marker == 0xDA) {
      scan = true;
      break;
    }
  }
  recorded.whole = scan && n >= at + 2 && bytes[n - 2] == 0xFF && bytes[n - 1] == 0xD9;
  return recorded;
}

}  // namespace imgflow
