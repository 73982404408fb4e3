// A batch run, as the command and the library's run() make it: list, plan, run the graph over a
// list's feed, then the summary and the report. Lines go to the caller's Messages.
#include "api/batch.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <system_error>

#include "api/report.hpp"
#include "api/run_report.hpp"
#include "files/file_io.hpp"
#include "files/listing.hpp"
#include "files/resume.hpp"
#include "pipeline/feed.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/stages.hpp"

namespace imgflow {
namespace fs = std::filesystem;
namespace {

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
std::string check_move_directory(const RunSpec& options) {
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

}  // namespace

std::string prepare_output(const RunSpec& options, const Messages& out) {
  for (const std::string& problem : {check_output_directory(options.output_dir), check_move_directory(options)})
    if (!problem.empty()) return problem;
  const CleanupResult cleanup = remove_stale_temporaries(options.output_dir, options.recursive);
  if (cleanup.removed)
    out.info("removed {} unfinished temporary file{} left by an interrupted run", cleanup.removed,
                 cleanup.removed == 1 ? "" : "s");
  for (const auto& error : cleanup.errors) out.warn("warning: cannot remove {}", error);
  return {};
}

namespace {

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
Job make_job(const RunSpec& options, const Plan& plan, std::size_t k) {
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
std::optional<fs::path> find_self_overwrite(const RunSpec& options, const Listing& listing) {
  for (const std::size_t i : listing.named) {
    const ListedFile& file = listing.files[i];
    std::error_code ec;
    if (fs::equivalent(file.input(), options.output_dir / output_relative_path(file.relative(), options.pipeline.output_format->output_extension), ec))
      return file.input();
  }
  return std::nullopt;
}

InputSpec input_spec(const RunSpec& options) {
  return {options.inputs, options.files_from, options.null_separated ? '\0' : '\n',
          {options.recursive, options.follow_symlinks, {}}};
}

// The directories the run reads from: INPUTs that are directories, or the list's root.
std::vector<fs::path> input_directories(const RunSpec& options) {
  std::vector<fs::path> directories;
  std::error_code ec;
  for (const fs::path& input : options.inputs)
    if (fs::is_directory(input, ec)) directories.push_back(input);
  if (!options.files_from.empty() && options.inputs.empty()) directories.push_back(".");
  return directories;
}

// The images to process, each listing error reported.
Listing list_inputs(const RunSpec& options, const Messages& out) {
  Listing listing;
  try {
    listing = list_run_inputs(input_spec(options), options.output_dir);
  } catch (const std::exception& e) {
    if (options.files_from.empty()) throw;  // only reading the list is an error of the listing
    listing.errors.push_back({options.files_from, e.what()});
  }
  for (const auto& error : listing.errors) {
    if (options.files_from.empty())
      out.error("error: {}: cannot list: {}", error.path.string(), error.reason);
    else
      out.error("error: {}: {}: {}", options.files_from.string(), error.path.string(), error.reason);
  }
  return listing;
}

}  // namespace

std::string check_not_in_place(const RunSpec& options) {
  std::error_code ec;
  for (const fs::path& dir : input_directories(options))
    if (fs::equivalent(dir, options.output_dir, ec))
      return fmt::format("OUTPUT_DIR {} is the input directory {}: choose another OUTPUT_DIR (the next run "
                         "would take this run's outputs for inputs)", options.output_dir.string(), dir.string());
  return {};
}

namespace {

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

// Lists the inputs and makes this shard's jobs; throws Error for a run that cannot start.
Plan plan_run(const RunSpec& options, const Messages& out) {
  std::error_code ec;
  std::size_t missing = 0;
  for (const fs::path& input : options.inputs) missing += !fs::exists(input, ec);
  if (options.files_from.empty() && missing == options.inputs.size()) {
    throw Error("list", options.inputs.empty() ? "" : options.inputs[0].string(),
                fmt::format("{} {}", options.inputs.size() == 1 ? "input" : "none of the inputs exists:",
                            options.inputs.size() == 1 ? options.inputs[0].string() + " does not exist"
                                                       : options.inputs[0].string() + " ..."));
  }
  if (!options.files_from.empty() && !options.inputs.empty() && !fs::is_directory(options.inputs[0], ec)) {
    throw Error("list", options.inputs[0].string(),
                fmt::format("input directory {} {}", options.inputs[0].string(),
                            fs::exists(options.inputs[0], ec) ? "is not a directory" : "does not exist"));
  }
  if (const std::string problem = check_not_in_place(options); !problem.empty()) throw Error("settings", "", problem);
  Plan plan;
  plan.listing = list_inputs(options, out);
  const Listing& listing = plan.listing;
  if (!options.files_from.empty() && listing.files.empty() && !listing.errors.empty())
    throw Error("list", options.files_from.string(), "nothing to process: " + listing.errors.front().reason);
  for (const SkippedFile& file : listing.skipped) {
    if (file.notable)
      out.warn("warning: {}: skipped: {}{}", file.path.string(), file.reason,
                   file.reason.find("not followed") != std::string::npos ? " (-L follows)" : "");
    else
      out.debug("skipped {}: {}", file.path.string(), file.reason);
  }
  if (const auto input = find_self_overwrite(options, listing)) {
    throw Error("settings", input->string(),
                fmt::format("refusing to overwrite input file {}: choose an OUTPUT_DIR other than the input's directory",
                            input->string()));
  }
  if (listing.files.empty()) out.warn("warning: no image files to process");
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
    out.info("shard {}/{} ({}): {} of {} images", options.shard.index, options.shard.count,
                 options.shard.origin, plan.count, plan.listed);
  return plan;
}

// How to retry what failed: rerunning the same command with --skip-existing redoes exactly what
// is not finished; a failure list can name just those inputs.
std::string retry_line(const RunSpec& options) {
  std::string line = "to retry: rerun the same command with --skip-existing";
  const auto directories = input_directories(options);
  if (!options.failures_file.empty() && options.files_from.empty() && options.inputs.size() == 1 &&
      directories.size() == 1)
    line += fmt::format(", or only the failed ones: imgflow --files-from {} {} {} ...", options.failures_file.string(),
                        options.inputs[0].string(), options.output_dir.string());
  return line;
}

}  // namespace

bool write_run_file(const fs::path& file, std::string_view what, const std::string& text, bool sync, const Messages& out) {
  try {
    write_output_file(file, text, sync);
    return true;
  } catch (const std::exception& e) {
    out.error("error: {}: cannot write the {}: {}", file.string(), what, e.what());
    return false;
  }
}

namespace {

// After the graph: the summary lines, then the failure list, trace and report files. Returns
// what the run did. (`stats` is not const: the quantiles sort the stage timings.)
RunResult finish_run(const RunSpec& options, const PipelineConfig& config, const Plan& plan, RunStats& stats,
                     std::vector<Job>& accounts, const RunControl& control, int signal, const Messages& out) {
  // In listing order (the sink saw them in completion order), pages in page order.
  std::sort(accounts.begin(), accounts.end(),
            [](const Job& a, const Job& b) { return a.index != b.index ? a.index < b.index : a.page < b.page; });
  out.say(Level::info, summary_line(stats, config));
  if (stats.foreign)
    out.warn("warning: {} output{} left alone: file{} imgflow did not write (--overwrite-foreign replaces them)",
             stats.foreign, stats.foreign == 1 ? "" : "s", stats.foreign == 1 ? "" : "s");
  if (const std::string line = skipped_files_line(plan.listing.skipped); !line.empty()) out.say(Level::info, line);
  if (out.wants(Level::debug)) {
    out.say(Level::debug, stage_line(stats));
    out.say(Level::debug, bottleneck_line(stats));
  }
  // The errors that stopped it may name only a file that vanished with its folder (a rename that
  // found its temporary gone): the stop line says what is gone, as seen now that the run is over.
  const StopReason reason = control.reason();
  std::string cause;
  std::error_code ec;
  if (reason == StopReason::output_unusable && !fs::is_directory(options.output_dir, ec))
    cause = fmt::format("the output directory {} has gone", options.output_dir.string());
  if (const std::string stop = stop_line(reason, stats, signal, cause); !stop.empty()) out.say(Level::error, stop);

  if (options.join && reason != StopReason::none) {
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
    out.say(Level::info, documents_line(stats));
    // Documents a stopped run left unfinished (the others were reported as they settled).
    for (const auto& document : stats.documents)
      if (document.unfinished) out.say(Level::error, document_failure_line(document));
  }
  const std::vector<ListingError>& listing_errors = plan.listing.errors;
  int exit_code = stats.failed || stats.documents_failed() || !listing_errors.empty() ? kExitSomeFailed : kExitOk;
  const auto write_text = [&](const fs::path& file, std::string_view what, const std::string& text) {
    if (!write_run_file(file, what, text, config.sync, out)) exit_code = kExitCannotRun;
  };
  if (!options.failures_file.empty())
    write_text(options.failures_file, "failure list", failure_list(accounts, listing_errors));
  if (stats.failed || !listing_errors.empty()) out.say(Level::info, retry_line(options));
  if (!options.trace_file.empty()) write_text(options.trace_file, "trace", trace_events(accounts));
  switch (reason) {
    case StopReason::interrupted: exit_code = 128 + (signal > 0 ? signal : SIGINT); break;
    case StopReason::output_unusable:
    case StopReason::input_gone: exit_code = kExitCannotRun; break;
    default: break;
  }
  // Jobs the graph never fed although nothing asked it to stop: a defect, never a success.
  if (reason == StopReason::none && stats.not_started) {
    out.error("error: internal error: {} images were never processed", stats.not_started);
    exit_code = kExitCannotRun;
  }
  RunResult result;
  const std::string report =
      to_text(run_report(options, config, stats, plan.listed, plan.listing.skipped, reason, exit_code, accounts));
  if (!options.report_file.empty()) write_text(options.report_file, "report", report);
  result.exit_code = exit_code;
  result.written = stats.written;
  result.skipped = stats.skipped;
  result.failed = stats.failed;
  result.not_started = stats.not_started;
  result.stopped = reason != StopReason::none;
  for (const ListingError& error : listing_errors) result.failures.push_back({error.path, 0, "list", error.reason});
  for_each_result(accounts, [&](const Job& job) {
    if (job.outcome == Outcome::failed)
      result.failures.push_back({job.input, job.page >= 1 && job.page <= job.page_count ? job.page : 0,
                                 std::string(stage_name(job.failed_stage)), job.error});
  });
  result.report = report;
  return result;
}

// A list's feed that also ends when the caller asks the run to stop (Stop: set from any thread
// or a signal handler, read here on the feed's thread before each job).
class BatchFeed final : public Feed {
 public:
  BatchFeed(std::size_t count, JobMaker make, const Stop* stop, RunControl& control)
      : list_(count, std::move(make)), stop_(stop), control_(control) {}
  std::optional<Job> next(const RunControl& control) override {
    if (stop_ && stop_->requested()) {
      control_.request_stop(StopReason::interrupted);
      return std::nullopt;
    }
    return list_.next(control);
  }
  std::size_t not_fed() const override { return list_.not_fed(); }

 private:
  ListFeed list_;
  const Stop* stop_;
  RunControl& control_;
};

}  // namespace

void job_lines(const Job& job, const Messages& out) {
  const bool verbose = out.wants(Level::debug);
  if (job.outcome == Outcome::failed)
    out.say(Level::error, failure_line(job));
  else if (job.foreign_output || job.skip_reason == kRemovedBeforeRead)
    out.warn("warning: {}: skipped: {}", job_name(job), job.skip_reason);
  else if (verbose)
    out.say(Level::debug, job_line(job));
  if (job.frames > 1) out.say(Level::warning, animation_line(job));
  if (job.outcome == Outcome::written)
    for (const std::string& fitted : job.findings.fitted) out.warn("warning: {}: encode: {}", job_name(job), fitted);
  if (job.document_done && !job.document_done->error.empty())
    out.say(Level::error, document_failure_line(*job.document_done));
  else if (job.document_done && verbose)
    out.debug("wrote document {} ({} pages)", job.document_done->output.string(), job.document_done->pages);
  if (job.outcome == Outcome::written && !job.findings.profile_dropped.empty())
    out.say(Level::warning, profile_dropped_line(job));
  if (job.outcome == Outcome::written && job.findings.skew_unreliable)
    out.warn("warning: {}: deskew: {}", job_name(job), job.findings.skew_note);
  if (!job.move_error.empty())
    out.warn("warning: {}: input left in place: {}", (job.file_job ? job.file_job->input : job.input).string(),
             job.move_error);
  if (verbose)
    for (const std::string& line : decoder_note_lines(job)) out.say(Level::debug, line);
}

RunResult run_batch(const RunSpec& options, const Callbacks& callbacks, const Stop* stop) {
  const Messages out(callbacks.message, callbacks.level);
  Plan plan = plan_run(options, out);
  if (callbacks.started) callbacks.started(plan.count);

  if (options.dry_run) {
    for (std::size_t k = 0; k < plan.count && !(stop && stop->requested()); ++k) {
      const Job job = make_job(options, plan, k);
      if (callbacks.planned) callbacks.planned(job.input, job.output, job.outcome == Outcome::failed ? job.error : "");
    }
    out.info("dry run: {} images, operations {}", plan.count, options.recipe.text());
    RunResult result;
    result.exit_code = plan.listing.errors.empty() ? kExitOk : kExitSomeFailed;
    for (const ListingError& error : plan.listing.errors) result.failures.push_back({error.path, 0, "list", error.reason});
    return result;
  }
  if (const std::string problem = prepare_output(options, out); !problem.empty())
    throw Error("write", options.output_dir.string(), problem);

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
  out.debug("operations: {}", options.recipe.text());
  std::set<fs::path> written_directories;
  // What outlives each job: the failed ones' accounts, for --failures; every one's with --trace.
  std::vector<Job> accounts;
  Progress progress;
  progress.total = plan.count;
  RunControl control;
  BatchFeed feed(plan.count, [&](std::size_t k) { return make_job(options, plan, k); }, stop, control);
  RunStats stats = run_pipeline(feed, options.recipe, config, control, [&](const Job& job) {
    if (job.outcome == Outcome::failed || !options.trace_file.empty() ||
        (!options.report_file.empty() && job.findings.any()))
      accounts.push_back(job.account());
    // Files done of the files listed: a paged file's when its last page is (the sink frees its
    // file after this call).
    if (!job.file_job || job.file_job->pages_left == 1) {
      ++progress.done;
      progress.input_bytes += job.file_job ? job.file_job->input_bytes : job.input_bytes;
    }
    progress.failed += job.outcome == Outcome::failed;
    if (callbacks.progress) callbacks.progress(progress);
    job_lines(job, out);
    if (job.outcome == Outcome::written && config.sync) written_directories.insert(job.output.parent_path());
  });
  for (const auto& directory : written_directories) sync_directory(directory);
  return finish_run(options, config, plan, stats, accounts, control, stop ? stop->signal() : 0, out);
}

}  // namespace imgflow
