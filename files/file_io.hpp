#pragma once
// Reading inputs and writing outputs the way a batch tool must on shared and network
// filesystems: only regular files are read, outputs appear only complete, temporary names
// fit any legal name and never clash between runs, and report-like files go wherever their
// path leads (a pipe, /dev/stdout, a symlink's target).
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/bytes.hpp"

namespace imgflow {

/// Closes a descriptor on every path out of a scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release_and_close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

/// Why a file of this mode is not read: "not a regular file: a FIFO", "...: a character device".
std::string not_a_regular_file(unsigned mode);

/// A path that is not a regular file where one is needed (it is never opened for reading).
struct NotRegularFile : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Reads a whole regular file (through symlinks). A FIFO, device or socket is refused before it
/// is opened (NotRegularFile, "not a regular file: a FIFO"). Throws std::system_error whose
/// what() is "cannot open: No such file or directory" and the like, and whose code() is the errno.
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);
/// The same into `bytes` (replacing its contents, reusing its capacity); `modified`, if given,
/// receives the modification time of the file that was read (fstat of the open descriptor).
void read_file(const std::filesystem::path& path, Bytes& bytes, timespec* modified = nullptr);

/// Reads a descriptor (standard input) to its end into `bytes`.
void read_stream(int fd, Bytes& bytes);

/// Reads whatever `path` names to its end: a regular file, a pipe (`<(find ...)`, /dev/stdin), a
/// named FIFO (waiting for its writer, as cat does) or a device; "-" is standard input. For
/// lists, not images: only a directory is refused. Throws std::system_error as read_file does.
void read_stream(const std::filesystem::path& path, Bytes& bytes);

/// The marker in the names of files imgflow is still writing: `.NAME.imgflow-tmp.TOKEN`.
inline constexpr std::string_view kTemporaryMarker = ".imgflow-tmp.";
/// The longest file name every Linux filesystem takes (NAME_MAX).
inline constexpr std::size_t kNameMax = 255;

/// A fresh temporary name for writing `target`, in the same directory: hidden, within NAME_MAX
/// whatever the target's name, and unique across concurrent runs, hosts and PID namespaces
/// (a random token drawn once per process, and a counter).
std::filesystem::path temporary_path_for(const std::filesystem::path& target);

/// Writes `bytes` to `target` so that `target` is either untouched or complete: the data goes
/// to a temporary file in the same directory (locked while it is written, see
/// is_stale_temporary), is flushed to the device (fsync, unless `sync` is false) and is then
/// renamed over `target`. Directories between `root` and the target are created, `root` itself
/// never: when it has gone, std::system_error with ENOENT says so. On failure the temporary file
/// is removed and std::system_error carries the errno (ENOSPC, EROFS, EACCES...) and a message
/// naming the step that failed.
void write_file_atomically(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
                           bool sync = true, const std::filesystem::path& root = {});

/// The first half of write_file_atomically, for writers that make many files durable at once:
/// the constructor creates the target's folders (never `root`) and writes `bytes` to a locked
/// temporary in the target's folder, named `.NAME.imgflow-tmp.TOKEN`; publish() renames it
/// over the target. Before publishing, make the data durable: sync() (this file's fdatasync),
/// or one sync_filesystem() for every staged file on a filesystem, and fail_sync() on each if
/// that failed. A file never published is removed when the object goes. Errors throw
/// std::system_error as write_file_atomically does (the temporary removed).
class StagedFile {
 public:
  StagedFile(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
             const std::filesystem::path& root = {});
  StagedFile(StagedFile&& other) noexcept
      : target_(std::move(other.target_)), root_(std::move(other.root_)), temporary_(std::move(other.temporary_)),
        fd_(std::move(other.fd_)), named_(std::exchange(other.named_, false)), published_(other.published_) {}
  StagedFile& operator=(StagedFile&&) = delete;
  ~StagedFile();

  int fd() const { return fd_.get(); }
  dev_t device() const;  ///< the filesystem the file is on
  void sync();
  [[noreturn]] void fail_sync(int error);
  void publish();

 private:
  void throw_if_root_gone() const;
  [[noreturn]] void abandon(const char* what, int error);

  std::filesystem::path target_, root_, temporary_;
  FileDescriptor fd_;
  bool named_ = false, published_ = false;
};

/// syncfs(2) on the filesystem holding `fd`: everything written to it, by anyone, reaches the
/// device. 0, or the errno (since Linux 5.8 a write-back error on that filesystem is reported).
int sync_filesystem(int fd);

/// Writes a report-like file (a report, trace or list) wherever `path` leads: an existing FIFO,
/// character device or socket (a pipe, /dev/stdout, a process substitution's /dev/fd/N) is
/// written as a stream; a symlink is followed and its target written atomically, the link kept;
/// anything else is written atomically (write_file_atomically).
void write_output_file(const std::filesystem::path& path, std::string_view text, bool sync = true);

/// Flushes a directory's entries (the renames into it) to the device. Errors are ignored: the
/// files themselves are already complete.
void sync_directory(const std::filesystem::path& directory);

/// Moves `from` to `to` by a rename (--move-input), making `to`'s folders, never replacing a file
/// already there. Throws std::system_error: EEXIST when `to` is taken, EXDEV when it is on another
/// filesystem (a move there would be a copy and a removal: not done).
void move_file(const std::filesystem::path& from, const std::filesystem::path& to);

/// Whether `path` is an imgflow temporary that nobody is writing any more: its writer holds a
/// lock on it while it writes (released by the kernel when the process dies, on any host that
/// shares the filesystem's locks). An empty file younger than a few seconds is left alone (its
/// writer may not have locked it yet); where the filesystem has no locks, a file counts as
/// abandoned after `unlocked_age`.
bool is_stale_temporary(const std::filesystem::path& path,
                        std::chrono::seconds unlocked_age = std::chrono::hours(1));

struct CleanupResult {
  std::size_t removed = 0;
  std::vector<std::string> errors;  ///< "PATH: reason" for files that could not be removed
};

/// Removes stale temporary files (see is_stale_temporary) in `directory`, and in its
/// subdirectories when `recursive`.
CleanupResult remove_stale_temporaries(const std::filesystem::path& directory, bool recursive);

/// This machine's name (for reports).
const std::string& host_name();

}  // namespace imgflow
