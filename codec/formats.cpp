#include "codec/formats.hpp"

#include "codec/encode.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace imgflow {
namespace {

bool starts_with(std::span<const std::uint8_t> bytes, std::string_view prefix, std::size_t at = 0) {
  return bytes.size() >= at + prefix.size() && std::memcmp(bytes.data() + at, prefix.data(), prefix.size()) == 0;
}

bool is_png(std::span<const std::uint8_t> b) { return starts_with(b, "\x89PNG\r\n\x1a\n"); }
bool is_jpeg(std::span<const std::uint8_t> b) { return starts_with(b, "\xFF\xD8\xFF"); }
bool is_tiff(std::span<const std::uint8_t> b) {
  return starts_with(b, std::string_view("II*\0", 4)) || starts_with(b, std::string_view("MM\0*", 4)) ||
         starts_with(b, std::string_view("II+\0", 4)) || starts_with(b, std::string_view("MM\0+", 4));  // BigTIFF
}
bool is_webp(std::span<const std::uint8_t> b) { return starts_with(b, "RIFF") && starts_with(b, "WEBP", 8); }
bool is_jp2(std::span<const std::uint8_t> b) {
  return starts_with(b, std::string_view("\0\0\0\x0CjP  \r\n\x87\n", 12)) ||  // JP2 signature box
         starts_with(b, "\xFF\x4F\xFF\x51");                                     // raw codestream: SOC, SIZ
}
bool is_gif(std::span<const std::uint8_t> b) { return starts_with(b, "GIF87a") || starts_with(b, "GIF89a"); }
bool is_bmp(std::span<const std::uint8_t> b) { return starts_with(b, "BM") && b.size() >= 18; }
bool is_pnm(std::span<const std::uint8_t> b) {
  return b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && std::isspace(b[2]);
}
bool is_pdf(std::span<const std::uint8_t> b) { return starts_with(b, "%PDF-"); }
bool is_zip(std::span<const std::uint8_t> b) { return starts_with(b, "PK\x03\x04"); }
bool is_heif(std::span<const std::uint8_t> b) { return starts_with(b, "ftyp", 4); }

using Names = std::array<std::string_view, 4>;
constexpr Names kPng{".png"}, kJpeg{".jpg", ".jpeg", ".jpe", ".jfif"}, kTiff{".tif", ".tiff"},
    kWebp{".webp"}, kJp2{".jp2", ".j2k", ".j2c", ".jpx"}, kGif{".gif"}, kBmp{".bmp", ".dib"},
    kPnm{".pnm", ".pbm", ".pgm", ".ppm"}, kPdf{".pdf"}, kZip{".zip"}, kHeif{".heic", ".heif", ".avif"};

std::span<const std::string_view> names(const Names& n) {
  return {n.data(), static_cast<std::size_t>(std::count_if(n.begin(), n.end(), [](auto s) { return !s.empty(); }))};
}

const std::array kFormats{
    Format{"PNG", names(kPng), is_png, decode_png_file, nullptr, {}, "png", ".png", encode_png_output, read_png_record,
           {.bilevel = true, .sixteen_bit = true, .alpha = true}},
    Format{"JPEG", names(kJpeg), is_jpeg, decode_jpeg, nullptr, {}, "jpeg", ".jpg", encode_jpeg_output, read_jpeg_record,
           {}},
    Format{"TIFF", names(kTiff), is_tiff, decode_tiff, list_tiff_pages, {}, "tiff", ".tif", encode_tiff_output,
           read_tiff_record, {.bilevel = true, .sixteen_bit = true, .alpha = true}, open_tiff_document},
    Format{"WebP", names(kWebp), is_webp, decode_webp, nullptr, {}, "webp", ".webp", encode_webp_output, read_webp_record,
           {.alpha = true}},
    Format{"JPEG 2000", names(kJp2), is_jp2, decode_jp2, nullptr, {}, "jp2", ".jp2", encode_jp2_output, read_jp2_record,
           {.sixteen_bit = true, .alpha = true}},
    Format{"GIF", names(kGif), is_gif, decode_gif, nullptr, {}},
    Format{"BMP", names(kBmp), is_bmp, decode_bmp, nullptr, {}},
    Format{"PNM", names(kPnm), is_pnm, decode_pnm, nullptr, {}},
    Format{"PDF", names(kPdf), is_pdf, nullptr, nullptr, "rasterise it first, e.g. `pdftoppm -r 300 -png`", "pdf", ".pdf",
           encode_pdf_output, read_pdf_record, {.bilevel = true, .sixteen_bit = true, .alpha = true}, open_pdf_document},
    Format{"ZIP", names(kZip), is_zip, nullptr, nullptr, "unpack it first"},
    Format{"HEIF/AVIF", names(kHeif), is_heif, nullptr, nullptr, "convert it first, e.g. `heif-convert`"},
};

}  // namespace

std::span<const Format> formats() { return kFormats; }

const Format* output_format(std::string_view key) {
  for (const Format& format : kFormats)
    if (format.encode && format.key == key) return &format;
  return nullptr;
}

const Format& png_format() { return kFormats[0]; }

const Format* format_of(std::span<const std::uint8_t> bytes) {
  for (const Format& format : kFormats)
    if (format.matches(bytes)) return &format;
  return nullptr;
}

const Format* format_of_name(std::string_view filename) {
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos) return nullptr;
  std::string ext(filename.substr(dot));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const Format& format : kFormats)
    for (const auto name : format.extensions)
      if (name == ext) return &format;
  return nullptr;
}

}  // namespace imgflow
