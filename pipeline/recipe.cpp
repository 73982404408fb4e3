#include "pipeline/recipe.hpp"

#include <charconv>
#include <fmt/format.h>

namespace imgflow {

bool Operation::is_point() const {
  return kind == Kind::adjust || kind == Kind::grayscale || kind == Kind::normalize ||
         (kind == Kind::threshold && method != ThresholdMethod::sauvola);
}

bool Operation::needs_histogram() const {
  return kind == Kind::normalize || (kind == Kind::threshold && method == ThresholdMethod::otsu);
}

std::string Operation::text() const {
  switch (kind) {
    case Kind::adjust: return to_string(chain);
    case Kind::grayscale: return "grayscale";
    case Kind::normalize: return fmt::format("normalize={},{}", low_percent, high_percent);
    case Kind::threshold:
      if (method == ThresholdMethod::otsu) return "threshold=otsu";
      if (method == ThresholdMethod::sauvola) return fmt::format("threshold=sauvola:{},{}", window, k);
      return fmt::format("threshold={}", level);
    case Kind::deskew: return fmt::format("deskew={}", max_degrees);
    case Kind::resample:
      return assume_dpi > 0 ? fmt::format("dpi={},assume={}", dpi, assume_dpi) : fmt::format("dpi={}", dpi);
  }
  return {};
}

Recipe Recipe::of(const AdjustmentChain& chain) {
  Recipe recipe;
  for (const Adjustment& step : chain) recipe.add(step);
  return recipe;
}

Recipe Recipe::of(std::shared_ptr<const LookupTables> tables) {
  Recipe recipe;
  Operation op;
  op.tables = std::move(tables);
  recipe.operations.push_back(std::move(op));
  return recipe;
}

void Recipe::add(Operation operation) {
  if (operation.kind == Operation::Kind::adjust && !operations.empty() &&
      operations.back().kind == Operation::Kind::adjust) {
    Operation& last = operations.back();
    last.chain.insert(last.chain.end(), operation.chain.begin(), operation.chain.end());
    last.tables = std::make_shared<const LookupTables>(last.chain);
    return;
  }
  if (operation.kind == Operation::Kind::adjust) operation.tables = std::make_shared<const LookupTables>(operation.chain);
  operations.push_back(std::move(operation));
}

void Recipe::add(const Adjustment& adjustment) {
  Operation op;
  op.chain = {adjustment};
  add(std::move(op));
}

std::string Recipe::text() const {
  std::string out;
  for (const Operation& op : operations) {
    if (!out.empty()) out += ';';
    out += op.text();
  }
  return out;
}

namespace {
template <typename Number>
bool parse_whole(std::string_view text, Number& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}
}  // namespace

std::optional<Operation> parse_threshold(std::string_view text, std::string& problem) {
  Operation op;
  op.kind = Operation::Kind::threshold;
  if (text == "otsu") {
    op.method = ThresholdMethod::otsu;
    return op;
  }
  if (text.rfind("sauvola", 0) == 0) {
    op.method = ThresholdMethod::sauvola;
    std::string_view rest = text.substr(7);
    if (!rest.empty()) {
      if (rest[0] != ':') {
        problem = "expected sauvola[:WINDOW[,K]], got '" + std::string(text) + "'";
        return std::nullopt;
      }
      rest.remove_prefix(1);
      const auto comma = rest.find(',');
      if (!parse_whole(rest.substr(0, comma), op.window) || op.window < 3 || op.window > 1001 || op.window % 2 == 0) {
        problem = "the Sauvola window must be an odd whole number from 3 to 1001, got '" + std::string(text) + "'";
        return std::nullopt;
      }
      if (comma != std::string_view::npos &&
          (!parse_whole(rest.substr(comma + 1), op.k) || !(op.k > 0 && op.k < 1))) {
        problem = "Sauvola's K must be a number between 0 and 1, got '" + std::string(text) + "'";
        return std::nullopt;
      }
    }
    return op;
  }
  if (!parse_whole(text, op.level) || op.level < 0 || op.level > 256) {
    problem = "expected a level from 0 to 256, otsu or sauvola[:WINDOW[,K]], got '" + std::string(text) + "'";
    return std::nullopt;
  }
  return op;
}

std::optional<Operation> parse_normalize(std::string_view text, std::string& problem) {
  Operation op;
  op.kind = Operation::Kind::normalize;
  if (text.empty()) return op;
  const auto comma = text.find(',');
  if (comma == std::string_view::npos || !parse_whole(text.substr(0, comma), op.low_percent) ||
      !parse_whole(text.substr(comma + 1), op.high_percent) || !(op.low_percent >= 0) ||
      !(op.low_percent < op.high_percent) || !(op.high_percent <= 100)) {
    problem = "expected LOW,HIGH percentages with 0 <= LOW < HIGH <= 100, got '" + std::string(text) + "'";
    return std::nullopt;
  }
  return op;
}

}  // namespace imgflow
