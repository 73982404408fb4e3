// imgflow: point adjustments over a directory of images through a oneTBB flow graph.
#include <fcntl.h>
#include <sys/stat.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <variant>

#include "app/cli.hpp"
#include "app/log_file.hpp"
#include "app/watch.hpp"
#include "app/progress.hpp"
#include "app/run_report.hpp"
#include "app/report.hpp"
#include "kernels/lookup_table.hpp"
#include "codec/decode.hpp"
#include "files/file_io.hpp"
#include "files/resume.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/stages.hpp"
#include "files/listing.hpp"

namespace fs = std::filesystem;
using namespace imgflow;

namespace {

constexpr int kExitOk = 0, kExitSomeFailed = 1, kExitCannotRun = 2;

// Descriptors 0-2 must be open before anything else is: a file opened while one is closed would
// take its number, and messages written to "stderr" would land in an output image.
void make_standard_descriptors_safe() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd) ::_exit(kExitCannotRun);
  }
}

// SIGINT/SIGTERM/SIGHUP (the terminal or ssh session gone): the first asks the graph to stop
// feeding images (those in flight finish and the summary is printed); a second one quits at once. Either way no output appears under its
// final name unless complete: unfinished ones are hidden temporaries, removed by the next run.
// Under --watch, SIGHUP is logrotate's: it asks for the log to be opened again, not to stop.
RunControl run_control;
std::atomic<int> first_signal{0};
std::atomic<bool> watching{false}, reopen_log{false};

extern "C" void on_stop_signal(int signal) {
  if (signal == SIGHUP && watching.load()) {
    reopen_log.store(true);
    return;
  }
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
  sigaction(SIGHUP, &action, nullptr);
  // A report or list written into a pipe whose reader has gone is an error to report, not a
  // death that loses the summary. (A dry run keeps the default: `imgflow -n ... | head` ends
  // quietly, as any filter's would.)
  signal(SIGPIPE, SIG_IGN);
}

// Under --watch the stop and reopen signals are taken by a thread of their own (sigwait) rather
// than by a handler, every other thread (TBB's workers included, made after it) blocking them:
// a handler runs on whichever thread the kernel picks, and a long-running process should not
// depend on which (under ThreadSanitizer, one asleep in TBB's futex never ran it). Made before
// any other thread; ended (and joined) by its destructor.
class SignalThread {
 public:
  SignalThread() {
    sigemptyset(&set_);
    for (const int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, signal);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "imgflow-signal");
      for (int signal = 0;;) {
        if (sigwait(&set_, &signal) != 0) continue;
        if (done_.load()) return;
        on_stop_signal(signal);
      }
    });
  }
  ~SignalThread() {
    done_.store(true);
    pthread_kill(thread_.native_handle(), SIGHUP);
    thread_.join();
  }
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The message with control characters escaped, so that a file name can neither break a
// message into two lines nor send escape sequences to the terminal.
class EscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm&, spdlog::memory_buf_t& out) override {
    const std::string text = printable(std::string_view(message.payload.data(), message.payload.size()));
    out.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessage>(); }
};

// --log: the file messages go to instead of standard error.
std::shared_ptr<LogFile> log_file;

void set_up_logging(Verbosity verbosity, ColorMode color, const fs::path& log_path) {
  // NO_COLOR (no-color.org): set and not empty means no colour unless asked for explicitly.
  const char* no_color = std::getenv("NO_COLOR");
  const auto mode = color == ColorMode::always                                        ? spdlog::color_mode::always
                    : color == ColorMode::never || (no_color && *no_color != '\0') ? spdlog::color_mode::never
                                                                                      : spdlog::color_mode::automatic;
  std::shared_ptr<spdlog::logger> logger;
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (log_path.empty()) {
    logger = spdlog::stderr_color_mt("imgflow", mode);
    formatter->add_flag<EscapedMessage>('*').set_pattern("%^%*%$");
  } else {
    log_file = std::make_shared<LogFile>(log_path);
    logger = std::make_shared<spdlog::logger>("imgflow", log_file);
    formatter->add_flag<EscapedMessage>('*').set_pattern("%Y-%m-%dT%H:%M:%S%z %*");
  }
  logger->set_formatter(std::move(formatter));
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
  // An unnamed file (O_TMPFILE) proves it without a name to leave behind if killed right here;
  // filesystems without it get a named probe.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    const auto probe = temporary_path_for(dir / "imgflow-probe");
    fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) ::unlink(probe.c_str());
  }
  if (fd < 0) return "cannot write to output directory " + dir.string() + ": " + std::strerror(errno);
  ::close(fd);
  return {};
}

// --move-input DIR: made if needed; refused where a move could lose or repeat an input (DIR is
// OUTPUT_DIR, or an input folder or inside one, where later runs would list it) or would be a
// copy (another filesystem).
std::string check_move_directory(const CliOptions& options) {
  const fs::path& dir = options.move_input_dir;
  if (dir.empty()) return {};
  std::error_code ec;
  fs::create_directories(dir, ec);
  struct stat moved {};
  if (::stat(dir.c_str(), &moved) != 0 || !S_ISDIR(moved.st_mode))
    return "cannot create the --move-input directory " + dir.string() + (ec ? ": " + ec.message() : "");
  if (fs::equivalent(dir, options.output_dir, ec))
    return "--move-input " + dir.string() + " is OUTPUT_DIR: choose a folder of its own";
  const fs::path canonical_dir = fs::weakly_canonical(dir, ec);
  for (const fs::path& input : options.inputs) {
    const bool is_dir = fs::is_directory(input, ec);
    const fs::path folder = is_dir ? input : input.parent_path().empty() ? fs::path(".") : input.parent_path();
    const fs::path canonical_input = fs::weakly_canonical(folder, ec);
    const auto [a, b] = std::mismatch(canonical_input.begin(), canonical_input.end(), canonical_dir.begin(), canonical_dir.end());
    if (is_dir && a == canonical_input.end())
      return "--move-input " + dir.string() + " is inside the input folder " + input.string() +
             ": moved inputs would be listed again";
    struct stat from {};
    if (::stat(folder.c_str(), &from) == 0 && from.st_dev != moved.st_dev)
      return "--move-input " + dir.string() + " is on another filesystem than " + input.string() +
             " (a move there would be a copy): choose a folder on the inputs' filesystem";
  }
  return {};
}

// Makes OUTPUT_DIR (and --move-input's folder) ready: proved writable, the temporaries of a
// killed run removed. False, after its error line, when it cannot be.
bool prepare_output(const CliOptions& options) {
  for (const std::string& problem : {check_output_directory(options.output_dir), check_move_directory(options)})
    if (!problem.empty()) {
      spdlog::error("error: {}", problem);
      return false;
    }
  const CleanupResult cleanup = remove_stale_temporaries(options.output_dir, options.recursive);
  if (cleanup.removed)
    spdlog::info("removed {} unfinished temporary file{} left by an interrupted run", cleanup.removed,
                 cleanup.removed == 1 ? "" : "s");
  for (const auto& error : cleanup.errors) spdlog::warn("warning: cannot remove {}", error);
  return true;
}

// What a run works on: the listing, this shard's part of it, and what could not be listed.
// Jobs are made from it one at a time as the graph takes them (make_job), so what a run holds
// per listed file is its name (ListedFile) and 4 bytes of OutputIndex.
struct Plan {
  Listing listing;
  std::optional<OutputIndex> outputs;  ///< of `listing`
  std::size_t listed = 0;              ///< images in the whole listing (every shard)
  std::size_t count = 0;               ///< images in this shard
  Shard shard;
  /// --join: the documents, and each listed file's document and place in it. A shard takes
  /// whole documents: `selected` lists its files' positions.
  DocumentSet documents;
  bool by_document = false;
  std::vector<std::size_t> selected;
  std::set<std::size_t> finished_documents;  ///< --skip-existing: documents already finished

  /// The listing position of this shard's k-th image.
  std::size_t position(std::size_t k) const { return by_document ? selected[k] : shard.index + k * shard.count; }
};

// The job for this shard's k-th image. A job whose output another input already claims (a.jpg
// and a.png both become a.png) is failed up front rather than letting the two overwrite each
// other.
Job make_job(const CliOptions& options, const Plan& plan, std::size_t k) {
  const std::size_t i = plan.position(k);
  const ListedFile& file = plan.listing.files[i];
  Job job;
  job.index = i;
  job.input = file.input();
  job.output = options.output_dir / output_relative_path(file.relative(), options.pipeline.output_format->output_extension);
  if (const auto pages = plan.listing.pages.find(i); pages != plan.listing.pages.end()) job.only_pages = pages->second;
  if (!options.move_input_dir.empty()) job.move_to = options.move_input_dir / file.relative();
  if (options.join) {
    const auto [document, place] = plan.documents.document_of[i];
    job.output = plan.documents.documents[document].output;
    if (plan.finished_documents.count(document)) {
      job.outcome = Outcome::skipped;
      job.skip_reason = "its document " + job.output.string() + " is finished";
      return job;
    }
    job.document = static_cast<std::ptrdiff_t>(document);
    job.document_file = place;
    if (options.join == JoinKind::folders) return job;  // a folder's name is its own
  }
  if (const auto first = plan.outputs->claimed_before(plan.listing, i))
    job.fail(Stage::write, "its output " + job.output.string() + " is also the output of " +
                               plan.listing.files[*first].input().string());
  return job;
}

// An input file that would be its own output (an image named as INPUT, its folder as
// OUTPUT_DIR). Files found in a folder or a list cannot be: check_not_in_place has proved that
// no input folder is OUTPUT_DIR.
std::optional<fs::path> find_self_overwrite(const CliOptions& options, const Listing& listing) {
  for (const std::size_t i : listing.named) {
    const ListedFile& file = listing.files[i];
    std::error_code ec;
    if (fs::equivalent(file.input(), options.output_dir / output_relative_path(file.relative(), options.pipeline.output_format->output_extension), ec))
      return file.input();
  }
  return std::nullopt;
}

InputSpec input_spec(const CliOptions& options) {
  return {options.inputs, options.files_from, options.null_separated ? '\0' : '\n',
          {options.recursive, options.follow_symlinks, {}}};
}

// The directories the run reads from: INPUTs that are directories, or the list's root.
std::vector<fs::path> input_directories(const CliOptions& options) {
  std::vector<fs::path> directories;
  std::error_code ec;
  for (const fs::path& input : options.inputs)
    if (fs::is_directory(input, ec)) directories.push_back(input);
  if (!options.files_from.empty() && options.inputs.empty()) directories.push_back(".");
  return directories;
}

// The images to process, each listing error reported.
Listing list_inputs(const CliOptions& options) {
  Listing listing;
  try {
    listing = list_run_inputs(input_spec(options), options.output_dir);
  } catch (const std::exception& e) {
    if (options.files_from.empty()) throw;  // only reading the list is an error of the listing
    listing.errors.push_back({options.files_from, e.what()});
  }
  for (const auto& error : listing.errors) {
    if (options.files_from.empty())
      spdlog::error("error: {}: cannot list: {}", error.path.string(), error.reason);
    else
      spdlog::error("error: {}: {}: {}", options.files_from.string(), error.path.string(), error.reason);
  }
  return listing;
}

// Refuses a run whose output directory is one of its input directories: its outputs would be
// listed as inputs by the next run (and a PNG's output would be the PNG itself).
std::string check_not_in_place(const CliOptions& options) {
  std::error_code ec;
  for (const fs::path& dir : input_directories(options))
    if (fs::equivalent(dir, options.output_dir, ec))
      return fmt::format("OUTPUT_DIR {} is the input directory {}: choose another OUTPUT_DIR (the next run "
                         "would take this run's outputs for inputs)", options.output_dir.string(), dir.string());
  return {};
}

// --skip-existing with --join: a document is finished when its output records this recipe and
// exactly the inputs it would be made from now (each read for its content hash: only for a
// document whose output exists).
void find_finished_documents(Plan& plan, const std::string& stamp) {
  const auto inputs = plan.documents.inputs(plan.listing);
  Bytes scratch;
  for (std::size_t d = 0; d < inputs.size(); ++d)
    if (d % plan.shard.count == plan.shard.index &&  // this shard's (plan_run: whole documents)
        check_document(plan.documents.documents[d].output, inputs[d], stamp, scratch) == OutputState::finished)
      plan.finished_documents.insert(d);
}

// Lists the inputs and makes this shard's jobs, or returns the exit code of a run that cannot
// start.
std::variant<Plan, int> plan_run(const CliOptions& options) {
  std::error_code ec;
  std::size_t missing = 0;
  for (const fs::path& input : options.inputs) missing += !fs::exists(input, ec);
  if (options.files_from.empty() && missing == options.inputs.size()) {
    spdlog::error("error: {} {}", options.inputs.size() == 1 ? "input" : "none of the inputs exists:",
                  options.inputs.size() == 1 ? options.inputs[0].string() + " does not exist" : options.inputs[0].string() + " ...");
    return kExitCannotRun;
  }
  if (!options.files_from.empty() && !options.inputs.empty() && !fs::is_directory(options.inputs[0], ec)) {
    spdlog::error("error: input directory {} {}", options.inputs[0].string(),
                  fs::exists(options.inputs[0], ec) ? "is not a directory" : "does not exist");
    return kExitCannotRun;
  }
  if (const std::string problem = check_not_in_place(options); !problem.empty()) {
    spdlog::error("error: {}", problem);
    return kExitCannotRun;
  }
  Plan plan;
  plan.listing = list_inputs(options);
  const Listing& listing = plan.listing;
  if (!options.files_from.empty() && listing.files.empty() && !listing.errors.empty()) return kExitCannotRun;
  for (const SkippedFile& file : listing.skipped) {
    if (file.notable)
      spdlog::warn("warning: {}: skipped: {}{}", file.path.string(), file.reason,
                   file.reason.find("not followed") != std::string::npos ? " (-L follows)" : "");
    else
      spdlog::debug("skipped {}: {}", file.path.string(), file.reason);
  }
  if (const auto input = find_self_overwrite(options, listing)) {
    spdlog::error("error: refusing to overwrite input file {}: choose an OUTPUT_DIR other than "
                  "the input's directory", input->string());
    return kExitCannotRun;
  }
  if (listing.files.empty()) spdlog::warn("warning: no image files to process");
  // The collision check sees the whole listing, so it is the same in every shard.
  plan.outputs.emplace(listing);
  plan.listed = listing.files.size();
  plan.shard = options.shard;
  plan.count = plan.listed > plan.shard.index ? (plan.listed - plan.shard.index + plan.shard.count - 1) / plan.shard.count : 0;
  if (options.join) {
    plan.documents = plan_documents(plan.listing, *options.join, options.output_dir,
                                    options.pipeline.output_format->output_extension);
    if (plan.shard.count > 1) {  // whole documents to each shard
      plan.by_document = true;
      for (std::size_t i = 0; i < plan.listing.files.size(); ++i)
        if (plan.documents.document_of[i].first % plan.shard.count == plan.shard.index) plan.selected.push_back(i);
      plan.count = plan.selected.size();
    }
  }
  if (options.shard.count > 1)
    spdlog::info("shard {}/{} ({}): {} of {} images", options.shard.index, options.shard.count,
                 options.shard.origin, plan.count, plan.listed);
  return plan;
}

// How to retry what failed: rerunning the same command with --skip-existing redoes exactly what
// is not finished; a failure list can name just those inputs.
std::string retry_line(const CliOptions& options) {
  std::string line = "to retry: rerun the same command with --skip-existing";
  const auto directories = input_directories(options);
  if (!options.failures_file.empty() && options.files_from.empty() && options.inputs.size() == 1 &&
      directories.size() == 1)
    line += fmt::format(", or only the failed ones: imgflow --files-from {} {} {} ...", options.failures_file.string(),
                        options.inputs[0].string(), options.output_dir.string());
  return line;
}

// Writes a report, list or trace file (write_output_file); false, after its error line, when it
// cannot.
bool write_run_file(const fs::path& file, std::string_view what, const std::string& text, bool sync) {
  try {
    write_output_file(file, text, sync);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("error: {}: cannot write the {}: {}", file.string(), what, e.what());
    return false;
  }
}

// After the graph: the summary lines, then the failure list, trace and report files. Returns
// the exit code. (`stats` is not const: the quantiles sort the stage timings.)
int finish_run(const CliOptions& options, const PipelineConfig& config, const Plan& plan, RunStats& stats,
               std::vector<Job>& accounts) {
  // In listing order (the sink saw them in completion order), pages in page order.
  std::sort(accounts.begin(), accounts.end(),
            [](const Job& a, const Job& b) { return a.index != b.index ? a.index < b.index : a.page < b.page; });
  spdlog::info(summary_line(stats, config));
  if (stats.foreign)
    spdlog::warn("warning: {} output{} left alone: file{} imgflow did not write (--overwrite-foreign replaces them)",
                 stats.foreign, stats.foreign == 1 ? "" : "s", stats.foreign == 1 ? "" : "s");
  if (const std::string line = skipped_files_line(plan.listing.skipped); !line.empty()) spdlog::info(line);
  spdlog::debug(stage_line(stats));
  spdlog::debug(bottleneck_line(stats));
  // The errors that stopped it may name only a file that vanished with its folder (a rename that
  // found its temporary gone): the stop line says what is gone, as seen now that the run is over.
  std::string cause;
  std::error_code ec;
  if (run_control.reason() == StopReason::output_unusable && !fs::is_directory(options.output_dir, ec))
    cause = fmt::format("the output directory {} has gone", options.output_dir.string());
  if (const std::string stop = stop_line(run_control.reason(), stats, first_signal.load(), cause); !stop.empty())
    spdlog::error(stop);

  if (options.join && run_control.reason() != StopReason::none) {
    // Documents none of whose pages reached the writer before the run stopped: not written either.
    std::set<fs::path> seen;
    for (const auto& document : stats.documents) seen.insert(document.output);
    for (std::size_t d = 0; d < plan.documents.documents.size(); ++d) {
      const fs::path& output = plan.documents.documents[d].output;
      if (d % plan.shard.count == plan.shard.index && !plan.finished_documents.count(d) && !seen.count(output))
        stats.documents.push_back({output, 0, std::string(kDocumentStopped), /*unfinished=*/true});
    }
  }
  if (options.join) {
    spdlog::info(documents_line(stats));
    // Documents a stopped run left unfinished (the others were reported as they settled).
    for (const auto& document : stats.documents)
      if (document.unfinished) spdlog::error(document_failure_line(document));
  }
  const std::vector<ListingError>& listing_errors = plan.listing.errors;
  int exit_code = stats.failed || stats.documents_failed() || !listing_errors.empty() ? kExitSomeFailed : kExitOk;
  const auto write_text = [&](const fs::path& file, std::string_view what, const std::string& text) {
    if (!write_run_file(file, what, text, config.sync)) exit_code = kExitCannotRun;
  };
  if (!options.failures_file.empty())
    write_text(options.failures_file, "failure list", failure_list(accounts, listing_errors));
  if (stats.failed || !listing_errors.empty()) spdlog::info(retry_line(options));
  if (!options.trace_file.empty()) write_text(options.trace_file, "trace", trace_events(accounts));
  switch (run_control.reason()) {
    case StopReason::interrupted: exit_code = 128 + first_signal.load(); break;
    case StopReason::output_unusable:
    case StopReason::input_gone: exit_code = kExitCannotRun; break;
    default: break;
  }
  // Jobs the graph never fed although nothing asked it to stop: a defect, never a success.
  if (run_control.reason() == StopReason::none && stats.not_started) {
    spdlog::error("error: internal error: {} images were never processed", stats.not_started);
    exit_code = kExitCannotRun;
  }
  if (!options.report_file.empty())
    write_text(options.report_file, "report",
               to_text(run_report(options, config, stats, plan.listed, plan.listing.skipped, run_control.reason(), exit_code,
                                  accounts)));
  return exit_code;
}

// The lines a finished job prints: its failure and warnings (what a user must see without -v),
// and with -v what it did.
void print_job_lines(const CliOptions& options, const Job& job, ProgressLine& progress) {
  if (job.outcome == Outcome::failed)
    progress.print_above([&] { spdlog::error(failure_line(job)); });
  else if (job.foreign_output || job.skip_reason == kRemovedBeforeRead)
    progress.print_above([&] { spdlog::warn("warning: {}: skipped: {}", job_name(job), job.skip_reason); });
  else if (options.verbosity == Verbosity::verbose)
    progress.print_above([&] { spdlog::debug(job_line(job)); });
  if (job.frames > 1) progress.print_above([&] { spdlog::warn(animation_line(job)); });
  if (job.outcome == Outcome::written)
    for (const std::string& fitted : job.findings.fitted)
      progress.print_above([&] { spdlog::warn("warning: {}: encode: {}", job_name(job), fitted); });
  if (job.document_done && !job.document_done->error.empty())
    progress.print_above([&] { spdlog::error(document_failure_line(*job.document_done)); });
  else if (job.document_done && options.verbosity == Verbosity::verbose)
    progress.print_above([&] {
      spdlog::debug("wrote document {} ({} pages)", job.document_done->output.string(), job.document_done->pages);
    });
  if (job.outcome == Outcome::written && !job.findings.profile_dropped.empty())
    progress.print_above([&] { spdlog::warn(profile_dropped_line(job)); });
  if (job.outcome == Outcome::written && job.findings.skew_unreliable)
    progress.print_above([&] { spdlog::warn("warning: {}: deskew: {}", job_name(job), job.findings.skew_note); });
  if (!job.move_error.empty())
    progress.print_above([&] {
      spdlog::warn("warning: {}: input left in place: {}", (job.file_job ? job.file_job->input : job.input).string(),
                   job.move_error);
    });
  if (options.verbosity == Verbosity::verbose)
    for (const std::string& line : decoder_note_lines(job)) progress.print_above([&] { spdlog::debug(line); });
}

int run(const CliOptions& options) {
  auto planned = plan_run(options);
  if (const int* exit_code = std::get_if<int>(&planned)) return *exit_code;
  Plan& plan = std::get<Plan>(planned);

  if (options.dry_run) {
    // The listing is data: standard output, a line per image (names escaped like messages).
    std::string lines;
    for (std::size_t k = 0; k < plan.count; ++k) {
      const Job job = make_job(options, plan, k);
      lines += printable(job.input.string() + " -> " + job.output.string() +
                         (job.outcome == Outcome::failed ? " (refused: " + job.error + ")" : "")) + "\n";
      if (lines.size() > (1 << 16) || k + 1 == plan.count) {
        if (std::fwrite(lines.data(), 1, lines.size(), stdout) != lines.size()) break;
        lines.clear();
      }
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      spdlog::error("error: cannot write the listing to standard output: {}", std::strerror(errno));
      return kExitCannotRun;
    }
    spdlog::info("dry run: {} images, operations {}", plan.count, options.recipe.text());
    return plan.listing.errors.empty() ? kExitOk : kExitSomeFailed;
  }
  if (!prepare_output(options)) return kExitCannotRun;

  PipelineConfig config = options.pipeline;
  config.output_taken = [&](const fs::path& output) {
    return plan.outputs->taken(plan.listing, output.lexically_relative(options.output_dir));
  };
  config.stamp = std::string(kStampPrefix) + options.recipe.text();
  config.output_dir = options.output_dir;
  if (options.join) {
    config.documents = &plan.documents.documents;
    if (config.skip_existing) find_finished_documents(plan, config.stamp);
  }
  config.input_dirs = input_directories(options);
  spdlog::debug("operations: {}", options.recipe.text());
  install_signal_handlers();
  std::set<fs::path> written_directories;
  ProgressLine progress(options.progress && options.verbosity != Verbosity::quiet, plan.count,
                        std::chrono::seconds(options.progress_interval));
  // What outlives each job: the failed ones' accounts, for --failures; every one's with --trace.
  std::vector<Job> accounts;
  ListFeed feed(plan.count, [&](std::size_t k) { return make_job(options, plan, k); });
  RunStats stats = run_pipeline(feed, options.recipe, config, run_control, [&](const Job& job) {
    if (job.outcome == Outcome::failed || !options.trace_file.empty() ||
        (!options.report_file.empty() && job.findings.any()))
      accounts.push_back(job.account());
    progress.image_done(job.input_bytes, job.outcome == Outcome::failed);
    print_job_lines(options, job, progress);
    if (job.outcome == Outcome::written && config.sync) written_directories.insert(job.output.parent_path());
  });
  progress.finish();
  for (const auto& directory : written_directories) sync_directory(directory);
  return finish_run(options, config, plan, stats, accounts);
}

// The resident memory of the process now, in bytes.
std::uint64_t resident_bytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "re");
  unsigned long long pages = 0, resident = 0;
  if (statm) {
    if (std::fscanf(statm, "%llu %llu", &pages, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// --watch: what is already there, then every image that arrives, until a signal (exit 0) or an
// output side that cannot take files any more (exit 2). What the run holds grows with what is
// in flight and what has failed, not with what it has done: totals, and distributions in
// bounded memory (pipeline/metrics.hpp).
int run_watch(const CliOptions& options) {
  std::error_code ec;
  for (const fs::path& input : options.inputs)
    if (!fs::is_directory(input, ec)) {
      spdlog::error("error: --watch watches folders: {} {}", input.string(),
                    fs::exists(input, ec) ? "is not a directory" : "does not exist");
      return kExitCannotRun;
    }
  if (const std::string problem = check_not_in_place(options); !problem.empty()) {
    spdlog::error("error: {}", problem);
    return kExitCannotRun;
  }
  if (!prepare_output(options)) return kExitCannotRun;
  PipelineConfig config = options.pipeline;
  config.stamp = std::string(kStampPrefix) + options.recipe.text();
  config.output_dir = options.output_dir;
  // (config.input_dirs stays empty: a watched folder that goes is waited for, not a reason to stop.)
  watching = true;
  const SignalThread signals;

  // Shared by the sink (each job) and the feed's thread (the periodic progress and report).
  std::mutex live_mutex;
  RunStats live;
  Distribution latency;  ///< from the watch learning an image was ready to its output in place
  const auto started = std::chrono::steady_clock::now();
  WatchFeed* feed_pointer = nullptr;

  // What the watch has done so far, taken at once: for the report, the failure list and the
  // progress line.
  struct Snapshot {
    RunStats stats;
    Distribution latency;
    std::size_t waiting = 0;
    std::uint64_t resident = 0;
  };
  const auto milliseconds = [](std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const auto report = [&](bool running, int exit_code) {
    Snapshot now;
    {
      const std::lock_guard lock(live_mutex);
      now.stats = live;
      now.latency = latency;
    }
    now.stats.wall = std::chrono::steady_clock::now() - started;
    now.waiting = feed_pointer->waiting();
    now.resident = resident_bytes();
    const std::vector<Job> failures = feed_pointer->failures();
    if (!options.report_file.empty()) {
      const RunStats& stats = now.stats;
      nlohmann::json json = run_report(options, config, now.stats, stats.written + stats.skipped + stats.failed, {},
                                       run_control.reason(), exit_code, failures);
      json["watch"] = {{"running", running},
                       {"waiting", now.waiting},
                       {"resident_bytes", now.resident},
                       {"latency", {{"count", now.latency.count()},
                                    {"median_ms", milliseconds(now.latency.quantile(0.5))},
                                    {"p99_ms", milliseconds(now.latency.quantile(0.99))},
                                    {"max_ms", milliseconds(now.latency.max())}}}};
      if (running) json["exit_code"] = nullptr;
      write_run_file(options.report_file, "report", to_text(json), config.sync);
    }
    if (!options.failures_file.empty() && (feed_pointer->failures_changed() || !running))
      write_run_file(options.failures_file, "failure list", failure_list(failures, {}), config.sync);
    return now;
  };
  const auto interval = std::chrono::seconds(options.progress_interval);
  auto next_tick = started + interval;
  const auto idle = [&] {
    if (reopen_log.exchange(false) && log_file) {
      try {
        log_file->reopen();
        spdlog::info("reopened the log {}", options.log_file.string());
      } catch (const std::exception& e) {
        spdlog::error("error: {}", e.what());
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (interval.count() == 0 || now < next_tick) return;
    next_tick = now + interval;
    Snapshot done = report(true, kExitOk);
    if (options.progress && options.verbosity != Verbosity::quiet)
      spdlog::info("progress: {} written, {} skipped, {} failed; {} waiting; latency median {:.0f} ms, p99 {:.0f} ms; "
                   "{:.1f} MB resident",
                   done.stats.written, done.stats.skipped, done.stats.failed, done.waiting,
                   milliseconds(done.latency.quantile(0.5)), milliseconds(done.latency.quantile(0.99)),
                   static_cast<double>(done.resident) / 1e6);
  };
  const auto note = [](const std::string& text) {
    if (text.ends_with("is there again"))
      spdlog::info("{}", text);
    else
      spdlog::warn("warning: {}", text);
  };
  WatchFeed feed(options, note, idle);
  feed_pointer = &feed;
  std::string folders;
  for (const fs::path& input : options.inputs) folders += (folders.empty() ? "" : ", ") + input.string();
  spdlog::info("watching {}{} for images; outputs in {}{} (SIGTERM or Ctrl-C stops)", folders,
               options.recursive ? " and its subfolders" : "", options.output_dir.string(),
               options.move_input_dir.empty() ? "" : ", inputs then moved to " + options.move_input_dir.string());
  ProgressLine quiet_progress(false, 0, std::chrono::seconds(0));  // lines print as they come
  run_pipeline(feed, options.recipe, config, run_control, [&](const Job& job) {
    print_job_lines(options, job, quiet_progress);
    feed.done(job);
    const std::lock_guard lock(live_mutex);
    live.add(job);
    if (job.outcome == Outcome::written && job.arrived != std::chrono::steady_clock::time_point{})
      latency.add(std::chrono::steady_clock::now() - job.arrived);
  });
  const int exit_code = run_control.reason() == StopReason::output_unusable ? kExitCannotRun
                        : run_control.reason() == StopReason::fail_fast     ? kExitSomeFailed
                                                                            : kExitOk;
  const Snapshot last = report(false, exit_code);
  spdlog::info("watch stopped: {}", summary_line(last.stats, config));
  if (run_control.reason() == StopReason::output_unusable)
    spdlog::error("error: stopped: the output side cannot take files (see the error above)");
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  make_standard_descriptors_safe();
  auto parsed = parse_command_line(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const CliOptions& options = std::get<CliOptions>(parsed);
  try {
    set_up_logging(options.verbosity, options.color, options.log_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitCannotRun;
  }
  try {
    if (options.watch) return run_watch(options);
    return run(options);
  } catch (const std::exception& e) {
    spdlog::error("error: {}", e.what());
    return kExitCannotRun;
  }
}
