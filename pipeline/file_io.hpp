#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/bytes.hpp"

namespace imgflow {

/// Reads a whole file. Throws std::system_error whose what() is "cannot open: No such file or
/// directory" and the like, and whose code() is the errno.
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);
/// The same into `bytes` (replacing its contents, reusing its capacity).
void read_file(const std::filesystem::path& path, Bytes& bytes);

/// The marker in the names of files imgflow is still writing: `.NAME.imgflow-tmp.HOST.PID`.
inline constexpr std::string_view kTemporaryMarker = ".imgflow-tmp.";

/// The temporary name this process uses while writing `target` (same directory).
std::filesystem::path temporary_path_for(const std::filesystem::path& target);

/// Writes `bytes` to `target` so that `target` is either untouched or complete: the data goes
/// to a temporary file in the same directory, is flushed to the device (fsync, unless `sync` is
/// false) and is then renamed over `target`. Parent directories are created. On failure the
/// temporary file is removed and std::system_error carries the errno (ENOSPC, EROFS, EACCES...)
/// and a message naming the step that failed.
void write_file_atomically(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
                           bool sync = true);

/// Flushes a directory's entries (the renames into it) to the device. Errors are ignored: the
/// files themselves are already complete.
void sync_directory(const std::filesystem::path& directory);

/// A temporary file left behind by an imgflow process that no longer runs (killed, crashed,
/// machine lost): on this host, when its process is gone; from another host (a shared
/// filesystem), when it is older than `foreign_age`. Live runs' files are never stale.
bool is_stale_temporary(const std::filesystem::path& path,
                        std::chrono::seconds foreign_age = std::chrono::hours(1));

struct CleanupResult {
  std::size_t removed = 0;
  std::vector<std::string> errors;  ///< "PATH: reason" for files that could not be removed
};

/// Removes stale temporary files (see is_stale_temporary) in `directory`, and in its
/// subdirectories when `recursive`.
CleanupResult remove_stale_temporaries(const std::filesystem::path& directory, bool recursive);

/// This machine's name, as it appears in temporary file names.
const std::string& host_name();

}  // namespace imgflow
