#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace imgflow {

/// Progress: done/total, images/s, MB/s read, ETA and failures, from counters the sink bumps
/// (relaxed atomics: the run never waits for it), drawn by its own thread. On a terminal a live
/// line redrawn four times a second; elsewhere (a log file, a Slurm job's output) a plain line
/// every `interval`. Anything else printed to stderr while it runs goes through print_above(),
/// so lines never mix.
class ProgressLine {
 public:
  /// Shown only if `enabled`; off a terminal, only with a non-zero `interval`.
  ProgressLine(bool enabled, std::size_t total, std::chrono::seconds interval);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool active() const { return active_; }
  /// A run's totals so far (imgflow::Progress): files done, of which failed, and input bytes read.
  void set(std::size_t done, std::size_t failed, std::uint64_t input_bytes) {
    done_.store(done, std::memory_order_relaxed);
    failed_.store(failed, std::memory_order_relaxed);
    bytes_.store(input_bytes, std::memory_order_relaxed);
  }
  /// Runs `print` (which writes whole lines to stderr) with the progress line cleared.
  template <typename Print>
  void print_above(Print&& print) {
    std::lock_guard lock(mutex_);
    if (active_) clear_line();
    print();
  }
  /// Stops the thread and clears the line (also done by the destructor).
  void finish();

 private:
  void run();
  void draw();
  void clear_line();

  bool active_ = false;
  bool live_ = false;  ///< on a terminal: redrawn in place
  std::chrono::steady_clock::duration interval_;
  std::size_t total_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::atomic<std::size_t> done_{0}, failed_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace imgflow
