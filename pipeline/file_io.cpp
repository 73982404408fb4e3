#include "pipeline/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace imgflow {
namespace {

[[noreturn]] void throw_errno(std::string_view what, int error) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(error));
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

}  // namespace

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  Bytes bytes;
  read_file(path, bytes);
  return {bytes.begin(), bytes.end()};
}

void read_file(const std::filesystem::path& path, Bytes& bytes) {
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

void write_file_atomically(const std::filesystem::path& target, std::span<const std::uint8_t> bytes) {
  const auto directory = target.parent_path();
  if (!directory.empty()) {
    std::error_code ignored;  // a concurrent creation is fine; what matters is the result
    std::filesystem::create_directories(directory, ignored);
    if (!std::filesystem::is_directory(directory))
      throw std::runtime_error("cannot create directory " + directory.string() +
                               (ignored ? ": " + ignored.message() : ""));
  }
  std::string temporary_name(".");
  temporary_name.append(target.filename().string()).append(kTemporaryMarker);
  temporary_name.append(std::to_string(::getpid()));
  const auto temporary = directory / temporary_name;

  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_errno("cannot create " + temporary.filename().string(), errno);
  auto fail = [&](std::string_view what, int error) {
    ::unlink(temporary.c_str());
    throw_errno(what, error);
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write", errno);
    done += static_cast<std::size_t>(n);
  }
  if (fd.release_and_close() != 0) fail("cannot write", errno);
  if (::rename(temporary.c_str(), target.c_str()) != 0) fail("cannot rename into place", errno);
}

}  // namespace imgflow
