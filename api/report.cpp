#include "api/report.hpp"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <map>

namespace imgflow {
namespace {

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

namespace {

// The reason, with the flag that moves a limit when the limit was the reason.
std::string reason(const Job& job) {
  if (job.over_pixel_limit) return job.error + " (raise it with --max-pixels)";
  if (job.no_resolution) return job.error + " (give it with --assume-dpi N)";
  return job.error;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      out += c;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: out += fmt::format("\\x{:02x}", byte);
    }
  }
  return out;
}

std::string failure_line(const Job& job) {
  return fmt::format("error: {}: {}: {}", job_name(job), stage_name(job.failed_stage), reason(job));
}

std::string profile_dropped_line(const Job& job) {
  return fmt::format("warning: {}: colour profile dropped: {} (colour-managed viewers show the output's "
                     "colours otherwise)", job_name(job), job.findings.profile_dropped);
}

std::string animation_line(const Job& job) {
  return fmt::format("warning: {}: animated, {} frames: only the first was written", job_name(job), job.frames);
}

std::vector<std::string> decoder_note_lines(const Job& job) {
  std::vector<std::string> lines;
  for (const auto& warning : job.warnings) lines.push_back(fmt::format("warning: {}: decode: {}", job_name(job), warning));
  for (const auto& dropped : job.dropped) lines.push_back(fmt::format("note: {}: dropped {}", job_name(job), dropped));
  for (const auto& reading : job.readings) lines.push_back(fmt::format("note: {}: decode: {}", job_name(job), reading));
  return lines;
}

std::string skipped_files_line(const std::vector<SkippedFile>& files) {
  if (files.empty()) return {};
  std::map<std::string, std::size_t> by_reason;
  for (const auto& file : files) ++by_reason[file.reason];
  std::string line = fmt::format("{} file{} skipped (not read):", files.size(), files.size() == 1 ? "" : "s");
  bool first = true;
  for (const auto& [why, count] : by_reason) {
    line += fmt::format("{} {} {}", first ? "" : ";", count, why);
    first = false;
  }
  return line + " (-v names them)";
}

std::string job_line(const Job& job) {
  switch (job.outcome) {
    case Outcome::skipped:
      return fmt::format("skipped {} ({})", job_name(job), job.skip_reason.empty() ? "finished output exists" : job.skip_reason);
    case Outcome::failed: return failure_line(job);
    default: break;
  }
  std::chrono::nanoseconds busy{};
  for (const auto& span : job.spans) busy += span.duration;
  std::string found;
  const Job::Findings& f = job.findings;
  if (f.normalize_low >= 0) found += fmt::format("; levels {}-{} stretched", f.normalize_low, f.normalize_high);
  if (f.threshold_level >= 0) found += fmt::format("; threshold level {}", f.threshold_level);
  if (f.skew_measured)
    found += f.deskewed ? fmt::format("; skew {:.2f} degrees (confidence {:.2f}): turned back", f.skew_degrees, f.skew_confidence)
                        : "; " + f.skew_note;
  if (f.dpi_from > 0) found += fmt::format("; {:.0f} dpi -> {:.0f} dpi", f.dpi_from, f.dpi_to);
  return fmt::format("wrote {} -> {} ({}x{} {} {}-bit, {} bytes, {:.1f} ms{})", job_name(job),
                     job.output.string(), job.width, job.height, layout_name(job.channels),
                     job.bit_depth, job.output_bytes, seconds(busy) * 1e3, found);
}

std::string summary_line(const RunStats& stats, const PipelineConfig& config) {
  const double wall = seconds(stats.wall);
  const double per_second = wall > 0 ? 1.0 / wall : 0.0;
  std::string lost;  // what some outputs lack, each warned about above
  if (stats.animations) lost += fmt::format("{} animated: first frame only", stats.animations);
  if (stats.profiles_dropped)
    lost += fmt::format("{}{} without the input's colour profile", lost.empty() ? "" : "; ", stats.profiles_dropped);
  return fmt::format(
      "{} written, {} skipped, {} failed{} in {:.3f} s ({:.1f} images/s, {:.1f} MB/s decoded; "
      "{} threads, {} in flight); outputs in {}",
      stats.written, stats.skipped, stats.failed, lost.empty() ? "" : " (" + lost + ")", wall,
      static_cast<double>(stats.written) * per_second,
      static_cast<double>(stats.decoded_bytes) / 1e6 * per_second, config.resolved_threads(),
      config.resolved_max_in_flight(), config.output_dir.string());
}

std::string stage_line(const RunStats& stats) {
  std::string line = "stage time, wall total / CPU total / wall mean per image:";
  for (std::size_t s = 0; s < kStageCount; ++s) {
    const auto& busy = stats.stages[s].busy;
    line += fmt::format(" {} {:.3f} s / {:.3f} s / {:.2f} ms{}", kStageNames[s], seconds(busy.total()),
                        seconds(stats.stages[s].cpu), seconds(busy.mean()) * 1e3, s + 1 < kStageCount ? ";" : "");
  }
  return line;
}

std::string stop_line(StopReason reason, const RunStats& stats, int signal, std::string_view cause) {
  std::string why;
  switch (reason) {
    case StopReason::none: return {};
    case StopReason::interrupted: why = fmt::format("interrupted by {}", sigabbrev_np(signal) ? fmt::format("SIG{}", sigabbrev_np(signal)) : "a signal"); break;
    case StopReason::fail_fast: why = "stopped at the first failure (--fail-fast)"; break;
    case StopReason::output_unusable: why = "stopped: the output side cannot take any more files"; break;
    case StopReason::input_gone: why = "stopped: an input directory has gone"; break;
  }
  if (!cause.empty()) why += fmt::format(" ({})", cause);
  return fmt::format("{}: {} image{} not started; rerun with --skip-existing to finish", why,
                     stats.not_started, stats.not_started == 1 ? "" : "s");
}

std::string failure_list(const std::vector<Job>& jobs, const std::vector<ListingError>& listing_errors) {
  std::string text;
  for (const ListingError& error : listing_errors)
    text += fmt::format("{}\tlist\t{}\n", escape_list_field(error.path.string()), escape_list_field(error.reason));
  for_each_result(jobs, [&](const Job& job) {
    if (job.outcome != Outcome::failed) return;
    text += fmt::format("{}\t{}\t{}", escape_list_field(job.input.string()), stage_name(job.failed_stage),
                        escape_list_field(reason(job)));
    text += job.page >= 1 && job.page <= job.page_count ? fmt::format("\tpage={}\n", job.page) : "\n";
  });
  return text;
}

std::string document_failure_line(const DocumentOutcome& document) {
  return fmt::format("error: {}: document not written: {}", printable(document.output.string()), document.error);
}

std::string documents_line(const RunStats& stats) {
  std::size_t written = 0, pages = 0;
  for (const auto& document : stats.documents)
    if (document.error.empty()) ++written, pages += document.pages;
  return fmt::format("documents: {} written ({} pages), {} not written", written, pages, stats.documents_failed());
}

}  // namespace imgflow
