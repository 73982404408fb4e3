#include "pipeline/graph.hpp"

#include <pthread.h>

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <semaphore>
#include <thread>
#include <system_error>

#include "codec/decode.hpp"
#include "pipeline/io_threads.hpp"
#include "pipeline/output_writer.hpp"
#include "pipeline/stages.hpp"
#include "pipeline/tsan.hpp"

namespace imgflow {
namespace flow = oneapi::tbb::flow;

int PipelineConfig::resolved_threads() const {
  return threads > 0 ? threads : oneapi::tbb::info::default_concurrency();
}

std::size_t PipelineConfig::resolved_max_in_flight() const {
  return max_in_flight > 0 ? max_in_flight : 2 * static_cast<std::size_t>(resolved_threads());
}

int PipelineConfig::reader_threads() const {
  return static_cast<int>(std::min<std::size_t>(4, resolved_max_in_flight()));
}

namespace {

// Wraps a stage so that it never throws into the graph: a job that has already failed or been
// skipped passes through untouched, an exception becomes the job's failure, and the time spent
// is recorded on the job.
template <typename Body>
auto timed_stage(flow::graph& graph, Stage stage, std::chrono::steady_clock::time_point run_start, Body body) {
  return [&graph, stage, run_start, body](Job* job) -> Job* {
    // The job travels from node to node inside libtbb.so; tell TSan (see tsan.hpp).
    tsan::acquire(job);
    const tsan::ReleaseOnExit job_released{job}, graph_released{&graph};
    if (job->outcome != Outcome::pending) return job;
    const auto start = std::chrono::steady_clock::now();
    const auto cpu_start = thread_cpu_time();
    take_cpu_elsewhere();
    try {
      body(*job);
    } catch (...) {
      job->fail_with_current_exception(stage);
    }
    if (job->outcome == Outcome::cancelled) return job;
    const auto elapsed = std::chrono::steady_clock::now() - start;
    // A page may visit a stage more than once (one visit per run of its kind of operations):
    // the span starts at the first visit and sums them.
    Job::Span& span = job->spans[static_cast<std::size_t>(stage)];
    if (span.duration.count() == 0) span.start = start - run_start;
    span.duration += std::max<std::chrono::nanoseconds>(elapsed, std::chrono::nanoseconds{1});
    span.cpu += thread_cpu_time() - cpu_start + take_cpu_elsewhere();
    span.thread = trace_thread_index();
    return job;
  };
}

// TSan's token for "the graph is built" (see the source's body).
constexpr char kGraphBuilt = 0;

// Whether one of the input directories has disappeared (so every later read would fail too).
bool an_input_is_gone(const PipelineConfig& config) {
  std::error_code ec;
  for (const auto& dir : config.input_dirs)
    if (!std::filesystem::is_directory(dir, ec)) return true;
  return false;
}

}  // namespace

RunStats run_pipeline(Feed& feed, const Recipe& recipe, const PipelineConfig& config, RunControl& control,
                      const JobObserver& on_done) {
  const int threads = config.resolved_threads();
  // Bounds every TBB user in the process, OpenCV's TBB back end included.
  oneapi::tbb::global_control parallelism(oneapi::tbb::global_control::max_allowed_parallelism,
                                          static_cast<std::size_t>(threads));
  oneapi::tbb::task_arena arena(threads);
  RunStats stats;
  // Enough recycled buffers of each kind for as many as the limiters below let be in use at
  // once: files (plus the readers' checks of existing outputs), pixels (up to three while an
  // operation redraws a page), outputs waiting for the writer. (A pool keeps only buffers made
  // when all were in use, so keeping more costs no memory beyond the peak.)
  const std::size_t in_flight = config.resolved_max_in_flight();
  BufferPools pool{BufferPool(in_flight + static_cast<std::size_t>(config.reader_threads())),
                   BufferPool(3 * in_flight), BufferPool(4 * in_flight)};
  ScratchPool scratch;
  const StageContext context{config, recipe, pool, scratch};
  const auto start = std::chrono::steady_clock::now();
  std::size_t unfed = 0;  // the feed's thread, then (after the join) this one

  // File places: a job is taken from the feed only into a free one (see the three bounds below).
  std::counting_semaphore<> file_places(static_cast<std::ptrdiff_t>(in_flight));
  // Lifetime: started by the source's one message, joined right after the graph's wait; between
  // the two, the graph waits for it (reserve_wait) until its last job is in.
  std::thread feeder;

  arena.execute([&] {
    flow::graph g;

    // The source only hands out jobs, from the feed, on a thread of its own: it may wait for a
    // place, or for the feed's next job (a file to arrive), without a TBB worker waiting too.
    using Source = flow::async_node<flow::continue_msg, Job*>;
    Source source(g, flow::serial, [&](const flow::continue_msg&, Source::gateway_type& gateway) {
      // The graph (this body's captures included) was built before the message came: a token of
      // static storage, since reading a capture would come before the acquire. The feeder's
      // handle is read after wait_for_all, which acquires the release of &g.
      tsan::acquire(&kGraphBuilt);
      const tsan::ReleaseOnExit released{&g};
      gateway.reserve_wait();
      feeder = std::thread([&, &gateway = gateway] {
        pthread_setname_np(pthread_self(), "imgflow-feed");
        while (true) {
          file_places.acquire();
          std::optional<Job> made;
          if (!control.stop_requested()) made = feed.next(control);
          if (!made || control.stop_requested()) {  // a job made as the run stopped is never fed
            if (made) ++unfed;
            break;
          }
          Job* job = new Job(std::move(*made));  // freed by the sink
          job->fed_at = std::chrono::steady_clock::now() - start;
          tsan::release(job);
          gateway.try_put(job);
        }
        tsan::release(&g);
        gateway.release_wait();
      });
    });
    // Three bounds: files whose bytes are held (the file places above: a file of many pages until
    // its last page is written, a one-page file until it is encoded); pages from their admission to the sink
    // (holding, once encoded, only their PNG: a larger number, as the more outputs wait for the
    // writer, the fewer syncs); and of those, pages whose pixels are held (decode to encode).
    flow::limiter_node<Job*> outputs_in_flight(g, 4 * config.resolved_max_in_flight());
    flow::limiter_node<Job*> pages_in_flight(g, config.resolved_max_in_flight());
    flow::queue_node<Job*> waiting_pages(g), waiting_decode(g);
    // A freed file place lets the feed's thread take its next job.
    flow::function_node<flow::continue_msg> free_file_place(g, flow::unlimited, [&](const flow::continue_msg&) {
      tsan::acquire(&kGraphBuilt);  // its message is no job, whose token would carry that
      const tsan::ReleaseOnExit released{&g};  // the graph's end acquires it (after wait_for_all)
      file_places.release();
    });

    // Reading is done by reader threads of their own (no TBB worker waits on the disk), which
    // also list a file's pages and, under --skip-existing, check the outputs already there. Each
    // file comes back through the node's gateway as one job, or one per selected page. An image
    // that was already fetched when the run was asked to stop is not started.
    using Read = flow::async_node<Job*, Job*>;
    Read* read_node = nullptr;
    const auto read_file = timed_stage(g, Stage::read, start, [&](Job& job) {
      if (control.stop_requested()) {
        job.outcome = Outcome::cancelled;
        return;
      }
      read_stage(job, context);
      if (job.outcome == Outcome::pending) list_pages_stage(job, context);
    });
    IoThreads readers("imgflow-read", config.reader_threads(), /*max_batch=*/1, [&](std::vector<Job*>& batch) {
      std::vector<Job*> pages;
      for (Job* job : batch) {
        try {  // nothing may escape a thread of our own (it would end the process)
          split_pages(*read_file(job), context, pages);
        } catch (...) {  // out of memory: the file fails whole, and goes on as one job
          job->fail_with_current_exception(Stage::read);
          job->pages.clear();
          pages.assign(1, job);
        }
        for (Job* page : pages) {
          tsan::release(page);
          read_node->gateway().try_put(page);
        }
        tsan::release(&g);
        read_node->gateway().release_wait();
      }
    });
    Read read(g, flow::unlimited, [&](Job* job, Read::gateway_type& gateway) {
      gateway.reserve_wait();
      readers.submit(job);
    });
    read_node = &read;
    flow::function_node<Job*, Job*> decode(g, flow::unlimited, timed_stage(g, Stage::decode, start, [&](Job& job) {
      decode_stage(job, context);
    }));
    // Between decode and encode a page goes round: route sends it to the stage of its next
    // operations (point tables, per-page analysis, neighbourhood work), which sends it back.
    using Route = flow::multifunction_node<Job*, std::tuple<Job*, Job*, Job*, Job*>>;
    Route route(g, flow::unlimited, [&](Job* job, Route::output_ports_type& ports) {
      tsan::acquire(job);
      const tsan::ReleaseOnExit released{&g};
      const Stage stage = next_stage(*job, recipe);
      tsan::release(job);
      switch (stage) {
        case Stage::analyse: std::get<0>(ports).try_put(job); break;
        case Stage::adjust: std::get<1>(ports).try_put(job); break;
        case Stage::neighbourhood: std::get<2>(ports).try_put(job); break;
        default: std::get<3>(ports).try_put(job); break;
      }
    });
    flow::function_node<Job*, Job*> analyse(g, flow::unlimited, timed_stage(g, Stage::analyse, start, [&](Job& job) {
      analyse_stage(job, context);
    }));
    flow::function_node<Job*, Job*> adjust(g, flow::unlimited, timed_stage(g, Stage::adjust, start, [&](Job& job) {
      adjust_stage(job, context);
    }));
    flow::function_node<Job*, Job*> neighbourhood(g, flow::unlimited, timed_stage(g, Stage::neighbourhood, start, [&](Job& job) {
      neighbourhood_stage(job, context);
    }));
    flow::function_node<Job*, Job*> encode(g, flow::unlimited, timed_stage(g, Stage::encode, start, [&](Job& job) {
      encode_stage(job, context);
    }));
    // An encoded page gives back its pixels and its page place, and a one-page file its bytes
    // and its file place, before it waits for the writer.
    using HandOff = flow::multifunction_node<Job*, std::tuple<Job*, flow::continue_msg, flow::continue_msg>>;
    HandOff hand_off(g, flow::unlimited, [&](Job* job, HandOff::output_ports_type& ports) {
      tsan::acquire(job);
      const tsan::ReleaseOnExit released{&g};
      release_decoded_buffers(*job, context);
      // Before its places are freed, so that with --fail-fast no later image starts.
      if (job->outcome == Outcome::failed && config.fail_fast) control.request_stop(StopReason::fail_fast);
      const bool one_page_file = job->file_job == nullptr;
      tsan::release(job);
      std::get<0>(ports).try_put(job);  // from here on another thread may own (and free) the job
      std::get<1>(ports).try_put(flow::continue_msg{});
      if (one_page_file) std::get<2>(ports).try_put(flow::continue_msg{});
    });
    // Writing is done by the writer's own thread (no TBB worker waits on the disk), each job
    // handed back through the node's gateway, in the order given; the graph waits for every one
    // handed out.
    using Write = flow::async_node<Job*, Job*>;
    Write* write_node = nullptr;
    OutputWriter writer(context, start, [&](Job* job) {
      write_node->gateway().try_put(job);
      tsan::release(&g);
      write_node->gateway().release_wait();
    });
    Write write(g, flow::unlimited, [&](Job* job, Write::gateway_type& gateway) {
      gateway.reserve_wait();
      writer.submit(job);
    });
    write_node = &write;
    // The sink is serial: it owns the totals and the observer needs no locking. It frees an
    // output place for every job, and a file place when a paged file's last page arrives.
    using Sink = flow::multifunction_node<Job*, std::tuple<flow::continue_msg, flow::continue_msg>>;
    Sink sink(g, flow::serial, [&](Job* job, Sink::output_ports_type& ports) {
      // A serial node: each run follows the previous one, which libtbb.so orders unseen by TSan.
      tsan::acquire(job);
      tsan::acquire(&stats);
      const tsan::ReleaseOnExit released{&g}, sink_released{&stats};
      if (job->outcome == Outcome::pending) job->outcome = Outcome::written;
      recycle_buffers(*job, context);
      stats.add(*job);
      if (job->outcome == Outcome::failed) {
        if (job->failed_stage == Stage::write && makes_output_unusable(job->error_code))
          control.request_stop(StopReason::output_unusable);
        if (job->failed_stage == Stage::read && job->error_code == std::errc::no_such_file_or_directory &&
            an_input_is_gone(config))
          control.request_stop(StopReason::input_gone);
        if (config.fail_fast) control.request_stop(StopReason::fail_fast);
      }
      if (on_done) on_done(*job);
      std::get<0>(ports).try_put(flow::continue_msg{});
      // A job is freed here; a page job with its file, when the file's last page is done.
      Job* file = job->file_job;
      if (!file) {
        delete job;  // its file place was freed after encoding
      } else if (--file->pages_left == 0) {
        delete file;
        std::get<1>(ports).try_put(flow::continue_msg{});
      }
    });

    oneapi::tbb::profiling::set_name(g, "imgflow");
    oneapi::tbb::profiling::set_name(source, "source");
    oneapi::tbb::profiling::set_name(read, "read");
    oneapi::tbb::profiling::set_name(waiting_pages, "waiting_pages");
    oneapi::tbb::profiling::set_name(pages_in_flight, "pages_in_flight");
    oneapi::tbb::profiling::set_name(decode, "decode");
    oneapi::tbb::profiling::set_name(route, "route");
    oneapi::tbb::profiling::set_name(analyse, "analyse");
    oneapi::tbb::profiling::set_name(adjust, "adjust");
    oneapi::tbb::profiling::set_name(neighbourhood, "neighbourhood");
    oneapi::tbb::profiling::set_name(encode, "encode");
    oneapi::tbb::profiling::set_name(hand_off, "hand_off");
    oneapi::tbb::profiling::set_name(free_file_place, "free_file_place");
    oneapi::tbb::profiling::set_name(waiting_decode, "waiting_decode");
    oneapi::tbb::profiling::set_name(outputs_in_flight, "outputs_in_flight");
    oneapi::tbb::profiling::set_name(write, "write");
    oneapi::tbb::profiling::set_name(sink, "sink");

    flow::make_edge(source, read);
    flow::make_edge(read, waiting_pages);
    flow::make_edge(waiting_pages, outputs_in_flight);
    flow::make_edge(outputs_in_flight, waiting_decode);
    flow::make_edge(waiting_decode, pages_in_flight);
    flow::make_edge(pages_in_flight, decode);
    flow::make_edge(decode, route);
    flow::make_edge(std::get<0>(route.output_ports()), analyse);
    flow::make_edge(std::get<1>(route.output_ports()), adjust);
    flow::make_edge(std::get<2>(route.output_ports()), neighbourhood);
    flow::make_edge(std::get<3>(route.output_ports()), encode);
    flow::make_edge(analyse, route);
    flow::make_edge(adjust, route);
    flow::make_edge(neighbourhood, route);
    flow::make_edge(encode, hand_off);
    flow::make_edge(std::get<0>(hand_off.output_ports()), write);
    flow::make_edge(std::get<1>(hand_off.output_ports()), pages_in_flight.decrementer());
    flow::make_edge(std::get<2>(hand_off.output_ports()), free_file_place);
    flow::make_edge(write, sink);
    flow::make_edge(std::get<0>(sink.output_ports()), outputs_in_flight.decrementer());
    flow::make_edge(std::get<1>(sink.output_ports()), free_file_place);

    tsan::release(&kGraphBuilt);
    source.try_put(flow::continue_msg{});
    g.wait_for_all();
    feeder.join();
    tsan::acquire(&g);
    for (auto& document : writer.abandon_unfinished()) stats.documents.push_back(std::move(document));
  });

  stats.wall = std::chrono::steady_clock::now() - start;
  stats.not_started += feed.not_fed() + unfed;  // never made, or made as the run stopped
  return stats;
}

}  // namespace imgflow
