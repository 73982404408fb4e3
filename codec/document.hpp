#pragma once
// Whole documents: the pages of one output file, put together in page order from pages the
// format's encoder has already made (encoded bytes only: no page's pixels are held). The codec
// writes a document's bytes; the file they go to is opened, synced and renamed by files/.
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace imgflow {

/// The file a document is written into, at any offset (TIFF patches its directories), read
/// back where written. Throws std::system_error when the disk fails.
struct DocumentFile {
  virtual ~DocumentFile() = default;
  virtual void write_at(std::uint64_t offset, std::span<const std::uint8_t> bytes) = 0;
  /// Bytes read at `offset` into `out` (fewer at the end of the file).
  virtual std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
  virtual std::uint64_t size() = 0;
};

/// Puts one document together. add_page takes each page as the format's encoder made it (with
/// EncodeSettings::document_page set), in page order; finish writes what ends the document and
/// records `software` and `description` (the resume stamp) for the document as a whole. Throws
/// EncodeError for a page it cannot take, std::system_error when the file fails.
class DocumentWriter {
 public:
  virtual ~DocumentWriter() = default;
  virtual void add_page(std::span<const std::uint8_t> page) = 0;
  virtual void finish(std::string_view software, std::string_view description) = 0;
};

/// `software`: the stamp finish() will be given (PDF writes it first, so that a file cut short
/// still says who made it).
using OpenDocumentFunction = std::unique_ptr<DocumentWriter> (*)(DocumentFile& file, std::string_view software);

std::unique_ptr<DocumentWriter> open_tiff_document(DocumentFile& file, std::string_view software);
std::unique_ptr<DocumentWriter> open_pdf_document(DocumentFile& file, std::string_view software);

}  // namespace imgflow
