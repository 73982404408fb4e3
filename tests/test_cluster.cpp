// End-to-end: shards of one job (--shard) write disjoint parts of the output whose union equals a
// single run, and imgflow-merge combines their reports and finds what is missing.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

test::RunResult run_merge(const std::vector<std::string>& args) { return test::run_program(test::merge_binary(), args); }

nlohmann::json load_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Runs shard i of n as a Slurm array task would (environment included), into `out`.
test::RunResult run_task(const fs::path& in, const fs::path& out, const fs::path& runs, int task_id, int min, int step,
                         int count) {
  const std::string id = std::to_string(task_id);
  return test::run_program("/usr/bin/env",
                           {"SLURM_ARRAY_TASK_ID=" + id, "SLURM_ARRAY_TASK_MIN=" + std::to_string(min),
                            "SLURM_ARRAY_TASK_STEP=" + std::to_string(step),
                            "SLURM_ARRAY_TASK_COUNT=" + std::to_string(count), test::imgflow_binary(), in.string(),
                            out.string(), "--shard", "auto", "--skip-existing", "-j", "1", "--report",
                            (runs / ("report-" + id + ".json")).string(), "--failures",
                            (runs / ("failures-" + id + ".tsv")).string()});
}

}  // namespace

TEST_CASE("shards of an array (0-6:3, three tasks) cover every file once, byte-identical to one run") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out", runs = dir / "runs", single = dir / "single";
  REQUIRE(test::run_generator({"-n", "11", "--size", "300x400", in.string()}).exit_code == 0);
  fs::create_directories(runs);
  REQUIRE(test::run_imgflow({in.string(), single.string(), "-q"}).exit_code == 0);

  std::size_t written = 0;
  for (const int task : {0, 3, 6}) {
    CAPTURE(task);
    const auto run = run_task(in, out, runs, task, 0, 3, 3);
    CHECK(run.exit_code == 0);
    const auto report = load_json(runs / ("report-" + std::to_string(task) + ".json"));
    CHECK(report.at("shard").at("index") == task / 3);
    CHECK(report.at("shard").at("count") == 3);
    CHECK(report.at("counts").at("listed") == 11);
    // Positions 0..10: shard 0 takes 0,3,6,9; shard 1 takes 1,4,7,10; shard 2 takes 2,5,8.
    CHECK(report.at("counts").at("in_shard") == (task == 6 ? 3 : 4));
    written += report.at("counts").at("written").get<std::size_t>();
  }
  CHECK(written == 11);
  REQUIRE(test::files_below(out) == test::files_below(single));
  for (const auto& name : test::files_below(single))
    CHECK_MESSAGE(test::file_bytes(out / name) == test::file_bytes(single / name), name);

  auto merge = run_merge({runs.string(), "--report", (dir / "merged.json").string(), "--failures",
                          (dir / "retry.tsv").string()});
  CHECK(merge.exit_code == 0);
  CHECK(merge.out.find("3 of 3 shards reported; 11 written, 0 skipped, 0 failed, 0 not started; 11 inputs, 11 with a "
                       "finished output") != std::string::npos);
  CHECK(load_json(dir / "merged.json").at("missing") == 0);
  CHECK(test::file_bytes(dir / "retry.tsv").empty());

  // A lost output and a lost report: the merge says so, exits 1, and lists the file to retry.
  fs::remove(out / "page-0005.png");
  fs::remove(runs / "report-6.json");
  merge = run_merge({runs.string(), "--failures", (dir / "retry.tsv").string()});
  CHECK(merge.exit_code == 1);
  CHECK(merge.err.find("shard 2/3 has no report") != std::string::npos);
  CHECK(merge.err.find("1 of 11 inputs have no finished output") != std::string::npos);
  const auto retry = test::file_bytes(dir / "retry.tsv");
  CHECK(std::string(retry.begin(), retry.end()) ==
        (in / "page-0005.png").string() + "\tmissing\tno finished output " + (out / "page-0005.png").string() + "\n");

  // Resume: resubmit the whole array; --skip-existing leaves finished outputs alone.
  std::size_t redone = 0;
  for (const int task : {0, 3, 6}) {
    CHECK(run_task(in, out, runs, task, 0, 3, 3).exit_code == 0);
    redone += load_json(runs / ("report-" + std::to_string(task) + ".json")).at("counts").at("written").get<std::size_t>();
  }
  CHECK(redone == 1);
  CHECK(run_merge({runs.string()}).exit_code == 0);
}

TEST_CASE("a shard with a failed image makes the merge fail and lists it, the others stay whole") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out", runs = dir / "runs";
  REQUIRE(test::run_generator({"-n", "4", "--size", "200x300", in.string()}).exit_code == 0);
  std::ofstream(in / "page-0002.png", std::ios::trunc) << "damaged";
  fs::create_directories(runs);
  int exits = 0;
  for (const int task : {1, 2}) exits += run_task(in, out, runs, task, 1, 1, 2).exit_code;
  CHECK(exits == 1);  // the shard holding page-0002 (position 1: task 2) exits 1
  const auto merge = run_merge({(runs / "report-1.json").string(), (runs / "report-2.json").string(), "--failures",
                                (dir / "retry.tsv").string()});
  CHECK(merge.exit_code == 1);
  CHECK(merge.err.find("shard 1/2 exited 1 (1 failed, 0 not started") != std::string::npos);
  const auto retry = test::file_bytes(dir / "retry.tsv");
  CHECK(std::string(retry.begin(), retry.end()) ==
        (in / "page-0002.png").string() + "\tdecode\tnot a readable image (unknown format or corrupt data)\n");
}

TEST_CASE("imgflow-merge: usage errors exit 2 as documented, --version names libraries, errors name files, shards run with relative paths merge from anywhere") {
  test::TempDir dir;
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "no REPORTS given"}, {{"--no-such-flag", "x"}, "--no-such-flag"}, {{"--report"}, "--report"}}) {
    CAPTURE(message);
    const auto run = run_merge(args);
    CHECK(run.exit_code == 2);
    CHECK(run.err.find(message) != std::string::npos);
  }
  const auto version = run_merge({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("imgflow-merge ", 0) == 0);
  CHECK(version.out.find("libpng ") != std::string::npos);
  std::ofstream(dir / "not-a-report.json") << "{ broken";
  const auto broken = run_merge({(dir / "not-a-report.json").string()});
  CHECK(broken.exit_code == 2);
  CHECK(broken.err.find("error: " + (dir / "not-a-report.json").string() + ": not an imgflow report") != std::string::npos);
  const auto missing = run_merge({(dir / "absent.json").string()});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("error: " + (dir / "absent.json").string() + ": cannot open") != std::string::npos);

  // Shards run from `base` with relative paths; the merge runs from elsewhere and still finds them.
  const fs::path base = dir / "base";
  REQUIRE(test::run_generator({"-n", "5", "--size", "200x300", (base / "in").string()}).exit_code == 0);
  for (const char* shard : {"0/2", "1/2"}) {
    const auto run = test::run_program(
        "/bin/sh", {"-c", "cd \"$1\" && \"$0\" in out --shard \"$2\" --report \"runs/report-$3.json\" -q",
                    test::imgflow_binary(), base.string(), shard, std::string(1, shard[0])});
    CHECK(run.exit_code == 0);
  }
  const auto merged = test::run_program(
      "/bin/sh", {"-c", "cd / && \"$0\" \"$1\"", test::merge_binary(), (base / "runs").string()});
  CHECK(merged.exit_code == 0);
  CHECK(merged.out.find("5 inputs, 5 with a finished output") != std::string::npos);
}

TEST_CASE("--shard errors are usage errors (exit 2) naming the problem") {
  auto run = test::run_imgflow({test::data_dir().string(), "/tmp/never-written", "--shard", "5/5"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("--shard 5/5: I must be 0 to N-1") != std::string::npos);
  run = test::run_program("/usr/bin/env", {"-u", "SLURM_ARRAY_TASK_ID", "-u", "JOB_COMPLETION_INDEX",
                                           test::imgflow_binary(), test::data_dir().string(), "/tmp/never-written",
                                           "--shard", "auto"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("not in a Slurm job array") != std::string::npos);
  CHECK(!fs::exists("/tmp/never-written"));
  // The last --shard wins, so a flag after the script's own overrides it.
  run = test::run_imgflow({test::data_dir().string(), "/tmp/never-written", "--shard", "auto", "--shard", "1/3", "-n"});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("shard 1/3 (--shard 1/3): 2 of 7 images") != std::string::npos);
}
