#pragma once
// The machine-readable accounts of a run: the --report JSON and the --trace timeline.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/run_spec.hpp"
#include "pipeline/job.hpp"
#include "files/listing.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/run_control.hpp"

namespace imgflow {

/// The version of the report's layout; raised when a field changes meaning or goes away.
inline constexpr int kReportFormat = 2;  // 2: settings.inputs (absolute) replaced input_dir

/// The run report (fields documented in README.md, "Where does the time go?"). `config` is the
/// configuration the graph ran with (the command line's, plus what the run derived from it).
/// `accounts`: finished jobs; those whose operations found something (a threshold level, a
/// skew...) are listed under "pages".
nlohmann::json run_report(const RunSpec& options, const PipelineConfig& config, RunStats& stats,
                          std::size_t listed, const std::vector<SkippedFile>& skipped_files, StopReason stop,
                          int exit_code, const std::vector<Job>& accounts);

/// One line naming the stage where the run spent its time, with its numbers.
std::string bottleneck_line(RunStats& stats);

/// A Chrome trace-event document: one track per worker thread, one complete ("X") event per
/// image and stage, with the input file as an argument.
std::string trace_events(const std::vector<Job>& jobs);

/// A report as text; invalid UTF-8 in file names is replaced, never an error.
inline std::string to_text(const nlohmann::json& report) {
  return report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace imgflow
