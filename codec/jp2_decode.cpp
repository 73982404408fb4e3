// JPEG 2000 (JP2 files and raw J2K codestreams) through OpenJPEG, in strict mode: a truncated
// codestream is an error, not a partly decoded image. Any warning OpenJPEG gives while decoding
// the pixels rejects the image; header warnings are warnings (errors when strict).
#include <openjpeg.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "codec/formats.hpp"
#include "codec/jp2_boxes.hpp"
#include "codec/metadata.hpp"
#include "codec/png_format.hpp"

namespace imgflow {
namespace {

struct Source {
  std::span<const std::uint8_t> bytes;
  std::size_t position = 0;
};

OPJ_SIZE_T read_fn(void* out, OPJ_SIZE_T size, void* user) {
  auto* s = static_cast<Source*>(user);
  if (s->position >= s->bytes.size()) return static_cast<OPJ_SIZE_T>(-1);
  const std::size_t n = std::min<std::size_t>(size, s->bytes.size() - s->position);
  std::memcpy(out, s->bytes.data() + s->position, n);
  s->position += n;
  return n;
}
OPJ_OFF_T skip_fn(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<Source*>(user);
  if (n < 0 || static_cast<std::size_t>(n) > s->bytes.size() - s->position) return -1;
  s->position += static_cast<std::size_t>(n);
  return n;
}
OPJ_BOOL seek_fn(OPJ_OFF_T to, void* user) {
  auto* s = static_cast<Source*>(user);
  if (to < 0 || static_cast<std::size_t>(to) > s->bytes.size()) return OPJ_FALSE;
  s->position = static_cast<std::size_t>(to);
  return OPJ_TRUE;
}

// OpenJPEG's messages, in fixed buffers (the handlers run inside OpenJPEG).
struct Messages {
  char error[512] = {};
  char warnings[8][512] = {};
  int warning_count = 0;
  bool decoding = false;
  char decode_warning[512] = {};
};

void on_error(const char* text, void* user) {
  auto* m = static_cast<Messages*>(user);
  if (!m->error[0]) jp2::copy_message(m->error, sizeof m->error, text);
}
void on_warning(const char* text, void* user) {
  auto* m = static_cast<Messages*>(user);
  if (m->decoding) {
    if (!m->decode_warning[0]) jp2::copy_message(m->decode_warning, sizeof m->decode_warning, text);
  } else if (m->warning_count < 8) {
    jp2::copy_message(m->warnings[m->warning_count++], sizeof m->warnings[0], text);
  }
}
void on_info(const char*, void*) {}

// The capture (else display) resolution of a JP2 file, from its res box, in pixels per metre.
bool jp2_resolution(std::span<const std::uint8_t> bytes, double& x, double& y) {
  const auto header = jp2::find_box(bytes, "jp2h");
  const auto res = jp2::find_box(header, "res ");
  for (const auto type : {"resc", "resd"}) {
    const auto box = jp2::find_box(res, type);
    if (box.size() < 10) continue;
    const auto u16 = [&](std::size_t i) { return static_cast<double>(box[i] << 8 | box[i + 1]); };
    const double vn = u16(0), vd = u16(2), hn = u16(4), hd = u16(6);
    const int ve = static_cast<std::int8_t>(box[8]), he = static_cast<std::int8_t>(box[9]);
    if (vd == 0 || hd == 0) continue;
    y = vn / vd * std::pow(10.0, ve);
    x = hn / hd * std::pow(10.0, he);
    return true;
  }
  return false;
}

}  // namespace

void decode_jp2(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t, Image& image,
                DecodeNotes& notes, CodecScratch&) {
  const bool jp2 = bytes.size() >= 12 && std::memcmp(bytes.data() + 4, "jP  ", 4) == 0;
  Source source{bytes};
  Messages messages;
  const std::unique_ptr<opj_codec_t, jp2::CodecDeleter> codec(opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  const std::unique_ptr<opj_stream_t, jp2::StreamDeleter> stream(opj_stream_create(64 * 1024, OPJ_TRUE));
  if (!codec || !stream) throw std::bad_alloc();
  opj_stream_set_user_data(stream.get(), &source, nullptr);
  opj_stream_set_user_data_length(stream.get(), bytes.size());
  opj_stream_set_read_function(stream.get(), read_fn);
  opj_stream_set_skip_function(stream.get(), skip_fn);
  opj_stream_set_seek_function(stream.get(), seek_fn);
  opj_set_error_handler(codec.get(), on_error, &messages);
  opj_set_warning_handler(codec.get(), on_warning, &messages);
  opj_set_info_handler(codec.get(), on_info, &messages);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  if (!opj_setup_decoder(codec.get(), &parameters)) throw DecodeError("cannot set up the decoder");
  opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE);

  opj_image_t* raw_image = nullptr;
  const bool header_ok = opj_read_header(stream.get(), codec.get(), &raw_image);
  const std::unique_ptr<opj_image_t, jp2::ImageDeleter> decoded(raw_image);
  if (!header_ok || !decoded) throw DecodeError(messages.error[0] ? messages.error : "cannot read the header");
  for (int i = 0; i < messages.warning_count; ++i) warn(options, notes, messages.warnings[i]);
  messages.warning_count = 0;

  const std::uint32_t width = decoded->x1 - decoded->x0, height = decoded->y1 - decoded->y0;
  check_pixel_limit(width, height, options.max_pixels);
  const std::uint32_t components = decoded->numcomps;
  if (components < 1 || components > 4)
    throw DecodeError(std::to_string(components) + " components cannot be written as PNG (1 to 4)");
  if (decoded->color_space == OPJ_CLRSPC_SYCC || decoded->color_space == OPJ_CLRSPC_EYCC ||
      decoded->color_space == OPJ_CLRSPC_CMYK)
    throw DecodeError("YCC and CMYK JPEG 2000 colour spaces are not supported");
  for (std::uint32_t c = 0; c < components; ++c) {
    const opj_image_comp_t& comp = decoded->comps[c];
    if (comp.dx != 1 || comp.dy != 1) throw DecodeError("subsampled components are not supported");
    if (comp.sgnd) throw DecodeError("signed samples cannot be written as PNG");
    if (comp.prec < 1 || comp.prec > 16) throw DecodeError(std::to_string(comp.prec) + "-bit samples cannot be written as PNG");
    if (comp.prec != decoded->comps[0].prec) throw DecodeError("components of different precision are not supported");
  }

  messages.decoding = true;
  if (!opj_decode(codec.get(), stream.get(), decoded.get()) || !opj_end_decompress(codec.get(), stream.get()))
    throw DecodeError(messages.error[0] ? messages.error : "cannot decode the codestream");
  if (messages.decode_warning[0]) throw DecodeError(messages.decode_warning);
  messages.decoding = false;
  for (std::uint32_t c = 0; c < components; ++c)
    if (!decoded->comps[c].data || decoded->comps[c].w != width || decoded->comps[c].h != height)
      throw DecodeError("a component was not decoded whole");

  const int precision = static_cast<int>(decoded->comps[0].prec);
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.channels = static_cast<int>(components);
  image.bit_depth = precision <= 8 ? 8 : 16;
  image.allocate();
  const std::uint32_t max_in = (1u << precision) - 1, max_out = image.bit_depth == 8 ? 255 : 65535;
  const std::size_t pixels = std::size_t{width} * height;
  for (std::uint32_t c = 0; c < components; ++c) {
    const OPJ_INT32* in = decoded->comps[c].data;
    for (std::size_t i = 0; i < pixels; ++i) {
      const std::uint32_t v = static_cast<std::uint32_t>(std::clamp<OPJ_INT32>(in[i], 0, static_cast<OPJ_INT32>(max_in)));
      const std::uint32_t scaled = max_in == max_out ? v : (v * max_out + max_in / 2) / max_in;
      if (image.bit_depth == 8)
        image.pixels[i * components + c] = static_cast<std::uint8_t>(scaled);
      else
        reinterpret_cast<std::uint16_t*>(image.pixels.data())[i * components + c] = static_cast<std::uint16_t>(scaled);
    }
  }
  if (static_cast<std::uint32_t>(max_in) != max_out) add_significant_bits(image, precision);
  double x = 0, y = 0;
  if (jp2 && jp2_resolution(bytes, x, y)) add_resolution(image, x, y, ResolutionUnit::metre, notes);
  if (decoded->icc_profile_buf && decoded->icc_profile_len)
    add_icc_profile(image, {decoded->icc_profile_buf, decoded->icc_profile_len}, notes);
}

}  // namespace imgflow
