#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <set>
#include <thread>

#include "files/file_io.hpp"
#include "files/listing.hpp"
#include "kernels/lookup_table.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/io_threads.hpp"
#include "pipeline/stages.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

// run_pipeline over jobs made up front: each finished job's account is written back over it.
RunStats run_jobs(std::vector<Job>& jobs, const PipelineConfig& config, RunControl& control,
                  const JobObserver& observer = nullptr) {
  ListFeed feed(jobs.size(), [&](std::size_t i) { return jobs[i]; });
  return run_pipeline(feed, Recipe::of(default_chain()), config, control,
      [&](const Job& job) {
        if (observer) observer(job);
        jobs[job.index] = job.account();
      });
}

}  // namespace

TEST_CASE("graph: every job reaches the sink exactly once, failures included") {
  test::TempDir out;
  const auto listing = list_images(test::data_dir(), false, {});
  REQUIRE(listing.files.size() == 7);

  std::vector<Job> jobs;
  for (const auto& rel : test::relative_paths(listing)) {
    Job job;
    job.index = jobs.size();
    job.input = test::data_dir() / rel;
    job.output = out / rel.string();
    jobs.push_back(job);
  }
  for (const char* broken : {"missing.png", "README.md"}) {
    Job job;
    job.index = jobs.size();
    job.input = test::data_dir() / broken;
    job.output = out / broken;
    jobs.push_back(job);
  }
  Job refused;
  refused.index = jobs.size();
  refused.fail(Stage::write, "refused up front");
  jobs.push_back(refused);

  for (const int threads : {1, 2, 4}) {
    for (const std::size_t in_flight : {1, 3}) {
      CAPTURE(threads);
      CAPTURE(in_flight);
      PipelineConfig config;
      config.threads = threads;
      config.max_in_flight = in_flight;
      std::multiset<std::size_t> seen;
      RunControl control;
      const auto stats = run_jobs(jobs, config, control, [&](const Job& job) { seen.insert(job.index); });
      CHECK(seen.size() == jobs.size());
      CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == jobs.size());
      CHECK(stats.written == 7);
      CHECK(stats.failed == 3);
      CHECK(jobs[7].failed_stage == Stage::read);
      CHECK(jobs[8].failed_stage == Stage::decode);
      CHECK(jobs[9].error == "refused up front");
      CHECK(stats.stages[static_cast<std::size_t>(Stage::write)].busy.count() == 7);
      CHECK(stats.stages[static_cast<std::size_t>(Stage::read)].busy.count() == 9);  // the refused job never ran
      for (auto& job : jobs) job.outcome = job.index == 9 ? Outcome::failed : Outcome::pending;
    }
  }
}

namespace {

std::vector<Job> jobs_over(const std::vector<fs::path>& inputs, const fs::path& out) {
  std::vector<Job> jobs;
  for (const auto& input : inputs) {
    Job& job = jobs.emplace_back();
    job.index = jobs.size() - 1;
    job.input = input;
    job.output = out / (std::to_string(job.index) + ".png");
  }
  return jobs;
}

}  // namespace

TEST_CASE("graph: a stop requested before the run starts nothing and counts every job not started") {
  test::TempDir out;
  auto jobs = jobs_over({test::data_dir() / "page-0001.png", test::data_dir() / "page-0002.png"}, out.path());
  RunControl control;
  control.request_stop(StopReason::interrupted);
  const auto stats = run_jobs(jobs, PipelineConfig{}, control);
  CHECK(stats.written == 0);
  CHECK(stats.failed == 0);
  CHECK(stats.not_started == 2);
  CHECK(control.reason() == StopReason::interrupted);
  CHECK(fs::is_empty(out.path()));
}

TEST_CASE("graph: --fail-fast starts no image after the first failure") {
  test::TempDir out;
  std::vector<fs::path> inputs{test::data_dir() / "page-0001.png", test::data_dir() / "missing.png"};
  for (int i = 0; i < 20; ++i) inputs.push_back(test::data_dir() / "page-0002.png");
  for (const int threads : {1, 2}) {
    CAPTURE(threads);
    auto jobs = jobs_over(inputs, out.path());
    PipelineConfig config;
    config.threads = threads;
    config.max_in_flight = 1;  // one image at a time: nothing else is in flight at the failure
    config.fail_fast = true;
    RunControl control;
    const auto stats = run_jobs(jobs, config, control);
    CHECK(control.reason() == StopReason::fail_fast);
    CHECK(stats.written == 1);
    CHECK(stats.failed == 1);
    CHECK(stats.not_started == 20);
    CHECK(stats.total() == jobs.size());
  }
}

TEST_CASE("graph: a write that fails for lack of space stops the run, other write failures do not") {
  CHECK(makes_output_unusable(std::make_error_code(std::errc::no_space_on_device)));
  CHECK(makes_output_unusable(std::make_error_code(std::errc::read_only_file_system)));
  CHECK(makes_output_unusable({EDQUOT, std::generic_category()}));
  CHECK_FALSE(makes_output_unusable(std::make_error_code(std::errc::permission_denied)));
  CHECK_FALSE(makes_output_unusable(std::make_error_code(std::errc::not_a_directory)));
  CHECK_FALSE(makes_output_unusable({}));
}

TEST_CASE("distribution: nearest-rank quantiles, mean, total and max") {
  using std::chrono::nanoseconds;
  Distribution d;
  CHECK(d.quantile(0.5) == nanoseconds{0});
  for (const int v : {50, 10, 40, 20, 30, 100, 60, 90, 70, 80}) d.add(nanoseconds{v});
  CHECK(d.count() == 10);
  CHECK(d.total() == nanoseconds{550});
  CHECK(d.mean() == nanoseconds{55});
  CHECK(d.quantile(0.5) == nanoseconds{50});
  CHECK(d.quantile(0.95) == nanoseconds{100});
  CHECK(d.quantile(0.9) == nanoseconds{90});
  CHECK(d.quantile(0.0) == nanoseconds{10});
  CHECK(d.max() == nanoseconds{100});
}

TEST_CASE("distribution: past its exact samples, bounded memory and quantiles within 1.2% of a sorted copy's") {
  using std::chrono::nanoseconds;
  Distribution d;
  std::vector<nanoseconds> all;
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> times(15.0, 1.0);  // around 3 ms, a long tail
  for (int i = 0; i < 50000; ++i) {
    const nanoseconds value{static_cast<std::int64_t>(times(rng))};
    all.push_back(value);
    d.add(value);
  }
  std::sort(all.begin(), all.end());
  CHECK(d.count() == all.size());
  CHECK(d.max() == all.back());
  for (const double q : {0.01, 0.5, 0.9, 0.95, 0.99}) {
    CAPTURE(q);
    const auto exact = all[static_cast<std::size_t>(std::ceil(q * static_cast<double>(all.size()))) - 1];
    CHECK(static_cast<double>(d.quantile(q).count()) == doctest::Approx(static_cast<double>(exact.count())).epsilon(0.012));
  }
}

TEST_CASE("run stats: waits are the gaps between the source and the stages, the bottleneck the busiest by CPU") {
  using std::chrono::nanoseconds;
  RunStats stats;
  Job job;
  job.outcome = Outcome::written;
  job.fed_at = nanoseconds{100};
  // read, decode, (no analyse), adjust, (no neighbourhood), encode, write
  const std::array<std::pair<int, int>, kStageCount> spans{{{110, 5}, {120, 50}, {0, 0}, {170, 1}, {0, 0}, {175, 20}, {200, 3}}};
  for (std::size_t s = 0; s < kStageCount; ++s) {
    job.spans[s].start = nanoseconds{spans[s].first};
    job.spans[s].duration = nanoseconds{spans[s].second};
    job.spans[s].thread = static_cast<int>(s % 2);
  }
  stats.add(job);
  CHECK(stats.written == 1);
  CHECK((stats.stages[0].wait.count() == 1 && stats.stages[0].wait.max() == nanoseconds{10}));
  CHECK((stats.stages[1].wait.count() == 1 && stats.stages[1].wait.max() == nanoseconds{5}));
  CHECK(stats.stages[2].wait.count() == 0);  // a stage the page did not visit
  CHECK((stats.stages[3].wait.count() == 1 && stats.stages[3].wait.max() == nanoseconds{0}));
  CHECK(stats.stages[4].wait.count() == 0);
  CHECK((stats.stages[5].wait.count() == 1 && stats.stages[5].wait.max() == nanoseconds{4}));
  CHECK((stats.stages[6].wait.count() == 1 && stats.stages[6].wait.max() == nanoseconds{5}));
  CHECK(stats.bottleneck() == Stage::decode);  // no CPU time measured: by wall time
  CHECK(stats.threads_seen == 2);

  // On a loaded machine decode's 50 ns of wall time were 10 of CPU, encode's 20 were 18:
  // the CPU went to encode.
  Job loaded = job;
  const std::array<int, kStageCount> cpu{4, 10, 0, 1, 0, 18, 2};
  for (std::size_t s = 0; s < kStageCount; ++s) loaded.spans[s].cpu = nanoseconds{cpu[s]};
  RunStats by_cpu;
  by_cpu.add(loaded);
  CHECK(by_cpu.bottleneck() == Stage::encode);
  CHECK(by_cpu.cpu_total() == nanoseconds{35});
  CHECK(by_cpu.cpu_share(Stage::encode) == doctest::Approx(18.0 / 35.0));
}

TEST_CASE("thread CPU time: counts this thread's work, not its sleep") {
  const auto before = thread_cpu_time();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto slept = thread_cpu_time() - before;
  CHECK(slept < std::chrono::milliseconds(25));
  volatile std::uint64_t sink = 0;
  const auto work_start = thread_cpu_time();
  while (thread_cpu_time() - work_start < std::chrono::milliseconds(20)) sink = sink + 1;
  CHECK(thread_cpu_time() - work_start >= std::chrono::milliseconds(20));
}

// The race TSan found at the end of every run: the thread that submitted the last job was still
// inside IoThreads::submit (signalling the condition variable) when that job, done, let the run
// end and the IoThreads be destroyed. Here the owner destroys it the moment the job is done, as
// the graph may; under TSan the unfixed submit() is reported within a few hundred rounds.
TEST_CASE("io threads: destroyed the moment its last job is done, while submit() may still be returning") {
  Job job;
  for (int round = 0; round < 2000; ++round) {
    std::promise<void> done;
    auto threads = std::make_unique<IoThreads>("test-io", 1, 1, [&](std::vector<Job*>& batch) {
      CHECK(batch.size() == 1);
      done.set_value();
    });
    IoThreads* raw = threads.get();
    std::thread submitter([raw, &job] { raw->submit(&job); });
    done.get_future().wait();
    threads.reset();  // submit() may not have returned yet
    submitter.join();
  }
}

// The same window through the real graph: many runs of one tiny image each, so that the end of a
// run (the readers' and the writer's threads destroyed after wait_for_all) comes hundreds of
// times. Each run writes its page; under TSan no report.
TEST_CASE("graph: many tiny runs back to back each end cleanly and write their page") {
  test::TempDir dir;
  const fs::path input = dir / "tiny.png";
  REQUIRE(cv::imwrite(input.string(), cv::Mat(3, 5, CV_8UC3, cv::Scalar(10, 20, 30))));
  for (int round = 0; round < 300; ++round) {
    const fs::path out = dir / ("out" + std::to_string(round % 4));
    fs::create_directories(out);
    auto jobs = jobs_over({input}, out);
    PipelineConfig config;
    config.threads = 2;
    config.sync = false;
    RunControl control;
    const auto stats = run_jobs(jobs, config, control);
    REQUIRE_MESSAGE(stats.written == 1, jobs[0].error);
    REQUIRE(fs::file_size(out / "0.png") > 0);
    fs::remove_all(out);
  }
}
