#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/job.hpp"
#include "pipeline/stages.hpp"

namespace imgflow {

/// The write stage, on threads of its own: no TBB worker waits on the disk. Each writer thread
/// takes every output queued so far as one group (with one thread, jobs are done in the order
/// submitted): writes each to its locked temporary
/// (files/file_io.hpp: StagedFile), makes the group durable with one syncfs per filesystem
/// (unless config.sync is false), and only then renames each into place. An output therefore
/// gets its final name only once its data is on the device, as with one fsync per file, and a
/// group costs one sync however many files it holds. The job's write span records its own
/// staging and renaming, plus its share of the group's sync. `done` receives every submitted job
/// (written, failed at write, or passed through untouched if it was not pending), from a writer
/// thread.
class OutputWriter {
 public:
  using Done = std::function<void(Job*)>;
  OutputWriter(const StageContext& context, std::chrono::steady_clock::time_point run_start, Done done,
               int threads = 2);
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;
  /// Writes what is queued, then joins the threads.
  ~OutputWriter();

  void submit(Job* job);

 private:
  void serve();
  void write_group(std::vector<Job*>& group);

  const StageContext& context_;
  const std::chrono::steady_clock::time_point run_start_;
  const Done done_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job*> queue_;
  bool closing_ = false;
  std::atomic<bool> output_unusable_{false};  ///< a write failed in a way every write would
  std::vector<std::thread> threads_;
};

}  // namespace imgflow
