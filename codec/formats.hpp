#pragma once
// The one table of image formats: each row says what a format is called, which file names it
// goes by, how its bytes begin, which functions decode it and list its pages, and, for a format
// imgflow writes, its encoder, its output's extension and how to read back what an output
// records.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/document.hpp"
#include "codec/image.hpp"
#include "codec/options.hpp"
#include "codec/scratch.hpp"

namespace imgflow {

/// The pages of a file, as the decoder finds them: an opaque reference per page (for TIFF the
/// offset of its directory), in file order, and the reason when the page chain is damaged
/// after the pages listed.
struct PageList {
  std::vector<std::uint64_t> pages;
  std::string damage;
};

using DecodeFunction = void (*)(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                                std::uint64_t page, Image& image, DecodeNotes& notes, CodecScratch& scratch);
using ListPagesFunction = PageList (*)(std::span<const std::uint8_t> bytes, const DecodeOptions& options);
struct EncodeSettings;
struct Recorded;
using EncodeFunction = void (*)(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch);
using ReadRecordFunction = Recorded (*)(std::span<const std::uint8_t> bytes);

/// What a written format's pages can hold; the encode stage fits a page to it first (the rule
/// for each layout it cannot hold is in pipeline/stages.cpp and docs/formats.md).
struct Holds {
  bool bilevel = false;      ///< 1-bit pages as 1-bit
  bool sixteen_bit = false;  ///< 16-bit samples
  bool alpha = false;        ///< an alpha channel
};

struct Format {
  std::string_view name;                         ///< "PNG", "TIFF", ...
  std::span<const std::string_view> extensions;  ///< lower case, with the dot
  bool (*matches)(std::span<const std::uint8_t> bytes);  ///< by the first bytes
  DecodeFunction decode;                         ///< null: recognised but not readable
  ListPagesFunction list_pages;                  ///< null: one page
  std::string_view advice;                       ///< for unreadable formats: what to do instead
  // Written formats only (null/empty otherwise):
  std::string_view key = {};                     ///< the name --format takes: "png", "tiff"
  std::string_view output_extension = {};        ///< ".png", ".tif"
  EncodeFunction encode = nullptr;               ///< codec/encode.hpp
  ReadRecordFunction read_record = nullptr;      ///< the texts an output recorded, for resuming
  Holds holds = {};
  OpenDocumentFunction open_document = nullptr;  ///< formats of many pages: codec/document.hpp
};

/// Every format imgflow recognises, readable ones first.
std::span<const Format> formats();

/// The format whose magic bytes `bytes` start with, or null.
const Format* format_of(std::span<const std::uint8_t> bytes);

/// The format a file name's extension belongs to (any letter case), or null.
const Format* format_of_name(std::string_view filename);

/// The written format --format names ("png", "tiff"), or null.
const Format* output_format(std::string_view key);
/// The default output: PNG.
const Format& png_format();

// The decoders, one per format (codec/*_decode.cpp). Each throws DecodeError with the
// library's own diagnosis, checks the pixel limit and what the data could hold before
// allocating, and fills `image.metadata` with pHYs/iCCP/sBIT chunks.
void decode_png_file(std::span<const std::uint8_t>, const DecodeOptions&, std::uint64_t, Image&, DecodeNotes&, CodecScratch&);
void decode_jpeg(std::span<const std::uint8_t>, const DecodeOptions&, std::uint64_t, Image&, DecodeNotes&, CodecScratch&);
void decode_tiff(std::span<const std::uint8_t>, const DecodeOptions&, std::uint64_t, Image&, DecodeNotes&, CodecScratch&);
PageList list_tiff_pages(std::span<const std::uint8_t>, const DecodeOptions&);
void decode_webp(std::span<const std::uint8_t>, const DecodeOptions&, std::uint64_t, Image&, DecodeNotes&, CodecScratch&);
void decode_jp2(std::span<const std::uint8_t>, const DecodeOptions&, std::uint64_t, Image&, DecodeNotes&, CodecScratch&);
void decode_gif(std::span<const std::uint8_t>, const DecodeOptions&, std::uint64_t, Image&, DecodeNotes&, CodecScratch&);
void decode_bmp(std::span<const std::uint8_t>, const DecodeOptions&, std::uint64_t, Image&, DecodeNotes&, CodecScratch&);
void decode_pnm(std::span<const std::uint8_t>, const DecodeOptions&, std::uint64_t, Image&, DecodeNotes&, CodecScratch&);

}  // namespace imgflow
