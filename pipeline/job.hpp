#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "codec/bytes.hpp"
#include "files/document.hpp"
#include "codec/image.hpp"

namespace imgflow {

/// The stages an image goes through, in order. Between decode and encode a page visits
/// analyse (histograms, skew), adjust (point operations) and neighbourhood (local thresholds,
/// rotation, resampling) as its operations need, each as often as they need.
enum class Stage { read, decode, analyse, adjust, neighbourhood, encode, write };
inline constexpr std::size_t kStageCount = 7;
inline constexpr std::array<std::string_view, kStageCount> kStageNames{
    "read", "decode", "analyse", "adjust", "neighbourhood", "encode", "write"};
inline std::string_view stage_name(Stage s) { return kStageNames[static_cast<std::size_t>(s)]; }

/// cancelled: reached the graph after the run was asked to stop, so it was never started.
/// paged: a file of several pages, whose pages went on as jobs of their own (Job::pages).
enum class Outcome { pending, written, skipped, failed, cancelled, paged };

/// One image's trip through the graph: the message every node passes on (by pointer). It
/// carries its own sequence number, its buffers and, if something went wrong, the stage and
/// the reason, so a failure flows to the sink like any other result.
struct Job {
  std::size_t index = 0;              ///< position in the natural-order listing
  std::filesystem::path input;        ///< file to read
  std::filesystem::path output;       ///< file to write
  Outcome outcome = Outcome::pending;
  Stage failed_stage = Stage::read;
  std::string error;                  ///< the reason, when outcome == failed
  std::error_code error_code;         ///< the system's error behind it, if any (ENOSPC...)

  /// Pages: a file's pages after the first read (page references from codec::list_pages),
  /// which pages to write (1-based; empty: all), and for a page job its number (1-based, 0 for a
  /// file of one page) and how many pages its file has.
  std::vector<std::uint64_t> page_refs;
  std::vector<int> only_pages;
  int page = 0;
  int page_count = 1;
  std::uint64_t page_ref = 0;
  std::vector<Job> pages;             ///< the page jobs of a paged file (never resized once made)
  Job* file_job = nullptr;            ///< a page job's file
  std::size_t pages_left = 0;         ///< page jobs of this file not yet at the sink (sink only)
  std::string page_chain_damage;      ///< list_pages' reason the chain breaks after page_refs
  std::string skip_reason;            ///< why a job was skipped, when not a finished output
  bool foreign_output = false;        ///< skipped: its output is a file imgflow did not write
  std::string source;                 ///< what the input is (files/resume.hpp), recorded in the output
  /// --move-input: where the input goes once its output is durable (empty: it stays), and why
  /// it could not (the app warns; the input stays where it is).
  std::filesystem::path move_to;
  std::string move_error;
  std::size_t pages_settled = 0, pages_in_place = 0;  ///< a paged file's pages at the writer (its thread only)
  /// --watch: when the watch learnt the input was ready (for the latency to its output).
  std::chrono::steady_clock::time_point arrived{};
  /// --join: the document (an index into PipelineConfig::documents) this input's pages go into,
  /// and the input's place among the document's inputs; -1: none (an output of its own).
  std::ptrdiff_t document = -1;
  std::size_t document_file = 0;
  /// Set on the job whose page settled its document: written, or why not.
  std::optional<DocumentOutcome> document_done;

  /// What the decoder said besides the pixels (warnings, dropped metadata, frames).
  std::vector<std::string> warnings;
  std::vector<std::string> dropped;
  std::vector<std::string> readings;  ///< how the decoder read what the file left open
  std::size_t frames = 1;
  bool over_pixel_limit = false;      ///< failed on the pixel limit (the app names its flag)
  bool no_resolution = false;         ///< failed: a page to resample has no resolution (likewise)

  Bytes file_bytes;                   ///< read -> decode (a paged file's pages share `shared_file`)
  std::shared_ptr<const Bytes> shared_file;
  Image image;                           ///< decode -> adjust -> encode
  Bytes encoded;                      ///< encode -> write

  /// The operations (pipeline/recipe.hpp) still to do start at next_operation. `histogram`:
  /// analyse's count of the page's samples, for the adjust run that needs it.
  std::size_t next_operation = 0;
  std::vector<std::uint64_t> histogram;
  bool skew_pending = false;          ///< analyse found a skew for the neighbourhood stage to undo
  /// What the operations found on this page, for -v and the report.
  struct Findings {
    int threshold_level = -1;          ///< the last --threshold level used (otsu's choice), -1: none
    int normalize_low = -1, normalize_high = -1;  ///< the last --normalize's levels, -1: none
    bool skew_measured = false;
    double skew_degrees = 0, skew_confidence = 0;
    bool deskewed = false;             ///< the page was turned back by -skew_degrees
    bool skew_unreliable = false;      ///< no angle was reliable: left as it was (the app warns)
    std::string skew_note;             ///< why it was left as it was
    double dpi_from = 0, dpi_to = 0;   ///< --dpi: the page's resolution before and after
    /// The colour profile left out of the output, and why (the app warns; empty: none was).
    std::string profile_dropped;
    /// What the page lost to fit the output format (16-bit samples, alpha; the app warns).
    std::vector<std::string> fitted;
    bool any() const {
      return threshold_level >= 0 || normalize_low >= 0 || skew_measured || dpi_from > 0 || !profile_dropped.empty() ||
             !fitted.empty();
    }
  } findings;

  int width = 0, height = 0, channels = 0, bit_depth = 0;  ///< kept after buffers are freed
  std::size_t input_bytes = 0;        ///< size of the input file
  std::size_t decoded_bytes = 0;
  std::size_t output_bytes = 0;

  /// When the source handed the job to the graph, and what each stage did with it: start
  /// (from the run's start), duration (wall time; zero: the stage did not run), CPU time and
  /// which worker thread ran it. The gaps between spans are the time the image waited in front of a stage.
  struct Span {
    std::chrono::nanoseconds start{};
    std::chrono::nanoseconds duration{};
    std::chrono::nanoseconds cpu{};  ///< CPU time: the thread's own clock, plus the encoder's bands run elsewhere
    int thread = -1;
  };
  std::chrono::nanoseconds fed_at{};
  std::array<Span, kStageCount> spans{};

  /// What is worth keeping of a finished job once it is freed (for the failure list and the
  /// trace): its names, outcome, reason and timings; no buffers, pages or page references.
  Job account() const {
    Job kept;
    kept.index = index;
    kept.input = input;
    kept.output = output;
    kept.outcome = outcome;
    kept.failed_stage = failed_stage;
    kept.error = error;
    kept.error_code = error_code;
    kept.page = page;
    kept.page_count = page_count;
    kept.over_pixel_limit = over_pixel_limit;
    kept.no_resolution = no_resolution;
    kept.fed_at = fed_at;
    kept.spans = spans;
    kept.findings = findings;
    return kept;
  }

  void fail(Stage stage, std::string reason, std::error_code code = {}) {
    outcome = Outcome::failed;
    failed_stage = stage;
    error = std::move(reason);
    error_code = code;
  }
  /// fail() with the exception being handled (call inside a catch block), as
  /// current_exception_reason() says it.
  void fail_with_current_exception(Stage stage);
};

}  // namespace imgflow

namespace imgflow {

/// Calls `visit` on every job that is a result: each job of `jobs`, or, for a paged file, each
/// of its pages.
template <typename Visit>
void for_each_result(const std::vector<Job>& jobs, Visit&& visit) {
  for (const Job& job : jobs) {
    if (job.outcome == Outcome::paged)
      for (const Job& page : job.pages) visit(page);
    else
      visit(job);
  }
}

/// The exception being handled (call inside a catch block) as a reason: a system_error's message
/// (and its code in `code`), "out of memory", another exception's message, or "unknown error".
std::string current_exception_reason(std::error_code* code = nullptr);

/// How a job's input is named in messages: its path, and for a page "PATH: page N of M".
std::string job_name(const Job& job);

}  // namespace imgflow
