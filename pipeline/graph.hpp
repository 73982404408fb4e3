#pragma once
#include <functional>
#include <vector>

#include "pipeline/recipe.hpp"
#include "pipeline/config.hpp"
#include "pipeline/feed.hpp"
#include "pipeline/job.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/run_control.hpp"

namespace imgflow {

/// Called at the sink for every job, one at a time, in completion order. The job is freed
/// right after: an observer keeps what it needs (Job::account()).
using JobObserver = std::function<void(const Job&)>;

/// Runs the jobs of `feed` through the flow graph
///   feed -> read -> pages -> limiter -> decode -> route -> encode -> write -> sink
/// with route sending each page round analyse, adjust and neighbourhood for the operations of
/// `recipe`, on `config.threads` threads with at most `config.max_in_flight` images alive at once.
/// Jobs made already failed (e.g. an output-name collision) pass straight to the sink.
/// Never throws for a bad image: each job ends written, skipped or failed with its reason.
/// The feed's thread takes a job whenever one of `config.max_in_flight` file places is free, and
/// stops taking them once `control` is asked to stop (a signal, or the sink itself: the first
/// failure under `config.fail_fast`, or a failure that makes the output or the input side
/// unusable for every image, such as a full disk or a folder gone); images in flight finish,
/// and the jobs never made are counted as not started. Returns when the feed is over and every
/// job it gave has reached the sink.
RunStats run_pipeline(Feed& feed, const Recipe& recipe,
                      const PipelineConfig& config, RunControl& control, const JobObserver& on_done);

}  // namespace imgflow
