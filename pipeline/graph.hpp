#pragma once
#include <functional>
#include <vector>

#include "kernels/lookup_table.hpp"
#include "pipeline/config.hpp"
#include "pipeline/job.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/run_control.hpp"

namespace imgflow {

/// Called at the sink for every job, one at a time, in completion order.
using JobObserver = std::function<void(const Job&)>;

/// Runs every job through the flow graph
///   source -> limiter -> read -> decode -> adjust -> encode -> write -> sink -> (limiter)
/// on `config.threads` threads with at most `config.max_in_flight` images alive at once.
/// Jobs that arrive already failed (e.g. an output-name collision) pass straight to the sink.
/// Never throws for a bad image: each job ends written, skipped or failed with its reason.
/// The source stops feeding images once `control` is asked to stop (a signal, or the sink
/// itself: the first failure under `config.fail_fast`, or a write failure that makes the
/// output side unusable for every image, such as a full disk); images in flight finish, and
/// the jobs never fed stay `Outcome::pending`.
RunStats run_pipeline(std::vector<Job>& jobs, const LookupTables& tables,
                      const PipelineConfig& config, RunControl& control, const JobObserver& on_done);

}  // namespace imgflow
