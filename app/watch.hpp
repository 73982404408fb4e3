#pragma once
// --watch: the feed over a watched folder (files/watch.hpp) that makes a job of every image
// that arrives, and remembers only what a resume needs: the images in flight, and the failed
// ones (each tried again only once it changes).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "app/cli.hpp"
#include "files/watch.hpp"
#include "pipeline/feed.hpp"

namespace imgflow {

class WatchFeed final : public Feed {
 public:
  /// `note` prints what the watch must tell (a fallback to rescans, a folder gone); `idle` runs
  /// on the feed's thread at least every quarter of a second (the periodic progress and report).
  WatchFeed(const CliOptions& options, std::function<void(const std::string&)> note, std::function<void()> idle);

  std::optional<Job> next(const RunControl& control) override;

  /// The sink's account of a job (its page jobs one by one): frees its input for the next
  /// arrival, and remembers or forgets it as failed.
  void done(const Job& job);

  /// Images known to have arrived and not yet given to the graph.
  std::size_t waiting() const;
  /// The failed inputs not changed since, each with the account of its failure.
  std::vector<Job> failures() const;
  /// Whether the failures changed since the last call.
  bool failures_changed();

 private:
  Job make_job(Arrival arrival, std::filesystem::path output);
  std::filesystem::path output_of(const Arrival& arrival) const;

  struct Failure {
    std::uintmax_t size = 0;
    std::int64_t modified_ns = 0;
    Job account;
  };

  const CliOptions& options_;
  const std::function<void(const std::string&)> note_;
  const std::function<void()> idle_;
  FolderWatch watch_;                 // the feed's thread only
  std::vector<Arrival> arrivals_;     // the feed's thread only: polled, not yet given out
  std::size_t next_arrival_ = 0;
  std::size_t sequence_ = 0;
  mutable std::mutex mutex_;          // what the sink and the feed's thread share:
  std::unordered_set<std::string> in_flight_;  ///< inputs in the graph
  std::map<std::string, std::string> outputs_;  ///< their outputs: output -> input
  std::map<std::string, Arrival> again_;  ///< arrived again while in flight: given out after it
  /// Arrived while another input with the same output (scan.png, scan.jpg) was in flight: given
  /// out after that one, keyed by it, so that two writes of one output never race.
  std::multimap<std::string, Arrival> behind_;
  std::vector<Arrival> requeued_;     ///< those, once the job they wait for is done
  std::map<std::string, Failure> failed_;
  bool failures_changed_ = false;
  std::size_t waiting_ = 0;
};

}  // namespace imgflow
