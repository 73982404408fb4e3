#pragma once
// Whole documents on disk (--join): the pages of one output file arrive from the pipeline in any
// order, encoded; the assembly puts them into the document's temporary in page order (holding
// only the encoded pages that came early), and the document is synced and renamed into place
// only once every page of every one of its inputs is in it. One failed page, or a failed write,
// abandons the document: its temporary is removed and nothing appears under its name.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/bytes.hpp"
#include "codec/formats.hpp"
#include "files/file_io.hpp"
#include "files/listing.hpp"
#include "files/resume.hpp"

namespace imgflow {

/// One output document: where it goes and how many inputs (in order) give it their pages.
struct DocumentPlan {
  std::filesystem::path output;
  std::size_t files = 0;
};

/// What a document records as made from: one input's record (files/resume.hpp) as it is; for
/// several, "files=N xxh3=HEX" of their records in order.
std::string document_source(const std::vector<std::string>& sources);

/// --join: what makes one output document.
enum class JoinKind {
  documents,  ///< each input's pages, in a file named as its output would be
  folders,    ///< each folder's images in listing (natural) order, in FOLDER.EXT
};
/// "documents" or "folders": --join's value, as the run report records it.
std::string_view join_name(JoinKind kind);
/// The kind `name` names; none for anything else ("none" included).
std::optional<JoinKind> parse_join(std::string_view name);

/// The documents of a listing, and each listed file's document and place in it (by listing
/// position). Files at the top of an INPUT directory (or named as INPUTs) make a document named
/// after the directory they are in. With JoinKind::documents, two files whose outputs collide
/// get a document each (the run fails the second).
struct DocumentSet {
  std::vector<DocumentPlan> documents;
  std::vector<std::pair<std::size_t, std::size_t>> document_of;

  /// The inputs of each document, in order.
  std::vector<std::vector<std::filesystem::path>> inputs(const Listing& listing) const;
};
DocumentSet plan_documents(const Listing& listing, JoinKind kind, const std::filesystem::path& output_dir,
                           std::string_view extension);

/// Judges a document's output as --skip-existing does a page's: finished when it records
/// `stamp` and the records of exactly `inputs` as they are now (each is read for its content
/// hash, only when the output is otherwise finished). An input that cannot be read makes it
/// `redo`.
OutputState check_document(const std::filesystem::path& output, const std::vector<std::filesystem::path>& inputs,
                           std::string_view stamp, Bytes& scratch);

/// Why a document the run stopped before finishing was not written.
inline constexpr std::string_view kDocumentStopped = "the run stopped before all its pages were done";

/// What became of a document: written (no error) or why not, and the pages it held then.
struct DocumentOutcome {
  std::filesystem::path output;
  std::size_t pages = 0;
  std::string error;     ///< empty: written
  bool unfinished = false;  ///< still open when the run ended (it stopped first)
};

class DocumentAssembly {
 public:
  /// `root`: the output directory (never re-created once gone); `sync`: fsync before the rename.
  DocumentAssembly(const Format& format, const DocumentPlan& plan, std::filesystem::path root, std::string software,
                   bool sync);
  ~DocumentAssembly();

  /// The page at `page` (0-based) of the `pages` pages taken from the document's `file`-th input,
  /// made from an input recorded as `source`: `encoded` (moved from) holds the page as the format's
  /// encoder made it, or is null for a page that is not written (left out by the page selection).
  void take(std::size_t file, std::size_t page, std::size_t pages, Bytes* encoded, const std::string& source);
  /// Abandons the document for `reason` (a page failed, the run stopped).
  void fail(std::string reason);

  bool settled() const { return finished_ || !error_.empty(); }
  DocumentOutcome outcome() const { return {plan_.output, pages_written_, error_}; }

 private:
  struct Part {
    Bytes bytes;
    bool skipped = false;
    std::size_t pages = 1;
  };
  void append(Part& part);
  void complete();

  const Format& format_;
  DocumentPlan plan_;
  std::filesystem::path root_;
  std::string software_;
  bool sync_;
  std::map<std::pair<std::size_t, std::size_t>, Part> early_;  ///< pages that came before their turn
  std::vector<std::string> sources_;
  std::size_t next_file_ = 0, next_page_ = 0, pages_written_ = 0;
  std::optional<StagedFile> staged_;
  std::unique_ptr<DocumentFile> file_;
  std::unique_ptr<DocumentWriter> writer_;
  bool finished_ = false;
  std::string error_;
};

}  // namespace imgflow
