// End-to-end: --watch, the hot folder. Files copied in slowly, renamed in, written into new
// subfolders, removed before they were read, damaged, a burst of thousands, folders replaced,
// kill -9 with --move-input and a restart, rescans where inotify cannot serve, SIGHUP and the
// log. Every wait has a deadline; the imgflow under test is killed at scope exit if still there.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "files/watch.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Whether `done` holds within `deadline` (polled every 20 ms): the tests' only way of waiting.
template <typename Done>
bool eventually(Done done, std::chrono::milliseconds deadline = 60s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::size_t count_in(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A watch running in the background: `imgflow --watch ARGS --log LOG`.
struct Watch {
  fs::path log;
  test::Child child;
  Watch(const fs::path& log_file, std::vector<std::string> args)
      : log(log_file), child(test::imgflow_binary(), with_log(std::move(args), log_file)) {}
  static std::vector<std::string> with_log(std::vector<std::string> args, const fs::path& log) {
    args.insert(args.begin(), "--watch");
    args.insert(args.end(), {"--log", log.string()});
    return args;
  }
  std::string text() const { return slurp(log); }
  /// SIGTERM, then the exit (within a deadline: a watch that does not stop fails the test).
  int stop() {
    child.signal(SIGTERM);
    std::thread killer([pid = child.pid()] {
      for (int i = 0; i < 1500 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(20ms);
    });
    const int code = child.wait().exit_code;
    killer.join();
    return code;
  }
};

// The files below `dir` (relative, sorted), while other processes add and remove them.
std::vector<std::string> names_below(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) names.push_back(it->path().lexically_relative(dir).generic_string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A batch run over the very files the watch took (same names, sizes and times, so the same
// resume records): every output it makes must be in `watched`, byte for byte. Returns how many.
std::size_t same_as_batch(const test::TempDir& dir, const fs::path& inputs, const fs::path& watched,
                          int exit_code = 0) {
  const fs::path batch = dir / "batch-check";
  const auto run = test::run_imgflow({"-r", inputs.string(), batch.string(), "-q"});
  CHECK_MESSAGE(run.exit_code == exit_code, run.err);
  std::size_t same = 0;
  for (const std::string& name : names_below(batch)) {
    const bool equal = fs::exists(watched / name) && slurp(watched / name) == slurp(batch / name);
    CHECK_MESSAGE(equal, name);
    same += equal;
  }
  fs::remove_all(batch);
  return same;
}

// Sources for the arrivals: layouts written by other programs (PngSuite) and the sample scans.
std::vector<fs::path> sources() {
  const fs::path suite = test::shared_dir() / "corpus" / "pngsuite";
  return {suite / "basn0g01.png", suite / "basn2c08.png", suite / "basn6a16.png", suite / "basn4a08.png",
          suite / "basi3p02.png", test::data_dir() / "page-0001.png", test::data_dir() / "scan-gray-0001.png"};
}

}  // namespace

TEST_CASE("watch: open_for_writing tells a file being written from a closed one") {
  test::TempDir dir;
  const fs::path file = dir / "a.png";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  CHECK(open_for_writing(file) == std::optional<bool>(true));
  ::close(fd);
  CHECK(open_for_writing(file) == std::optional<bool>(false));
  CHECK(open_for_writing(dir / "missing.png") == std::nullopt);
}

TEST_CASE("watch: slow writers, renames, new subfolders, removals and a damaged file, each handled once") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out", failures = dir / "failures.tsv", report = dir / "report.json";
  fs::create_directories(in);
  const std::string page = slurp(test::data_dir() / "page-0001.png");
  write_bytes(in / "there-before.png", page);  // the first scan's
  Watch watch(dir / "imgflow.log", {"-r", in.string(), out.string(), "--failures", failures.string(), "--report",
                                    report.string(), "--progress-interval", "1"});
  REQUIRE(eventually([&] { return fs::exists(out / "there-before.png"); }));

  // A file copied in slowly is read only once its writer has closed it.
  {
    std::ofstream slow(in / "slow.png", std::ios::binary);
    slow.write(page.data(), 1000);
    slow.flush();
    std::this_thread::sleep_for(1500ms);
    CHECK_FALSE(fs::exists(out / "slow.png"));
    slow.write(page.data() + 1000, static_cast<std::streamsize>(page.size() - 1000));
  }
  REQUIRE(eventually([&] { return fs::exists(out / "slow.png"); }));

  // Renamed into place from a hidden name (never read under that name), and into new subfolders.
  write_bytes(in / ".part-renamed", slurp(sources()[1]));
  fs::rename(in / ".part-renamed", in / "renamed.png");
  fs::create_directories(in / "a" / "b");
  write_bytes(in / "a" / "b" / "deep.png", slurp(sources()[2]));
  REQUIRE(eventually([&] { return fs::exists(out / "renamed.png") && fs::exists(out / "a/b/deep.png"); }));
  // A folder made elsewhere and moved in whole.
  fs::create_directories(dir / "elsewhere" / "book");
  write_bytes(dir / "elsewhere" / "book" / "p1.png", slurp(sources()[3]));
  fs::rename(dir / "elsewhere" / "book", in / "book");
  REQUIRE(eventually([&] { return fs::exists(out / "book/p1.png"); }));

  // Files removed as soon as they are written: each either done or skipped with its reason, never a failure.
  for (int i = 0; i < 20; ++i) {
    const fs::path gone = in / ("gone-" + std::to_string(i) + ".png");
    write_bytes(gone, slurp(sources()[0]));
    fs::remove(gone);
  }
  // A damaged file is reported once, and tried again only once it changes.
  const std::string damaged = page.substr(0, page.size() / 2);
  write_bytes(in / "damaged.png", damaged);
  REQUIRE(eventually([&] { return count_in(watch.text(), "damaged.png") >= 1; }));
  REQUIRE(eventually([&] { return slurp(failures).find("damaged.png") != std::string::npos; }, 10s));
  ::close(::open((in / "damaged.png").c_str(), O_WRONLY));  // closed after writing nothing: unchanged
  write_bytes(in / "trigger.png", slurp(sources()[0]));
  REQUIRE(eventually([&] { return fs::exists(out / "trigger.png"); }));
  std::this_thread::sleep_for(300ms);
  CHECK(count_in(watch.text(), "damaged.png") == 1);
  write_bytes(in / "damaged.png", page);  // repaired
  REQUIRE(eventually([&] { return fs::exists(out / "damaged.png"); }));
  REQUIRE(eventually([&] { return slurp(failures).find("damaged.png") == std::string::npos; }, 10s));

  REQUIRE(eventually([&] { return nlohmann::json::parse(slurp(report), nullptr, false).is_object(); }, 10s));
  CHECK(watch.stop() == 0);
  const std::string log = watch.text();
  INFO(log);
  CHECK(count_in(log, "error:") == 1);  // the damaged file, once
  CHECK(log.find("watch stopped:") != std::string::npos);
  for (int i = 0; i < 20; ++i) {
    const std::string name = "gone-" + std::to_string(i) + ".png";
    const bool done = fs::exists(out / name);
    const bool skipped = log.find(name + ": skipped: removed before it was read") != std::string::npos;
    CHECK_MESSAGE(done != skipped, name);
  }
  for (const auto& file : test::files_below(out)) CHECK_MESSAGE(file.find(".imgflow-tmp.") == std::string::npos, file);
  CHECK(same_as_batch(dir, in, out) == 7);  // every output of the files still there, as a batch run makes it
  const auto final_report = nlohmann::json::parse(slurp(report));
  CHECK(final_report["watch"]["running"] == false);
  CHECK(final_report["exit_code"] == 0);
  CHECK(final_report["counts"]["failed"] == 1);
}

TEST_CASE("watch: a burst of small files, kill -9 at random moments with --move-input, then a restart: each input once") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out", moved = dir / "moved";
  fs::create_directories(in);
  // Fewer under the sanitizers, whose imgflow is ten to twenty times slower.
  const int count = test::sanitizer().empty() ? 5000 : 600;
  std::vector<std::string> contents;
  for (const fs::path& source : sources()) contents.push_back(slurp(source));
  std::mt19937 rng(20261207);
  std::thread writer;
  {
    Watch first(dir / "first.log", {in.string(), out.string(), "--move-input", moved.string()});
    // The burst: half written in place, half renamed in.
    writer = std::thread([&] {
      for (int i = 0; i < count; ++i) {
        const std::string name = "f" + std::to_string(i) + ".png";
        const std::string& bytes = contents[static_cast<std::size_t>(i) % contents.size()];
        if (i % 2) {
          write_bytes(in / ("." + name), bytes);
          fs::rename(in / ("." + name), in / name);
        } else {
          write_bytes(in / name, bytes);
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 700));
    first.child.signal(SIGKILL);
    first.child.wait();
  }
  for (int kill = 0; kill < 2; ++kill) {
    Watch again(dir / ("again-" + std::to_string(kill) + ".log"), {in.string(), out.string(), "--move-input", moved.string()});
    std::this_thread::sleep_for(std::chrono::milliseconds(500 + rng() % 1000));
    again.child.signal(SIGKILL);
    again.child.wait();
  }
  writer.join();
  Watch last(dir / "last.log", {in.string(), out.string(), "--move-input", moved.string()});
  const bool all_moved = eventually([&] { return names_below(in).empty(); }, 600s);
  CHECK(last.stop() == 0);
  INFO(last.text());
  REQUIRE(all_moved);
  // Every input exactly once: moved, with its output, byte-identical to the batch run's.
  const auto moved_files = names_below(moved);
  const auto outputs = names_below(out);
  CHECK(moved_files.size() == static_cast<std::size_t>(count));
  CHECK(outputs.size() == static_cast<std::size_t>(count));
  std::size_t wrong = 0;
  for (int i = 0; i < count; ++i) {
    const std::string name = "f" + std::to_string(i) + ".png";
    wrong += slurp(moved / name) != contents[static_cast<std::size_t>(i) % contents.size()];
  }
  CHECK(wrong == 0);
  CHECK(same_as_batch(dir, moved, out) == static_cast<std::size_t>(count));
  CHECK(last.text().find("error:") == std::string::npos);
}

TEST_CASE("watch: folders replaced, the watched folder itself included") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in / "sub");
  Watch watch(dir / "imgflow.log", {"-r", in.string(), out.string()});
  write_bytes(in / "sub" / "one.png", slurp(sources()[0]));
  REQUIRE(eventually([&] { return fs::exists(out / "sub/one.png"); }));
  // A subfolder removed and made again (an rsync --delete, a scanner's day folder).
  fs::remove_all(in / "sub");
  fs::create_directories(in / "sub");
  write_bytes(in / "sub" / "two.png", slurp(sources()[1]));
  REQUIRE(eventually([&] { return fs::exists(out / "sub/two.png"); }));
  // The watched folder moved away and another made in its place: watched in its turn.
  fs::rename(in, dir / "in.old");
  write_bytes(dir / "in.old" / "not-watched.png", slurp(sources()[0]));
  fs::create_directories(in / "new");
  write_bytes(in / "three.png", slurp(sources()[2]));
  write_bytes(in / "new" / "four.png", slurp(sources()[3]));
  REQUIRE(eventually([&] { return fs::exists(out / "three.png") && fs::exists(out / "new/four.png"); }));
  CHECK(watch.stop() == 0);
  const std::string log = watch.text();
  INFO(log);
  CHECK(log.find("has gone: watching for a folder there again") != std::string::npos);
  CHECK(log.find("is there again") != std::string::npos);
  CHECK_FALSE(fs::exists(out / "not-watched.png"));
  CHECK(log.find("error:") == std::string::npos);
  CHECK(same_as_batch(dir, in, out) == 2);
}

TEST_CASE("watch: without inotify, rescans find what arrives, and never a file still being written") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in);
  ::setenv("IMGFLOW_WATCH_NO_INOTIFY", "1", 1);
  Watch watch(dir / "imgflow.log", {in.string(), out.string(), "--rescan-interval", "1"});
  ::unsetenv("IMGFLOW_WATCH_NO_INOTIFY");
  REQUIRE(eventually([&] { return watch.text().find("rescanning every 1 s") != std::string::npos; }, 20s));
  CHECK(watch.text().find("warning: inotify is not available (IMGFLOW_WATCH_NO_INOTIFY=1)") != std::string::npos);
  const std::string page = slurp(test::data_dir() / "page-0001.png");
  {
    std::ofstream slow(in / "slow.png", std::ios::binary);
    slow.write(page.data(), 1000);
    slow.flush();
    std::this_thread::sleep_for(3s);  // three rescans
    CHECK_FALSE(fs::exists(out / "slow.png"));
    slow.write(page.data() + 1000, static_cast<std::streamsize>(page.size() - 1000));
  }
  write_bytes(in / "quick.png", slurp(sources()[1]));
  REQUIRE(eventually([&] { return fs::exists(out / "slow.png") && fs::exists(out / "quick.png"); }, 30s));
  CHECK(watch.stop() == 0);
  INFO(watch.text());
  CHECK(watch.text().find("error:") == std::string::npos);
  CHECK(same_as_batch(dir, in, out) == 2);
}

TEST_CASE("watch: SIGHUP reopens the log that logrotate moved away, and the run goes on") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out", log = dir / "imgflow.log";
  fs::create_directories(in);
  Watch watch(log, {in.string(), out.string(), "-v"});
  REQUIRE(eventually([&] { return slurp(log).find("watching") != std::string::npos; }, 20s));
  fs::rename(log, dir / "imgflow.log.1");
  watch.child.signal(SIGHUP);
  REQUIRE(eventually([&] { return slurp(log).find("reopened the log") != std::string::npos; }, 20s));
  write_bytes(in / "after.png", slurp(sources()[0]));
  REQUIRE(eventually([&] { return fs::exists(out / "after.png"); }));
  CHECK(watch.stop() == 0);
  CHECK(slurp(log).find("after.png") != std::string::npos);  // -v: its line in the new log
  CHECK(slurp(dir / "imgflow.log.1").find("after.png") == std::string::npos);
  // Each line carries its time: 2026-12-07T04:05:06+0000 ...
  const std::string text = slurp(log);
  CHECK(text.size() > 25);
  CHECK(text[4] == '-');
  CHECK(text[10] == 'T');
}

TEST_CASE("move-input: a batch run moves each input once its outputs are in place, never over a file") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out", moved = dir / "moved";
  fs::create_directories(in / "sub");
  fs::create_directories(moved / "sub");
  for (const fs::path& source : sources()) fs::copy_file(source, in / "sub" / source.filename());
  write_bytes(in / "sub" / "damaged.png", slurp(sources()[0]).substr(0, 40));
  write_bytes(moved / "sub" / "basn0g01.png", "already here");  // a name DIR already has
  const auto run = test::run_imgflow({"-r", in.string(), out.string(), "--move-input", moved.string()});
  INFO(run.err);
  CHECK(run.exit_code == 1);  // the damaged file
  CHECK(run.err.find("basn0g01.png: input left in place: cannot move it to") != std::string::npos);
  CHECK(slurp(moved / "sub" / "basn0g01.png") == "already here");
  CHECK(test::files_below(in) == std::vector<std::string>{"sub/basn0g01.png", "sub/damaged.png"});
  CHECK(test::files_below(moved).size() == sources().size());  // the six others, and the file that was there
  CHECK(test::files_below(out).size() == sources().size());
  // Refused where a move could lose or repeat an input.
  const auto inside = test::run_imgflow({in.string(), out.string(), "--move-input", (in / "done").string()});
  CHECK(inside.exit_code == 2);
  CHECK(inside.err.find("is inside the input folder") != std::string::npos);
  const auto same = test::run_imgflow({in.string(), out.string(), "--move-input", out.string()});
  CHECK(same.exit_code == 2);
  CHECK(same.err.find("is OUTPUT_DIR") != std::string::npos);
  if (fs::exists("/dev/shm") && fs::is_directory("/dev/shm")) {
    struct stat a {}, b {};
    ::stat(in.c_str(), &a);
    ::stat("/dev/shm", &b);
    if (a.st_dev != b.st_dev) {
      const fs::path other = fs::path("/dev/shm") / ("imgflow-move-" + std::to_string(::getpid()));
      const auto far = test::run_imgflow({in.string(), out.string(), "--move-input", other.string()});
      fs::remove_all(other);
      CHECK(far.exit_code == 2);
      CHECK(far.err.find("is on another filesystem") != std::string::npos);
    }
  }
  const auto watch_join = test::run_imgflow({"--watch", in.string(), out.string(), "--join", "--format", "pdf"});
  CHECK(watch_join.exit_code == 2);
  CHECK(watch_join.err.find("--watch runs until stopped: --join") != std::string::npos);
}

TEST_CASE("watch: two inputs with one output never overwrite each other's, before or after a move") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out", moved = dir / "moved";
  fs::create_directories(in);
  const fs::path jpeg = test::shared_dir() / "corpus" / "formats" / "Pillow__pil_sample_rgb.jpg";
  Watch watch(dir / "imgflow.log", {in.string(), out.string(), "--move-input", moved.string()});
  write_bytes(in / "scan.png", slurp(sources()[1]));
  REQUIRE(eventually([&] { return fs::exists(moved / "scan.png"); }));
  const std::string first = slurp(out / "scan.png");
  // scan.jpg would make scan.png too: the output is the first one's, the second fails.
  write_bytes(in / "scan.jpg", slurp(jpeg));
  REQUIRE(eventually([&] { return watch.text().find("scan.jpg") != std::string::npos; }));
  // In one folder at once (a.jpg sorts before a.png): and b.png, a large page, in the graph when
  // b.jpg arrives. Whichever way each pair meets, one of it owns the output and moves on; the other
  // fails, says whose output it is and stays; the output is the owner's and nothing else. (Before,
  // b.jpg's job ran beside b.png's and either write could land last: the output could be b.png's
  // with b.jpg moved on as written.)
  write_bytes(in / "a.png", slurp(sources()[1]));
  write_bytes(in / "a.jpg", slurp(jpeg));
  write_bytes(in / "b.png", slurp(test::shared_dir() / "corpus" / "real" / "imagepng__Exoplanet_Phase_Curve__Diagram_.png"));
  std::this_thread::sleep_for(100ms);
  write_bytes(in / "b.jpg", slurp(jpeg));
  const auto settled = [&](const std::string& name) {
    return fs::exists(moved / name) || watch.text().find((in / name).string() + ": write: ") != std::string::npos;
  };
  REQUIRE(eventually([&] { return settled("a.png") && settled("a.jpg") && settled("b.png") && settled("b.jpg"); }));
  std::this_thread::sleep_for(500ms);
  CHECK(watch.stop() == 0);
  const std::string log = watch.text();
  INFO(log);
  CHECK(slurp(out / "scan.png") == first);
  CHECK(log.find("scan.jpg: write: its output " + (out / "scan.png").string() + " is also the output of " +
                 (moved / "scan.png").string()) != std::string::npos);
  CHECK(fs::exists(in / "scan.jpg"));  // failed: left where it is
  for (const std::string stem : {"a", "b"}) {
    const bool png_owns = fs::exists(moved / (stem + ".png"));
    const fs::path owner = png_owns ? moved / (stem + ".png") : moved / (stem + ".jpg");
    const fs::path other = in / (stem + (png_owns ? ".jpg" : ".png"));
    CAPTURE(owner);
    CHECK(fs::exists(other));
    CHECK(!fs::exists(moved / other.filename()));
    CHECK(log.find(other.string() + ": write: its output " + (out / (stem + ".png")).string() +
                   " is also the output of ") != std::string::npos);
  }
  CHECK(same_as_batch(dir, moved, out) == 3);  // scan.png, a.png and b.png: the owners' outputs
}

TEST_CASE("watch: out of inotify watches, it says so once and rescans") {
  // The limit is lowered in a user namespace of its own (/proc/sys/user/max_inotify_watches),
  // so nothing else on the machine is touched.
  if (test::run_program("/usr/bin/unshare", {"--user", "--map-root-user", "sh", "-c",
                                             "echo 3 > /proc/sys/user/max_inotify_watches"})
          .exit_code != 0)
    test::skip("no user namespaces here (unshare --user)");
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  for (const char* sub : {"a", "b", "c", "d", "e"}) fs::create_directories(in / sub);
  const fs::path log = dir / "imgflow.log";
  test::Child child("/usr/bin/unshare",
                    {"--user", "--map-root-user", "sh", "-c",
                     "echo 3 > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\"", test::imgflow_binary(),
                     "--watch", "-r", in.string(), out.string(), "--rescan-interval", "1", "--log", log.string()});
  REQUIRE(eventually([&] { return slurp(log).find("inotify is out of watches") != std::string::npos; }, 20s));
  write_bytes(in / "e" / "late.png", slurp(sources()[0]));
  REQUIRE(eventually([&] { return fs::exists(out / "e/late.png"); }, 30s));
  child.signal(SIGTERM);
  CHECK(child.wait().exit_code == 0);
  const std::string text = slurp(log);
  INFO(text);
  CHECK(count_in(text, "inotify is out of watches") == 1);
  CHECK(text.find("rescanning every 1 s instead (--rescan-interval)") != std::string::npos);
  CHECK(same_as_batch(dir, in, out) == 1);
}
