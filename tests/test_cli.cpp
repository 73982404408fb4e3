// End-to-end: the real binary on the sample pages and on small files the tests make.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <thread>

#include "kernels/lookup_table.hpp"
#include "files/listing.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {
const std::vector<std::string> kSampleOutputs{
    "page-0001.png", "page-0002.png",      "page-0003.png",     "page-0004.png",
    "page-rgb-0001.png", "scan-gray-0001.png", "scan-rgb-0001.png"};

void copy_sample(const fs::path& to, const std::string& name) {
  fs::create_directories(to.parent_path());
  fs::copy_file(test::data_dir() / name, to);
}
}  // namespace

TEST_CASE("sample data: exact output set, pixels equal the default table, exit 0") {
  test::TempDir out;
  const auto run = test::run_imgflow({test::data_dir(), out.path()});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("7 written, 0 skipped, 0 failed") != std::string::npos);
  // The default summary is short: one line saying where the outputs went (stage times with -v).
  CHECK(run.err.find("; outputs in " + out.path().string() + "\n") != std::string::npos);
  CHECK(run.err.find("stage time") == std::string::npos);
  REQUIRE(test::files_below(out.path()) == kSampleOutputs);
  const auto tables = test::expected_tables("brightness=0.25,contrast=0.25");
  for (const auto& name : kSampleOutputs) {
    CAPTURE(name);
    CHECK(test::check_adjusted(test::data_dir() / name, out / name, tables) == "");
  }
}

TEST_CASE("outputs are byte-identical whatever --threads and --max-in-flight") {
  test::TempDir base;
  REQUIRE(test::run_imgflow({test::data_dir(), base / "t1", "--threads", "1", "--max-in-flight", "1"})
              .exit_code == 0);
  for (const auto& [threads, in_flight] :
       {std::pair{"2", "1"}, {"2", "2"}, {"2", "8"}, {"4", "3"}, {"0", "0"}}) {
    CAPTURE(threads);
    CAPTURE(in_flight);
    const fs::path out = base / (std::string("t") + threads + "-" + in_flight);
    REQUIRE(test::run_imgflow({test::data_dir(), out, "-j", threads, "--max-in-flight", in_flight})
                .exit_code == 0);
    REQUIRE(test::files_below(out) == kSampleOutputs);
    for (const auto& name : kSampleOutputs)
      CHECK_MESSAGE(test::file_bytes(out / name) == test::file_bytes(base / "t1" / name),
                    name << ": " << test::describe_difference(out / name, base / "t1" / name));
  }
}

// Pages large enough that the encoder deflates each in parallel bands (1 MiB of rows each),
// many in flight: a thread waiting for its bands once started another page's encode over its
// own scratch buffers, and one output in ten had a wrong Adler-32. This caught it in one run
// out of three; the unit test "concurrent encodes" catches it every time. Under TSan it also
// runs the (annotated, unsuppressed) band bodies, though the bug put back was not reported in
// two TSan runs: TSan's slower threads rarely nest that way.
TEST_CASE("multi-band pages: outputs byte-identical with one thread and with four") {
  test::TempDir base;
  REQUIRE(test::run_generator({(base / "in").string(), "--count", "8", "--size", "1240x1754", "--color",
                               "rgb", "--noise", "noisy", "--seed", "3"})
              .exit_code == 0);
  REQUIRE(test::run_imgflow({base / "in", base / "one", "-j", "1", "--max-in-flight", "1"}).exit_code == 0);
  REQUIRE(test::run_imgflow({base / "in", base / "four", "-j", "4", "--max-in-flight", "8"}).exit_code == 0);
  const auto names = test::files_below(base / "one");
  REQUIRE(names.size() == 8);
  REQUIRE(test::files_below(base / "four") == names);
  for (const auto& name : names)
    CHECK_MESSAGE(test::file_bytes(base / "four" / name) == test::file_bytes(base / "one" / name),
                  name << ": " << test::describe_difference(base / "four" / name, base / "one" / name));
}

TEST_CASE("adjustments apply in command-line order and may repeat") {
  test::TempDir dir;
  copy_sample(dir / "in" / "p.png", "scan-gray-0001.png");
  struct Case {
    std::vector<std::string> flags;
    std::string chain;
  };
  for (const Case& c : {Case{{"--contrast", "0.25", "--brightness", "0.25"}, "contrast=0.25,brightness=0.25"},
                        Case{{"--brightness", "0.25", "--contrast", "0.25"}, "brightness=0.25,contrast=0.25"},
                        Case{{"--gamma", "2.2"}, "gamma=2.2"},
                        Case{{"--brightness=0.5", "--contrast=-0.2"}, "brightness=0.5,contrast=-0.2"},
                        Case{{"--brightness", "0.1", "--invert", "--brightness", "0.1", "--invert"},
                             "brightness=0.1,invert,brightness=0.1,invert"}}) {
    CAPTURE(c.chain);
    const fs::path out = dir / ("out-" + c.chain);
    std::vector<std::string> args{(dir / "in").string(), out.string(), "-v"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    const auto run = test::run_imgflow(args);
    REQUIRE(run.exit_code == 0);
    CHECK(run.err.find("operations: " + c.chain) != std::string::npos);
    // Independent of the code under test: bild's row, or the formulas written out in the test.
    CHECK(test::check_adjusted(dir / "in" / "p.png", out / "p.png", test::expected_tables(c.chain)) == "");
  }
}

TEST_CASE("usage errors exit 2 with a clear message") {
  test::TempDir out;
  const std::string in = test::data_dir();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : {
           Case{{in, out / "o", "--brightness", "1.5"}, "brightness must be [-1, 1], got 1.5"},
           Case{{in, out / "o", "--contrast", "-2"}, "contrast must be [-1, 1], got -2"},
           Case{{in, out / "o", "--gamma", "0"}, "gamma must be > 0, got 0"},
           Case{{in, out / "o", "--gamma", "abc"}, "'abc' is not a number"},
           Case{{in, out / "o", "--brightness"}, "--brightness"},
           Case{{in, out / "o", "--sharpen", "1"}, "sharpen"},
           Case{{in}, "expected INPUT... OUTPUT_DIR"},
           Case{{in, out / "o", "--brigtness", "0.1"}, "--brigtness: unknown flag; did you mean --brightness?"},
           Case{{in, in, out / "o", "--files-from", "list"}, "with --files-from, give OUTPUT_DIR, after at most one INPUT_DIR"},
           Case{{"--files-from", "list"}, "with --files-from, give OUTPUT_DIR, after at most one INPUT_DIR"},
           Case{{in, out / "o", "--null"}, "--null applies to a --files-from list"},
           Case{{in, out / "o", "-q", "-v"}, "excludes"},
           Case{{in, out / "o", "--threads", "-1"}, "--threads: must be 0 or more, got -1"},
           Case{{in, out / "o", "--max-pixels", "0"}, "--max-pixels: must be 1 or more, got 0"},
           Case{{(out / "no-such-dir").string(), out / "o"}, "input " + (out / "no-such-dir").string() + " does not exist"},
           Case{{in + "/page-0001.png", out / "o", "--files-from", in + "/page-0001.png"}, "is not a directory"},
       }) {
    CAPTURE(c.message);
    const auto run = test::run_imgflow(c.args);
    CHECK(run.exit_code == 2);
    CHECK(run.err.find(c.message) != std::string::npos);
    CHECK(run.err.find("e+308") == std::string::npos);  // no limits of a double in a message
    CHECK_FALSE(fs::exists(out / "o"));
  }
}

TEST_CASE("--help lists every adjustment with its range and the default chain") {
  const auto run = test::run_imgflow({"--help"});
  CHECK(run.exit_code == 0);
  for (const char* text : {"--brightness F", "--contrast F", "--gamma F", "--invert", "[-1, 1]",
                           "> 0", "default: --brightness 0.25 --contrast 0.25", "--threads",
                           "--max-in-flight", "--skip-existing", "--recursive"})
    CHECK_MESSAGE(run.out.find(text) != std::string::npos, text);
}

TEST_CASE("an unwritable output location exits 2 before doing any work") {
  test::TempDir dir;
  std::ofstream(dir / "file") << "in the way";
  const auto run = test::run_imgflow({test::data_dir(), (dir / "file" / "out").string()});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("cannot create output directory") != std::string::npos);
}

TEST_CASE("in-place runs are refused up front, so a run and its rerun agree (OUTPUT_DIR = an input directory)") {
  test::TempDir dir;
  copy_sample(dir / "p.png", "page-0001.png");
  fs::copy_file(test::data_dir() / "page-0001.png", dir / "q.png");
  const auto before = test::file_bytes(dir / "p.png");
  // The first run and every rerun (--skip-existing, as after a kill) get the same answer.
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"--skip-existing"}}) {
    std::vector<std::string> args{dir.path(), (dir / "." / "").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto run = test::run_imgflow(args);
    CHECK(run.exit_code == 2);
    CHECK(run.err.find("is the input directory " + dir.path().string() + ": choose another OUTPUT_DIR") != std::string::npos);
  }
  CHECK(test::file_bytes(dir / "p.png") == before);
  CHECK(test::files_below(dir.path()) == std::vector<std::string>{"p.png", "q.png"});
  // A PNG named on its own with its own folder as OUTPUT_DIR would be its own output: refused too.
  const auto file = test::run_imgflow({(dir / "p.png").string(), dir.path()});
  CHECK(file.exit_code == 2);
  CHECK(file.err.find("refusing to overwrite input file " + (dir / "p.png").string()) != std::string::npos);
  CHECK(test::file_bytes(dir / "p.png") == before);
}

TEST_CASE("bad files: one error line each naming the file, the rest written, exit 1, no partial output") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  copy_sample(in / "good-1.png", "page-0001.png");
  copy_sample(in / "good-2.png", "scan-rgb-0001.png");
  std::ofstream(in / "empty.png");
  std::ofstream(in / "text.png") << "this is not an image";
  std::ofstream(in / "fake.jpg") << "\xFF\xD8\xFF garbage";
  const auto good = test::file_bytes(test::data_dir() / "page-0001.png");
  std::ofstream(in / "truncated.png", std::ios::binary)
      .write(reinterpret_cast<const char*>(good.data()), static_cast<std::streamsize>(good.size() / 2));
  fs::create_directories(in / "folder.png");  // a directory with an image name (non-recursive: ignored)

  const auto run = test::run_imgflow({in, dir / "out"});
  CHECK(run.exit_code == 1);
  CHECK(test::files_below(dir / "out") == std::vector<std::string>{"good-1.png", "good-2.png"});
  CHECK(run.err.find("2 written, 0 skipped, 4 failed") != std::string::npos);
  for (const auto& [name, reason] : std::vector<std::pair<std::string, std::string>>{
           {"empty.png", "decode: empty file"},
           {"text.png", "decode: not a readable image"},
           {"fake.jpg", "decode: Unsupported marker type 0x20"},  // libjpeg's own diagnosis
           {"truncated.png", "decode: "}}) {
    CAPTURE(name);
    const std::string prefix = "error: " + (in / name).string() + ": " + reason;
    CHECK(run.err.find(prefix) != std::string::npos);
  }
}

TEST_CASE("--skip-existing leaves existing outputs untouched") {
  test::TempDir dir;
  REQUIRE(test::run_imgflow({test::data_dir(), dir / "out"}).exit_code == 0);
  const auto stamp = fs::last_write_time(dir / "out" / "page-0001.png");
  fs::remove(dir / "out" / "page-0002.png");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  const auto run = test::run_imgflow({test::data_dir(), dir / "out", "--skip-existing"});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("1 written, 6 skipped, 0 failed") != std::string::npos);
  CHECK(fs::last_write_time(dir / "out" / "page-0001.png") == stamp);
  CHECK(fs::exists(dir / "out" / "page-0002.png"));

  // Without the flag, outputs are rewritten.
  REQUIRE(test::run_imgflow({test::data_dir(), dir / "out"}).exit_code == 0);
  CHECK(fs::last_write_time(dir / "out" / "page-0001.png") != stamp);
}

TEST_CASE("--recursive mirrors the tree, without it subdirectories are ignored") {
  test::TempDir dir;
  copy_sample(dir / "in" / "a.png", "page-0001.png");
  copy_sample(dir / "in" / "2023" / "jan" / "b.png", "page-0002.png");
  copy_sample(dir / "in" / "2023" / "c.png", "scan-gray-0001.png");

  CHECK(test::run_imgflow({dir / "in", dir / "flat"}).exit_code == 0);
  CHECK(test::files_below(dir / "flat") == std::vector<std::string>{"a.png"});

  CHECK(test::run_imgflow({dir / "in", dir / "deep", "-r"}).exit_code == 0);
  CHECK(test::files_below(dir / "deep") ==
        std::vector<std::string>{"2023/c.png", "2023/jan/b.png", "a.png"});

  // OUTPUT_DIR inside INPUT_DIR is not read back as input on the next run.
  CHECK(test::run_imgflow({dir / "in", dir / "in" / "out", "-r"}).exit_code == 0);
  const auto again = test::run_imgflow({dir / "in", dir / "in" / "out", "-r", "-v"});
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("3 written") != std::string::npos);
}

TEST_CASE("files are taken in natural order, names map to .png, collisions are refused") {
  test::TempDir dir;
  for (const char* name : {"10.png", "2.png", "1.png"}) copy_sample(dir / "in" / name, "page-0001.png");
  copy_sample(dir / "in" / "x.PNG", "page-0001.png");
  copy_sample(dir / "in" / "x.ppm", "page-0001.png");  // a PNG named .ppm: decoded as what it is

  // The listing's order (the order images are fed in; they finish in any order).
  const auto listing = test::run_imgflow({dir / "in", dir / "out", "--dry-run"});
  const auto p1 = listing.out.find("/in/1.png ->"), p2 = listing.out.find("/in/2.png ->"),
             p10 = listing.out.find("/in/10.png ->");
  CHECK(p1 < p2);
  CHECK(p2 < p10);
  CHECK(p10 != std::string::npos);
  const auto run = test::run_imgflow({dir / "in", dir / "out", "-v", "-j", "1", "--max-in-flight", "1"});
  CHECK(run.exit_code == 1);
  for (const char* name : {"/in/1.png ->", "/in/2.png ->", "/in/10.png ->"}) CHECK(run.err.find(name) != std::string::npos);
  CHECK(run.err.find("error: " + (dir / "in" / "x.ppm").string() + ": write: its output " +
                     (dir / "out" / "x.png").string() + " is also the output of " +
                     (dir / "in" / "x.PNG").string()) != std::string::npos);
  CHECK(test::files_below(dir / "out") ==
        std::vector<std::string>{"1.png", "10.png", "2.png", "x.png"});
}

TEST_CASE("--dry-run writes nothing and -q prints nothing on success") {
  test::TempDir dir;
  const auto dry = test::run_imgflow({test::data_dir(), dir / "out", "--dry-run"});
  CHECK(dry.exit_code == 0);
  // The listing is data: on stdout, a line per image; the count goes to stderr.
  std::size_t lines = 0;
  for (const char c : dry.out) lines += c == '\n';
  CHECK(lines == 7);
  CHECK(dry.out.find((test::data_dir() / "page-0001.png").string() + " -> " + (dir / "out" / "page-0001.png").string() + "\n") != std::string::npos);
  CHECK(dry.err.find(" -> ") == std::string::npos);
  CHECK(dry.err.find("dry run: 7 images") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out"));

  const auto quiet = test::run_imgflow({test::data_dir(), dir / "out", "-q"});
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  CHECK(quiet.out.empty());
}

TEST_CASE("other input formats are decoded and written as PNG") {
  test::TempDir dir;
  // A PNM written by hand: 3x2 gray, 8-bit.
  fs::create_directories(dir / "in");
  std::ofstream(dir / "in" / "g.pgm", std::ios::binary) << "P5\n3 2\n255\n" << std::string("\x00\x40\x80\xC0\xFF\x10", 6);
  const auto run = test::run_imgflow({dir / "in", dir / "out", "--invert"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto header = test::read_png_header(dir / "out" / "g.png");
  CHECK(header.width == 3);
  CHECK(header.height == 2);
  CHECK(header.colour_type == 0);
  CHECK(header.bit_depth == 8);
  CHECK(test::check_adjusted(dir / "in" / "g.pgm", dir / "out" / "g.png",
                             test::expected_tables("invert")) == "");
}

TEST_CASE("--png-level: every preset writes exact pixels, default is smaller than fast, smallest the smallest") {
  test::TempDir dir;
  const auto tables = test::expected_tables("brightness=0.25,contrast=0.25");
  std::map<std::string, std::uintmax_t> total;
  for (const char* level : {"fastest", "fast", "default", "compact", "smallest"}) {
    CAPTURE(level);
    const fs::path out = dir / level;
    REQUIRE(test::run_imgflow({test::data_dir(), out, "--png-level", level}).exit_code == 0);
    for (const auto& name : kSampleOutputs) {
      CHECK(test::check_adjusted(test::data_dir() / name, out / name, tables) == "");
      total[level] += fs::file_size(out / name);
    }
  }
  CHECK(total["default"] < total["fast"]);
  CHECK(total["compact"] < total["fast"]);
  CHECK(total["smallest"] <= total["compact"]);
  CHECK(total["smallest"] < total["fastest"]);
  const auto bad = test::run_imgflow({test::data_dir(), dir / "x", "--png-level", "tiny"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--png-level") != std::string::npos);
}

TEST_CASE("--skip-checksums accepts a damaged CRC that the default rejects") {
  test::TempDir dir;
  fs::create_directories(dir / "in");
  auto bytes = test::file_bytes(test::data_dir() / "page-0001.png");
  bytes[29] ^= 0x01;  // the IHDR CRC: the pixels are intact
  std::ofstream(dir / "in" / "p.png", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));

  const auto strict = test::run_imgflow({dir / "in", dir / "a"});
  CHECK(strict.exit_code == 1);
  CHECK(strict.err.find("error: " + (dir / "in" / "p.png").string() + ": decode: IHDR: CRC error") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(dir / "a" / "p.png"));

  const auto lenient = test::run_imgflow({dir / "in", dir / "b", "--skip-checksums"});
  CHECK(lenient.exit_code == 0);
  CHECK(test::check_adjusted(test::data_dir() / "page-0001.png", dir / "b" / "p.png",
                             test::expected_tables("brightness=0.25,contrast=0.25")) == "");
}
