// JPEG through libjpeg-turbo. Every warning libjpeg raises while the pixels are still being
// decoded means missing or made-up data (premature end, corrupt entropy data, a bad
// progression) and rejects the image at once, except three that leave the pixels alone
// (extraneous bytes before a marker, an unknown JFIF revision, a damaged ICC marker); those,
// and anything said after the last row, are warnings (errors when strict).
#include <csetjmp>
#include <cstdio>
// jpeglib.h needs size_t and FILE first.
#include <jerror.h>
#include <jpeglib.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "codec/formats.hpp"
#include "codec/metadata.hpp"
#include "kernels/colour.hpp"

namespace imgflow {
namespace {

constexpr int kMaxNotes = 4;

// libjpeg's error manager, extended with where to jump and what was said. Callbacks only copy
// text into fixed buffers: nothing that could throw runs inside libjpeg.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  bool rows_done = false;
  char error[JMSG_LENGTH_MAX] = "unknown libjpeg error";
  char notes[kMaxNotes][JMSG_LENGTH_MAX] = {};
  int note_count = 0;
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  cinfo->err->format_message(cinfo, errors->error);
  std::longjmp(errors->jump, 1);
}

bool leaves_pixels_alone(int code) {
  return code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC;
}

void on_message(j_common_ptr cinfo, int level) {
  if (level != -1) return;  // trace messages
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  if (!errors->rows_done && !leaves_pixels_alone(cinfo->err->msg_code)) {
    cinfo->err->format_message(cinfo, errors->error);
    std::longjmp(errors->jump, 1);
  }
  if (errors->note_count < kMaxNotes) cinfo->err->format_message(cinfo, errors->notes[errors->note_count++]);
}

// What read_jpeg hands back besides the pixels.
struct JpegInfo {
  ExifFields exif;
  JOCTET* profile = nullptr;  // malloc'ed by libjpeg: the caller frees it
  unsigned int profile_size = 0;
  bool cmyk = false, inverted_cmyk = false;
  const char* refusal = nullptr;  // a reason of ours, not libjpeg's
  std::uint64_t width = 0, height = 0;
};

// All libjpeg calls, under one setjmp. No C++ object lives in this frame: everything that
// owns memory is the caller's. Returns false with the reason in errors.error or info.refusal.
bool read_jpeg(jpeg_decompress_struct& cinfo, JpegErrors& errors, std::span<const std::uint8_t> bytes,
               const DecodeOptions& options, Image& image, JpegInfo& info) {
  if (setjmp(errors.jump)) return false;
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);  // EXIF
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);  // ICC profile
  jpeg_read_header(&cinfo, TRUE);
  info.width = cinfo.image_width;
  info.height = cinfo.image_height;
  if (!over_pixel_limit(cinfo.image_width, cinfo.image_height, options.max_pixels).empty()) {
    info.refusal = "limit";
    return false;
  }
  // Huffman coding spends at least one bit on every 8x8 block of the first component (its DC
  // code), so the data after the header must hold blocks/8 bytes. Arithmetic coding can spend
  // less than a bit per block: such files get no bound here but the pixel limit.
  if (!cinfo.arith_code) {
    const std::uint64_t blocks = std::uint64_t{cinfo.comp_info[0].width_in_blocks} * cinfo.comp_info[0].height_in_blocks;
    if (cinfo.src->bytes_in_buffer < blocks / 8) {
      info.refusal = "bound";
      return false;
    }
  }
  // Decoding needs its coefficient buffers (progressive files: the whole image); bound them.
  cinfo.mem->max_memory_to_use = static_cast<long>(std::min<std::uint64_t>(
      std::uint64_t{cinfo.image_width} * cinfo.image_height * 8 + (64u << 20), 0x7FFFFFFF));
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      info.cmyk = true;
      info.inverted_cmyk = cinfo.saw_Adobe_marker;
      break;
    default: cinfo.out_color_space = JCS_RGB; break;
  }
  jpeg_start_decompress(&cinfo);
  image.width = static_cast<int>(cinfo.output_width);
  image.height = static_cast<int>(cinfo.output_height);
  image.channels = cinfo.output_components;
  image.bit_depth = 8;
  image.allocate();  // may throw std::bad_alloc: from this frame, never from inside libjpeg
  const std::size_t row_bytes = image.row_bytes();
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image.pixels.data() + cinfo.output_scanline * row_bytes;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  errors.rows_done = true;
  jpeg_read_icc_profile(&cinfo, &info.profile, &info.profile_size);
  // Saved markers live in libjpeg's image pool, which finishing frees.
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      info.exif = read_exif({m->data + 6, m->data_length - 6});
      break;
    }
  jpeg_finish_decompress(&cinfo);
  return true;
}

}  // namespace

void decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t, Image& image,
                 DecodeNotes& notes, CodecScratch&) {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors;
  cinfo.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = on_error;
  errors.manager.emit_message = on_message;
  JpegInfo info;
  struct Destroy {
    jpeg_decompress_struct& cinfo;
    JpegInfo& info;
    ~Destroy() {
      std::free(info.profile);
      // libjpeg may still report through error_exit here, whose jump target is gone; nothing it
      // can say while freeing matters, so make errors harmless first.
      cinfo.err->error_exit = [](j_common_ptr) {};
      jpeg_destroy_decompress(&cinfo);  // safe on a struct never created
    }
  } destroy{cinfo, info};
  const bool ok = read_jpeg(cinfo, errors, bytes, options, image, info);
  if (!ok) {
    if (info.refusal && std::string_view(info.refusal) == "limit") check_pixel_limit(info.width, info.height, options.max_pixels);
    if (info.refusal)
      throw DecodeError(std::to_string(bytes.size()) + " bytes cannot hold a " + std::to_string(info.width) + "x" +
                        std::to_string(info.height) + " JPEG (Huffman coding spends at least a bit per 8x8 block)");
    throw DecodeError(errors.error);
  }
  errors.manager.emit_message = [](j_common_ptr, int) {};  // the jump target is gone from here on
  for (int i = 0; i < errors.note_count; ++i) warn(options, notes, errors.notes[i]);

  const JpegInfo& meta = info;
  if (meta.cmyk) {
    const std::size_t pixels = static_cast<std::size_t>(image.width) * image.height;
    cmyk_to_rgb(image.pixels.data(), pixels, meta.inverted_cmyk, image.pixels.data());
    image.channels = 3;
    image.pixels.resize(pixels * 3);
  }
  // Resolution: JFIF density when it has a unit, else EXIF's, else JFIF's aspect ratio.
  const ExifFields& exif = meta.exif;
  if (cinfo.saw_JFIF_marker && cinfo.density_unit != 0 && cinfo.X_density && cinfo.Y_density)
    add_resolution(image, cinfo.X_density, cinfo.Y_density,
                   cinfo.density_unit == 2 ? ResolutionUnit::centimetre : ResolutionUnit::inch, notes);
  else if (exif.x_resolution > 0 && exif.y_resolution > 0)
    add_exif_resolution(image, exif, notes);
  else if (cinfo.saw_JFIF_marker && cinfo.X_density && cinfo.Y_density)
    add_resolution(image, cinfo.X_density, cinfo.Y_density, ResolutionUnit::none, notes);

  if (meta.profile) {
    if (meta.cmyk)
      notes.drop_profile("a CMYK profile does not describe the RGB output");
    else
      add_icc_profile(image, {meta.profile, meta.profile_size}, notes);
  }
  apply_orientation(image, exif.orientation, notes);
}

}  // namespace imgflow
