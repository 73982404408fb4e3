// WebP through libwebp and its demuxer: still images whole, animations by their first frame
// (what a still viewer shows), with the frame count in the notes.
#include <webp/decode.h>
#include <webp/demux.h>

#include <cstring>
#include <memory>
#include <string>

#include "codec/formats.hpp"
#include "codec/metadata.hpp"

namespace imgflow {
namespace {

std::string status_text(VP8StatusCode status) {
  switch (status) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated: not enough data";
    default: return "error";
  }
}

struct DemuxDeleter {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};
struct AnimDeleter {
  void operator()(WebPAnimDecoder* d) const { WebPAnimDecoderDelete(d); }
};

}  // namespace

void decode_webp(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t, Image& image,
                 DecodeNotes& notes, CodecScratch&) {
  const WebPData data{bytes.data(), bytes.size()};
  WebPDemuxState state = WEBP_DEMUX_PARSE_ERROR;
  const std::unique_ptr<WebPDemuxer, DemuxDeleter> demux(WebPDemuxInternal(&data, 0, &state, WEBP_DEMUX_ABI_VERSION));
  if (!demux || state != WEBP_DEMUX_DONE)
    throw DecodeError(state == WEBP_DEMUX_PARSED_HEADER || state == WEBP_DEMUX_PARSING_HEADER
                          ? "truncated: the file ends inside its chunks"
                          : "not a valid WebP container");
  const std::uint32_t width = WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_WIDTH);
  const std::uint32_t height = WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_HEIGHT);
  const std::uint32_t flags = WebPDemuxGetI(demux.get(), WEBP_FF_FORMAT_FLAGS);
  const std::uint32_t frames = WebPDemuxGetI(demux.get(), WEBP_FF_FRAME_COUNT);
  check_pixel_limit(width, height, options.max_pixels);
  if (frames == 0) throw DecodeError("no frame");
  notes.frames = frames;

  WebPBitstreamFeatures features{};
  const bool animated = (flags & ANIMATION_FLAG) != 0;
  const bool alpha = (flags & ALPHA_FLAG) != 0 || animated ||
                     (WebPGetFeatures(bytes.data(), bytes.size(), &features) == VP8_STATUS_OK && features.has_alpha);
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.channels = alpha ? 4 : 3;
  image.bit_depth = 8;
  image.allocate();
  if (animated) {
    WebPAnimDecoderOptions anim_options;
    if (!WebPAnimDecoderOptionsInit(&anim_options)) throw DecodeError("libwebp version mismatch");
    anim_options.color_mode = MODE_RGBA;
    anim_options.use_threads = 0;
    const std::unique_ptr<WebPAnimDecoder, AnimDeleter> decoder(WebPAnimDecoderNew(&data, &anim_options));
    std::uint8_t* canvas = nullptr;
    int timestamp = 0;
    if (!decoder || !WebPAnimDecoderGetNext(decoder.get(), &canvas, &timestamp) || !canvas)
      throw DecodeError("the first frame cannot be decoded");
    std::memcpy(image.pixels.data(), canvas, image.byte_size());
  } else {
    const auto stride = static_cast<int>(image.row_bytes());
    const std::uint8_t* ok =
        alpha ? WebPDecodeRGBAInto(bytes.data(), bytes.size(), image.pixels.data(), image.byte_size(), stride)
              : WebPDecodeRGBInto(bytes.data(), bytes.size(), image.pixels.data(), image.byte_size(), stride);
    if (!ok) {
      WebPDecoderConfig config;
      WebPInitDecoderConfig(&config);
      const VP8StatusCode status = WebPGetFeatures(bytes.data(), bytes.size(), &config.input);
      throw DecodeError("cannot decode: " + status_text(status == VP8_STATUS_OK ? VP8_STATUS_BITSTREAM_ERROR : status));
    }
  }

  WebPChunkIterator chunk;
  ExifFields exif;
  if ((flags & EXIF_FLAG) && WebPDemuxGetChunk(demux.get(), "EXIF", 1, &chunk)) {
    std::span<const std::uint8_t> block(chunk.chunk.bytes, chunk.chunk.size);
    if (block.size() > 6 && std::memcmp(block.data(), "Exif\0\0", 6) == 0) block = block.subspan(6);
    exif = read_exif(block);
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  add_exif_resolution(image, exif, notes);
  if ((flags & ICCP_FLAG) && WebPDemuxGetChunk(demux.get(), "ICCP", 1, &chunk)) {
    add_icc_profile(image, {chunk.chunk.bytes, chunk.chunk.size}, notes);
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  apply_orientation(image, exif.orientation, notes);
}

}  // namespace imgflow
