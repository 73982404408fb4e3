#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/job.hpp"

namespace imgflow {

/// Threads of their own for the stages that wait on the disk, so that no TBB worker does (the
/// flow graph reaches them through an async_node). Jobs are queued by submit() and given to
/// `work` in batches of at most `max_batch` (0: everything queued so far), in the order
/// submitted, each batch on one of the threads. The threads carry `name` (at most 15 characters),
/// which top -H, perf and gdb show.
///
/// Lifetime: the owner destroys it once every job it was given has been handed on (for the flow
/// graph: after wait_for_all), possibly while the thread that submitted the last job is still
/// returning from submit(). That is safe: submit() finishes with the queue and the condition
/// variable under the mutex, and the destructor takes the mutex before it ends anything.
class IoThreads {
 public:
  using Work = std::function<void(std::vector<Job*>& batch)>;
  IoThreads(const char* name, int threads, std::size_t max_batch, Work work);
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;
  /// Does what is queued, then joins the threads.
  ~IoThreads();

  /// Queues `job` for one of the threads. Callable from any thread.
  void submit(Job* job);

 private:
  void serve(const char* name);

  const std::size_t max_batch_;
  const Work work_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job*> queue_;
  bool closing_ = false;
  std::vector<std::thread> threads_;  // last: started once the rest is made, joined first
};

}  // namespace imgflow
