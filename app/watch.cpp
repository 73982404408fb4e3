#include "app/watch.hpp"

#include <sys/stat.h>

#include "files/listing.hpp"

namespace imgflow {
namespace fs = std::filesystem;

namespace {

WatchOptions watch_options(const CliOptions& options) {
  WatchOptions watch;
  watch.roots = options.inputs;
  watch.recursive = options.recursive;
  watch.follow_symlinks = options.follow_symlinks;
  watch.skip = {options.output_dir};
  if (!options.move_input_dir.empty()) watch.skip.push_back(options.move_input_dir);
  watch.rescan_interval = std::chrono::seconds(options.rescan_interval);
  return watch;
}

// The file's size and modification time now, or nothing if it is gone.
std::optional<std::pair<std::uintmax_t, std::int64_t>> size_and_time(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return std::pair{static_cast<std::uintmax_t>(info.st_size),
                   static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
}

}  // namespace

WatchFeed::WatchFeed(const CliOptions& options, std::function<void(const std::string&)> note, std::function<void()> idle)
    : options_(options), note_(std::move(note)), idle_(std::move(idle)), watch_(watch_options(options)) {}

fs::path WatchFeed::output_of(const Arrival& arrival) const {
  return options_.output_dir / output_relative_path(arrival.relative, options_.pipeline.output_format->output_extension);
}

Job WatchFeed::make_job(Arrival arrival, fs::path output) {
  Job job;
  job.index = sequence_++;
  job.output = std::move(output);
  job.input = std::move(arrival.path);
  if (!options_.move_input_dir.empty()) job.move_to = options_.move_input_dir / arrival.relative;
  job.arrived = arrival.at;
  // Two inputs with one output (scan.jpg and scan.png): the output is the one a batch run would
  // give it (natural order's first), or, once that one has moved on, the first to arrive's.
  std::optional<fs::path> rival = output_rival(job.input);
  if (rival && !natural_path_less(*rival, job.input)) rival.reset();
  if (!rival && !job.move_to.empty()) rival = output_rival(job.input, job.move_to.parent_path());
  if (rival) job.fail(Stage::write, "its output " + job.output.string() + " is also the output of " + rival->string());
  return job;
}

std::optional<Job> WatchFeed::next(const RunControl& control) {
  while (!control.stop_requested()) {
    idle_();
    {
      const std::lock_guard lock(mutex_);
      for (Arrival& arrival : requeued_) arrivals_.push_back(std::move(arrival));
      requeued_.clear();
    }
    while (next_arrival_ < arrivals_.size()) {
      Arrival& arrival = arrivals_[next_arrival_++];
      const std::string key = arrival.path.string();
      const std::lock_guard lock(mutex_);
      waiting_ = arrivals_.size() - next_arrival_ + behind_.size() + watch_.waiting();
      // Seen twice (a scan and an event, or a rescan) and moved on by --move-input meanwhile:
      // done, nothing to say.
      if (!options_.move_input_dir.empty() && !fs::exists(arrival.path) &&
          fs::exists(options_.move_input_dir / arrival.relative))
        continue;
      if (in_flight_.count(key)) {
        again_.insert_or_assign(key, std::move(arrival));
        continue;
      }
      if (const auto failed = failed_.find(key); failed != failed_.end()) {
        const auto now = size_and_time(key);
        if (now && now->first == failed->second.size && now->second == failed->second.modified_ns) continue;
        failed_.erase(failed);  // changed (or gone): tried again
        failures_changed_ = true;
      }
      fs::path output = output_of(arrival);
      if (const auto held = outputs_.find(output.string()); held != outputs_.end()) {
        // Once behind it, however often it arrives meanwhile.
        auto [first, end] = behind_.equal_range(held->second);
        while (first != end && first->second.path != arrival.path) ++first;
        if (first != end) first->second = std::move(arrival);
        else behind_.emplace(held->second, std::move(arrival));
        continue;
      }
      in_flight_.insert(key);
      outputs_.emplace(output.string(), key);
      return make_job(std::move(arrival), std::move(output));
    }
    arrivals_.clear();
    next_arrival_ = 0;
    std::vector<std::string> notes;
    watch_.poll(std::chrono::milliseconds(250), 256, arrivals_, notes);
    for (const std::string& note : notes) note_(note);
    const std::lock_guard lock(mutex_);
    waiting_ = arrivals_.size() + behind_.size() + watch_.waiting();
  }
  return std::nullopt;
}

void WatchFeed::done(const Job& job) {
  const Job& file = job.file_job ? *job.file_job : job;
  const std::string key = file.input.string();
  const bool last = !job.file_job || job.file_job->pages_left == 1;
  const std::lock_guard lock(mutex_);
  if (job.outcome == Outcome::failed) {
    if (const auto now = size_and_time(key)) {
      failed_.insert_or_assign(key, Failure{now->first, now->second, job.account()});
      failures_changed_ = true;
    }
  } else if (!job.file_job && failed_.erase(key)) {
    failures_changed_ = true;
  }
  if (!last) return;
  in_flight_.erase(key);
  outputs_.erase(file.output.string());
  if (const auto again = again_.find(key); again != again_.end()) {
    requeued_.push_back(std::move(again->second));
    again_.erase(again);
  }
  const auto [first, end] = behind_.equal_range(key);
  for (auto behind = first; behind != end; ++behind) requeued_.push_back(std::move(behind->second));
  behind_.erase(first, end);
}

std::size_t WatchFeed::waiting() const {
  const std::lock_guard lock(mutex_);
  return waiting_;
}

std::vector<Job> WatchFeed::failures() const {
  const std::lock_guard lock(mutex_);
  std::vector<Job> accounts;
  for (const auto& [path, failure] : failed_) accounts.push_back(failure.account);
  return accounts;
}

bool WatchFeed::failures_changed() {
  const std::lock_guard lock(mutex_);
  return std::exchange(failures_changed_, false);
}

}  // namespace imgflow
