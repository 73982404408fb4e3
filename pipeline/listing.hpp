#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace imgflow {

/// Natural order: runs of digits compare by value, so "page2.png" < "page10.png". Paths compare
/// component by component. A strict weak order that is total on distinct strings.
bool natural_less(std::string_view a, std::string_view b);
bool natural_path_less(const std::filesystem::path& a, const std::filesystem::path& b);

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

/// A file the listing passed over, and why.
struct SkippedFile {
  std::filesystem::path path;
  std::string reason;
};

struct Listing {
  std::vector<std::filesystem::path> images;  ///< relative to the listed directory, natural order
  std::vector<ListingError> errors;
  std::vector<SkippedFile> skipped;           ///< files that are not images imgflow reads
  /// Pages a file list asked for, by image (only images listed with page=N fields).
  std::map<std::filesystem::path, std::vector<int>> pages;
};

/// The image files in `root` (and, if `recursive`, its subdirectories), skipping hidden
/// entries (names starting with '.') and the directory `skip_dir` (the output directory when
/// it lies inside the input directory). Unreadable subdirectories are reported, not fatal.
Listing list_images(const std::filesystem::path& root, bool recursive,
                    const std::filesystem::path& skip_dir);

/// File lists (`--failures`, `--files-from`) are tab-separated lines; a field escapes tab,
/// newline, carriage return and backslash as \t \n \r \\ so any file name fits on one line.
std::string escape_list_field(std::string_view field);
std::string unescape_list_field(std::string_view field);

/// The images named in a file list's first column (with a "page=N" field: only that page), as paths relative to `root`: a path printed
/// with `root` in front (as imgflow's own lists and messages do), an absolute path under
/// `root`, or a path relative to `root`. Blank lines and lines starting with '#' are skipped;
/// a path outside `root` goes to `errors`. The result is in natural order without duplicates.
Listing read_file_list(std::string_view text, const std::filesystem::path& root);

/// The inputs of a run, as imgflow lists them: the images named in `files_from` when it is given
/// (read_file_list), otherwise `input_dir`'s listing, skipping `output_dir` when it exists
/// inside it. imgflow and imgflow-merge both list through this, so a merge re-lists exactly
/// what its shards listed. Throws (std::system_error) when `files_from` cannot be read.
Listing list_run_inputs(const std::filesystem::path& input_dir, const std::filesystem::path& output_dir,
                        bool recursive, const std::filesystem::path& files_from);

/// The output file for an input: same relative path, extension replaced by ".png".
std::filesystem::path output_relative_path(const std::filesystem::path& input_relative);

}  // namespace imgflow
