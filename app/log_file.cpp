#include "app/log_file.hpp"

#include <cerrno>
#include <system_error>

namespace imgflow {

LogFile::LogFile(std::filesystem::path path) : path_(std::move(path)), file_(open()) {}

LogFile::~LogFile() {
  if (file_) std::fclose(file_);
}

std::FILE* LogFile::open() const {
  std::FILE* file = std::fopen(path_.c_str(), "ae");
  if (!file) throw std::system_error(errno, std::generic_category(), "cannot open the log " + path_.string());
  return file;
}

void LogFile::reopen() {
  std::FILE* file = open();
  const std::lock_guard lock(mutex_);
  std::fclose(file_);
  file_ = file;
}

void LogFile::sink_it_(const spdlog::details::log_msg& message) {
  spdlog::memory_buf_t line;
  formatter_->format(message, line);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);  // a line is in the file when it is logged (tail -f, a crash)
}

void LogFile::flush_() { std::fflush(file_); }

}  // namespace imgflow
