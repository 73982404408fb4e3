// imgflow: point adjustments over a directory of images through a oneTBB flow graph.
#include <fcntl.h>
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
#include <string>
#include <system_error>
#include <thread>

#include "api/batch.hpp"
#include "api/report.hpp"
#include "api/run_report.hpp"
#include "app/cli.hpp"
#include "app/log_file.hpp"
#include "app/progress.hpp"
#include "app/watch.hpp"
#include "files/resume.hpp"
#include "pipeline/graph.hpp"

namespace fs = std::filesystem;
using namespace imgflow;

namespace {

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
RunControl run_control;  // --watch's
Stop stop;               // a batch's (imgflow::run)
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
  stop.request(signal);
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

// Messages to spdlog (standard error, or --log), at their level.
void log_line(Level level, const std::string& text) {
  switch (level) {
    case Level::error: spdlog::error("{}", text); break;
    case Level::warning: spdlog::warn("{}", text); break;
    case Level::info: spdlog::info("{}", text); break;
    case Level::debug: spdlog::debug("{}", text); break;
  }
}

Level least_level(Verbosity verbosity) {
  return verbosity == Verbosity::quiet ? Level::error : verbosity == Verbosity::verbose ? Level::debug : Level::info;
}

// A batch: the library's run() (include/imgflow/imgflow.hpp), its lines printed above the
// progress line, its dry-run listing on standard output, a signal asking it to stop.
int run(const CliOptions& options) {
  std::unique_ptr<ProgressLine> progress;
  std::string listing;  // --dry-run: the lines not yet written to standard output
  bool listing_failed = false;
  const auto flush_listing = [&] {
    if (!listing_failed && std::fwrite(listing.data(), 1, listing.size(), stdout) != listing.size()) listing_failed = true;
    listing.clear();
  };
  Callbacks callbacks;
  callbacks.level = least_level(options.verbosity);
  callbacks.message = [&](Level level, const std::string& text) {
    if (progress)
      progress->print_above([&] { log_line(level, text); });
    else
      log_line(level, text);
  };
  callbacks.started = [&](std::size_t total) {
    if (!options.dry_run)
      progress = std::make_unique<ProgressLine>(options.progress && options.verbosity != Verbosity::quiet, total,
                                                std::chrono::seconds(options.progress_interval));
  };
  callbacks.progress = [&](const Progress& done) { progress->set(done.done, done.failed, done.input_bytes); };
  callbacks.planned = [&](const fs::path& input, const fs::path& output, const std::string& refused) {
    // The listing is data: standard output, a line per image (names escaped like messages).
    listing += printable(input.string() + " -> " + output.string() + (refused.empty() ? "" : " (refused: " + refused + ")")) + "\n";
    if (listing.size() > (1 << 16)) flush_listing();
  };
  // A dry run keeps SIGPIPE's default: `imgflow -n ... | head` ends quietly, as any filter's would.
  if (!options.dry_run) install_signal_handlers();
  RunResult result;
  try {
    result = imgflow::run(options.settings, callbacks, &stop);
  } catch (const Error& e) {
    if (progress) progress->finish();
    spdlog::error("error: {}", e.reason());
    return kExitCannotRun;
  }
  if (progress) progress->finish();
  if (options.dry_run) {
    flush_listing();
    if (listing_failed || std::fflush(stdout) != 0 || std::ferror(stdout)) {
      spdlog::error("error: cannot write the listing to standard output: {}", std::strerror(errno));
      return kExitCannotRun;
    }
  }
  return result.exit_code;
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
  const Messages out(log_line, least_level(options.verbosity));
  if (const std::string problem = prepare_output(options, out); !problem.empty()) {
    spdlog::error("error: {}", problem);
    return kExitCannotRun;
  }
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
      write_run_file(options.report_file, "report", to_text(json), config.sync, out);
    }
    if (!options.failures_file.empty() && (feed_pointer->failures_changed() || !running))
      write_run_file(options.failures_file, "failure list", failure_list(failures, {}), config.sync, out);
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
  run_pipeline(feed, options.recipe, config, run_control, [&](const Job& job) {
    job_lines(job, out);
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
