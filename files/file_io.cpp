#include "files/file_io.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <system_error>

#include "codec/reuse.hpp"

namespace imgflow {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void throw_errno(const std::string& what, int error) {
  throw std::system_error(error, std::generic_category(), what);
}

void write_all(int fd, std::span<const std::uint8_t> bytes, const std::function<void(int)>& on_error) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return on_error(errno);
    done += static_cast<std::size_t>(n);
  }
}

// The token that makes this process's temporary names its own: drawn once from the kernel's
// random source (PIDs repeat across PID namespaces and hosts; 64 random bits do not).
const std::string& process_token() {
  static const std::string token = [] {
    std::uint64_t value = 0;
    if (::getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value))
      value = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
              (static_cast<std::uint64_t>(::getpid()) << 32);
    char text[17] = {};
    std::to_chars(text, text + 16, value, 16);
    return std::string(text);
  }();
  return token;
}

// The longest prefix of `name` of at most `limit` bytes that does not cut a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view name, std::size_t limit) {
  if (name.size() <= limit) return name;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80) --end;
  return name.substr(0, end);
}

// The descriptor a path names when it is one of this process's own: /dev/stdout, /dev/stderr,
// /dev/fd/N, /proc/self/fd/N. Writing there must share the descriptor (and its offset), not
// reopen the file behind it.
int own_descriptor(const fs::path& path) {
  const std::string text = path.lexically_normal().string();
  if (text == "/dev/stdout") return STDOUT_FILENO;
  if (text == "/dev/stderr") return STDERR_FILENO;
  for (const std::string_view prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    if (text.compare(0, prefix.size(), prefix) != 0) continue;
    int fd = -1;
    const char* begin = text.data() + prefix.size();
    const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), fd);
    if (ec == std::errc{} && end == text.data() + text.size() && fd >= 0) return fd;
  }
  return -1;
}

// Reads to the end of `fd` into `bytes`, whose size is the expected length (the file may have
// grown since, or report 0 like /proc).
void read_to_end(int fd, Bytes& bytes) {
  std::size_t done = 0;
  for (;;) {
    if (done == bytes.size()) bytes.resize(done + 65536);
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot read", errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
}

}  // namespace

std::string not_a_regular_file(unsigned mode) {
  const auto kind = [mode]() -> std::string_view {
    switch (mode & S_IFMT) {
      case S_IFDIR: return "a directory";
      case S_IFIFO: return "a FIFO";
      case S_IFCHR: return "a character device";
      case S_IFBLK: return "a block device";
      case S_IFSOCK: return "a socket";
      case S_IFLNK: return "a symbolic link";
      default: return "a special file";
    }
  };
  return "not a regular file: " + std::string(kind());
}

const std::string& host_name() {
  static const std::string name = [] {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return std::string("localhost");
    return std::string(buffer);
  }();
  return name;
}

std::vector<std::uint8_t> read_file(const fs::path& path) {
  Bytes bytes;
  read_file(path, bytes);
  return {bytes.begin(), bytes.end()};
}

void read_file(const fs::path& path, Bytes& bytes, timespec* modified) {
  // Never open what is not a regular file: a FIFO would block, a device never end.
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    const int error = errno;
    if (error == ENOENT && ::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode))
      throw_errno("a dangling symbolic link: cannot open", error);
    throw_errno("cannot open", error);
  }
  if (S_ISDIR(info.st_mode)) throw_errno("cannot read", EISDIR);
  if (!S_ISREG(info.st_mode)) throw NotRegularFile(not_a_regular_file(info.st_mode));
  // O_NONBLOCK: should it have been swapped for a FIFO since, the open does not wait for a writer.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) throw_errno("cannot open", errno);
  if (::fstat(fd.get(), &info) != 0) throw_errno("cannot stat", errno);
  if (!S_ISREG(info.st_mode)) throw NotRegularFile(not_a_regular_file(info.st_mode));

  if (modified) *modified = info.st_mtim;
  // One byte more than the file, so that its end is found without growing the buffer.
  const auto size = static_cast<std::size_t>(info.st_size);
  reserve_for_reuse(bytes, size + 1);
  bytes.resize(size + 1);
  read_to_end(fd.get(), bytes);
}

void read_stream(int fd, Bytes& bytes) {
  bytes.clear();
  read_to_end(fd, bytes);
}

void read_stream(const fs::path& path, Bytes& bytes) {
  if (path == "-") return read_stream(STDIN_FILENO, bytes);
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) throw_errno("cannot open", errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) == 0 && S_ISDIR(info.st_mode)) throw_errno("cannot read", EISDIR);
  read_stream(fd.get(), bytes);
}

fs::path temporary_path_for(const fs::path& target) {
  static std::atomic<std::uint64_t> counter{0};
  char number[17] = {};
  std::to_chars(number, number + 16, counter++, 16);
  std::string suffix(kTemporaryMarker);
  suffix.append(process_token()).append("-").append(number);
  const std::string name = target.filename().string();
  std::string temporary(".");
  temporary.append(utf8_prefix(name, kNameMax - 1 - suffix.size())).append(suffix);
  return target.parent_path() / temporary;
}

StagedFile::StagedFile(const fs::path& target, std::span<const std::uint8_t> bytes, const fs::path& root)
    : target_(target), root_(root) {
  const auto directory = target.parent_path();
  throw_if_root_gone();  // before creating the target's folders, which would re-create `root` too
  if (!directory.empty()) {
    std::error_code ec;  // a concurrent creation is fine; what matters is the result
    fs::create_directories(directory, ec);
    if (!fs::is_directory(directory)) {
      // A file in the way reports EEXIST or ENOTDIR; say it plainly.
      const int error = ec ? ec.value() : ENOTDIR;
      throw_errno("cannot create directory " + directory.string(), error == EEXIST ? ENOTDIR : error);
    }
  }
  temporary_ = temporary_path_for(target);
  // Preferably an unnamed file (O_TMPFILE), locked and filled before it gets its temporary name:
  // a named temporary then always has its content and, while its writer lives, its lock. Where
  // the filesystem has no O_TMPFILE (NFS), a named one, created exclusively and locked at once.
  const std::string dir_text = directory.empty() ? std::string(".") : directory.string();
  fd_ = FileDescriptor(::open(dir_text.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644));
  const bool unnamed = fd_.get() >= 0;
  if (!unnamed) fd_ = FileDescriptor(::open(temporary_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644));
  if (fd_.get() < 0) {
    const int error = errno;
    if (error == ENOENT) throw_if_root_gone();
    throw_errno("cannot create a file in " + directory.string(), error);
  }
  named_ = !unnamed;
  // The lock tells a cleaning run that this file is being written; the kernel drops it if we die.
  ::flock(fd_.get(), LOCK_EX | LOCK_NB);
  write_all(fd_.get(), bytes, [&](int error) { abandon("cannot write", error); });
  if (unnamed) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd_.get());
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temporary_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      const int error = errno;
      if (error == ENOENT) throw_if_root_gone();
      throw_errno("cannot name the file written in " + directory.string(), error);
    }
    named_ = true;
  }
}

StagedFile::~StagedFile() {
  if (named_ && !published_) ::unlink(temporary_.c_str());
}

void StagedFile::throw_if_root_gone() const {
  if (!root_.empty() && !fs::is_directory(root_)) throw_errno("the output directory " + root_.string() + " has gone", ENOENT);
}

void StagedFile::abandon(const char* what, int error) {
  if (named_) ::unlink(temporary_.c_str());
  named_ = false;
  throw_errno(what, error);
}

void StagedFile::sync() {
  if (::fdatasync(fd_.get()) != 0) abandon("cannot flush to disk", errno);
}

void StagedFile::fail_sync(int error) { abandon("cannot flush to disk", error); }

dev_t StagedFile::device() const {
  struct stat info {};
  return ::fstat(fd_.get(), &info) == 0 ? info.st_dev : dev_t{};
}

void StagedFile::publish() {
  if (::rename(temporary_.c_str(), target_.c_str()) != 0) {
    const int error = errno;
    if (error == ENOENT) throw_if_root_gone();  // as at every other step: say the folder has gone
    abandon("cannot rename into place", error);
  }
  published_ = true;
  if (fd_.release_and_close() != 0) throw_errno("cannot write", errno);
}

int sync_filesystem(int fd) { return ::syncfs(fd) == 0 ? 0 : errno; }

void write_file_atomically(const fs::path& target, std::span<const std::uint8_t> bytes, bool sync,
                           const fs::path& root) {
  StagedFile file(target, bytes, root);
  if (sync) file.sync();
  file.publish();
}

void write_output_file(const fs::path& path, std::string_view text, bool sync) {
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  const auto stream_to = [&](int fd) {
    write_all(fd, bytes, [](int error) { throw_errno("cannot write", error); });
  };
  // Follow a link (and a chain of links, even to a file not there yet) to what it names; the
  // links themselves stay. A path naming one of this process's descriptors, given or met on
  // the way (/dev/stdout -> /proc/self/fd/1), is written through that descriptor.
  fs::path target = path;
  struct stat info {};
  for (int hops = 0;; ++hops) {
    if (const int own = own_descriptor(target); own >= 0 && ::fcntl(own, F_GETFD) != -1) return stream_to(own);
    if (::lstat(target.c_str(), &info) != 0 || !S_ISLNK(info.st_mode)) break;
    std::error_code ec;
    const fs::path next = fs::read_symlink(target, ec);
    if (ec || hops == 40) throw_errno("cannot follow the symbolic link " + path.string(), ec ? ec.value() : ELOOP);
    target = next.is_absolute() ? next : target.parent_path() / next;
  }
  if (::stat(target.c_str(), &info) == 0 && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode)) {
    FileDescriptor fd(::open(target.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) throw_errno("cannot open", errno);
    stream_to(fd.get());
    if (fd.release_and_close() != 0) throw_errno("cannot write", errno);
    return;
  }
  write_file_atomically(target, bytes, sync);
}

void sync_directory(const fs::path& directory) {
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

void move_file(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS)
    throw std::system_error(errno, std::generic_category(), "cannot move it to " + to.string());
  // A filesystem without RENAME_NOREPLACE: a hard link (which never replaces), then the old name
  // removed.
  if (::link(from.c_str(), to.c_str()) != 0 || ::unlink(from.c_str()) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot move it to " + to.string());
}

namespace {

// Opens a stale temporary locked, or returns -1: a live writer holds the lock, or the file is
// too fresh to judge.
int lock_if_stale(const fs::path& path, std::chrono::seconds unlocked_age) {
  if (path.filename().string().find(kTemporaryMarker) == std::string::npos) return -1;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return -1;
  struct stat info {};
  const auto age = [&] {
    return std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(info.st_mtim.tv_sec);
  };
  bool stale = false;
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
      stale = info.st_size > 0 || age() > std::chrono::seconds(10);
    else if (errno != EWOULDBLOCK)
      stale = age() > unlocked_age;  // no locks on this filesystem: only age can tell
  }
  if (!stale) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool is_stale_temporary(const fs::path& path, std::chrono::seconds unlocked_age) {
  const int fd = lock_if_stale(path, unlocked_age);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

CleanupResult remove_stale_temporaries(const fs::path& directory, bool recursive) {
  CleanupResult result;
  std::error_code ec;
  const auto visit = [&](const fs::directory_entry& entry) {
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) return;
    // Removed while locked, so no run can take the name up in between.
    const FileDescriptor locked(lock_if_stale(entry.path(), std::chrono::hours(1)));
    if (locked.get() < 0) return;
    if (::unlink(entry.path().c_str()) == 0)
      ++result.removed;
    else if (errno != ENOENT)  // another run may have cleaned it first
      result.errors.push_back(entry.path().string() + ": " + std::strerror(errno));
  };
  if (recursive) {
    for (fs::recursive_directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) visit(*it);
  } else {
    for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) visit(*it);
  }
  return result;
}

}  // namespace imgflow
