#pragma once
// The --shard flag: which shard of a job array this task is, from the flag or the scheduler's
// environment (Slurm, Kubernetes).
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "files/shard.hpp"

namespace imgflow {

/// Where `--shard auto` looks: the environment by default, a table in tests.
using EnvironmentLookup = std::function<const char*(const char* name)>;

/// Parses a `--shard` value: "I/N" (0 <= I < N), "auto" (a Slurm job array: the task's position
/// among SLURM_ARRAY_TASK_MIN, MIN+STEP, ... up to SLURM_ARRAY_TASK_COUNT tasks, so arrays
/// such as 0-9:2 or 1-100 work), or "auto/N" (the count given: also a Kubernetes Indexed Job's
/// JOB_COMPLETION_INDEX). Returns the shard or a message saying what is wrong.
std::variant<Shard, std::string> parse_shard(std::string_view spec, const EnvironmentLookup& environment);

}  // namespace imgflow
