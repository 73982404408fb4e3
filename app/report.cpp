#include "app/report.hpp"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstring>

namespace imgflow {
namespace {

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string failure_line(const Job& job) {
  return fmt::format("error: {}: {}: {}", job.input.string(), stage_name(job.failed_stage), job.error);
}

std::string job_line(const Job& job) {
  switch (job.outcome) {
    case Outcome::skipped: return fmt::format("skipped {} (finished output exists)", job.input.string());
    case Outcome::failed: return failure_line(job);
    default: break;
  }
  std::chrono::nanoseconds busy{};
  for (const auto& span : job.spans) busy += span.duration;
  return fmt::format("wrote {} -> {} ({}x{} {} {}-bit, {} bytes, {:.1f} ms)", job.input.string(),
                     job.output.string(), job.width, job.height, layout_name(job.channels),
                     job.bit_depth, job.output_bytes, seconds(busy) * 1e3);
}

std::string summary_line(const RunStats& stats, const PipelineConfig& config) {
  const double wall = seconds(stats.wall);
  const double per_second = wall > 0 ? 1.0 / wall : 0.0;
  return fmt::format(
      "{} written, {} skipped, {} failed in {:.3f} s ({:.1f} images/s, {:.1f} MB/s decoded; "
      "{} threads, {} in flight)",
      stats.written, stats.skipped, stats.failed, wall, static_cast<double>(stats.written) * per_second,
      static_cast<double>(stats.decoded_bytes) / 1e6 * per_second, config.resolved_threads(),
      config.resolved_max_in_flight());
}

std::string stage_line(const RunStats& stats) {
  std::string line = "stage time, total / mean per image:";
  for (std::size_t s = 0; s < kStageCount; ++s) {
    const auto& busy = stats.stages[s].busy;
    line += fmt::format(" {} {:.3f} s / {:.2f} ms{}", kStageNames[s], seconds(busy.total()),
                        seconds(busy.mean()) * 1e3, s + 1 < kStageCount ? ";" : "");
  }
  return line;
}

std::string stop_line(StopReason reason, const RunStats& stats, int signal) {
  std::string why;
  switch (reason) {
    case StopReason::none: return {};
    case StopReason::interrupted: why = fmt::format("interrupted by {}", sigabbrev_np(signal) ? fmt::format("SIG{}", sigabbrev_np(signal)) : "a signal"); break;
    case StopReason::fail_fast: why = "stopped at the first failure (--fail-fast)"; break;
    case StopReason::output_unusable: why = "stopped: the output side cannot take any more files"; break;
  }
  return fmt::format("{}: {} image{} not started; rerun with --skip-existing to finish", why,
                     stats.not_started, stats.not_started == 1 ? "" : "s");
}

std::string failure_list(const std::vector<Job>& jobs, const std::vector<ListingError>& listing_errors) {
  std::string text;
  for (const ListingError& error : listing_errors)
    text += fmt::format("{}\tlist\t{}\n", escape_list_field(error.path.string()), escape_list_field(error.reason));
  for (const Job& job : jobs)
    if (job.outcome == Outcome::failed)
      text += fmt::format("{}\t{}\t{}\n", escape_list_field(job.input.string()), stage_name(job.failed_stage),
                          escape_list_field(job.error));
  return text;
}

}  // namespace imgflow
