#include "files/document.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <map>
#include <system_error>


namespace imgflow {
namespace {

// The document's temporary, written and read at any offset.
class DescriptorFile final : public DocumentFile {
 public:
  explicit DescriptorFile(int fd) : fd_(fd) {}
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "write");
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      offset += static_cast<std::uint64_t>(n);
    }
  }
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::system_error(errno, std::generic_category(), "read");
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }
  std::uint64_t size() override {
    struct stat info {};
    if (::fstat(fd_, &info) != 0) throw std::system_error(errno, std::generic_category(), "stat");
    return static_cast<std::uint64_t>(info.st_size);
  }

 private:
  int fd_;
};

}  // namespace

std::string document_source(const std::vector<std::string>& sources) {
  if (sources.size() == 1) return sources[0];
  XXH3_state_t* state = XXH3_createState();
  if (!state) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  for (const std::string& source : sources) {
    XXH3_64bits_update(state, source.data(), source.size());
    XXH3_64bits_update(state, "\n", 1);
  }
  const std::uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return fmt::format("files={} xxh3={:016x}", sources.size(), hash);
}

std::string_view join_name(JoinKind kind) { return kind == JoinKind::folders ? "folders" : "documents"; }

std::optional<JoinKind> parse_join(std::string_view name) {
  for (const JoinKind kind : {JoinKind::documents, JoinKind::folders})
    if (name == join_name(kind)) return kind;
  return std::nullopt;
}

std::vector<std::vector<std::filesystem::path>> DocumentSet::inputs(const Listing& listing) const {
  std::vector<std::vector<std::filesystem::path>> by_document(documents.size());
  for (std::size_t i = 0; i < document_of.size(); ++i) by_document[document_of[i].first].push_back(listing.files[i].input());
  return by_document;
}

DocumentSet plan_documents(const Listing& listing, JoinKind kind, const std::filesystem::path& output_dir,
                           std::string_view extension) {
  namespace fs = std::filesystem;
  DocumentSet set;
  std::map<fs::path, std::size_t> by_output;
  set.document_of.reserve(listing.files.size());
  for (const ListedFile& file : listing.files) {
    fs::path output;
    if (kind == JoinKind::documents) {
      output = output_dir / output_relative_path(file.relative(), extension);
    } else {
      fs::path folder = file.relative().parent_path();
      if (folder.empty()) folder = fs::absolute(file.input()).parent_path().filename();
      if (folder.empty()) folder = "root";
      output = output_dir / folder;
      output += extension;
    }
    auto [it, added] = by_output.emplace(output, set.documents.size());
    if (added || kind == JoinKind::documents) {
      it->second = set.documents.size();
      set.documents.push_back({output, 0});
    }
    set.document_of.emplace_back(it->second, set.documents[it->second].files++);
  }
  return set;
}

OutputState check_document(const std::filesystem::path& output, const std::vector<std::filesystem::path>& inputs,
                           std::string_view stamp, Bytes& scratch) {
  return check_output(
      output, stamp,
      [&](Bytes& bytes) {
        std::vector<std::string> sources;
        for (const auto& input : inputs) {
          timespec modified{};
          read_file(input, bytes, &modified);
          sources.push_back(source_record(bytes, modified));
        }
        return document_source(sources);
      },
      scratch);
}

DocumentAssembly::DocumentAssembly(const Format& format, const DocumentPlan& plan, std::filesystem::path root,
                                   std::string software, bool sync)
    : format_(format), plan_(plan), root_(std::move(root)), software_(std::move(software)), sync_(sync),
      sources_(plan.files) {}

DocumentAssembly::~DocumentAssembly() = default;  // an unfinished temporary is removed with staged_

void DocumentAssembly::take(std::size_t file, std::size_t page, std::size_t pages, Bytes* encoded,
                            const std::string& source) {
  if (settled()) return;
  if (file >= plan_.files || page >= pages) return fail("a page out of its document's order (an internal error)");
  sources_[file] = source;
  Part part;
  part.skipped = encoded == nullptr;
  part.pages = pages;
  if (encoded) part.bytes = std::move(*encoded);
  if (file != next_file_ || page != next_page_) {
    early_.emplace(std::pair{file, page}, std::move(part));
    return;
  }
  try {
    append(part);
    for (auto it = early_.find({next_file_, next_page_}); it != early_.end() && !settled();
         it = early_.find({next_file_, next_page_})) {
      Part next = std::move(it->second);
      early_.erase(it);
      append(next);
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

void DocumentAssembly::append(Part& part) {
  if (!part.skipped) {
    if (!writer_) {
      staged_.emplace(plan_.output, std::span<const std::uint8_t>{}, root_);
      file_ = std::make_unique<DescriptorFile>(staged_->fd());
      writer_ = format_.open_document(*file_, software_);
    }
    writer_->add_page(part.bytes);
    ++pages_written_;
  }
  if (++next_page_ == part.pages) ++next_file_, next_page_ = 0;
  if (next_file_ == plan_.files) complete();
}

void DocumentAssembly::complete() {
  if (!writer_) return fail("none of its pages was selected");
  writer_->finish(software_, document_source(sources_));
  writer_.reset();
  file_.reset();
  if (sync_) staged_->sync();
  staged_->publish();
  staged_.reset();
  finished_ = true;
}

void DocumentAssembly::fail(std::string reason) {
  if (settled()) return;
  error_ = std::move(reason);
  early_.clear();
  writer_.reset();
  file_.reset();
  staged_.reset();  // removes the temporary
}

}  // namespace imgflow
