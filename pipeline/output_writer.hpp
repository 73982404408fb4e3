#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "files/document.hpp"
#include "pipeline/io_threads.hpp"
#include "pipeline/job.hpp"
#include "pipeline/stages.hpp"

namespace imgflow {

/// The write stage, on a thread of its own (io_threads.hpp): no TBB worker waits on the disk. It
/// takes every output queued so far as one group, in the order submitted: writes each to its
/// locked temporary
/// (files/file_io.hpp: StagedFile), makes the group durable with one syncfs per filesystem
/// (unless config.sync is false), and only then renames each into place. An output therefore
/// gets its final name only once its data is on the device, as with one fsync per file, and a
/// group costs one sync however many files it holds. The job's write span records its own
/// staging and renaming, plus its share of the group's sync. `done` receives every submitted job
/// (written, failed at write, or passed through untouched if it was not pending), from the
/// writer's thread. The destructor writes what is queued, then joins the thread.
class OutputWriter {
 public:
  using Done = std::function<void(Job*)>;
  OutputWriter(const StageContext& context, std::chrono::steady_clock::time_point run_start, Done done);

  void submit(Job* job) { thread_.submit(job); }

  /// --join: the documents not settled when the run ended (it stopped before their pages were
  /// all done), abandoned: their temporaries removed. Call once the graph is done.
  std::vector<DocumentOutcome> abandon_unfinished();

 private:
  void write_group(std::vector<Job*>& group);
  /// --move-input: moves the inputs of `settled` (jobs just written or skipped) whose outputs
  /// are all in place.
  void move_inputs(const std::vector<Job*>& settled);
  /// --join: hands the job's page to its document (files/document.hpp) instead of a file.
  void to_document(Job& job);

  const StageContext& context_;
  const std::chrono::steady_clock::time_point run_start_;
  const Done done_;
  std::atomic<bool> output_unusable_{false};  ///< a write failed in a way every write would
  std::mutex documents_mutex_;  ///< the writer's thread, then abandon_unfinished()
  std::map<std::size_t, DocumentAssembly> documents_;  ///< open documents, by index
  std::set<std::size_t> settled_;  ///< documents written or abandoned: their later pages are dropped
  IoThreads thread_;  // last: joined before the rest goes
};

}  // namespace imgflow
