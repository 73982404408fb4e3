#pragma once
#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipeline/job.hpp"

namespace imgflow {

/// The distribution of one per-image quantity (a stage's duration, or the wait before it), in
/// bounded memory: exact samples for the first kExactSamples images, then a histogram of
/// logarithmic buckets (each 2^(1/32), about 2.2%, wide), so a run over a million files keeps
/// kilobytes here, not megabytes. Count, total, mean and max stay exact; a quantile past that
/// point is the middle of its bucket, within about 1.1% of the exact value.
struct Distribution {
  static constexpr std::size_t kExactSamples = 4096;
  static constexpr int kBucketsPerOctave = 32;
  static constexpr std::size_t kBuckets = 64 * kBucketsPerOctave;

  void add(std::chrono::nanoseconds value);
  std::size_t count() const { return count_; }
  std::chrono::nanoseconds total() const { return total_; }
  std::chrono::nanoseconds mean() const;
  /// The q-quantile (0..1) by the nearest-rank method.
  std::chrono::nanoseconds quantile(double q);
  std::chrono::nanoseconds max() const { return max_; }

 private:
  std::vector<std::chrono::nanoseconds> samples_;  ///< while count_ <= kExactSamples
  std::vector<std::uint64_t> buckets_;             ///< after: counts per logarithmic bucket
  bool sorted_ = false;
  std::size_t count_ = 0;
  std::chrono::nanoseconds total_{}, min_{}, max_{};
};

/// A small number per thread (TBB worker, reader or writer), in the order threads first run a
/// stage: the trace's tracks.
int trace_thread_index();
/// The track's name: the thread's own name for a thread that has one (imgflow-read,
/// imgflow-write), "worker N" for the others.
std::string trace_thread_name(int index);

/// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
std::chrono::nanoseconds thread_cpu_time();
/// CPU time other threads spent on the calling thread's stage (the encoder's bands), credited
/// to it when they join; the stage's timer takes it (and so resets it) when the stage ends.
void credit_cpu_elsewhere(std::chrono::nanoseconds cpu);
std::chrono::nanoseconds take_cpu_elsewhere();

/// What each stage did over the run.
struct StageStats {
  Distribution busy;  ///< wall time spent in the stage, per image that ran it
  std::chrono::nanoseconds cpu{};  ///< CPU time spent in the stage, all images
  Distribution wait;  ///< time the image waited between the previous stage (or the source) and this one
};

/// Totals of a run, accumulated at the sink (one job at a time, so no locking).
struct RunStats {
  std::size_t written = 0, skipped = 0, failed = 0;
  std::size_t not_started = 0;      ///< jobs cancelled or never fed because the run was stopped
  std::size_t animations = 0;       ///< animated inputs, of which only the first frame was written
  std::size_t with_warnings = 0;    ///< images whose decoder warned (without changing pixels)
  std::size_t foreign = 0;          ///< skipped: the output is a file imgflow did not write
  std::size_t profiles_dropped = 0;  ///< pages written without the colour profile their input had
  /// --join: every document settled (written or not) or left unfinished by a stopped run.
  std::vector<DocumentOutcome> documents;
  std::size_t documents_failed() const {
    return static_cast<std::size_t>(std::count_if(documents.begin(), documents.end(), [](const auto& d) { return !d.error.empty(); }));
  }
  std::uint64_t input_bytes = 0;    ///< bytes of every input file read
  std::uint64_t decoded_bytes = 0;  ///< pixel bytes of every decoded image
  std::uint64_t output_bytes = 0;
  std::array<StageStats, kStageCount> stages{};
  std::chrono::nanoseconds wall{};
  int threads_seen = 0;             ///< distinct worker threads that ran a stage

  void add(const Job& job);
  std::size_t total() const { return written + skipped + failed + not_started; }
  /// The stage with the most CPU time: where the run's CPU went. (Wall time would name the
  /// wrong stage on a loaded machine, where a stage waits for a core while it is "busy".)
  /// By wall time only if no CPU time was measured.
  Stage bottleneck() const;
  /// CPU time summed over every stage, and a stage's share (0..1) of it.
  std::chrono::nanoseconds cpu_total() const;
  double cpu_share(Stage stage) const;
  /// Busy time summed over every stage.
  std::chrono::nanoseconds busy_total() const;
  /// A stage's share (0..1) of busy_total(); 0 when nothing ran.
  double busy_share(Stage stage) const;
};

}  // namespace imgflow
