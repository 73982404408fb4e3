#include "codec/encode.hpp"

#include "codec/png_format.hpp"

namespace imgflow {

void encode_png_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch) {
  const auto add_text = [&](std::string_view keyword, std::string_view value) {
    AncillaryChunk& text = image.metadata.emplace_back();
    text.type = {'t', 'E', 'X', 't'};
    text.data.assign(keyword.begin(), keyword.end());
    text.data.push_back(0);
    text.data.insert(text.data.end(), value.begin(), value.end());
  };
  if (!settings.software.empty()) {
    add_text(png::kSoftwareKeyword, settings.software);
    add_text(png::kSourceKeyword, settings.description);
  }
  encode_png_fast(image, out, settings.png, settings.bands, scratch);
}

void encode_tiff_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch) {
  TiffEncodeSettings tiff = settings.tiff;
  tiff.deflate = settings.png;
  encode_tiff(image, tiff, settings.software, settings.description, out, &scratch);
}

Recorded read_png_record(std::span<const std::uint8_t> bytes) {
  const png::Structure s = png::inspect(bytes, /*check_crcs=*/true);
  return {s.header && s.complete && s.bad_crc_chunk.empty() && s.idat_bytes > 0, s.software, s.source};
}

}  // namespace imgflow
