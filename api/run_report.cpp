#include "api/run_report.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <ctime>
#include <fstream>
#include <thread>

#include "kernels/adjustment.hpp"
#include "files/file_io.hpp"

namespace imgflow {
namespace fs = std::filesystem;
namespace {

// File names and messages are bytes; the JSON must stay valid UTF-8 whatever they hold.
constexpr auto kReplaceInvalid = nlohmann::json::error_handler_t::replace;

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }
double milliseconds(std::chrono::nanoseconds d) { return seconds(d) * 1e3; }
double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

std::string_view stop_name(StopReason stop) {
  switch (stop) {
    case StopReason::none: return "none";
    case StopReason::interrupted: return "interrupted";
    case StopReason::fail_fast: return "fail_fast";
    case StopReason::output_unusable: return "output_unusable";
    case StopReason::input_gone: return "input_gone";
  }
  return "none";
}

nlohmann::json distribution(Distribution& d) {
  return {{"mean_ms", milliseconds(d.mean())},
          {"median_ms", milliseconds(d.quantile(0.5))},
          {"p95_ms", milliseconds(d.quantile(0.95))},
          {"max_ms", milliseconds(d.max())},
          {"total_s", seconds(d.total())}};
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Paths as absolute ones, so that imgflow-merge finds them from any directory.
std::vector<std::string> absolute_paths(const std::vector<fs::path>& paths) {
  std::vector<std::string> out;
  for (const fs::path& path : paths) out.push_back(fs::absolute(path).lexically_normal().string());
  return out;
}

}  // namespace

nlohmann::json run_report(const RunSpec& options, const PipelineConfig& config, RunStats& stats,
                          std::size_t listed, const std::vector<SkippedFile>& skipped_files, StopReason stop,
                          int exit_code, const std::vector<Job>& accounts) {
  nlohmann::json pages = nlohmann::json::array();
  // --join: each document settled (or left by a stopped run), in the order they settled.
  nlohmann::json documents = nlohmann::json::array();
  for (const auto& document : stats.documents)
    documents.push_back({{"output", document.output.string()}, {"pages", document.pages},
                         {"written", document.error.empty()}, {"error", document.error}});
  for (const Job& job : accounts) {
    if (job.outcome == Outcome::failed || !job.findings.any()) continue;
    const Job::Findings& found = job.findings;
    nlohmann::json page{{"input", job.input.string()}, {"page", job.page}, {"output", job.output.string()}};
    if (found.threshold_level >= 0) page["threshold_level"] = found.threshold_level;
    if (found.normalize_low >= 0) page["normalize_levels"] = {found.normalize_low, found.normalize_high};
    if (found.skew_measured)
      page["skew"] = {{"degrees", found.skew_degrees}, {"confidence", found.skew_confidence},
                      {"turned_back", found.deskewed}, {"note", found.skew_note}};
    if (found.dpi_from > 0) page["dpi"] = {{"from", found.dpi_from}, {"to", found.dpi_to}};
    if (!found.profile_dropped.empty()) page["profile_dropped"] = found.profile_dropped;
    pages.push_back(std::move(page));
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const SkippedFile& file : skipped_files)
    skipped.push_back({{"path", file.path.string()}, {"reason", file.reason}});
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  const double wall = seconds(stats.wall);
  const auto per_second = [wall](double amount) { return wall > 0 ? amount / wall : 0.0; };

  nlohmann::json stages = nlohmann::json::array();
  for (std::size_t s = 0; s < kStageCount; ++s) {
    StageStats& stage = stats.stages[s];
    stages.push_back({{"name", kStageNames[s]},
                      {"images", stage.busy.count()},
                      {"busy_s", seconds(stage.busy.total())},
                      {"busy_share", stats.busy_share(static_cast<Stage>(s))},
                      {"cpu_s", seconds(stage.cpu)},
                      {"cpu_share", stats.cpu_share(static_cast<Stage>(s))},
                      {"per_image", distribution(stage.busy)},
                      {"wait_before", distribution(stage.wait)}});
  }
  const Stage bottleneck = stats.bottleneck();
  return {
      {"report_format", kReportFormat},
      {"imgflow_version", IMGFLOW_VERSION},
      {"command_line", options.command_line},
      {"started_at_utc", utc_now()},
      {"machine",
       {{"host", host_name()}, {"cpu_model", cpu_model()}, {"cores", usable_cores()},
        {"hardware_threads", std::thread::hardware_concurrency()}}},
      {"settings",
       {{"inputs", absolute_paths(options.inputs)},
        {"output_dir", fs::absolute(options.output_dir).lexically_normal().string()},
        {"working_dir", fs::current_path().string()},
        {"follow_symlinks", options.follow_symlinks},
        {"null_separated", options.null_separated},
        {"adjustments", options.recipe.text()},
        {"threads", config.resolved_threads()},
        {"max_in_flight", config.resolved_max_in_flight()},
        {"png_level", options.png_level},
        {"format", std::string(options.pipeline.output_format->key)},
        {"quality", config.encode.quality},
        {"lossless", config.encode.lossless},
        {"join", options.join ? std::string(join_name(*options.join)) : "none"},
        {"recursive", options.recursive},
        {"skip_existing", config.skip_existing},
        {"strict", config.decode.strict},
        {"pages", options.pages_text},
        {"verify_checksums", config.decode.verify_checksums},
        {"max_pixels", config.decode.max_pixels},
        {"strip_metadata", config.strip_metadata},
        {"fail_fast", config.fail_fast},
        {"failures_file", options.failures_file.empty() ? "" : fs::absolute(options.failures_file).lexically_normal().string()},
        {"files_from", options.files_from.empty() || options.files_from == "-" ? options.files_from.string()
                                                                             : fs::absolute(options.files_from).lexically_normal().string()},
        {"stamp", config.stamp},
        {"sync", config.sync}}},
      {"shard", {{"index", options.shard.index}, {"count", options.shard.count}, {"origin", options.shard.origin}}},
      {"counts",
       {{"listed", listed},
        {"in_shard", stats.total()},
        {"written", stats.written},
        {"skipped", stats.skipped},
        {"failed", stats.failed},
        {"not_started", stats.not_started},
        {"animated_first_frame_only", stats.animations},
        {"colour_profile_dropped", stats.profiles_dropped},
        {"with_decoder_warnings", stats.with_warnings},
        {"files_not_read", skipped_files.size()}}},
      {"files_not_read", skipped},
      {"documents", documents},
      {"exit_code", exit_code},
      {"stop_reason", stop_name(stop)},
      {"time",
       {{"wall_s", wall}, {"cpu_user_s", seconds(usage.ru_utime)}, {"cpu_system_s", seconds(usage.ru_stime)},
        {"cpu_utilisation", wall > 0 ? (seconds(usage.ru_utime) + seconds(usage.ru_stime)) / wall : 0.0}}},
      {"memory", {{"peak_rss_mb", static_cast<double>(usage.ru_maxrss) / 1024.0}}},
      {"bytes",
       {{"input", stats.input_bytes}, {"decoded", stats.decoded_bytes}, {"output", stats.output_bytes}}},
      {"throughput",
       {{"images_per_s", per_second(static_cast<double>(stats.written))},
        {"input_mb_per_s", per_second(static_cast<double>(stats.input_bytes) / 1e6)},
        {"decoded_mb_per_s", per_second(static_cast<double>(stats.decoded_bytes) / 1e6)},
        {"output_mb_per_s", per_second(static_cast<double>(stats.output_bytes) / 1e6)}}},
      {"stages", stages},
      {"pages", pages},
      {"bottleneck",
       {{"stage", stage_name(bottleneck)},
        {"busy_share", stages[static_cast<std::size_t>(bottleneck)]["busy_share"]},
        {"cpu_share", stages[static_cast<std::size_t>(bottleneck)]["cpu_share"]},
        {"summary", bottleneck_line(stats)}}},
  };
}

std::string bottleneck_line(RunStats& stats) {
  if (stats.busy_total().count() == 0) return "bottleneck: none (no image was processed)";
  const Stage stage = stats.bottleneck();
  StageStats& busiest = stats.stages[static_cast<std::size_t>(stage)];
  const double images = static_cast<double>(std::max<std::size_t>(1, busiest.busy.count()));
  return fmt::format(
      "bottleneck: {} ({:.0f}% of the stages' CPU time; per image {:.2f} ms CPU, {:.2f} ms wall mean, "
      "{:.2f} ms wall p95; images waited {:.2f} ms on average in front of it)",
      stage_name(stage), 100.0 * stats.cpu_share(stage), milliseconds(busiest.cpu) / images,
      milliseconds(busiest.busy.mean()), milliseconds(busiest.busy.quantile(0.95)),
      milliseconds(busiest.wait.mean()));
}

std::string trace_events(const std::vector<Job>& jobs) {
  // Written directly rather than through a JSON document: a run of 100,000 images has half a
  // million events, and building a DOM for them would cost more than the run's own bookkeeping.
  const auto quoted = [](const std::string& text) { return nlohmann::json(text).dump(-1, ' ', false, kReplaceInvalid); };
  const int pid = static_cast<int>(::getpid());
  int threads = 0;
  for_each_result(jobs, [&](const Job& job) {
    for (const Job::Span& span : job.spans) threads = std::max(threads, span.thread + 1);
  });
  fmt::memory_buffer out;
  fmt::format_to(std::back_inserter(out),
                 R"({{"displayTimeUnit":"ms","traceEvents":[{{"ph":"M","name":"process_name","pid":{},"args":{{"name":"imgflow"}}}})",
                 pid);
  for (int t = 0; t < threads; ++t)
    fmt::format_to(std::back_inserter(out), R"(,{{"ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":{}}}}})",
                   pid, t, quoted(trace_thread_name(t)));
  for_each_result(jobs, [&](const Job& job) {
    const std::string file = quoted(job_name(job));
    for (std::size_t s = 0; s < kStageCount; ++s) {
      const Job::Span& span = job.spans[s];
      if (span.duration.count() == 0) continue;
      const bool failed_here = job.outcome == Outcome::failed && job.failed_stage == static_cast<Stage>(s);
      fmt::format_to(std::back_inserter(out),
                     R"(,{{"ph":"X","cat":"stage","name":"{}","pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},"args":{{"file":{},"index":{},"cpu_ms":{:.3f}{}}}}})",
                     kStageNames[s], pid, span.thread, static_cast<double>(span.start.count()) / 1e3,
                     static_cast<double>(span.duration.count()) / 1e3, file, job.index,
                     static_cast<double>(span.cpu.count()) / 1e6,
                     failed_here ? ",\"error\":" + quoted(job.error) : std::string());
    }
  });
  fmt::format_to(std::back_inserter(out), "]}}\n");
  return fmt::to_string(out);
}

}  // namespace imgflow
