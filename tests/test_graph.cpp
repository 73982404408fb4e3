#include <doctest/doctest.h>

#include <set>

#include "kernels/lookup_table.hpp"
#include "pipeline/file_io.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/listing.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

TEST_CASE("graph: every job reaches the sink exactly once, failures included") {
  test::TempDir out;
  const auto listing = list_images(test::data_dir(), false, {});
  REQUIRE(listing.images.size() == 7);

  std::vector<Job> jobs;
  for (const auto& rel : listing.images) {
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
      const auto stats = run_pipeline(jobs, build_tables(default_chain()), config,
                                      [&](const Job& job) { seen.insert(job.index); });
      CHECK(seen.size() == jobs.size());
      CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == jobs.size());
      CHECK(stats.written == 7);
      CHECK(stats.failed == 3);
      CHECK(jobs[7].failed_stage == Stage::read);
      CHECK(jobs[8].failed_stage == Stage::decode);
      CHECK(jobs[9].error == "refused up front");
      CHECK(stats.stage_count[static_cast<std::size_t>(Stage::write)] == 7);
      for (auto& job : jobs) job.outcome = job.index == 9 ? Outcome::failed : Outcome::pending;
    }
  }
}
