// The dataset generator, and peak memory bounded by --max-in-flight rather than by file count.
#include <doctest/doctest.h>

#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

TEST_CASE("imgflow-gen is deterministic and writes the requested pages") {
  test::TempDir dir;
  const std::vector<std::string> args{"--count", "3", "--size", "300x400", "--color", "rgb",
                                      "--noise", "noisy"};
  auto with_dir = [&](const fs::path& out, std::vector<std::string> extra) {
    std::vector<std::string> all{out.string()};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  REQUIRE(test::run_generator(with_dir(dir / "a", {"--seed", "5"})).exit_code == 0);
  REQUIRE(test::run_generator(with_dir(dir / "b", {"--seed", "5"})).exit_code == 0);
  REQUIRE(test::run_generator(with_dir(dir / "c", {"--seed", "6"})).exit_code == 0);
  const std::vector<std::string> pages{"page-0001.png", "page-0002.png", "page-0003.png"};
  REQUIRE(test::files_below(dir / "a") == pages);
  for (const auto& page : pages) {
    CAPTURE(page);
    CHECK(test::file_bytes(dir / "a" / page) == test::file_bytes(dir / "b" / page));
    CHECK(test::file_bytes(dir / "a" / page) != test::file_bytes(dir / "c" / page));
    const auto header = test::read_png_header(dir / "a" / page);
    CHECK(header.width == 300);
    CHECK(header.height == 400);
    CHECK(header.colour_type == 2);
  }
  CHECK(test::file_bytes(dir / "a" / pages[0]) != test::file_bytes(dir / "a" / pages[1]));

  REQUIRE(test::run_generator({(dir / "g").string(), "--count", "1", "--size", "200x100"}).exit_code == 0);
  CHECK(test::read_png_header(dir / "g" / "page-0001.png").colour_type == 0);
  CHECK(test::run_generator({(dir / "x").string(), "--size", "oops"}).exit_code == 2);
}

TEST_CASE("peak memory depends on --max-in-flight, not on the number of files") {
  // 1400x2000 gray pages: 2.8 MB decoded each. If finished images were kept, 30 files would
  // need some 70 MB more than 5 do.
  test::TempDir dir;
  REQUIRE(test::run_generator({(dir / "few").string(), "--count", "5", "--size", "1400x2000"}).exit_code == 0);
  REQUIRE(test::run_generator({(dir / "many").string(), "--count", "30", "--size", "1400x2000"}).exit_code == 0);
  const auto few = test::run_imgflow({dir / "few", dir / "out-few", "-j", "2", "--max-in-flight", "2"});
  const auto many = test::run_imgflow({dir / "many", dir / "out-many", "-j", "2", "--max-in-flight", "2"});
  REQUIRE(few.exit_code == 0);
  REQUIRE(many.exit_code == 0);
  MESSAGE("peak RSS: 5 files " << few.max_rss_kb << " KB, 30 files " << many.max_rss_kb << " KB");
  CHECK(many.max_rss_kb - few.max_rss_kb < 12 * 1024);
}
