#include "kernels/adjustment.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <sstream>

namespace imgflow {
namespace {

// The formulas are bild's (github.com/anthonynsimon/bild, package adjust), written for a sample
// scale of [0, max_value] so one definition serves 8-bit and 16-bit tables.
double brightness(double v, double /*max*/, double b) { return v * (1 + b); }
double contrast(double v, double max, double c) { return (((v / max) - 0.5) * (1 + c) + 0.5) * max; }
double gamma(double v, double max, double g) { return std::pow(v / max, 1 / g) * max; }
double invert(double v, double max, double /*unused*/) { return max - v; }

constexpr std::array kSpecs{
    AdjustmentSpec{"brightness", "Scale brightness: v * (1 + F), as bild's adjust.Brightness", true,
                   -1.0, 1.0, true, "[-1, 1]", brightness},
    AdjustmentSpec{"contrast",
                   "Stretch contrast about mid-grey: ((v/max - 0.5) * (1 + F) + 0.5) * max, as "
                   "bild's adjust.Contrast",
                   true, -1.0, 1.0, true, "[-1, 1]", contrast},
    AdjustmentSpec{"gamma", "Gamma correction: (v/max)^(1/F) * max, as bild's adjust.Gamma", true,
                   0.0, HUGE_VAL, false, "> 0", gamma},
    AdjustmentSpec{"invert", "Invert: max - v, as bild's effect.Invert", false, 0, 0, true, "",
                   invert},
};

}  // namespace

std::span<const AdjustmentSpec> adjustment_specs() { return kSpecs; }

const AdjustmentSpec* find_adjustment(std::string_view name) {
  for (const auto& spec : kSpecs)
    if (spec.name == name) return &spec;
  return nullptr;
}

bool in_range(const AdjustmentSpec& spec, double param) {
  if (!spec.takes_value) return true;
  const bool above_min = spec.min_inclusive ? param >= spec.min : param > spec.min;
  return above_min && param <= spec.max && std::isfinite(param);
}

AdjustmentChain default_chain() {
  return {{find_adjustment("brightness"), 0.25}, {find_adjustment("contrast"), 0.25}};
}

std::string to_string(const AdjustmentChain& chain) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  for (std::size_t i = 0; i < chain.size(); ++i) {
    if (i) out << ',';
    out << chain[i].spec->name;
    if (chain[i].spec->takes_value) out << '=' << chain[i].param;
  }
  return out.str();
}

std::optional<double> adjustment_value(const AdjustmentSpec& spec, std::string_view text, std::string* problem) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    if (problem) *problem = (std::ostringstream() << '\'' << text << "' is not a number").str();
    return std::nullopt;
  }
  if (!in_range(spec, value)) {
    if (problem) *problem = (std::ostringstream() << spec.name << " must be " << spec.range_text << ", got " << text).str();
    return std::nullopt;
  }
  return value;
}

std::optional<AdjustmentChain> parse_chain(std::string_view text) {
  AdjustmentChain chain;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view step = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);

    const auto eq = step.find('=');
    const AdjustmentSpec* spec = find_adjustment(step.substr(0, eq));
    if (!spec || spec->takes_value != (eq != std::string_view::npos)) return std::nullopt;
    double param = 0;
    if (spec->takes_value) {
      const auto value = adjustment_value(*spec, step.substr(eq + 1));
      if (!value) return std::nullopt;
      param = *value;
    }
    chain.push_back({spec, param});
  }
  return chain;
}

}  // namespace imgflow
