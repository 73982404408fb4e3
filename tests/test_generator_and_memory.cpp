// The dataset generator, and peak memory bounded by --max-in-flight rather than by file count.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdlib>

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

TEST_CASE("peak memory depends on --max-in-flight, not on the number of images (30 pages cost no more than 5)") {
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

TEST_CASE("buffers are reused: 40 more pages cost under 10 page faults each, where one fresh pixel buffer costs 215") {
  // 800x1100 gray pages: 880 KB decoded, 215 pages of memory touched for the first time when a
  // page gets a buffer that was not recycled. Files, pixels and outputs differ in size; from
  // one pool a page's pixels could get a file's buffer and grow it afresh (about 40 faults a
  // page, measured, before the pools were kept apart by kind).
  if (!test::sanitizer().empty()) {
    // A sanitizer's allocator (quarantine, shadow memory) makes its own faults: 2 to 11 a page
    // from one run to the next here. This test is about imgflow's reuse, in a plain build.
    test::skip("page faults under a sanitizer measure its allocator, not imgflow's buffers");
    return;
  }
  test::TempDir dir;
  REQUIRE(test::run_generator({(dir / "many").string(), "--count", "50", "--size", "800x1100"}).exit_code == 0);
  fs::create_directories(dir / "few");
  for (int i = 1; i <= 10; ++i) {
    const std::string name = fmt::format("page-{:04d}.png", i);
    fs::copy_file(dir / "many" / name, dir / "few" / name);
  }
  // The median of three runs of each: one run's count moves by a few hundred faults with what
  // else the machine does (a baseline 430 faults low once made 12 faults a page of 2).
  const auto median_faults = [&](const char* in) {
    std::vector<long> faults;
    for (int run = 0; run < 3; ++run) {
      const auto result = test::run_imgflow({dir / in, dir / ("out-" + std::to_string(run)), "-j", "2", "--no-sync"});
      REQUIRE(result.exit_code == 0);
      faults.push_back(result.minor_faults);
      fs::remove_all(dir / ("out-" + std::to_string(run)));
    }
    std::sort(faults.begin(), faults.end());
    return faults[1];
  };
  const long few = median_faults("few"), many = median_faults("many");
  const double per_page = static_cast<double>(many - few) / 40;
  MESSAGE("page faults (median of 3 runs): 10 pages " << few << ", 50 pages " << many << ", " << per_page
                                                      << " per extra page");
  CHECK(per_page < 10);
}

TEST_CASE("memory per listed file stays small: 60,000 files cost under 200 bytes each more than 2,000") {
  if (!test::sanitizer().empty()) {
    test::skip("a sanitizer's own memory (quarantine, shadow) is not the program's");
    return;
  }
  test::TempDir dir;
  REQUIRE(test::run_generator({(dir / "gen").string(), "--count", "1", "--size", "64x64"}).exit_code == 0);
  const fs::path tiny = dir / "gen" / "page-0001.png";
  REQUIRE(test::run_imgflow({tiny.string(), (dir / "done").string(), "-q"}).exit_code == 0);
  // Hard links of one input and of its finished output: --skip-existing lists, reads and
  // judges every file and writes none.
  const auto make = [&](std::size_t count) {
    const fs::path in = dir / ("in-" + std::to_string(count)), out = dir / ("out-" + std::to_string(count));
    fs::create_directories(in);
    fs::create_directories(out);
    fs::path source, done;
    for (std::size_t i = 0; i < count; ++i) {
      if (i % 50000 == 0) {  // ext4 allows 65,000 links to one inode
        source = dir / ("src-" + std::to_string(count) + "-" + std::to_string(i) + ".png");
        done = dir / ("done-" + std::to_string(count) + "-" + std::to_string(i) + ".png");
        fs::copy_file(tiny, source, fs::copy_options::overwrite_existing);
        fs::last_write_time(source, fs::last_write_time(tiny));
        fs::copy_file(dir / "done" / "page-0001.png", done, fs::copy_options::overwrite_existing);
      }
      const std::string name = "scan-" + std::to_string(i) + ".png";
      fs::create_hard_link(source, in / name);
      fs::create_hard_link(done, out / name);
    }
    const auto run = test::run_imgflow({in.string(), out.string(), "--skip-existing", "--no-sync"});
    CHECK(run.exit_code == 0);
    CHECK(run.err.find("0 written, " + std::to_string(count) + " skipped, 0 failed") != std::string::npos);
    return run.max_rss_kb;
  };
  const long few = make(2000), many = make(60000);
  CAPTURE(few);
  CAPTURE(many);
  CHECK((many - few) * 1024 < 58000 * 200);
}
