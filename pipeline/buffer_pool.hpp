#pragma once
#include <cstddef>
#include <mutex>
#include <vector>

#include "codec/bytes.hpp"

namespace imgflow {

/// Keeps released buffers (with their capacity) for reuse, so the steady state of a batch
/// allocates and page-faults nothing. Holds at most `max_kept` buffers; thread-safe.
class BufferPool {
 public:
  explicit BufferPool(std::size_t max_kept) : max_kept_(max_kept) {}

  /// An empty buffer, with capacity left over from an earlier image when there is one.
  Bytes acquire() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return {};
    Bytes buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }
  void release(Bytes& buffer) {
    buffer.clear();
    std::lock_guard lock(mutex_);
    if (buffer.capacity() && free_.size() < max_kept_) free_.push_back(std::move(buffer));
    free_buffer(buffer);
  }

 private:
  std::mutex mutex_;
  std::vector<Bytes> free_;
  std::size_t max_kept_;
};

}  // namespace imgflow
