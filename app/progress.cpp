#include "app/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace imgflow {

ProgressLine::ProgressLine(bool enabled, std::size_t total, std::chrono::seconds interval)
    : live_(::isatty(STDERR_FILENO) == 1),
      interval_(live_ ? std::chrono::milliseconds(250) : std::chrono::steady_clock::duration(interval)),
      total_(total),
      start_(std::chrono::steady_clock::now()) {
  active_ = enabled && total > 0 && interval_.count() > 0;
  if (active_) thread_ = std::thread([this] { run(); });
}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::finish() {
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    stop_ = true;
    if (active_) clear_line();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressLine::run() {
  std::unique_lock lock(mutex_);
  if (live_) draw();  // at once, so that even a short run shows where it stands
  while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) draw();
}

void ProgressLine::draw() {
  const std::size_t done = done_.load(std::memory_order_relaxed);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double megabytes = static_cast<double>(bytes_.load(std::memory_order_relaxed)) / 1e6;
  std::string eta = "--:--";
  if (rate > 0 && done < total_) {
    const auto left = static_cast<long>(static_cast<double>(total_ - done) / rate + 0.5);
    eta = left >= 3600 ? fmt::format("{}:{:02}:{:02}", left / 3600, left / 60 % 60, left % 60)
                       : fmt::format("{}:{:02}", left / 60, left % 60);
  }
  const std::size_t failed = failed_.load(std::memory_order_relaxed);
  const std::string line = fmt::format(
      "{}{}/{} images ({:.0f}%)  {:.1f} images/s  {:.1f} MB/s  ETA {}{}{}", live_ ? "\r\x1b[K" : "progress: ", done, total_,
      100.0 * static_cast<double>(done) / static_cast<double>(total_), rate,
      elapsed > 0 ? megabytes / elapsed : 0.0, eta, failed ? fmt::format("  {} failed", failed) : "",
      live_ ? "" : "\n");
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void ProgressLine::clear_line() {
  if (!live_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
}

}  // namespace imgflow
