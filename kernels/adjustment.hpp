#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace imgflow {

/// One point adjustment, declared once: its flag name, help text, accepted range and the
/// formula. The CLI flags, `--help` and the lookup tables are all generated from these.
struct AdjustmentSpec {
  std::string_view name;  ///< flag name without dashes, also used in chain strings
  std::string_view help;
  bool takes_value;       ///< false for a plain flag such as --invert
  double min, max;        ///< accepted parameter range
  bool min_inclusive;     ///< false: the parameter must be strictly greater than min
  std::string_view range_text;
  /// The formula on the sample scale [0, max_value], before clamping and truncation.
  double (*formula)(double v, double max_value, double param);
};

/// Every adjustment imgflow knows, in the order `--help` lists them.
std::span<const AdjustmentSpec> adjustment_specs();
const AdjustmentSpec* find_adjustment(std::string_view name);

/// One step of a chain: which adjustment and its parameter (ignored when !takes_value).
struct Adjustment {
  const AdjustmentSpec* spec;
  double param;
};
using AdjustmentChain = std::vector<Adjustment>;

/// True when `param` lies in the declared range of `spec` (NaN never does).
bool in_range(const AdjustmentSpec& spec, double param);

/// The parameter `text` gives `spec` (all of `text` one decimal number, not only its start;
/// then within the declared range): the value, or nullopt with `problem` (when given) saying
/// why: "'x' is not a number" or "NAME must be RANGE, got x". One check for the flags, the
/// library's steps and parse_chain.
std::optional<double> adjustment_value(const AdjustmentSpec& spec, std::string_view text,
                                       std::string* problem = nullptr);

/// The tutorial's chain that imgflow applies when no adjustment is given:
/// brightness 0.25, then contrast 0.25.
AdjustmentChain default_chain();

/// "brightness=0.25,contrast=0.25,invert", the notation of bild-tables.tsv and of run reports.
std::string to_string(const AdjustmentChain& chain);
/// Parses that notation; nullopt on an unknown name, a missing/extra value or an out-of-range one.
std::optional<AdjustmentChain> parse_chain(std::string_view text);

}  // namespace imgflow
