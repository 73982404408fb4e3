#include "pipeline/io_threads.hpp"

#include <pthread.h>

#include <algorithm>

namespace imgflow {

IoThreads::IoThreads(const char* name, int threads, std::size_t max_batch, Work work)
    : max_batch_(max_batch), work_(std::move(work)) {
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, name] { serve(name); });
}

IoThreads::~IoThreads() {
  {
    std::lock_guard lock(mutex_);  // after every submit() has let go of it (see submit)
    closing_ = true;
    ready_.notify_all();
  }
  for (std::thread& thread : threads_) thread.join();
}

void IoThreads::submit(Job* job) {
  // Notified under the lock: once a thread can take the job (and finish it, which may end the
  // run and so destroy this object), submit() touches nothing of this object but the mutex it
  // is releasing, and the destructor takes that mutex before anything is destroyed.
  std::lock_guard lock(mutex_);
  queue_.push_back(job);
  ready_.notify_one();
}

void IoThreads::serve(const char* name) {
  pthread_setname_np(pthread_self(), name);  // from the thread itself: a prctl, never a file
  std::vector<Job*> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, and nothing left
      const std::size_t n = max_batch_ == 0 ? queue_.size() : std::min(max_batch_, queue_.size());
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    work_(batch);
  }
}

}  // namespace imgflow
