#include "pipeline/metrics.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace imgflow {

namespace {

std::size_t bucket_of(std::chrono::nanoseconds value) {
  const double ns = std::max<double>(1.0, static_cast<double>(value.count()));
  return std::min(Distribution::kBuckets - 1,
                  static_cast<std::size_t>(std::log2(ns) * Distribution::kBucketsPerOctave));
}

// The geometric middle of a bucket.
std::chrono::nanoseconds bucket_middle(std::size_t bucket) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(
      std::exp2((static_cast<double>(bucket) + 0.5) / Distribution::kBucketsPerOctave)));
}

}  // namespace

void Distribution::add(std::chrono::nanoseconds value) {
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = std::max(max_, value);
  total_ += value;
  ++count_;
  if (buckets_.empty() && count_ <= kExactSamples) {
    samples_.push_back(value);
    sorted_ = false;
    return;
  }
  if (buckets_.empty()) {  // from exact samples to the histogram, once
    buckets_.assign(kBuckets, 0);
    for (const auto sample : samples_) ++buckets_[bucket_of(sample)];
    std::vector<std::chrono::nanoseconds>().swap(samples_);
  }
  ++buckets_[bucket_of(value)];
}

std::chrono::nanoseconds Distribution::mean() const {
  return count_ == 0 ? std::chrono::nanoseconds{} : total_ / static_cast<long>(count_);
}

std::chrono::nanoseconds Distribution::quantile(double q) {
  if (count_ == 0) return {};
  // Nearest rank: the smallest sample with at least q of the samples at or below it.
  const std::size_t rank = std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(q * static_cast<double>(count_))), 1, count_);
  if (buckets_.empty()) {
    if (!sorted_) {
      std::sort(samples_.begin(), samples_.end());
      sorted_ = true;
    }
    return samples_[rank - 1];
  }
  std::size_t seen = 0;
  for (std::size_t bucket = 0; bucket < kBuckets; ++bucket) {
    seen += buckets_[bucket];
    if (seen >= rank) return std::clamp(bucket_middle(bucket), min_, max_);
  }
  return max_;
}

void RunStats::add(const Job& job) {
  switch (job.outcome) {
    case Outcome::written: ++written; break;
    case Outcome::skipped: ++skipped; break;
    case Outcome::failed: ++failed; break;
    default: ++not_started; break;  // cancelled (or, wrongly, still pending)
  }
  input_bytes += job.input_bytes;
  if (job.document_done) documents.push_back(*job.document_done);
  animations += job.frames > 1;
  with_warnings += !job.warnings.empty();
  foreign += job.foreign_output;
  profiles_dropped += job.outcome == Outcome::written && !job.findings.profile_dropped.empty();
  decoded_bytes += job.decoded_bytes;
  output_bytes += job.output_bytes;
  std::chrono::nanoseconds ready = job.fed_at;  // when the image could have entered the stage
  // The stages in the order the page first visited them (neighbourhood may come before adjust).
  std::array<std::size_t, kStageCount> order{};
  for (std::size_t s = 0; s < kStageCount; ++s) order[s] = s;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return job.spans[a].start < job.spans[b].start; });
  for (const std::size_t s : order) {
    const Job::Span& span = job.spans[s];
    if (span.duration.count() == 0) continue;
    stages[s].busy.add(span.duration);
    stages[s].cpu += span.cpu;
    stages[s].wait.add(std::max(span.start - ready, std::chrono::nanoseconds{}));
    ready = span.start + span.duration;
    threads_seen = std::max(threads_seen, span.thread + 1);
  }
}

Stage RunStats::bottleneck() const {
  const bool by_cpu = cpu_total().count() > 0;
  const auto cost = [&](std::size_t s) { return by_cpu ? stages[s].cpu : stages[s].busy.total(); };
  std::size_t busiest = 0;
  for (std::size_t s = 1; s < kStageCount; ++s)
    if (cost(s) > cost(busiest)) busiest = s;
  return static_cast<Stage>(busiest);
}

std::chrono::nanoseconds RunStats::cpu_total() const {
  std::chrono::nanoseconds sum{};
  for (const StageStats& stage : stages) sum += stage.cpu;
  return sum;
}

double RunStats::cpu_share(Stage stage) const {
  const auto all = cpu_total();
  if (all.count() == 0) return 0.0;
  return std::chrono::duration<double>(stages[static_cast<std::size_t>(stage)].cpu) /
         std::chrono::duration<double>(all);
}

namespace {
std::mutex thread_names_mutex;
std::vector<std::string> thread_names;  // by trace index
}  // namespace

int trace_thread_index() {
  thread_local const int index = [] {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    const std::lock_guard lock(thread_names_mutex);
    thread_names.emplace_back(std::string_view(name).rfind("imgflow-", 0) == 0 ? name : "");
    return static_cast<int>(thread_names.size()) - 1;
  }();
  return index;
}

std::string trace_thread_name(int index) {
  const std::lock_guard lock(thread_names_mutex);
  const bool named = index >= 0 && static_cast<std::size_t>(index) < thread_names.size() &&
                     !thread_names[static_cast<std::size_t>(index)].empty();
  return named ? thread_names[static_cast<std::size_t>(index)] : "worker " + std::to_string(index);
}

std::chrono::nanoseconds thread_cpu_time() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds{now.tv_sec} + std::chrono::nanoseconds{now.tv_nsec};
}

namespace {
thread_local std::chrono::nanoseconds cpu_elsewhere{};
}  // namespace

void credit_cpu_elsewhere(std::chrono::nanoseconds cpu) { cpu_elsewhere += cpu; }

std::chrono::nanoseconds take_cpu_elsewhere() { return std::exchange(cpu_elsewhere, std::chrono::nanoseconds{}); }

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
