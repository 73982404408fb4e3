#pragma once
#include "kernels/lookup_table.hpp"
#include "pipeline/bytes.hpp"
#include "pipeline/config.hpp"
#include "pipeline/job.hpp"

namespace imgflow {

/// What every stage may use: settings, tables, and the pool that recycles buffers between
/// images so the steady state allocates nothing.
struct StageContext {
  const PipelineConfig& config;
  const LookupTables& tables;
  BufferPool& pool;
};

/// The work of each graph node on one job. Each may throw std::exception; the graph turns that
/// into the job's failure at that stage.

/// Skips the job if its output exists and `skip_existing` is set; otherwise reads the file.
void read_stage(Job& job, const StageContext& context);
void decode_stage(Job& job, const StageContext& context);
/// Applies the composed table of the job's depth in place; alpha is left alone.
void adjust_stage(Job& job, const StageContext& context);
void encode_stage(Job& job, const StageContext& context);
void write_stage(Job& job, const StageContext& context);
/// Returns the job's buffers to the pool.
void recycle_buffers(Job& job, const StageContext& context);

}  // namespace imgflow
