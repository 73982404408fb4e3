// End-to-end over the shared corpora: PngSuite (every colour type, depth, interlacing, and the
// deliberately corrupt x*.png files) and 75 real-world PNGs.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "kernels/lookup_table.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

// The layout imgflow writes for a PNG input: palette -> RGB, tRNS -> an alpha channel,
// 2/4-bit -> 8-bit, 16-bit stays 16-bit, 1-bit gray stays bilevel (the tables used here keep
// black and white).
std::pair<int, int> expected_layout(const test::PngHeader& in) {
  int colour = in.colour_type == 3 ? 2 : in.colour_type;
  if (in.has_trns && (colour == 0 || colour == 2)) colour += 4;
  if (in.colour_type == 0 && in.bit_depth == 1 && !in.has_trns) return {0, 1};
  return {colour, in.bit_depth == 16 ? 16 : 8};
}

struct IndexRow {
  std::string file;
  bool decodable;
};

std::vector<IndexRow> pngsuite_index() {
  std::ifstream in(test::shared_dir() / "corpus" / "pngsuite" / "INDEX.tsv");
  std::vector<IndexRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    IndexRow row;
    std::string decodable;
    std::getline(fields, row.file, '\t');
    std::getline(fields, decodable, '\t');
    row.decodable = decodable == "yes";
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("PngSuite: good files exact with the right layout, x*.png each reported, exit 1") {
  const fs::path suite = test::shared_dir() / "corpus" / "pngsuite";
  const auto index = pngsuite_index();
  REQUIRE(index.size() == 236);
  test::TempDir out;
  const auto run = test::run_imgflow({suite, out.path(), "-r", "--contrast", "0.5", "--gamma", "1.7"});
  CHECK(run.exit_code == 1);
  const auto tables = test::expected_tables("contrast=0.5,gamma=1.7");

  std::vector<std::string> expected_files;
  std::size_t good = 0, bad = 0;
  for (const auto& row : index) {
    CAPTURE(row.file);
    if (!row.decodable) {
      ++bad;
      CHECK(run.err.find("error: " + (suite / row.file).string() + ": decode: ") != std::string::npos);
      CHECK_FALSE(fs::exists(out / row.file));
      continue;
    }
    ++good;
    expected_files.push_back(row.file);
    const auto in_header = test::read_png_header(suite / row.file);
    const auto out_header = test::read_png_header(out / row.file);
    CHECK(out_header.width == in_header.width);
    CHECK(out_header.height == in_header.height);
    CHECK(std::pair{out_header.colour_type, out_header.bit_depth} == expected_layout(in_header));
    CHECK(test::check_adjusted(suite / row.file, out / row.file, tables) == "");
  }
  CHECK(good == 222);
  CHECK(bad == 14);
  std::sort(expected_files.begin(), expected_files.end());
  CHECK(test::files_below(out.path()) == expected_files);  // nothing else: no temporaries
  CHECK(run.err.find("222 written, 0 skipped, 14 failed") != std::string::npos);
}

TEST_CASE("real-world PNGs: one exact output per input, exit 0") {
  const fs::path real = test::shared_dir() / "corpus" / "real";
  test::TempDir out;
  const auto run = test::run_imgflow({real, out.path()});
  INFO(run.err);
  CHECK(run.exit_code == 0);

  std::vector<std::string> inputs;
  for (const auto& entry : fs::directory_iterator(real))
    if (entry.path().extension() == ".png") inputs.push_back(entry.path().filename().string());
  std::sort(inputs.begin(), inputs.end());
  CHECK(inputs.size() == 75);
  CHECK(test::files_below(out.path()) == inputs);

  const auto tables = test::expected_tables("brightness=0.25,contrast=0.25");
  std::size_t sixteen_bit = 0;
  for (const auto& name : inputs) {
    CAPTURE(name);
    const auto in_header = test::read_png_header(real / name);
    const auto out_header = test::read_png_header(out / name);
    CHECK(std::pair{out_header.colour_type, out_header.bit_depth} == expected_layout(in_header));
    if (in_header.bit_depth == 16) ++sixteen_bit;
    CHECK(test::check_adjusted(real / name, out / name, tables) == "");
  }
  CHECK(sixteen_bit >= 5);
}

TEST_CASE("colour-space and resolution chunks are carried over verbatim, --strip drops them") {
  const fs::path real = test::shared_dir() / "corpus" / "real";
  const std::set<std::string> carried{"iCCP", "sRGB", "gAMA", "cHRM", "cICP", "pHYs"};
  const auto carried_chunks = [&](const fs::path& file) {
    std::vector<test::PngChunk> kept;
    for (auto& chunk : test::read_png_chunks(file))
      if (carried.count(chunk.type)) kept.push_back(chunk);
    return kept;
  };
  test::TempDir dir;
  std::size_t files_with_chunks = 0;
  for (const char* name : {"imagepng__Exoplanet_Phase_Curve__Diagram_.png", "imagepng__cicp_pq.png",
                           "pillow__hopper.png", "libspng__icc_profile.png", "vips__rgba.png"}) {
    fs::create_directories(dir / "in");
    fs::copy_file(real / name, dir / "in" / name);
  }
  REQUIRE(test::run_imgflow({dir / "in", dir / "kept"}).exit_code == 0);
  REQUIRE(test::run_imgflow({dir / "in", dir / "stripped", "--strip"}).exit_code == 0);
  for (const auto& name : test::files_below(dir / "in")) {
    CAPTURE(name);
    auto expected = carried_chunks(dir / "in" / name);
    files_with_chunks += !expected.empty();
    // This file's iCCP is a copy of the sRGB profile that libpng reads with "iCCP: known
    // incorrect sRGB profile": it goes out as the sRGB chunk it stands for (intent 0), so that
    // the output reads without a warning.
    if (name == "imagepng__Exoplanet_Phase_Curve__Diagram_.png")
      for (auto& chunk : expected)
        if (chunk.type == "iCCP") chunk = {"sRGB", {0}};
    // cICP's CRC-broken neighbours (cLLI, mDCV) are not among the carried types.
    CHECK(carried_chunks(dir / "kept" / name) == expected);
    CHECK(carried_chunks(dir / "stripped" / name).empty());
  }
  CHECK(files_with_chunks == 5);
}

TEST_CASE("16-bit stays 16-bit: before and after of one corpus file") {
  const fs::path input = test::shared_dir() / "corpus" / "real" / "vips__sample.png";
  test::TempDir dir;
  fs::create_directories(dir / "in");
  fs::copy_file(input, dir / "in" / "sample.png");
  const auto run = test::run_imgflow({dir / "in", dir / "out", "--brightness", "0.1"});
  REQUIRE(run.exit_code == 0);
  const auto before = test::read_png_header(input);
  const auto after = test::read_png_header(dir / "out" / "sample.png");
  CHECK(before.bit_depth == 16);
  CHECK(after.bit_depth == 16);
  CHECK(after.colour_type == 2);
  const auto tables = test::expected_tables("brightness=0.1");
  // Exact against the 65536-entry table (check_adjusted picks it by the samples' depth).
  CHECK(test::check_adjusted(input, dir / "out" / "sample.png", tables) == "");
}
