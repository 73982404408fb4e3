#pragma once
#include "kernels/lookup_table.hpp"
#include "pipeline/config.hpp"
#include "pipeline/job.hpp"

namespace imgflow {

/// The work of each graph node on one job. Each may throw std::exception; the graph turns that
/// into the job's failure at that stage.

/// Skips the job if its output exists and `skip_existing` is set; otherwise reads the file.
void read_stage(Job& job, const PipelineConfig& config);
void decode_stage(Job& job, const PipelineConfig& config);
/// Applies the composed table of the job's depth in place; alpha is left alone.
void adjust_stage(Job& job, const LookupTables& tables);
void encode_stage(Job& job, const PipelineConfig& config);
void write_stage(Job& job);

}  // namespace imgflow
