#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>

#include "pipeline/job.hpp"
#include "pipeline/run_control.hpp"

namespace imgflow {

/// Where a run's jobs come from: a list (a batch, a shard of one), a watched folder, a caller of
/// the library. The graph takes a job from its feed whenever it has a place for one (at most
/// PipelineConfig::max_in_flight files at once), on a thread of the feed's own, so a feed may
/// wait for its next job (a file to arrive) without any TBB worker waiting with it.
class Feed {
 public:
  virtual ~Feed() = default;
  /// The next job, made now (a job exists only between the feed and the sink), or nothing when
  /// the feed is over. May wait as long as it needs to, but must return soon after `control` is
  /// asked to stop. Should not throw: a job that cannot be made is a failed job.
  virtual std::optional<Job> next(const RunControl& control) = 0;
  /// Jobs the feed would still have given had the run not stopped (counted as not started).
  virtual std::size_t not_fed() const { return 0; }
};

/// Makes the job at position `i` of a list (0 <= i < count) when the graph is about to take it:
/// jobs exist only between the feed and the sink, so memory does not grow with the list.
using JobMaker = std::function<Job(std::size_t i)>;

/// A feed over a list of `count` jobs, made one by one by `make`, in order.
class ListFeed final : public Feed {
 public:
  ListFeed(std::size_t count, JobMaker make) : count_(count), make_(std::move(make)) {}

  std::optional<Job> next(const RunControl&) override {
    if (next_ == count_) return std::nullopt;
    const std::size_t i = next_++;
    try {
      return make_(i);
    } catch (const std::exception& e) {
      Job job;
      job.index = i;
      job.fail(Stage::read, e.what());
      return job;
    }
  }
  std::size_t not_fed() const override { return count_ - next_; }

 private:
  const std::size_t count_;
  const JobMaker make_;
  std::size_t next_ = 0;  ///< the feed's thread only
};

}  // namespace imgflow
