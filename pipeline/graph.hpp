#pragma once
#include <functional>
#include <vector>

#include "pipeline/recipe.hpp"
#include "pipeline/config.hpp"
#include "pipeline/job.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/run_control.hpp"

namespace imgflow {

/// Called at the sink for every job, one at a time, in completion order. The job is freed
/// right after: an observer keeps what it needs (Job::account()).
using JobObserver = std::function<void(const Job&)>;

/// Makes the job at position `i` of the run (0 <= i < count) when the source is about to feed
/// it: jobs exist only between the source and the sink, so memory does not grow with the number
/// of files.
using JobMaker = std::function<Job(std::size_t i)>;

/// Runs `count` jobs through the flow graph
///   source -> limiter -> read -> pages -> limiter -> decode -> route -> encode -> write -> sink
/// with route sending each page round analyse, adjust and neighbourhood for the operations of
/// `recipe`, on `config.threads` threads with at most `config.max_in_flight` images alive at once.
/// Jobs made already failed (e.g. an output-name collision) pass straight to the sink.
/// Never throws for a bad image: each job ends written, skipped or failed with its reason.
/// The source stops feeding images once `control` is asked to stop (a signal, or the sink
/// itself: the first failure under `config.fail_fast`, or a failure that makes the output or
/// the input side unusable for every image, such as a full disk or a folder gone); images in
/// flight finish, and the jobs never made are counted as not started.
RunStats run_pipeline(std::size_t count, const JobMaker& make_job, const Recipe& recipe,
                      const PipelineConfig& config, RunControl& control, const JobObserver& on_done);

}  // namespace imgflow
