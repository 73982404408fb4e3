#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "kernels/adjustment.hpp"
#include "kernels/apply_table.hpp"
#include "kernels/lookup_table.hpp"
#include "support.hpp"

using namespace imgflow;

namespace {
AdjustmentChain chain(const std::string& text) {
  const auto parsed = parse_chain(text);
  REQUIRE_MESSAGE(parsed.has_value(), "cannot parse " << text);
  return *parsed;
}
}  // namespace

TEST_CASE("every row of bild-tables.tsv is reproduced exactly") {
  const auto rows = test::reference_tables();
  CHECK(rows.size() == 10);
  for (const auto& [text, expected] : rows) {
    CAPTURE(text);
    REQUIRE(expected.size() == 256);
    const auto table = build_table<std::uint8_t>(chain(text));
    for (int v = 0; v < 256; ++v) {
      CAPTURE(v);
      REQUIRE(int{table[v]} == expected[v]);
    }
  }
}

TEST_CASE("the default chain is the tutorial's brightness 0.25 then contrast 0.25") {
  const auto rows = test::reference_tables();
  CHECK(to_string(default_chain()) == "brightness=0.25,contrast=0.25");
  const auto table = build_table<std::uint8_t>(default_chain());
  const auto& expected = rows.at("brightness=0.25,contrast=0.25");
  CHECK(std::vector<int>(table.begin(), table.end()) == expected);
}

TEST_CASE("a composed table equals applying each step to the image in turn") {
  std::mt19937 rng(42);
  for (const char* text : {"brightness=0.25,contrast=0.25", "contrast=0.8,gamma=2.2,invert",
                           "gamma=0.5,brightness=-0.3,contrast=-0.4,brightness=0.5", "invert,invert"}) {
    CAPTURE(text);
    const auto steps = chain(text);
    std::vector<std::uint16_t> pixels16(999);
    for (auto& v : pixels16) v = static_cast<std::uint16_t>(rng());
    std::vector<std::uint8_t> pixels8(999);
    for (auto& v : pixels8) v = static_cast<std::uint8_t>(rng());

    auto stepwise8 = pixels8;
    auto stepwise16 = pixels16;
    for (const auto& step : steps) {
      const auto t8 = build_step_table<std::uint8_t>(step);
      const auto t16 = build_step_table<std::uint16_t>(step);
      for (auto& v : stepwise8) v = t8[v];
      for (auto& v : stepwise16) v = t16[v];
    }
    const auto tables = build_tables(steps);
    for (std::size_t i = 0; i < pixels8.size(); ++i) {
      REQUIRE(tables.lut8()[pixels8[i]] == stepwise8[i]);
      REQUIRE(tables.lut16()[pixels16[i]] == stepwise16[i]);
    }
  }
}

TEST_CASE("order matters: brightness then contrast differs from contrast then brightness") {
  CHECK(build_table<std::uint8_t>(chain("brightness=0.25,contrast=0.25")) !=
        build_table<std::uint8_t>(chain("contrast=0.25,brightness=0.25")));
}

TEST_CASE("16-bit tables: monotonic, right endpoints, consistent with the 8-bit table") {
  for (const char* text : {"brightness=0.25", "contrast=0.25", "brightness=0.25,contrast=0.25",
                           "brightness=-0.3", "contrast=-0.4", "gamma=2.2", "gamma=0.5",
                           "contrast=0.8"}) {
    CAPTURE(text);
    const auto steps = chain(text);
    const auto t16 = build_table<std::uint16_t>(steps);
    const auto t8 = build_table<std::uint8_t>(steps);
    REQUIRE(t16.size() == 65536);
    CHECK(std::is_sorted(t16.begin(), t16.end()));
    // Endpoints: the formulas evaluated directly.
    double lo = 0, hi = 65535;
    for (const auto& s : steps) {
      lo = std::trunc(std::clamp(s.spec->formula(lo, 65535, s.param), 0.0, 65535.0));
      hi = std::trunc(std::clamp(s.spec->formula(hi, 65535, s.param), 0.0, 65535.0));
    }
    CHECK(t16.front() == lo);
    CHECK(t16.back() == hi);
    // A 16-bit sample v*257 lands within one 8-bit level of the 8-bit result for v.
    for (int v = 0; v < 256; ++v) {
      CAPTURE(v);
      CHECK(std::abs(t16[static_cast<std::size_t>(v) * 257] / 257 - int{t8[v]}) <= 1);
    }
  }
  const auto inverted = build_table<std::uint16_t>(chain("invert"));
  CHECK(inverted[0] == 65535);
  CHECK(inverted[65535] == 0);
  CHECK(inverted[1000] == 64535);
}

TEST_CASE("identity parameters give identity tables") {
  for (const char* text : {"brightness=0", "gamma=1", "invert,invert"}) {
    CAPTURE(text);
    const auto t8 = build_table<std::uint8_t>(chain(text));
    const auto t16 = build_table<std::uint16_t>(chain(text));
    for (std::size_t v = 0; v < t8.size(); ++v) REQUIRE(t8[v] == v);
    for (std::size_t v = 0; v < t16.size(); ++v) REQUIRE(t16[v] == v);
  }
}

TEST_CASE("chain notation: parse, print, reject") {
  CHECK(to_string(chain("contrast=0.25,brightness=-0.5,invert,gamma=2.2")) ==
        "contrast=0.25,brightness=-0.5,invert,gamma=2.2");
  CHECK_FALSE(parse_chain("sharpen=1").has_value());
  CHECK_FALSE(parse_chain("brightness").has_value());     // missing value
  CHECK_FALSE(parse_chain("invert=1").has_value());       // takes none
  CHECK_FALSE(parse_chain("brightness=1.5").has_value()); // out of range
  CHECK_FALSE(parse_chain("gamma=0").has_value());        // must be > 0
  CHECK_FALSE(parse_chain("contrast=abc").has_value());
  CHECK(parse_chain("")->empty());
}

TEST_CASE("ranges: brightness/contrast in [-1, 1], gamma > 0, NaN and infinity never") {
  const auto& b = *find_adjustment("brightness");
  const auto& g = *find_adjustment("gamma");
  CHECK(in_range(b, -1.0));
  CHECK(in_range(b, 1.0));
  CHECK_FALSE(in_range(b, 1.0001));
  CHECK_FALSE(in_range(b, std::nan("")));
  CHECK_FALSE(in_range(g, 0.0));
  CHECK(in_range(g, 1e-3));
  CHECK_FALSE(in_range(g, HUGE_VAL));
  CHECK(find_adjustment("invert") != nullptr);
  CHECK(find_adjustment("nope") == nullptr);
}

TEST_CASE("the 16-bit table is built only when a 16-bit image asks for it") {
  const LookupTables tables = build_tables(chain("brightness=0.25,contrast=0.25"));
  CHECK(tables.lut8().size() == 256);
  CHECK_FALSE(tables.lut16_built());
  CHECK(tables.lut16().size() == 65536);
  CHECK(tables.lut16_built());
  CHECK(tables.lut16() == build_table<std::uint16_t>(chain("brightness=0.25,contrast=0.25")));
}
