#pragma once
// Where a run's lines go: the caller's Callbacks::message (the command prints them, a program
// keeps or ignores them). The library itself never prints.
#include <fmt/format.h>

#include <functional>
#include <string>
#include <utility>

#include "imgflow/imgflow.hpp"

namespace imgflow {

class Messages {
 public:
  Messages() = default;
  Messages(std::function<void(Level, const std::string&)> sink, Level least) : sink_(std::move(sink)), least_(least) {}

  /// Whether lines of `level` go anywhere (so that a line nobody reads is not even formatted).
  bool wants(Level level) const { return sink_ && level >= least_; }
  void say(Level level, const std::string& text) const {
    if (wants(level)) sink_(level, text);
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    if (wants(Level::error)) sink_(Level::error, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    if (wants(Level::warning)) sink_(Level::warning, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    if (wants(Level::info)) sink_(Level::info, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    if (wants(Level::debug)) sink_(Level::debug, fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  std::function<void(Level, const std::string&)> sink_;
  Level least_ = Level::info;
};

}  // namespace imgflow
