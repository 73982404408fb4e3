#include "pipeline/file_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>

namespace imgflow {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void throw_errno(const std::string& what, int error) {
  throw std::system_error(error, std::generic_category(), what);
}

// Closes a descriptor on every path out of a scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
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

// Splits ".NAME.imgflow-tmp.HOST.PID" into HOST and PID; false for any other name.
bool parse_temporary_name(std::string_view name, std::string_view& host, long& pid) {
  if (name.empty() || name[0] != '.') return false;
  const auto marker = name.rfind(kTemporaryMarker);
  if (marker == std::string_view::npos || marker == 0) return false;
  const auto rest = name.substr(marker + kTemporaryMarker.size());
  const auto dot = rest.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  host = rest.substr(0, dot);
  const auto digits = rest.substr(dot + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  return ec == std::errc{} && end == digits.data() + digits.size() && pid > 0;
}

}  // namespace

const std::string& host_name() {
  static const std::string name = [] {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return std::string("localhost");
    std::string host(buffer);
    for (char& c : host)
      if (c == '/') c = '_';
    return host;
  }();
  return name;
}

std::vector<std::uint8_t> read_file(const fs::path& path) {
  Bytes bytes;
  read_file(path, bytes);
  return {bytes.begin(), bytes.end()};
}

void read_file(const fs::path& path, Bytes& bytes) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno("cannot open", errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw_errno("cannot stat", errno);
  if (S_ISDIR(info.st_mode)) throw_errno("cannot read", EISDIR);

  bytes.resize(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  for (;;) {
    if (done == bytes.size()) bytes.resize(done + 65536);  // the file may have grown, or st_size is 0 (e.g. /proc)
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot read", errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
}

fs::path temporary_path_for(const fs::path& target) {
  std::string name(".");
  name.append(target.filename().string()).append(kTemporaryMarker).append(host_name());
  name.append(".").append(std::to_string(::getpid()));
  return target.parent_path() / name;
}

void write_file_atomically(const fs::path& target, std::span<const std::uint8_t> bytes, bool sync) {
  const auto directory = target.parent_path();
  if (!directory.empty()) {
    std::error_code ec;  // a concurrent creation is fine; what matters is the result
    fs::create_directories(directory, ec);
    if (!fs::is_directory(directory)) {
      // A file in the way reports EEXIST or ENOTDIR; say it plainly.
      const int error = ec ? ec.value() : ENOTDIR;
      throw_errno("cannot create directory " + directory.string(), error == EEXIST ? ENOTDIR : error);
    }
  }
  const auto temporary = temporary_path_for(target);
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_errno("cannot create a file in " + directory.string(), errno);
  const auto abandon = [&temporary](const char* what, int error) {
    ::unlink(temporary.c_str());
    throw_errno(what, error);
  };
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) abandon("cannot write", errno);
    done += static_cast<std::size_t>(n);
  }
  if (sync && ::fdatasync(fd.get()) != 0) abandon("cannot flush to disk", errno);
  if (fd.release_and_close() != 0) abandon("cannot write", errno);
  if (::rename(temporary.c_str(), target.c_str()) != 0) abandon("cannot rename into place", errno);
}

void sync_directory(const fs::path& directory) {
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

bool is_stale_temporary(const fs::path& path, std::chrono::seconds foreign_age) {
  std::string_view host;
  long pid = 0;
  const std::string name = path.filename().string();
  if (!parse_temporary_name(name, host, pid)) return false;
  if (host == host_name()) {
    if (pid == ::getpid()) return false;
    // Alive (or not ours to signal) means a run is still writing it.
    return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
  }
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return false;
  const auto modified = std::chrono::system_clock::from_time_t(info.st_mtim.tv_sec);
  return std::chrono::system_clock::now() - modified > foreign_age;
}

CleanupResult remove_stale_temporaries(const fs::path& directory, bool recursive) {
  CleanupResult result;
  std::error_code ec;
  const auto visit = [&](const fs::directory_entry& entry) {
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec) || !is_stale_temporary(entry.path())) return;
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
