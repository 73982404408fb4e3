#include "app/report.hpp"

#include <fmt/format.h>

#include <chrono>

namespace imgflow {
namespace {

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string failure_line(const Job& job) {
  return fmt::format("error: {}: {}: {}", job.input.string(), stage_name(job.failed_stage), job.error);
}

std::string job_line(const Job& job) {
  switch (job.outcome) {
    case Outcome::skipped: return fmt::format("skipped {} (output exists)", job.input.string());
    case Outcome::failed: return failure_line(job);
    default: break;
  }
  std::chrono::nanoseconds busy{};
  for (const auto t : job.stage_time) busy += t;
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
    const double total = seconds(stats.stage_total[s]);
    const double mean = stats.stage_count[s] ? total / static_cast<double>(stats.stage_count[s]) : 0;
    line += fmt::format(" {} {:.3f} s / {:.2f} ms{}", kStageNames[s], total, mean * 1e3,
                        s + 1 < kStageCount ? ";" : "");
  }
  return line;
}

}  // namespace imgflow
