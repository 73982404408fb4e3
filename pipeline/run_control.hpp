#pragma once
#include <atomic>
#include <string_view>

namespace imgflow {

/// Why a run stopped feeding new images before the end of the listing.
enum class StopReason : int { none, interrupted, fail_fast, output_unusable, input_gone };

/// Shared between the graph, which polls it before feeding each image, and whoever may stop the
/// run: a signal handler (so everything here is lock-free and async-signal-safe), or the sink
/// after a failure. The first reason given wins.
class RunControl {
 public:
  void request_stop(StopReason reason) noexcept {
    int expected = static_cast<int>(StopReason::none);
    reason_.compare_exchange_strong(expected, static_cast<int>(reason));
  }
  bool stop_requested() const noexcept { return reason_.load(std::memory_order_relaxed) != 0; }
  StopReason reason() const noexcept { return static_cast<StopReason>(reason_.load()); }

 private:
  std::atomic<int> reason_{static_cast<int>(StopReason::none)};
  static_assert(std::atomic<int>::is_always_lock_free);
};

}  // namespace imgflow
