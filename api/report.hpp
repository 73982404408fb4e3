#pragma once
#include <string>
#include <string_view>

#include "pipeline/config.hpp"
#include <vector>

#include "pipeline/job.hpp"
#include "files/listing.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/run_control.hpp"

namespace imgflow {

/// `text` with control characters escaped (\n \t \r \xHH): one message stays one line, and a
/// file name cannot send escape sequences to the terminal.
std::string printable(std::string_view text);

/// The one-line error for a failed image: "error: PATH: STAGE: REASON".
std::string failure_line(const Job& job);
/// The -v line for a finished image.
std::string job_line(const Job& job);

/// "warning: PATH: animated, N frames: only the first was written".
std::string animation_line(const Job& job);
/// The warning for a page written without the colour profile its input had.
std::string profile_dropped_line(const Job& job);

/// The decoder's warnings and the metadata it dropped, a line each (shown with -v).
std::vector<std::string> decoder_note_lines(const Job& job);

/// "N files skipped (not read): 1 PDF: rasterise it first ...; 2 not an image", or empty.
std::string skipped_files_line(const std::vector<SkippedFile>& files);
/// "N written, N skipped, N failed in T s (X images/s, Y MB/s decoded; ...)".
std::string summary_line(const RunStats& stats, const PipelineConfig& config);
/// Per stage: total busy time and mean per image.
std::string stage_line(const RunStats& stats);
/// Why the run stopped early and how many images were never started; empty if it did not.
/// `cause`, when not empty, says what stopped it beyond the reason ("the output directory X has gone").
std::string stop_line(StopReason reason, const RunStats& stats, int signal, std::string_view cause = {});
/// The --failures file: "PATH\tSTAGE\tREASON\n" per failed job and per unreadable directory.
std::string failure_list(const std::vector<Job>& jobs, const std::vector<ListingError>& listing_errors);

/// --join: "error: OUTPUT: document not written: REASON".
std::string document_failure_line(const DocumentOutcome& document);
/// --join: "documents: N written (P pages), M not written".
std::string documents_line(const RunStats& stats);

}  // namespace imgflow
