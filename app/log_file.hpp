#pragma once
// --log FILE: messages appended to a file, which SIGHUP makes imgflow open again (after
// logrotate has moved it away), each line with its time.
#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>

namespace imgflow {

class LogFile final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  /// Opens `path` for appending; throws std::system_error when it cannot.
  explicit LogFile(std::filesystem::path path);
  ~LogFile() override;
  /// Closes the file and opens `path` again (a new file once the old one was moved away).
  /// Throws std::system_error when it cannot; the old file is kept then.
  void reopen();

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override;

 private:
  std::FILE* open() const;
  const std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace imgflow
