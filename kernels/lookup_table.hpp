#pragma once
#include <cstdint>
#include <vector>

#include "kernels/adjustment.hpp"

namespace imgflow {

/// The whole adjustment chain composed into one table per sample depth: entry v is the final
/// value of a sample v. Each step is evaluated as bild does it (formula in double, clamp to
/// [0, max], truncate), and the steps are chained through their truncated results, so applying
/// the table once equals applying the steps one after another to a uint image.
struct LookupTables {
  std::vector<std::uint8_t> lut8;    ///< 256 entries
  std::vector<std::uint16_t> lut16;  ///< 65536 entries, the formulas evaluated on v/65535
};

/// One step's table for samples of type T (uint8_t or uint16_t).
template <typename T>
std::vector<T> build_step_table(const Adjustment& step);

/// The composed table of a whole chain (identity for an empty chain).
template <typename T>
std::vector<T> build_table(const AdjustmentChain& chain);

LookupTables build_tables(const AdjustmentChain& chain);

}  // namespace imgflow
