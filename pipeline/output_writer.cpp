#include "pipeline/output_writer.hpp"

#include <fcntl.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include <fmt/format.h>

#include "files/file_io.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/tsan.hpp"

namespace imgflow {

// One thread: it keeps the order of submission and makes the largest groups (the fewest syncs).
OutputWriter::OutputWriter(const StageContext& context, std::chrono::steady_clock::time_point run_start, Done done)
    : context_(context),
      run_start_(run_start),
      done_(std::move(done)),
      thread_("imgflow-write", 1, /*max_batch=*/0, [this](std::vector<Job*>& group) { write_group(group); }) {}

void OutputWriter::write_group(std::vector<Job*>& group) {
  using std::chrono::nanoseconds;
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Job* job;
    std::optional<StagedFile> file;
    Clock::time_point start;
    nanoseconds wall{}, cpu{};
    bool synced = false;
  };
  std::vector<Entry> entries;
  entries.reserve(group.size());
  const auto timed = [this](Entry& entry, auto&& step) {
    const auto start = Clock::now();
    const auto cpu_start = thread_cpu_time();
    try {
      step();
    } catch (...) {
      entry.job->fail_with_current_exception(Stage::write);
      entry.file.reset();  // removes the temporary
      if (makes_output_unusable(entry.job->error_code)) output_unusable_ = true;
    }
    entry.wall += Clock::now() - start;
    entry.cpu += thread_cpu_time() - cpu_start;
  };

  // 1. Every output to its temporary (or, with --join, every page to its document).
  for (Job* job : group) {
    tsan::acquire(job);
    Entry& entry = entries.emplace_back(Entry{job, std::nullopt, Clock::now()});
    if (context_.config.documents) {
      timed(entry, [&] { to_document(*job); });
      continue;
    }
    // Once the output side cannot take a file (disk full, output folder gone), the rest are
    // not tried: one error line says why, the sink stops the run, they count as not started.
    if (job->outcome == Outcome::pending && output_unusable_) job->outcome = Outcome::cancelled;
    if (job->outcome != Outcome::pending) continue;
    timed(entry, [&] { entry.file.emplace(job->output, job->encoded, context_.config.output_dir); });
  }
  // 2. One sync per filesystem for the whole group; a failed sync fails that filesystem's files.
  if (context_.config.sync) {
    const auto start = Clock::now();
    const auto cpu_start = thread_cpu_time();
    std::vector<std::pair<dev_t, int>> synced;  // device, errno
    std::int64_t staged = 0;
    for (Entry& entry : entries) {
      if (!entry.file) continue;
      ++staged;
      entry.synced = true;
      const dev_t device = entry.file->device();
      auto it = std::find_if(synced.begin(), synced.end(), [&](const auto& d) { return d.first == device; });
      if (it == synced.end()) it = synced.insert(synced.end(), {device, sync_filesystem(entry.file->fd())});
      if (it->second != 0) timed(entry, [&] { entry.file->fail_sync(it->second); });
    }
    const nanoseconds share = staged ? nanoseconds{(Clock::now() - start) / staged} : nanoseconds{};
    const nanoseconds cpu_share = staged ? (thread_cpu_time() - cpu_start) / staged : nanoseconds{};
    for (Entry& entry : entries)
      if (entry.synced) entry.wall += share, entry.cpu += cpu_share;
  }
  // 3. The final names.
  for (Entry& entry : entries) {
    if (entry.file && output_unusable_) {
      entry.file.reset();
      entry.job->outcome = Outcome::cancelled;
    }
    if (entry.file) timed(entry, [&] { entry.file->publish(); });
  }

  // 4. --move-input: each input whose outputs are all in place goes, once their names are on the
  //    device too (a second sync); an input whose move fails stays, with the reason.
  if (context_.config.move_inputs) {
    std::vector<Job*> settled;
    for (Entry& entry : entries) settled.push_back(entry.job);
    move_inputs(settled);
  }

  static thread_local const int track = trace_thread_index();
  for (Entry& entry : entries) {
    Job& job = *entry.job;
    if (entry.wall.count() > 0) {
      Job::Span& span = job.spans[static_cast<std::size_t>(Stage::write)];
      span.start = entry.start - run_start_;
      span.duration = std::max(entry.wall, nanoseconds{1});
      span.cpu = entry.cpu;
      span.thread = track;
    }
    entry.file.reset();
    tsan::release(&job);
    done_(&job);
  }
}

namespace {

// Whether the job leaves its output in place: written just now, or finished before (a skip
// that is not for another reason).
bool output_in_place(const Job& job) {
  return job.outcome == Outcome::pending ||
         (job.outcome == Outcome::skipped && job.skip_reason.empty() && !job.foreign_output);
}

}  // namespace

void OutputWriter::move_inputs(const std::vector<Job*>& settled) {
  // (reporting job, the job of the input that moves)
  std::vector<std::pair<Job*, Job*>> moves;
  for (Job* job : settled) {
    Job* file = job->file_job ? job->file_job : job;
    if (file->move_to.empty()) continue;
    if (!job->file_job) {
      if (output_in_place(*job)) moves.emplace_back(job, job);
      continue;
    }
    // A page: the file moves once every one of its pages has its output in place.
    file->pages_in_place += output_in_place(*job);
    if (++file->pages_settled == file->pages.size() && file->pages_in_place == file->pages.size())
      moves.emplace_back(job, file);
  }
  if (moves.empty()) return;
  // The outputs' names to the device first: a crash after the move leaves them there.
  if (context_.config.sync) {
    FileDescriptor dir(::open(context_.config.output_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() >= 0) sync_filesystem(dir.get());
  }
  for (auto [reporter, input] : moves) {
    try {
      move_file(input->input, input->move_to);
    } catch (const std::exception& e) {
      reporter->move_error = e.what();
    }
  }
}

void OutputWriter::to_document(Job& job) {
  if (job.document < 0) return;  // its document is finished already (--skip-existing)
  const std::size_t index = static_cast<std::size_t>(job.document);
  const std::lock_guard lock(documents_mutex_);
  if (settled_.count(index)) return;
  auto it = documents_.find(index);
  if (it == documents_.end())
    it = documents_
             .emplace(std::piecewise_construct, std::forward_as_tuple(index),
                      std::forward_as_tuple(*context_.config.output_format, (*context_.config.documents)[index],
                                            context_.config.output_dir, context_.config.stamp, context_.config.sync))
             .first;
  DocumentAssembly& document = it->second;
  // Its place among its file's pages (a file not split into pages is one).
  std::size_t page = 0, pages = 1;
  if (job.file_job) {
    page = static_cast<std::size_t>(&job - job.file_job->pages.data());
    pages = job.file_job->pages.size();
  }
  switch (job.outcome) {
    case Outcome::pending: document.take(job.document_file, page, pages, &job.encoded, job.source); break;
    case Outcome::skipped: document.take(job.document_file, page, pages, nullptr, job.source); break;
    case Outcome::failed:
      document.fail((job.page ? fmt::format("page {} of {}", job.page, job.input.string()) : job.input.string()) + " failed");
      break;
    default: document.fail(std::string(kDocumentStopped)); break;
  }
  if (!document.settled()) return;
  job.document_done = document.outcome();
  documents_.erase(it);
  settled_.insert(index);
}

std::vector<DocumentOutcome> OutputWriter::abandon_unfinished() {
  const std::lock_guard lock(documents_mutex_);
  std::vector<DocumentOutcome> abandoned;
  for (auto& [index, document] : documents_) {
    document.fail(std::string(kDocumentStopped));
    abandoned.push_back(document.outcome());
    abandoned.back().unfinished = true;
  }
  documents_.clear();
  return abandoned;
}

}  // namespace imgflow
