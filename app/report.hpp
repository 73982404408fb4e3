#pragma once
#include <string>

#include "pipeline/config.hpp"
#include "pipeline/job.hpp"
#include "pipeline/metrics.hpp"

namespace imgflow {

/// The one-line error for a failed image: "error: PATH: STAGE: REASON".
std::string failure_line(const Job& job);
/// The -v line for a finished image.
std::string job_line(const Job& job);
/// "N written, N skipped, N failed in T s (X images/s, Y MB/s decoded; ...)".
std::string summary_line(const RunStats& stats, const PipelineConfig& config);
/// Per stage: total busy time and mean per image.
std::string stage_line(const RunStats& stats);

}  // namespace imgflow
