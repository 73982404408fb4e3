#include "files/resume.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "codec/encode.hpp"
#include "codec/formats.hpp"
#include "files/file_io.hpp"

namespace imgflow {

std::string source_record(std::span<const std::uint8_t> contents, const timespec& modified) {
  return fmt::format("size={} mtime={}.{:09d} xxh3={:016x}", contents.size(), modified.tv_sec, modified.tv_nsec,
                     XXH3_64bits(contents.data(), contents.size()));
}

OutputState check_output(const std::filesystem::path& output, std::string_view software, std::string_view source,
                         Bytes& scratch) {
  return check_output(output, software, [source](Bytes&) { return std::string(source); }, scratch);
}

OutputState check_output(const std::filesystem::path& output, std::string_view software,
                         const std::function<std::string(Bytes& scratch)>& source, Bytes& scratch) {
  struct stat info {};
  if (::lstat(output.c_str(), &info) != 0) return errno == ENOENT ? OutputState::absent : OutputState::foreign;
  if (!S_ISREG(info.st_mode)) return OutputState::foreign;  // a link, a directory, a FIFO: not ours
  try {
    read_file(output, scratch);
  } catch (const std::exception&) {
    return OutputState::foreign;  // unreadable: nothing says imgflow wrote it
  }
  // Read as the format its bytes are in (the table's reader of what an output records).
  const Format* format = format_of(scratch);
  if (!format || !format->read_record) return OutputState::foreign;
  const Recorded recorded = format->read_record(scratch);
  if (!recorded.software.starts_with(kStampPrefix)) return OutputState::foreign;
  if (!recorded.whole || recorded.software != software) return OutputState::redo;
  try {
    return recorded.description == source(scratch) ? OutputState::finished : OutputState::redo;
  } catch (const std::exception&) {
    return OutputState::redo;  // the run reads the input again and says why it cannot
  }
}

}  // namespace imgflow
