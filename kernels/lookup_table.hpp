#pragma once
#include <cstdint>
#include <atomic>
#include <mutex>
#include <vector>

#include "kernels/adjustment.hpp"

namespace imgflow {

/// The whole adjustment chain composed into one table per sample depth: entry v is the final
/// value of a sample v. Each step is evaluated as bild does it (formula in double, clamp to
/// [0, max], truncate), and the steps are chained through their truncated results, so applying
/// the table once equals applying the steps one after another to a uint image. The 16-bit
/// table (65,536 entries, the formulas evaluated on v/65535) is built when first asked for, by
/// whichever thread asks first: a run that meets no 16-bit image never builds it.
class LookupTables {
 public:
  explicit LookupTables(AdjustmentChain chain);
  /// Tables made elsewhere (the tests' independent ones).
  LookupTables(std::vector<std::uint8_t> lut8, std::vector<std::uint16_t> lut16);

  const std::vector<std::uint8_t>& lut8() const { return lut8_; }
  const std::vector<std::uint16_t>& lut16() const;
  bool lut16_built() const;

 private:
  AdjustmentChain chain_;
  std::vector<std::uint8_t> lut8_;
  mutable std::once_flag lut16_once_;
  mutable std::vector<std::uint16_t> lut16_;
  mutable std::atomic<bool> lut16_built_{false};
};

/// One step's table for samples of type T (uint8_t or uint16_t).
template <typename T>
std::vector<T> build_step_table(const Adjustment& step);

/// The composed table of a whole chain (identity for an empty chain).
template <typename T>
std::vector<T> build_table(const AdjustmentChain& chain);

LookupTables build_tables(const AdjustmentChain& chain);

}  // namespace imgflow
