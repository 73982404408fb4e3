#include "kernels/lookup_table.hpp"

#include <algorithm>
#include <utility>
#include <limits>
#include <numeric>

namespace imgflow {

template <typename T>
std::vector<T> build_step_table(const Adjustment& step) {
  constexpr double max = std::numeric_limits<T>::max();
  std::vector<T> table(std::size_t{std::numeric_limits<T>::max()} + 1);
  for (std::size_t v = 0; v < table.size(); ++v) {
    const double adjusted = step.spec->formula(static_cast<double>(v), max, step.param);
    // Clamp, then truncate toward zero: Go's uint8(f64.Clamp(x, 0, 255)). A NaN clamps to 0.
    table[v] = static_cast<T>(adjusted > 0 ? std::min(adjusted, max) : 0.0);
  }
  return table;
}

template <typename T>
std::vector<T> build_table(const AdjustmentChain& chain) {
  std::vector<T> table(std::size_t{std::numeric_limits<T>::max()} + 1);
  std::iota(table.begin(), table.end(), T{0});
  for (const auto& step : chain) {
    const auto step_table = build_step_table<T>(step);
    for (auto& value : table) value = step_table[value];
  }
  return table;
}

template std::vector<std::uint8_t> build_step_table<std::uint8_t>(const Adjustment&);
template std::vector<std::uint16_t> build_step_table<std::uint16_t>(const Adjustment&);
template std::vector<std::uint8_t> build_table<std::uint8_t>(const AdjustmentChain&);
template std::vector<std::uint16_t> build_table<std::uint16_t>(const AdjustmentChain&);

LookupTables::LookupTables(AdjustmentChain chain)
    : chain_(std::move(chain)), lut8_(build_table<std::uint8_t>(chain_)) {}

LookupTables::LookupTables(std::vector<std::uint8_t> lut8, std::vector<std::uint16_t> lut16)
    : lut8_(std::move(lut8)), lut16_(std::move(lut16)) {
  std::call_once(lut16_once_, [] {});
  lut16_built_ = true;
}

const std::vector<std::uint16_t>& LookupTables::lut16() const {
  std::call_once(lut16_once_, [this] {
    lut16_ = build_table<std::uint16_t>(chain_);
    lut16_built_ = true;
  });
  return lut16_;
}

bool LookupTables::lut16_built() const { return lut16_built_; }

LookupTables build_tables(const AdjustmentChain& chain) { return LookupTables(chain); }

}  // namespace imgflow
