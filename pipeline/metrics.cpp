#include "pipeline/metrics.hpp"

namespace imgflow {

void RunStats::add(const Job& job) {
  switch (job.outcome) {
    case Outcome::written: ++written; break;
    case Outcome::skipped: ++skipped; break;
    case Outcome::failed: ++failed; break;
    default: ++not_started; break;  // cancelled (or, wrongly, still pending)
  }
  decoded_bytes += job.decoded_bytes;
  output_bytes += job.output_bytes;
  for (std::size_t s = 0; s < kStageCount; ++s) {
    if (job.stage_time[s].count() == 0) continue;
    stage_total[s] += job.stage_time[s];
    ++stage_count[s];
  }
}

}  // namespace imgflow
