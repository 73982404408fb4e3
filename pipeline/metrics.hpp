#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "pipeline/job.hpp"

namespace imgflow {

/// Totals of a run, accumulated at the sink (one job at a time, so no locking).
struct RunStats {
  std::size_t written = 0, skipped = 0, failed = 0;
  std::size_t not_started = 0;      ///< jobs cancelled or never fed because the run was stopped
  std::uint64_t decoded_bytes = 0;  ///< pixel bytes of every decoded image
  std::uint64_t output_bytes = 0;
  std::array<std::chrono::nanoseconds, kStageCount> stage_total{};
  std::array<std::size_t, kStageCount> stage_count{};  ///< images that ran each stage
  std::chrono::nanoseconds wall{};

  void add(const Job& job);
  std::size_t total() const { return written + skipped + failed + not_started; }
};

}  // namespace imgflow
