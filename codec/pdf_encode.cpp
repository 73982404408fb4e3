// PDF out, by a small writer of our own (docs/formats.md says why not qpdf): each page one image
// XObject drawn over the whole page, the page's size its pixels at its resolution (72 dpi when it
// has none), so that it prints at its true size. 1-bit pages are CCITT G4 (imgflow's coder, as in
// a G4 TIFF); other pages are the zlib stream of imgflow's own PNG encoder with PNG predictors
// (what PDF's FlateDecode takes as it is), or, with a quality, JPEG (DCTDecode) for 8-bit pages;
// alpha is a soft mask; the ICC profile an ICCBased colour space. The objects are written as
// they come, so a document of any length is streamed page by page; the page tree, the document
// information (the resume stamp: /Producer and /ImgflowSource) and the cross-reference table
// close it.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "codec/ccitt_g4.hpp"
#include "codec/document.hpp"
#include "codec/encode.hpp"
#include "codec/metadata.hpp"
#include "codec/png_format.hpp"

namespace imgflow {
namespace {

// One page, ready to be written as objects: what a page part carries from the encode stage to
// the document.
struct PdfPage {
  double width_pt = 0, height_pt = 0;
  std::uint32_t width = 0, height = 0;
  int components = 1, bits = 8;
  std::string filter;  // the image dictionary's /Filter and /DecodeParms entries
  Bytes data;
  int mask_bits = 0;   // 0: no soft mask
  std::string mask_filter;
  Bytes mask;
  Bytes icc;
};

// The zlib stream of the image data of a PNG our encoder made, and its PDF filter entries.
void flate_part(const Image& image, const EncodeSettings& settings, CodecScratch& scratch, std::string& filter, Bytes& data) {
  Bytes png;
  encode_png_fast(image, png, settings.png, settings.bands, scratch);
  data.clear();
  png::ChunkWalk walk(png);
  png::Chunk chunk;
  while (walk.next(chunk))
    if (chunk.is("IDAT")) data.insert(data.end(), chunk.data(), chunk.data() + chunk.length);
  filter = fmt::format("/Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors {} /BitsPerComponent {} /Columns {} >>",
                       image.channels, image.bit_depth, image.width);
}

PdfPage make_page(Image& image, const EncodeSettings& settings, CodecScratch& scratch) {
  PdfPage page;
  page.width = static_cast<std::uint32_t>(image.width);
  page.height = static_cast<std::uint32_t>(image.height);
  const auto dpi = whole_resolution_dpi(image);
  page.width_pt = image.width * 72.0 / (dpi ? dpi->first : 72.0);
  page.height_pt = image.height * 72.0 / (dpi ? dpi->second : 72.0);
  page.icc = [&] {
    const std::vector<std::uint8_t> profile = icc_profile(image);
    return Bytes(profile.begin(), profile.end());
  }();
  // The encoders below see the pixels only: the profile and resolution are the PDF's, not
  // repeated inside a JPEG page (or the PNG whose image data a Flate page takes).
  std::vector<AncillaryChunk> metadata = std::move(image.metadata);
  image.metadata.clear();
  struct Restore {
    Image& image;
    std::vector<AncillaryChunk>& metadata;
    ~Restore() { image.metadata = std::move(metadata); }
  } restore{image, metadata};

  if (image.bit_depth == 1) {
    page.components = 1;
    page.bits = 1;
    encode_g4(image, page.data);
    page.filter = fmt::format("/Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns {} /Rows {} /BlackIs1 false >>",
                              image.width, image.height);
    return page;
  }
  const bool alpha = image.channels == 2 || image.channels == 4;
  page.components = alpha ? image.channels - 1 : image.channels;
  page.bits = image.bit_depth;
  // With alpha, the colour and the mask are two images.
  Image colour, mask;
  if (alpha) {
    const std::size_t bytes = image.bytes_per_sample(), pixels = static_cast<std::size_t>(image.width) * image.height;
    const std::size_t step = bytes * image.channels, colour_step = bytes * page.components;
    colour.width = mask.width = image.width;
    colour.height = mask.height = image.height;
    colour.bit_depth = mask.bit_depth = image.bit_depth;
    colour.channels = page.components;
    mask.channels = 1;
    colour.allocate();
    mask.allocate();
    for (std::size_t i = 0; i < pixels; ++i) {
      std::memcpy(colour.pixels.data() + i * colour_step, image.pixels.data() + i * step, colour_step);
      std::memcpy(mask.pixels.data() + i * bytes, image.pixels.data() + i * step + colour_step, bytes);
    }
    page.mask_bits = image.bit_depth;
    flate_part(mask, settings, scratch, page.mask_filter, page.mask);
  }
  const Image& shown = alpha ? colour : image;
  if (settings.quality > 0 && !settings.lossless && shown.bit_depth == 8) {
    encode_jpeg(shown, settings.quality, {}, {}, page.data);
    page.filter = "/Filter /DCTDecode";
  } else {
    flate_part(shown, settings, scratch, page.filter, page.data);
  }
  return page;
}

// A page part: the page's fields and blobs, each blob after its 8-byte length.
constexpr std::string_view kPartMagic = "imgflow-pdf-page-1\n";

void put_blob(Bytes& out, std::span<const std::uint8_t> blob) {
  std::uint64_t n = blob.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), blob.begin(), blob.end());
}
std::span<const std::uint8_t> text_span(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

void serialise(const PdfPage& page, Bytes& out) {
  out.clear();
  out.insert(out.end(), kPartMagic.begin(), kPartMagic.end());
  const std::string numbers = fmt::format("{:.17g} {:.17g} {} {} {} {} {}", page.width_pt, page.height_pt, page.width,
                                          page.height, page.components, page.bits, page.mask_bits);
  put_blob(out, text_span(numbers));
  put_blob(out, text_span(page.filter));
  put_blob(out, page.data);
  put_blob(out, text_span(page.mask_filter));
  put_blob(out, page.mask);
  put_blob(out, page.icc);
}

PdfPage parse(std::span<const std::uint8_t> in) {
  const auto bad = [] { return EncodeError("not a PDF page part from imgflow's encoder"); };
  if (in.size() < kPartMagic.size() || !std::equal(kPartMagic.begin(), kPartMagic.end(), in.begin())) throw bad();
  std::size_t at = kPartMagic.size();
  const auto blob = [&]() -> std::span<const std::uint8_t> {
    if (in.size() - at < 8) throw bad();
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= std::uint64_t{in[at + i]} << (8 * i);
    at += 8;
    if (n > in.size() - at) throw bad();
    const auto b = in.subspan(at, static_cast<std::size_t>(n));
    at += static_cast<std::size_t>(n);
    return b;
  };
  const auto text = [](std::span<const std::uint8_t> b) { return std::string(b.begin(), b.end()); };
  PdfPage page;
  const std::string numbers = text(blob());
  if (std::sscanf(numbers.c_str(), "%lf %lf %u %u %d %d %d", &page.width_pt, &page.height_pt, &page.width, &page.height,
                  &page.components, &page.bits, &page.mask_bits) != 7)
    throw bad();
  page.filter = text(blob());
  const auto data = blob();
  page.data.assign(data.begin(), data.end());
  page.mask_filter = text(blob());
  const auto mask = blob();
  page.mask.assign(mask.begin(), mask.end());
  const auto icc = blob();
  page.icc.assign(icc.begin(), icc.end());
  return page;
}

std::string hex_string(std::string_view text) {
  std::string out = "<";
  for (const unsigned char c : text) out += fmt::format("{:02X}", c);
  return out + ">";
}

class PdfDocument final : public DocumentWriter {
 public:
  // The stamp comes first (so that a file cut short still says who made it: files/resume.hpp):
  // the software's, and room for the source, which a document knows only at its end.
  PdfDocument(DocumentFile& file, std::string_view software) : file_(file) {
    offsets_.assign(4, 0);  // 0 is free; 1 the catalogue and 2 the page tree, written last; 3 the information
    put("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    begin_object(3);
    put("<< ");
    if (!software.empty()) {
      put("/Producer " + hex_string(software) + " /ImgflowSource <");
      source_at_ = offset_;
      put(std::string(kSourceRoom * 2, ' '));
      put("> ");
    }
    put(">>\nendobj\n");
  }

  void add_page(std::span<const std::uint8_t> part) override { write_page(parse(part)); }

  void write_page(const PdfPage& page) {
    std::uint32_t icc = 0, mask = 0;
    if (!page.icc.empty()) {
      icc = begin_object();
      put(fmt::format("<< /N {} /Alternate {} /Length {} >>\nstream\n", page.components,
                      page.components == 1 ? "/DeviceGray" : "/DeviceRGB", page.icc.size()));
      end_stream(page.icc);
    }
    if (page.mask_bits) {
      mask = begin_object();
      put(fmt::format("<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray "
                      "/BitsPerComponent {} {} /Length {} >>\nstream\n",
                      page.width, page.height, page.mask_bits, page.mask_filter, page.mask.size()));
      end_stream(page.mask);
    }
    const std::uint32_t image = begin_object();
    const std::string colour_space = icc ? fmt::format("[/ICCBased {} 0 R]", icc)
                                     : page.components == 1 ? "/DeviceGray" : "/DeviceRGB";
    put(fmt::format("<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {} /BitsPerComponent {} {}{} "
                    "/Length {} >>\nstream\n",
                    page.width, page.height, colour_space, page.bits, page.filter,
                    mask ? fmt::format(" /SMask {} 0 R", mask) : std::string(), page.data.size()));
    end_stream(page.data);
    const std::string drawing = fmt::format("q {:.4f} 0 0 {:.4f} 0 0 cm /Im0 Do Q\n", page.width_pt, page.height_pt);
    const std::uint32_t contents = begin_object();
    put(fmt::format("<< /Length {} >>\nstream\n", drawing.size()));
    end_stream(text_span(drawing));
    const std::uint32_t page_object = begin_object();
    put(fmt::format("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {:.4f} {:.4f}] /Resources << /XObject << /Im0 {} 0 R >> >> "
                    "/Contents {} 0 R >>\nendobj\n",
                    page.width_pt, page.height_pt, image, contents));
    pages_.push_back(page_object);
  }

  void finish(std::string_view software, std::string_view description) override {
    if (pages_.empty()) throw EncodeError("a PDF needs at least one page");
    std::string kids;
    for (const std::uint32_t p : pages_) kids += fmt::format("{} 0 R ", p);
    begin_object(2);
    put(fmt::format("<< /Type /Pages /Count {} /Kids [ {}] >>\nendobj\n", pages_.size(), kids));
    begin_object(1);
    put("<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    if (source_at_) {
      if (description.size() > kSourceRoom) throw EncodeError("the resume stamp's source is too long for a PDF");
      const std::string hex = hex_string(description);
      file_.write_at(source_at_, text_span(std::string_view(hex).substr(1, hex.size() - 2)));
    } else if (!software.empty()) {
      throw EncodeError("a PDF's stamp is written at its start: the software was not given then");
    }
    const std::uint32_t info = 3;
    const std::uint64_t xref = offset_;
    std::string table = fmt::format("xref\n0 {}\n0000000000 65535 f \n", offsets_.size());
    for (std::size_t i = 1; i < offsets_.size(); ++i) table += fmt::format("{:010d} 00000 n \n", offsets_[i]);
    table += fmt::format("trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{}\n%%EOF\n", offsets_.size(), info, xref);
    put(table);
  }

 private:
  void put(std::string_view text) { put(text_span(text)); }
  void put(std::span<const std::uint8_t> bytes) {
    file_.write_at(offset_, bytes);
    offset_ += bytes.size();
  }
  std::uint32_t begin_object(std::uint32_t number = 0) {
    if (!number) {
      number = static_cast<std::uint32_t>(offsets_.size());
      offsets_.push_back(0);
    }
    if (offset_ > 9999999999ull) throw EncodeError("a PDF's cross-reference table holds offsets below 10 GB only");
    offsets_[number] = offset_;
    put(fmt::format("{} 0 obj\n", number));
    return number;
  }
  void end_stream(std::span<const std::uint8_t> data) {
    put(data);
    put("\nendstream\nendobj\n");
  }

  static constexpr std::size_t kSourceRoom = 256;  ///< bytes of the source the stamp has room for
  DocumentFile& file_;
  std::uint64_t offset_ = 0, source_at_ = 0;
  std::vector<std::uint64_t> offsets_;
  std::vector<std::uint32_t> pages_;
};

// A document written into memory: a one-page PDF.
struct MemoryFile final : DocumentFile {
  Bytes& out;
  explicit MemoryFile(Bytes& o) : out(o) { out.clear(); }
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> bytes) override {
    if (offset + bytes.size() > out.size()) out.resize(static_cast<std::size_t>(offset + bytes.size()));
    std::memcpy(out.data() + offset, bytes.data(), bytes.size());
  }
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> into) override {
    if (offset >= out.size()) return 0;
    const std::size_t n = std::min<std::size_t>(into.size(), out.size() - static_cast<std::size_t>(offset));
    std::memcpy(into.data(), out.data() + offset, n);
    return n;
  }
  std::uint64_t size() override { return out.size(); }
};

}  // namespace

std::unique_ptr<DocumentWriter> open_pdf_document(DocumentFile& file, std::string_view software) {
  return std::make_unique<PdfDocument>(file, software);
}

void encode_pdf_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch& scratch) {
  const PdfPage page = make_page(image, settings, scratch);
  if (settings.document_page) {
    serialise(page, out);
    return;
  }
  MemoryFile file(out);
  PdfDocument document(file, settings.software);
  document.write_page(page);
  document.finish(settings.software, settings.description);
}

Recorded read_pdf_record(std::span<const std::uint8_t> bytes) {
  Recorded recorded;
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!text.starts_with("%PDF-")) return recorded;
  // The stamp: the information dictionary imgflow writes first (object 3, within the first KiB).
  const std::string_view head = text.substr(0, std::min<std::size_t>(text.size(), 1024));
  const auto hex_value = [&](std::string_view key) {
    std::string out;
    const auto at = head.find(key);
    if (at == std::string_view::npos) return out;
    const auto open = head.find('<', at), close = head.find('>', at);
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) return out;
    int high = -1;
    for (std::size_t i = open + 1; i < close; ++i) {
      const char c = head[i];
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) continue;  // white space (the room left for a document's source)
      if (high < 0) {
        high = digit;
      } else {
        out += static_cast<char>(high << 4 | digit);
        high = -1;
      }
    }
    return out;
  };
  recorded.software = hex_value("/Producer ");
  recorded.description = hex_value("/ImgflowSource ");
  // Whole: it ends with %%EOF after a cross-reference table where startxref says.
  std::string_view end = text;
  while (!end.empty() && (end.back() == '\n' || end.back() == '\r' || end.back() == ' ')) end.remove_suffix(1);
  const auto startxref = text.rfind("startxref");
  if (!end.ends_with("%%EOF") || startxref == std::string_view::npos || text.size() - startxref > 64) return recorded;
  std::size_t p = startxref + 9;
  while (p < text.size() && (text[p] == '\n' || text[p] == '\r' || text[p] == ' ')) ++p;
  std::uint64_t xref = 0;
  const auto [stop, error] = std::from_chars(text.data() + p, text.data() + text.size(), xref);
  recorded.whole = error == std::errc{} && xref < text.size() && text.substr(static_cast<std::size_t>(xref), 4) == "xref";
  return recorded;
}

}  // namespace imgflow
