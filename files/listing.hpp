#pragma once
#include <filesystem>
#include <cstdint>
#include <deque>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgflow {

/// Natural order: runs of digits compare by value, so "page2.png" < "page10.png". Paths compare
/// component by component. A strict weak order that is total on distinct strings.
bool natural_less(std::string_view a, std::string_view b);
bool natural_path_text_less(std::string_view a, std::string_view b);  ///< the same on "a/b" text
bool natural_path_less(const std::filesystem::path& a, const std::filesystem::path& b);

/// Whether a file or folder name is hidden (starts with '.'): never listed, never an input.
bool is_hidden(std::string_view name);

/// Whether the name ends like a format imgflow reads (codec/formats.hpp), in any letter case.
bool has_image_extension(const std::filesystem::path& path);

/// Why a file in the listed directory is not an input: the format it is named for and what to
/// do ("PDF: rasterise it first ..."), or "not an image".
std::string skip_reason(const std::filesystem::path& path);

/// A directory that could not be read while listing, and why.
struct ListingError {
  std::filesystem::path path;
  std::string reason;
};

/// A file the listing passed over, and why. `notable`: worth a line of its own at the default
/// verbosity (a FIFO, a device, a loop, a dangling link), not just a count (a text file).
struct SkippedFile {
  std::filesystem::path path;
  std::string reason;
  bool notable = false;
};

/// One input: the path to read, and where its output goes below the output directory (the
/// same text from `relative_from` on, extension not yet replaced). The text lives in its
/// Listing's name storage: 16 bytes here, the name's own bytes there.
struct ListedFile {
  const char* data = nullptr;
  std::uint32_t size = 0;
  std::uint32_t relative_from = 0;

  std::string_view path() const { return {data, size}; }
  std::filesystem::path input() const { return std::filesystem::path(path()); }
  std::filesystem::path relative() const { return std::filesystem::path(path().substr(relative_from)); }
};

/// Where a listing keeps its paths: blocks of 64 KiB filled one after another, never moved, so
/// a name costs its own bytes and a NUL, without an allocation of its own.
class NameStorage {
 public:
  NameStorage() = default;
  NameStorage(NameStorage&&) = default;
  NameStorage& operator=(NameStorage&&) = default;
  NameStorage(const NameStorage&) = delete;  // ListedFiles point into it
  NameStorage& operator=(const NameStorage&) = delete;
  /// A copy of `text` that lives as long as this storage.
  std::string_view store(std::string_view text);

 private:
  static constexpr std::size_t kBlock = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t used_ = kBlock;  ///< bytes used of the last block
};

struct Listing {
  /// Each INPUT's files in natural order, INPUTs in the order given. A deque: growing it never
  /// copies what is there (a vector's doubling would hold both copies at once).
  std::deque<ListedFile> files;
  NameStorage names;  ///< the bytes `files` point to
  std::vector<ListingError> errors;
  std::vector<SkippedFile> skipped;  ///< files that are not images imgflow reads
  /// Positions in `files` of the files named as INPUTs themselves (not found in a folder).
  std::vector<std::size_t> named;
  /// Pages a file list asked for, by position in `files` (only images listed with page=N fields).
  std::map<std::size_t, std::vector<int>> pages;

  void add(std::string_view path, std::size_t relative_from) {
    const std::string_view stored = names.store(path);
    files.push_back({stored.data(), static_cast<std::uint32_t>(stored.size()), static_cast<std::uint32_t>(relative_from)});
  }
};

/// How directories are walked.
struct WalkOptions {
  bool recursive = false;        ///< descend into subdirectories
  bool follow_symlinks = false;  ///< follow symbolic links to directories (links to files always are)
  std::vector<std::filesystem::path> skip_dirs;  ///< never list these (the output, inside an input)
};

/// The inputs named: a regular file is one input whatever its name (its output goes straight
/// into the output directory); a directory contributes its image files (named like a format
/// imgflow reads), skipping hidden entries (names starting with '.') and `skip_dirs`, with their
/// paths below it mirrored under the output directory. Symbolic links to files are read through;
/// links to directories are followed only with `follow_symlinks`, and then every directory is
/// listed once: a loop, or a second way into a directory already listed, is skipped and
/// reported (the walk is linear in the tree). FIFOs, devices, sockets and dangling links are
/// never opened: named as INPUTs, or named like an image in a folder, they are inputs whose read
/// fails (with the reason, so the run counts them as failed); under other names, skipped,
/// notable. An unreadable directory is an error, not fatal. The walk is
/// std::filesystem's recursive_directory_iterator: it streams each folder's entries (readdir),
/// so a folder of a million files costs no more than the listing itself.
Listing list_inputs(const std::vector<std::filesystem::path>& inputs, const WalkOptions& options);

/// One directory's listing (list_inputs with one input).
Listing list_images(const std::filesystem::path& root, bool recursive, const std::filesystem::path& skip_dir);

/// File lists (`--failures`, `--files-from`) are tab-separated lines; a field escapes tab,
/// newline, carriage return and backslash as \t \n \r \\ so any file name fits on one line.
std::string escape_list_field(std::string_view field);
std::string unescape_list_field(std::string_view field);

/// The images named in a file list, relative to `root` ("." for the current directory): a
/// path printed with `root` in front (as imgflow's own lists and messages do), an absolute path
/// under `root`, or a path relative to `root`. Lines (`separator` '\n') are tab-separated
/// fields, escaped (escape_list_field); the first is the path, "page=N" selects a page; blank
/// lines and lines starting with '#' are skipped. With `separator` '\0' (find -print0) each
/// entry is a bare path, taken as it is. A path outside `root` goes to `errors`. The result is
/// in natural order without duplicates.
Listing read_file_list(std::string_view text, const std::filesystem::path& root, char separator = '\n');

/// Where a run's inputs come from.
struct InputSpec {
  std::vector<std::filesystem::path> inputs;  ///< INPUT... (files and directories)
  std::filesystem::path files_from;           ///< a file list instead ("-": standard input)
  char separator = '\n';                      ///< the list's separator ('\0': NUL-separated)
  WalkOptions walk;
};

/// The inputs of a run, as imgflow lists them: the images named in `files_from` when it is given
/// (read_file_list, relative to the one INPUT directory, or to the current directory when none
/// is given), otherwise list_inputs, skipping `output_dir` when it exists inside an input.
/// imgflow and imgflow-merge both list through this, so a merge re-lists exactly what its shards
/// listed. Throws (std::system_error) when `files_from` cannot be read.
Listing list_run_inputs(const InputSpec& spec, const std::filesystem::path& output_dir);

/// Which listed file each output belongs to, from a sorted index over the listing (4 bytes a
/// file): output names are never stored, only derived from the listing while comparing. Two
/// files whose outputs are the same (a.jpg and a.png both become a.png) are found, and so is an
/// output name some listed file already takes (a page's, "scan-p0003.png").
class OutputIndex {
 public:
  /// The index of `listing`, which every call below must be given again, unchanged.
  explicit OutputIndex(const Listing& listing);
  /// The first listed file (in listing order) with the same output as file `i`, if another.
  std::optional<std::size_t> claimed_before(const Listing& listing, std::size_t i) const;
  /// Whether `relative` (an output's path below the output directory, with its extension) is
  /// the output of a listed file.
  bool taken(const Listing& listing, const std::filesystem::path& relative) const;

 private:
  std::vector<std::uint32_t> order_;  ///< listing positions sorted by output, then position
};

/// Another image file beside `input` (in `folder`, by default input's own) whose output would be
/// the same: the same name before the extension and another extension of a readable format
/// (not input's own), in lower or upper case ("scan.png" for "scan.jpg", "scan.TIF"). Found by probing each name, so
/// it costs the same in a folder of a million files. The first found, if any.
std::optional<std::filesystem::path> output_rival(const std::filesystem::path& input,
                                                  const std::filesystem::path& folder = {});

/// The output file for an input: same relative path, extension replaced by the output
/// format's (".png", ".tif").
std::filesystem::path output_relative_path(const std::filesystem::path& input_relative,
                                           std::string_view extension = ".png");

}  // namespace imgflow
