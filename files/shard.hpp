#pragma once
// Deterministic sharding of a listing across the tasks of a job array (Slurm, Kubernetes
// Indexed Jobs): task I of N takes the files whose position in the natural-order listing is
// congruent to I mod N. Every task lists the same folder the same way, so the shards are
// disjoint and together cover every file exactly once, whatever N.
#include <cstddef>
#include <string>

namespace imgflow {

struct Shard {
  std::size_t index = 0;  ///< this task's shard, 0 <= index < count
  std::size_t count = 1;
  std::string origin;     ///< how it was chosen, for messages and the report ("--shard 2/8", "SLURM_ARRAY_TASK_ID=5 ...")

  bool takes(std::size_t position) const { return position % count == index; }
};

}  // namespace imgflow
