// imgflow: point adjustments over a directory of images through a oneTBB flow graph.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <variant>

#include "app/cli.hpp"
#include "app/progress.hpp"
#include "app/run_report.hpp"
#include "app/report.hpp"
#include "kernels/lookup_table.hpp"
#include "codec/decode.hpp"
#include "pipeline/file_io.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/listing.hpp"

namespace fs = std::filesystem;
using namespace imgflow;

namespace {

constexpr int kExitOk = 0, kExitSomeFailed = 1, kExitCannotRun = 2;

// SIGINT/SIGTERM: the first asks the graph to stop feeding images (those in flight finish and
// the summary is printed); a second one quits at once. Either way no output appears under its
// final name unless complete: unfinished ones are hidden temporaries, removed by the next run.
RunControl run_control;
std::atomic<int> first_signal{0};

extern "C" void on_stop_signal(int signal) {
  int none = 0;
  if (!first_signal.compare_exchange_strong(none, signal)) ::_exit(128 + signal);
  run_control.request_stop(StopReason::interrupted);
  static constexpr char kMessage[] =
      "\nimgflow: stopping after the images in flight (press again to quit at once)\n";
  [[maybe_unused]] const auto ignored = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void set_up_logging(Verbosity verbosity) {
  auto logger = spdlog::stderr_color_mt("imgflow");
  logger->set_pattern("%^%v%$");
  logger->set_level(verbosity == Verbosity::quiet     ? spdlog::level::err
                    : verbosity == Verbosity::verbose ? spdlog::level::debug
                                                      : spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Creates OUTPUT_DIR if needed and proves it writable by creating and removing a file there.
std::string check_output_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    return "cannot create output directory " + dir.string() + (ec ? ": " + ec.message() : "");
  const auto probe = temporary_path_for(dir / "imgflow-probe");
  FILE* file = std::fopen(probe.c_str(), "w");
  if (!file) return "cannot write to output directory " + dir.string() + ": " + std::strerror(errno);
  std::fclose(file);
  fs::remove(probe, ec);
  return {};
}

// One job per listed image. A job whose output another input already claims (a.jpg and
// a.png both become a.png) is failed up front rather than letting the two overwrite each other.
std::vector<Job> make_jobs(const CliOptions& options, const Listing& listing) {
  const std::vector<fs::path>& images = listing.images;
  std::vector<Job> jobs(images.size());
  std::map<fs::path, std::size_t> claimed;
  for (std::size_t i = 0; i < images.size(); ++i) {
    Job& job = jobs[i];
    job.index = i;
    job.input = options.input_dir / images[i];
    job.output = options.output_dir / output_relative_path(images[i]);
    if (const auto pages = listing.pages.find(images[i]); pages != listing.pages.end()) job.only_pages = pages->second;
    const auto [it, inserted] = claimed.emplace(job.output, i);
    if (!inserted)
      job.fail(Stage::write, "its output " + job.output.string() + " is also the output of " +
                                 jobs[it->second].input.string());
  }
  return jobs;
}

// The input file itself as an output: refuse the whole run (OUTPUT_DIR is INPUT_DIR).
const Job* find_self_overwrite(const std::vector<Job>& jobs) {
  for (const Job& job : jobs) {
    std::error_code ec;
    if (fs::equivalent(job.input, job.output, ec)) return &job;
  }
  return nullptr;
}

// The images to process: INPUT_DIR's listing, or the paths named by --files-from, each error
// reported.
Listing list_inputs(const CliOptions& options) {
  Listing listing;
  try {
    listing = list_run_inputs(options.input_dir, options.output_dir, options.recursive, options.files_from);
  } catch (const std::exception& e) {
    if (options.files_from.empty()) throw;  // only reading the list is an error of the listing
    listing.errors.push_back({options.files_from, e.what()});
  }
  for (const auto& error : listing.errors) {
    if (options.files_from.empty())
      spdlog::error("error: {}: cannot list directory: {}", error.path.string(), error.reason);
    else
      spdlog::error("error: {}: {}: {}", options.files_from.string(), error.path.string(), error.reason);
  }
  return listing;
}

// What a run works on: this shard's jobs, how many images were listed in all, and what could
// not be listed.
struct Plan {
  std::vector<Job> jobs;
  std::size_t listed = 0;
  std::vector<ListingError> listing_errors;
  std::vector<SkippedFile> skipped_files;  ///< files in the input that are not images imgflow reads
  std::set<fs::path> outputs;              ///< every listed image's output (pages must not take one)
};

// Lists the inputs and makes this shard's jobs, or returns the exit code of a run that cannot
// start.
std::variant<Plan, int> plan_run(const CliOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(options.input_dir, ec)) {
    spdlog::error("error: input directory {} {}", options.input_dir.string(),
                  fs::exists(options.input_dir, ec) ? "is not a directory" : "does not exist");
    return kExitCannotRun;
  }
  Listing listing = list_inputs(options);
  if (!options.files_from.empty() && listing.images.empty() && !listing.errors.empty()) return kExitCannotRun;

  Plan plan{make_jobs(options, listing), 0, std::move(listing.errors), std::move(listing.skipped), {}};
  for (const Job& job : plan.jobs) plan.outputs.insert(job.output);
  for (const SkippedFile& file : plan.skipped_files)
    spdlog::debug("skipped {}: {}", (options.input_dir / file.path).string(), file.reason);
  if (const Job* job = find_self_overwrite(plan.jobs)) {
    spdlog::error("error: refusing to overwrite input file {}: choose an OUTPUT_DIR other than "
                  "the input directory", job->input.string());
    return kExitCannotRun;
  }
  if (plan.jobs.empty()) spdlog::warn("warning: no image files in {}", options.input_dir.string());
  plan.listed = plan.jobs.size();
  if (options.shard.count > 1) {
    // After the collision check, which must see the whole listing to be the same in every shard.
    std::erase_if(plan.jobs, [&](const Job& job) { return !options.shard.takes(job.index); });
    spdlog::info("shard {}/{} ({}): {} of {} images", options.shard.index, options.shard.count,
                 options.shard.origin, plan.jobs.size(), plan.listed);
  }
  return plan;
}

// After the graph: the summary lines, then the failure list, trace and report files. Returns
// the exit code. (`stats` is not const: the quantiles sort the stage timings.)
int finish_run(const CliOptions& options, const PipelineConfig& config, const Plan& plan, RunStats& stats) {
  spdlog::info(summary_line(stats, config));
  if (const std::string line = skipped_files_line(plan.skipped_files); !line.empty()) spdlog::info(line);
  spdlog::info(stage_line(stats));
  spdlog::info(bottleneck_line(stats));
  if (const std::string stop = stop_line(run_control.reason(), stats, first_signal.load()); !stop.empty())
    spdlog::error(stop);

  int exit_code = stats.failed || !plan.listing_errors.empty() ? kExitSomeFailed : kExitOk;
  const auto write_text = [&](const fs::path& file, std::string_view what, const std::string& text) {
    try {
      write_file_atomically(file, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, config.sync);
    } catch (const std::exception& e) {
      spdlog::error("error: {}: cannot write the {}: {}", file.string(), what, e.what());
      exit_code = kExitCannotRun;
    }
  };
  if (!options.failures_file.empty())
    write_text(options.failures_file, "failure list", failure_list(plan.jobs, plan.listing_errors));
  if (!options.trace_file.empty()) write_text(options.trace_file, "trace", trace_events(plan.jobs));
  switch (run_control.reason()) {
    case StopReason::interrupted: exit_code = 128 + first_signal.load(); break;
    case StopReason::output_unusable: exit_code = kExitCannotRun; break;
    default: break;
  }
  if (!options.report_file.empty())
    write_text(options.report_file, "report",
               to_text(run_report(options, config, stats, plan.listed, plan.skipped_files, run_control.reason(), exit_code)));
  return exit_code;
}

int run(const CliOptions& options) {
  auto planned = plan_run(options);
  if (const int* exit_code = std::get_if<int>(&planned)) return *exit_code;
  Plan& plan = std::get<Plan>(planned);

  if (options.dry_run) {
    for (const Job& job : plan.jobs)
      spdlog::info("{} -> {}{}", job.input.string(), job.output.string(),
                   job.outcome == Outcome::failed ? " (refused: " + job.error + ")" : "");
    spdlog::info("dry run: {} images, adjustments {}", plan.jobs.size(), to_string(options.chain));
    return kExitOk;
  }
  if (const std::string problem = check_output_directory(options.output_dir); !problem.empty()) {
    spdlog::error("error: {}", problem);
    return kExitCannotRun;
  }
  const CleanupResult cleanup = remove_stale_temporaries(options.output_dir, options.recursive);
  if (cleanup.removed)
    spdlog::info("removed {} unfinished temporary file{} left by an interrupted run", cleanup.removed,
                 cleanup.removed == 1 ? "" : "s");
  for (const auto& error : cleanup.errors) spdlog::warn("warning: cannot remove {}", error);

  const LookupTables tables = build_tables(options.chain);
  PipelineConfig config = options.pipeline;
  config.taken_outputs = &plan.outputs;
  config.stamp = "imgflow " + to_string(options.chain);
  spdlog::debug("adjustments: {}", to_string(options.chain));
  install_signal_handlers();
  std::set<fs::path> written_directories;
  ProgressLine progress(options.progress && options.verbosity != Verbosity::quiet, plan.jobs.size());
  RunStats stats = run_pipeline(plan.jobs, tables, config, run_control, [&](const Job& job) {
    progress.image_done(job.input_bytes, job.outcome == Outcome::failed);
    if (job.outcome == Outcome::failed)
      progress.print_above([&] { spdlog::error(failure_line(job)); });
    else if (options.verbosity == Verbosity::verbose)
      progress.print_above([&] { spdlog::debug(job_line(job)); });
    if (job.frames > 1) progress.print_above([&] { spdlog::warn(animation_line(job)); });
    if (options.verbosity == Verbosity::verbose)
      for (const std::string& line : decoder_note_lines(job)) progress.print_above([&] { spdlog::debug(line); });
    if (job.outcome == Outcome::written && config.sync) written_directories.insert(job.output.parent_path());
  });
  progress.finish();
  for (const auto& directory : written_directories) sync_directory(directory);
  return finish_run(options, config, plan, stats);
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const CliOptions& options = std::get<CliOptions>(parsed);
  set_up_logging(options.verbosity);
  try {
    return run(options);
  } catch (const std::exception& e) {
    spdlog::error("error: {}", e.what());
    return kExitCannotRun;
  }
}
