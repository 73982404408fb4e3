#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "codec/bytes.hpp"
#include "codec/scratch.hpp"

namespace imgflow {

/// Keeps released buffers (with their capacity) for reuse, so the steady state of a batch
/// allocates and page-faults nothing. Holds at most `max_kept` buffers; thread-safe. One pool
/// serves one kind of buffer (BufferPools), so that a page's pixels never get a buffer sized for
/// a file or an output, and grow it afresh: a fresh 4 MB buffer costs about 1,000 page faults.
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
    if (buffer.capacity() == 0) return;  // nothing to keep (a job's buffers may be released twice)
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

/// The run's buffers by kind, each pool holding as many as can be in use at once.
struct BufferPools {
  BufferPool files;    ///< input files' bytes (and outputs read back by the resume check)
  BufferPool pixels;   ///< decoded pages, and the operations' second buffers
  BufferPool outputs;  ///< encoded PNGs, until written
};

/// Codec working memory for the stages, leased for one decode or encode and returned, so no two
/// images ever share it and the steady state allocates none. Thread-safe.
class ScratchPool {
 public:
  class Lease {
   public:
    Lease(ScratchPool& pool, std::unique_ptr<CodecScratch> scratch) : pool_(pool), scratch_(std::move(scratch)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.give_back(std::move(scratch_)); }
    CodecScratch& operator*() const { return *scratch_; }

   private:
    ScratchPool& pool_;
    std::unique_ptr<CodecScratch> scratch_;
  };

  Lease lease() {
    std::unique_ptr<CodecScratch> scratch;
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        scratch = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!scratch) scratch = std::make_unique<CodecScratch>();
    return {*this, std::move(scratch)};
  }

 private:
  void give_back(std::unique_ptr<CodecScratch> scratch) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(scratch));
  }
  std::mutex mutex_;
  std::vector<std::unique_ptr<CodecScratch>> free_;
};

}  // namespace imgflow
