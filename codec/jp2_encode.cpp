// JPEG 2000 out, through OpenJPEG: a JP2 file, lossless (the 5-3 wavelet, every sample exact) by
// default or lossy at a target PSNR (--quality N: N dB, as libvips's Q), gray or RGB of 8 or 16
// bits, alpha as an opacity channel (cdef), the ICC profile in the colour box. OpenJPEG writes
// neither a resolution nor XMP box: the capture-resolution box (res/resc) is added to the header
// box and the stamp as an XMP uuid box right after it, so that both come before the codestream.
#include <openjpeg.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "codec/encode.hpp"
#include "codec/jp2_boxes.hpp"
#include "codec/metadata.hpp"
#include "codec/reuse.hpp"
#include "codec/xmp.hpp"

namespace imgflow {
namespace {

struct Sink {
  Bytes& out;
  std::size_t position = 0;
};
OPJ_SIZE_T write_proc(void* buffer, OPJ_SIZE_T size, void* user) {
  auto* s = static_cast<Sink*>(user);
  try {
    if (s->position + size > s->out.size()) s->out.resize(s->position + size);
  } catch (...) {
    return static_cast<OPJ_SIZE_T>(-1);
  }
  std::memcpy(s->out.data() + s->position, buffer, size);
  s->position += size;
  return size;
}
OPJ_BOOL seek_proc(OPJ_OFF_T to, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (to < 0) return OPJ_FALSE;
  try {
    if (static_cast<std::size_t>(to) > s->out.size()) s->out.resize(static_cast<std::size_t>(to), 0);
  } catch (...) {
    return OPJ_FALSE;
  }
  s->position = static_cast<std::size_t>(to);
  return OPJ_TRUE;
}
OPJ_OFF_T skip_proc(OPJ_OFF_T by, void* user) {
  auto* s = static_cast<Sink*>(user);
  return seek_proc(static_cast<OPJ_OFF_T>(s->position) + by, user) ? by : -1;
}

struct Complaint {
  char text[512] = {};
};
void on_error(const char* text, void* user) {
  auto* c = static_cast<Complaint*>(user);
  if (!c->text[0]) jp2::copy_message(c->text, sizeof c->text, text);
}
void on_quiet(const char*, void*) {}

void append_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(v >> shift & 0xFF);
}
void append_box(std::string& out, std::string_view type, std::string_view body) {
  append_be32(out, static_cast<std::uint32_t>(8 + body.size()));
  out += type;
  out += body;
}

// A resc box for `x` by `y` pixels per metre: each as N/1 x 10^E with N < 65536.
std::string resolution_box(double x, double y) {
  const auto split = [](double value, std::uint16_t& numerator, std::int8_t& exponent) {
    exponent = 0;
    while (std::round(value) > 65535 && exponent < 9) value /= 10, ++exponent;
    numerator = static_cast<std::uint16_t>(std::clamp(std::round(value), 1.0, 65535.0));
  };
  std::uint16_t vn = 0, hn = 0;
  std::int8_t ve = 0, he = 0;
  split(y, vn, ve);
  split(x, hn, he);
  std::string body;
  for (const std::uint16_t v : {vn, std::uint16_t{1}, hn, std::uint16_t{1}}) body += static_cast<char>(v >> 8), body += static_cast<char>(v & 0xFF);
  body += static_cast<char>(ve);
  body += static_cast<char>(he);
  std::string resc, res;
  append_box(resc, "resc", body);
  append_box(res, "res ", resc);
  return res;
}

}  // namespace

void encode_jp2_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch&) {
  if ((image.bit_depth != 8 && image.bit_depth != 16) || image.channels < 1 || image.channels > 4)
    throw EncodeError("no JPEG 2000 layout for " + std::to_string(image.bit_depth) + "-bit " +
                      std::string(layout_name(image.channels)));
  const int channels = image.channels;
  const bool alpha = channels == 2 || channels == 4;
  std::vector<opj_image_cmptparm_t> parts(static_cast<std::size_t>(channels));
  for (auto& p : parts) {
    p = {};
    p.dx = p.dy = 1;
    p.w = static_cast<OPJ_UINT32>(image.width);
    p.h = static_cast<OPJ_UINT32>(image.height);
    p.prec = static_cast<OPJ_UINT32>(image.bit_depth);
    p.sgnd = 0;
  }
  const std::unique_ptr<opj_image_t, jp2::ImageDeleter> picture(
      opj_image_create(static_cast<OPJ_UINT32>(channels), parts.data(), channels >= 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY));
  if (!picture) throw std::bad_alloc();
  picture->x0 = picture->y0 = 0;
  picture->x1 = static_cast<OPJ_UINT32>(image.width);
  picture->y1 = static_cast<OPJ_UINT32>(image.height);
  if (alpha) picture->comps[channels - 1].alpha = 1;
  const std::size_t pixels = static_cast<std::size_t>(image.width) * image.height;
  for (int c = 0; c < channels; ++c) {
    OPJ_INT32* d = picture->comps[c].data;
    if (image.bit_depth == 8) {
      const std::uint8_t* s = image.pixels.data() + c;
      for (std::size_t i = 0; i < pixels; ++i, s += channels) d[i] = *s;
    } else {
      const std::uint16_t* s = reinterpret_cast<const std::uint16_t*>(image.pixels.data()) + c;
      for (std::size_t i = 0; i < pixels; ++i, s += channels) d[i] = *s;
    }
  }
  opj_cparameters_t parameters;
  opj_set_default_encoder_parameters(&parameters);
  parameters.tcp_numlayers = 1;
  const bool lossy = !settings.lossless && settings.quality > 0;
  if (lossy) {
    parameters.irreversible = 1;  // the 9-7 wavelet
    parameters.cp_fixed_quality = 1;
    parameters.tcp_distoratio[0] = static_cast<float>(settings.quality);
  } else {
    parameters.cp_disto_alloc = 1;
    parameters.tcp_rates[0] = 0;  // lossless
  }
  // Each of the resolution levels needs at least a pixel a side.
  int levels = 6;
  while (levels > 1 && (std::min(image.width, image.height) >> (levels - 1)) < 1) --levels;
  parameters.numresolution = levels;
  parameters.tcp_mct = channels >= 3 ? 1 : 0;

  Complaint complaint;
  const std::unique_ptr<opj_codec_t, jp2::CodecDeleter> codec(opj_create_compress(OPJ_CODEC_JP2));
  const std::unique_ptr<opj_stream_t, jp2::StreamDeleter> stream(opj_stream_create(1 << 20, OPJ_FALSE));
  if (!codec || !stream) throw std::bad_alloc();
  opj_set_error_handler(codec.get(), on_error, &complaint);
  opj_set_warning_handler(codec.get(), on_quiet, nullptr);
  opj_set_info_handler(codec.get(), on_quiet, nullptr);
  Bytes coded;
  Sink sink{coded};
  opj_stream_set_user_data(stream.get(), &sink, nullptr);
  opj_stream_set_write_function(stream.get(), write_proc);
  opj_stream_set_seek_function(stream.get(), seek_proc);
  opj_stream_set_skip_function(stream.get(), skip_proc);
  const auto fail = [&](const char* what) { throw EncodeError(complaint.text[0] ? complaint.text : what); };
  if (!opj_setup_encoder(codec.get(), &parameters, picture.get())) fail("OpenJPEG refused the encoder's settings");
  if (!opj_start_compress(codec.get(), picture.get(), stream.get())) fail("OpenJPEG could not start the file");
  if (!opj_encode(codec.get(), stream.get())) fail("OpenJPEG could not encode the page");
  if (!opj_end_compress(codec.get(), stream.get())) fail("OpenJPEG could not finish the file");

  // OpenJPEG 2.5.0 cannot write an ICC profile (it asserts): its colour box is replaced by one
  // holding the profile ("restricted ICC", method 2). Then the resolution box at the end of the
  // header box, and the XMP box right after that box.
  const std::vector<std::uint8_t> profile = icc_profile(image);
  std::string colour;
  if (!profile.empty()) {
    std::string body{'\x02', '\x00', '\x00'};
    body.append(reinterpret_cast<const char*>(profile.data()), profile.size());
    append_box(colour, "colr", body);
  }
  std::string resolution;
  if (const auto dpi = resolution_dpi(image)) resolution = resolution_box(dpi->first / 0.0254, dpi->second / 0.0254);
  std::string stamp;
  if (!settings.software.empty()) {
    std::string body(reinterpret_cast<const char*>(xmp::kJp2Uuid), sizeof xmp::kJp2Uuid);
    body += xmp::packet(settings.software, settings.description);
    append_box(stamp, "uuid", body);
  }
  out.clear();
  reserve_for_reuse(out, coded.size() + resolution.size() + stamp.size());  // a pooled output
  bool header_seen = false;
  const bool tiled = jp2::walk_boxes(coded, [&](const jp2::Box& box) {
    if (box.type != "jp2h" || header_seen) {
      const std::uint8_t* from = coded.data() + box.start;
      out.insert(out.end(), from, from + (box.body.data() - from) + box.body.size());
      return;
    }
    header_seen = true;
    std::string header;
    const bool whole = jp2::walk_boxes(box.body, [&](const jp2::Box& inner) {
      const auto* from = reinterpret_cast<const char*>(box.body.data() + inner.start);
      const auto* to = reinterpret_cast<const char*>(inner.body.data() + inner.body.size());
      header += inner.type == "colr" && !colour.empty() ? colour : std::string(from, to);
    });
    if (!whole) throw EncodeError("OpenJPEG wrote a header box that could not be read back");
    header += resolution;
    std::string box_bytes;
    append_box(box_bytes, "jp2h", header);
    out.insert(out.end(), box_bytes.begin(), box_bytes.end());
    out.insert(out.end(), stamp.begin(), stamp.end());
  });
  if (!tiled || !header_seen) throw EncodeError("OpenJPEG wrote a file whose boxes could not be read back");
}

Recorded read_jp2_record(std::span<const std::uint8_t> bytes) {
  Recorded recorded;
  bool codestream_whole = false;
  const bool tiled = jp2::walk_boxes(bytes, [&](const jp2::Box& box) {
    if (box.type == "jp2c")
      codestream_whole = box.body.size() >= 4 && box.body[box.body.size() - 2] == 0xFF && box.body.back() == 0xD9;
    if (box.type == "uuid" && box.body.size() > 16 && std::equal(std::begin(xmp::kJp2Uuid), std::end(xmp::kJp2Uuid), box.body.begin())) {
      xmp::Stamp stamp = xmp::read(box.body.subspan(16));
      recorded.software = std::move(stamp.software);
      recorded.description = std::move(stamp.source);
    }
  });
  recorded.whole = tiled && codestream_whole;
  return recorded;
}

}  // namespace imgflow
