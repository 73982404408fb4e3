#pragma once
// Deterministic sharding of a listing across the tasks of a job array (Slurm, Kubernetes
// Indexed Jobs): task I of N takes the files whose position in the natural-order listing is
// congruent to I mod N. Every task lists the same folder the same way, so the shards are
// disjoint and together cover every file exactly once, whatever N.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

namespace imgflow {

struct Shard {
  std::size_t index = 0;  ///< this task's shard, 0 <= index < count
  std::size_t count = 1;
  std::string origin;     ///< how it was chosen, for messages and the report ("--shard 2/8", "SLURM_ARRAY_TASK_ID=5 ...")

  bool takes(std::size_t position) const { return position % count == index; }
};

/// Where `--shard auto` looks: the environment by default, a table in tests.
using EnvironmentLookup = std::function<const char*(const char* name)>;

/// Parses a `--shard` value: "I/N" (0 <= I < N), "auto" (a Slurm job array: the task's position
/// among SLURM_ARRAY_TASK_MIN, MIN+STEP, ... up to SLURM_ARRAY_TASK_COUNT tasks, so arrays
/// such as 0-9:2 or 1-100 work), or "auto/N" (the count given: also a Kubernetes Indexed Job's
/// JOB_COMPLETION_INDEX). Returns the shard or a message saying what is wrong.
std::variant<Shard, std::string> parse_shard(std::string_view spec, const EnvironmentLookup& environment);

}  // namespace imgflow
