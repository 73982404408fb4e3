// GIF through giflib: the first frame, on the logical screen as a still viewer shows it, and
// the number of frames (the rest are walked over, not decoded).
#include <gif_lib.h>

#include <cstring>
#include <string>

#include "codec/formats.hpp"

namespace imgflow {
namespace {

struct Source {
  std::span<const std::uint8_t> bytes;
  std::size_t position = 0;
};

int read_fn(GifFileType* gif, GifByteType* out, int size) {
  auto* s = static_cast<Source*>(gif->UserData);
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(size), s->bytes.size() - s->position);
  std::memcpy(out, s->bytes.data() + s->position, n);
  s->position += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

std::string gif_error(const GifFileType* gif, const char* what) {
  const char* reason = gif ? GifErrorString(gif->Error) : nullptr;
  return std::string(what) + (reason ? std::string(": ") + reason : "");
}

// An LZW code of 3 to 12 bits yields at most 4096 pixels: a frame needs pixels * 3 / 4096 bits.
constexpr std::uint64_t kMaxPixelsPerByte = 8 * 4096 / 3;

}  // namespace

void decode_gif(std::span<const std::uint8_t> bytes, const DecodeOptions& options, std::uint64_t, Image& image,
                DecodeNotes& notes, CodecScratch&) {
  Source source{bytes};
  int error = 0;
  const std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&source, read_fn, &error));
  if (!gif) throw DecodeError(std::string("not a readable GIF: ") + (GifErrorString(error) ? GifErrorString(error) : "error"));
  const int screen_width = gif->SWidth, screen_height = gif->SHeight;
  if (screen_width <= 0 || screen_height <= 0) throw DecodeError("the logical screen has no pixels");
  check_pixel_limit(static_cast<std::uint64_t>(screen_width), static_cast<std::uint64_t>(screen_height), options.max_pixels);

  int transparent = -1;
  std::size_t frames = 0;
  bool first_done = false;
  for (;;) {
    GifRecordType record;
    if (DGifGetRecordType(gif.get(), &record) == GIF_ERROR) {
      if (!first_done) throw DecodeError(gif_error(gif.get(), "truncated or damaged"));
      warn(options, notes, gif_error(gif.get(), ("damaged after frame " + std::to_string(frames)).c_str()));
      break;
    }
    if (record == TERMINATE_RECORD_TYPE) break;
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) == GIF_ERROR) {
        if (!first_done) throw DecodeError(gif_error(gif.get(), "damaged extension"));
        break;
      }
      if (code == GRAPHICS_EXT_FUNC_CODE && block && !first_done) {
        GraphicsControlBlock control;
        if (DGifExtensionToGCB(block[0], block + 1, &control) == GIF_OK) transparent = control.TransparentColor;
      }
      while (block) {
        if (DGifGetExtensionNext(gif.get(), &block) == GIF_ERROR) {
          if (!first_done) throw DecodeError(gif_error(gif.get(), "damaged extension"));
          block = nullptr;
        }
      }
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) {
      if (!first_done) throw DecodeError(gif_error(gif.get(), "damaged image descriptor"));
      break;
    }
    ++frames;
    const GifImageDesc& desc = gif->Image;
    if (first_done) {  // later frames: walk over their data
      int code_size = 0;
      GifByteType* block = nullptr;
      bool ok = DGifGetCode(gif.get(), &code_size, &block) != GIF_ERROR;
      while (ok && block) ok = DGifGetCodeNext(gif.get(), &block) != GIF_ERROR;
      if (!ok) {
        warn(options, notes, gif_error(gif.get(), ("frame " + std::to_string(frames) + " is damaged").c_str()));
        break;
      }
      continue;
    }
    const ColorMapObject* colours = desc.ColorMap ? desc.ColorMap : gif->SColorMap;
    if (!colours || !colours->Colors) throw DecodeError("no colour table for the first frame");
    if (desc.Width <= 0 || desc.Height <= 0 || desc.Left < 0 || desc.Top < 0 ||
        desc.Left + desc.Width > screen_width || desc.Top + desc.Height > screen_height)
      throw DecodeError("the first frame lies outside the logical screen");
    const std::uint64_t frame_pixels = std::uint64_t(desc.Width) * desc.Height;
    if ((bytes.size() - source.position) * kMaxPixelsPerByte < frame_pixels)
      throw DecodeError("too little data for a " + std::to_string(desc.Width) + "x" + std::to_string(desc.Height) + " frame");
    Bytes indices(frame_pixels);
    // Interlaced frames store rows in four passes: every 8th from 0, every 8th from 4, every
    // 4th from 2, every 2nd from 1.
    static constexpr int kStart[] = {0, 4, 2, 1}, kStep[] = {8, 8, 4, 2};
    const int passes = desc.Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; ++pass)
      for (int y = desc.Interlace ? kStart[pass] : 0; y < desc.Height; y += desc.Interlace ? kStep[pass] : 1)
        if (DGifGetLine(gif.get(), indices.data() + std::size_t(y) * desc.Width, desc.Width) == GIF_ERROR)
          throw DecodeError(gif_error(gif.get(), "truncated or damaged image data"));
    const bool covers = desc.Left == 0 && desc.Top == 0 && desc.Width == screen_width && desc.Height == screen_height;
    const bool alpha = transparent >= 0 || !covers;
    image.width = screen_width;
    image.height = screen_height;
    image.channels = alpha ? 4 : 3;
    image.bit_depth = 8;
    image.allocate();
    std::memset(image.pixels.data(), 0, image.byte_size());  // outside the frame: transparent
    for (int y = 0; y < desc.Height; ++y)
      for (int x = 0; x < desc.Width; ++x) {
        const int index = indices[std::size_t(y) * desc.Width + x];
        if (index >= colours->ColorCount)
          throw DecodeError("pixel index " + std::to_string(index) + " past the colour table's " +
                            std::to_string(colours->ColorCount) + " entries");
        std::uint8_t* out = image.pixels.data() + (std::size_t(desc.Top + y) * screen_width + desc.Left + x) * image.channels;
        out[0] = colours->Colors[index].Red;
        out[1] = colours->Colors[index].Green;
        out[2] = colours->Colors[index].Blue;
        if (alpha) out[3] = index == transparent ? 0 : 255;
      }
    first_done = true;
  }
  if (!first_done) throw DecodeError("no frame");
  notes.frames = frames;
}

}  // namespace imgflow
