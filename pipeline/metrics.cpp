#include "pipeline/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace imgflow {

std::chrono::nanoseconds Distribution::total() const {
  std::chrono::nanoseconds sum{};
  for (const auto d : samples) sum += d;
  return sum;
}

std::chrono::nanoseconds Distribution::mean() const {
  return samples.empty() ? std::chrono::nanoseconds{} : total() / static_cast<long>(samples.size());
}

std::chrono::nanoseconds Distribution::quantile(double q) {
  if (samples.empty()) return {};
  if (!sorted_) {
    std::sort(samples.begin(), samples.end());
    sorted_ = true;
  }
  // Nearest rank: the smallest sample with at least q of the samples at or below it.
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

std::chrono::nanoseconds Distribution::max() { return quantile(1.0); }

void RunStats::add(const Job& job) {
  switch (job.outcome) {
    case Outcome::written: ++written; break;
    case Outcome::skipped: ++skipped; break;
    case Outcome::failed: ++failed; break;
    default: ++not_started; break;  // cancelled (or, wrongly, still pending)
  }
  input_bytes += job.input_bytes;
  animations += job.frames > 1;
  with_warnings += !job.warnings.empty();
  foreign += job.foreign_output;
  decoded_bytes += job.decoded_bytes;
  output_bytes += job.output_bytes;
  std::chrono::nanoseconds ready = job.fed_at;  // when the image could have entered the stage
  for (std::size_t s = 0; s < kStageCount; ++s) {
    const Job::Span& span = job.spans[s];
    if (span.duration.count() == 0) continue;
    stages[s].busy.samples.push_back(span.duration);
    stages[s].wait.samples.push_back(std::max(span.start - ready, std::chrono::nanoseconds{}));
    ready = span.start + span.duration;
    threads_seen = std::max(threads_seen, span.thread + 1);
  }
}

Stage RunStats::bottleneck() const {
  std::size_t busiest = 0;
  for (std::size_t s = 1; s < kStageCount; ++s)
    if (stages[s].busy.total() > stages[busiest].busy.total()) busiest = s;
  return static_cast<Stage>(busiest);
}

std::chrono::nanoseconds RunStats::busy_total() const {
  std::chrono::nanoseconds sum{};
  for (const StageStats& stage : stages) sum += stage.busy.total();
  return sum;
}

double RunStats::busy_share(Stage stage) const {
  const auto all = busy_total();
  if (all.count() == 0) return 0.0;
  return std::chrono::duration<double>(stages[static_cast<std::size_t>(stage)].busy.total()) /
         std::chrono::duration<double>(all);
}

}  // namespace imgflow
