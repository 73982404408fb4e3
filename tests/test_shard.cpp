// The shard rule and `--shard` parsing: explicit I/N, Slurm job arrays (with steps and
// offsets) and Kubernetes Indexed Jobs; shards disjoint, complete and stable.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <algorithm>
#include <random>
#include <set>

#include "files/listing.hpp"
#include "api/shard_spec.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

EnvironmentLookup environment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const char* name) -> const char* {
    const auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  };
}

Shard shard_of(std::string_view spec, std::map<std::string, std::string> env = {}) {
  auto parsed = parse_shard(spec, environment(std::move(env)));
  if (const auto* problem = std::get_if<std::string>(&parsed)) FAIL(*problem);
  return std::get<Shard>(parsed);
}

std::string problem_of(std::string_view spec, std::map<std::string, std::string> env = {}) {
  auto parsed = parse_shard(spec, environment(std::move(env)));
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "(parsed)";
}

}  // namespace

TEST_CASE("shard: I/N is parsed and checked") {
  const Shard s = shard_of("2/8");
  CHECK(s.index == 2);
  CHECK(s.count == 8);
  CHECK(s.origin == "--shard 2/8");
  CHECK(shard_of("0/1").count == 1);
  CHECK(problem_of("8/8") == "--shard 8/8: I must be 0 to N-1");
  CHECK(problem_of("-1/8") == "--shard -1/8: I must be 0 to N-1");
  CHECK(problem_of("1/0") == "--shard 1/0: N must be a positive whole number");
  CHECK(problem_of("3") == "--shard 3: expected I/N (e.g. 0/8), auto or auto/N");
  CHECK(problem_of("a/b") == "--shard a/b: N must be a positive whole number");
}

TEST_CASE("shard: auto in Slurm job arrays, with offsets and steps") {
  // sbatch --array=0-9: ten tasks.
  Shard s = shard_of("auto", {{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_COUNT", "10"}});
  CHECK(s.index == 3);
  CHECK(s.count == 10);
  // --array=1-100: IDs start at 1.
  s = shard_of("auto", {{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_COUNT", "100"}});
  CHECK(s.index == 0);
  CHECK(s.count == 100);
  // --array=0-9:2: tasks 0 2 4 6 8, so five shards; task 8 is the fifth.
  const std::map<std::string, std::string> stepped{{"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_STEP", "2"},
                                                   {"SLURM_ARRAY_TASK_COUNT", "5"}};
  std::set<std::size_t> indices;
  for (const int id : {0, 2, 4, 6, 8}) {
    auto env = stepped;
    env["SLURM_ARRAY_TASK_ID"] = std::to_string(id);
    const Shard task = shard_of("auto", env);
    CHECK(task.count == 5);
    indices.insert(task.index);
  }
  CHECK(indices == std::set<std::size_t>{0, 1, 2, 3, 4});
  auto odd = stepped;
  odd["SLURM_ARRAY_TASK_ID"] = "3";
  CHECK(problem_of("auto", odd).find("SLURM_ARRAY_TASK_ID=3 is not in the array 0-...:2") != std::string::npos);
  // --array=1,5,9 (a list): IDs beyond MIN + COUNT are refused rather than guessed.
  CHECK(problem_of("auto", {{"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_COUNT", "3"}})
            .find("use --shard I/N") != std::string::npos);
  // auto/N must agree with the array.
  CHECK(problem_of("auto/4", {{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_COUNT", "10"}}) ==
        "--shard auto/4: the array has SLURM_ARRAY_TASK_COUNT=10 tasks");
  CHECK(problem_of("auto", {{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_MIN", "0"}}).find("must be numbers") !=
        std::string::npos);
}

TEST_CASE("shard: auto in a Kubernetes Indexed Job needs the count") {
  const Shard s = shard_of("auto/6", {{"JOB_COMPLETION_INDEX", "5"}});
  CHECK(s.index == 5);
  CHECK(s.count == 6);
  CHECK(problem_of("auto", {{"JOB_COMPLETION_INDEX", "5"}}).find("use --shard auto/N") != std::string::npos);
  CHECK(problem_of("auto/6", {{"JOB_COMPLETION_INDEX", "6"}}) == "--shard auto/6: JOB_COMPLETION_INDEX=6 must be 0 to 5");
  CHECK(problem_of("auto").find("not in a Slurm job array") != std::string::npos);
}

TEST_CASE("shard: disjoint and complete for every N, and stable under re-listing") {
  test::TempDir dir;
  std::vector<std::string> names;
  for (int i = 0; i < 53; ++i) names.push_back("page-" + std::to_string(i) + ".png");
  std::shuffle(names.begin(), names.end(), std::mt19937(7));  // created in no particular order
  for (const auto& name : names) std::ofstream(dir / name) << "x";
  const auto first = test::relative_paths(list_images(dir.path(), false, {}));
  const auto again = test::relative_paths(list_images(dir.path(), false, {}));
  REQUIRE(first == again);
  REQUIRE(first.size() == 53);
  for (std::size_t n = 1; n <= 9; ++n) {
    CAPTURE(n);
    std::multiset<std::string> seen;
    for (std::size_t i = 0; i < n; ++i) {
      const Shard shard{i, n, ""};
      for (std::size_t position = 0; position < first.size(); ++position)
        if (shard.takes(position)) seen.insert(first[position].string());
    }
    CHECK(seen.size() == first.size());                                    // complete
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 53u);  // disjoint
  }
}
