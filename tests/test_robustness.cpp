// End-to-end: interrupted, killed and resumed runs, full and unusable output sides, and the
// lists and flags that let a user finish a job (--skip-existing, --failures, --files-from).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "files/file_io.hpp"
#include "codec/png_format.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::size_t count_outputs(const fs::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".png" && it->path().filename().string()[0] != '.') ++n;
  return n;
}

std::vector<std::string> temporaries_below(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& name : test::files_below(dir))
    if (name.find(kTemporaryMarker) != std::string::npos) found.push_back(name);
  return found;
}

// Waits until `dir` holds at least `n` outputs or the child has been running for 20 s.
void wait_for_outputs(const fs::path& dir, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (count_outputs(dir) < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(2ms);
}

// A generated dataset and its outputs from one uninterrupted run, shared by the tests below.
struct Dataset {
  test::TempDir dir;
  fs::path in = dir / "in", reference = dir / "reference";
  std::vector<std::string> names;
  Dataset() {
    REQUIRE(test::run_generator({"-n", "40", "--size", "600x800", in.string()}).exit_code == 0);
    REQUIRE(test::run_imgflow({in.string(), reference.string(), "-q"}).exit_code == 0);
    names = test::files_below(reference);
    REQUIRE(names.size() == 40);
  }
  // Every file under a final name in `out` is byte-identical to the reference output.
  void check_only_complete_outputs(const fs::path& out) const {
    if (!fs::exists(out)) return;
    for (const auto& name : test::files_below(out)) {
      if (name.find(kTemporaryMarker) != std::string::npos) continue;
      CHECK_MESSAGE(test::file_bytes(out / name) == test::file_bytes(reference / name),
                    name << ": " << test::describe_difference(out / name, reference / name));
    }
  }
  void check_complete_set(const fs::path& out) const {
    REQUIRE(test::files_below(out) == names);
    for (const auto& name : names)
      CHECK_MESSAGE(test::file_bytes(out / name) == test::file_bytes(reference / name),
                    name << ": " << test::describe_difference(out / name, reference / name));
  }
};

Dataset& dataset() {
  static Dataset instance;
  return instance;
}

}  // namespace

TEST_CASE("kill -9 at several points, then --skip-existing: the complete, byte-identical output set") {
  const Dataset& data = dataset();
  test::TempDir dir;
  const fs::path out = dir / "out";
  // Kill the same output folder's run again and again, each time further along; outputs under
  // final names must always be complete, and each rerun must pick up where the last stopped.
  for (const std::size_t after : {0u, 1u, 7u, 15u, 30u}) {
    CAPTURE(after);
    test::Child run(test::imgflow_binary(), {data.in.string(), out.string(), "--skip-existing", "-j", "1"});
    wait_for_outputs(out, after);
    run.signal(SIGKILL);
    CHECK(run.wait().exit_code == 128 + SIGKILL);
    data.check_only_complete_outputs(out);
  }
  const auto resumed = test::run_imgflow({data.in.string(), out.string(), "--skip-existing"});
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.err.find("0 failed") != std::string::npos);
  data.check_complete_set(out);  // also: no temporary file left
  CHECK(temporaries_below(out).empty());
}

TEST_CASE("SIGINT, SIGTERM and SIGHUP (ssh dropped): stop feeding, finish in-flight images, summary, exit 130, 143 and 129") {
  const Dataset& data = dataset();
  for (const int number : {SIGINT, SIGTERM, SIGHUP}) {
    CAPTURE(number);
    test::TempDir dir;
    const fs::path out = dir / "out";
    // One image at a time, so that most are still to be fed when the signal comes (outputs
    // appear a group at a time, after each group's sync).
    test::Child run(test::imgflow_binary(), {data.in.string(), out.string(), "-j", "1", "--max-in-flight", "1"});
    wait_for_outputs(out, 1);
    run.signal(number);
    const auto result = run.wait();
    CHECK(result.exit_code == 128 + number);
    CHECK(result.err.find(fmt::format("interrupted by SIG{}", sigabbrev_np(number))) != std::string::npos);
    CHECK(result.err.find("images not started; rerun with --skip-existing") != std::string::npos);
    CHECK(result.err.find(" written, ") != std::string::npos);  // the summary was printed
    CHECK(temporaries_below(out).empty());
    data.check_only_complete_outputs(out);
    CHECK(count_outputs(out) < data.names.size());

    const auto resumed = test::run_imgflow({data.in.string(), out.string(), "--skip-existing"});
    CHECK(resumed.exit_code == 0);
    data.check_complete_set(out);
  }
}

TEST_CASE("a second SIGINT quits at once, still with no partial file under a final name") {
  const Dataset& data = dataset();
  test::TempDir dir;
  const fs::path out = dir / "out";
  test::Child run(test::imgflow_binary(), {data.in.string(), out.string(), "-j", "2", "--max-in-flight", "8"});
  wait_for_outputs(out, 2);
  run.signal(SIGINT);
  run.signal(SIGINT);
  CHECK(run.wait().exit_code == 130);
  data.check_only_complete_outputs(out);
  const auto resumed = test::run_imgflow({data.in.string(), out.string(), "--skip-existing"});
  CHECK(resumed.exit_code == 0);
  data.check_complete_set(out);
}

TEST_CASE("leftover temporaries: unlocked ones (their writer is gone) are removed, locked, fresh empty and foreign-named ones kept") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in);
  fs::copy_file(test::data_dir() / "page-0001.png", in / "a.png");
  fs::create_directories(out);
  const auto make = [&](const std::string& name, const char* text) { std::ofstream(out / name) << text; };
  // Old-style names (host and PID) and new ones (a token) alike: only the lock tells.
  const std::string dead_old = ".a.png.imgflow-tmp.somehost.12345", dead_new = ".b.png.imgflow-tmp.0123abcd-0",
                    live = ".c.png.imgflow-tmp.feed-1", fresh_empty = ".d.png.imgflow-tmp.beef-2";
  make(dead_old, "partial");
  make(dead_new, "partial");
  make(live, "partial");
  make(fresh_empty, "");
  make(".e.png.imgflow-temp.x", "partial");  // not our marker: never touched
  // A live writer: this process holds the lock, as a running imgflow does while it writes.
  const int fd = ::open((out / live).c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);

  const auto run = test::run_imgflow({in.string(), out.string()});
  ::close(fd);
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("removed 2 unfinished temporary files") != std::string::npos);
  CHECK(test::files_below(out) == std::vector<std::string>{live, fresh_empty, ".e.png.imgflow-temp.x", "a.png"});
}

TEST_CASE("temporary names fit NAME_MAX whatever the target's name, and differ between writes and processes") {
  test::TempDir dir;
  const std::string longest(255, 'x');
  const fs::path a = temporary_path_for(dir / longest), b = temporary_path_for(dir / longest);
  CHECK(a.filename().string().size() <= 255);
  CHECK(a.parent_path() == dir.path());
  CHECK(a != b);
  CHECK(a.filename().string().find(kTemporaryMarker) != std::string::npos);
  // A multi-byte character is never cut in half.
  std::string accents;
  while (accents.size() < 250) accents += "\xc3\xa9";  // é
  const std::string name = temporary_path_for(dir / accents).filename().string();
  CHECK(name.size() <= 255);
  const std::size_t end = name.find(kTemporaryMarker);
  CHECK((end - 1) % 2 == 0);  // the prefix after the leading '.' is whole characters
}

TEST_CASE("--skip-existing cannot be fooled: the output records its input (size, time, content hash), files imgflow did not write are left alone") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in);
  for (const char* name : {"done", "partial", "damaged", "foreign", "not-png", "other-chain", "future", "replaced", "touched"})
    fs::copy_file(test::data_dir() / "page-0001.png", in / (std::string(name) + ".png"));
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(in)) fs::last_write_time(entry.path(), now - 1h);
  fs::last_write_time(in / "future.png", now + 24h);  // a clock ahead of ours: never redone for that
  REQUIRE(test::run_imgflow({in.string(), out.string()}).exit_code == 0);
  const auto good = test::file_bytes(out / "done.png");
  const auto done_time = fs::last_write_time(out / "done.png");
  const auto future_time = fs::last_write_time(out / "future.png");

  const auto put = [&](const fs::path& path, std::vector<std::uint8_t> bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  };
  auto bytes = good;
  bytes.resize(bytes.size() / 2);
  put(out / "partial.png", bytes);
  bytes = good;
  bytes[bytes.size() / 2] ^= 0x01;  // inside IDAT: its CRC no longer matches
  put(out / "damaged.png", bytes);
  fs::copy_file(test::data_dir() / "page-0002.png", out / "foreign.png", fs::copy_options::overwrite_existing);
  std::ofstream(out / "not-png.png") << "hand-made notes";
  REQUIRE(test::run_imgflow({in.string(), (dir / "other").string(), "--invert"}).exit_code == 0);
  fs::copy_file(dir / "other" / "other-chain.png", out / "other-chain.png", fs::copy_options::overwrite_existing);
  // Replaced by a different page dated older than the output (cp -p, rsync -a, tar x).
  fs::copy_file(test::data_dir() / "page-0002.png", in / "replaced.png", fs::copy_options::overwrite_existing);
  fs::last_write_time(in / "replaced.png", now - 2h);
  fs::last_write_time(in / "touched.png", now - 30min);  // same bytes, another time: redone (size, time and hash must all match)
  const auto foreign = test::file_bytes(out / "foreign.png"), notes = test::file_bytes(out / "not-png.png");

  const auto run = test::run_imgflow({in.string(), out.string(), "--skip-existing", "-v"});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("5 written, 4 skipped, 0 failed") != std::string::npos);
  CHECK(run.err.find("skipped " + (in / "done.png").string()) != std::string::npos);
  for (const char* name : {"foreign", "not-png"})
    CHECK(run.err.find("warning: " + (in / name).string() + ".png: skipped: its output " + (out / name).string() +
                       ".png was not written by imgflow: left alone") != std::string::npos);
  CHECK(run.err.find("2 outputs left alone: files imgflow did not write (--overwrite-foreign replaces them)") != std::string::npos);
  CHECK(fs::last_write_time(out / "done.png") == done_time);
  CHECK(fs::last_write_time(out / "future.png") == future_time);
  CHECK(test::file_bytes(out / "foreign.png") == foreign);
  CHECK(test::file_bytes(out / "not-png.png") == notes);
  // Each redone output is what a fresh run makes of its input now.
  REQUIRE(test::run_imgflow({in.string(), (dir / "fresh").string()}).exit_code == 0);
  for (const char* name : {"partial.png", "damaged.png", "other-chain.png", "replaced.png", "touched.png"})
    CHECK_MESSAGE(test::file_bytes(out / name) == test::file_bytes(dir / "fresh" / name), name);

  // Asked to, it replaces them; then everything is finished.
  const auto forced = test::run_imgflow({in.string(), out.string(), "--skip-existing", "--overwrite-foreign"});
  CHECK(forced.exit_code == 0);
  CHECK(forced.err.find("2 written, 7 skipped, 0 failed") != std::string::npos);
  const auto again = test::run_imgflow({in.string(), out.string(), "--skip-existing"});
  CHECK(again.err.find("0 written, 9 skipped, 0 failed") != std::string::npos);
  for (const auto& name : test::files_below(out)) CHECK_MESSAGE(test::file_bytes(out / name) == test::file_bytes(dir / "fresh" / name), name);
}

// The stamp's content hash and its recipe's values, each the only thing that changed: an input
// rewritten with as many bytes (one pixel changed; OpenCV's stored, uncompressed PNG keeps the
// size) and its modification time put back, and a rerun with the same operations but other
// values. Either must be redone, never taken as finished.
TEST_CASE("--skip-existing redoes an input changed in its content alone, and a recipe changed in its values alone") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in);
  cv::Mat page(40, 60, CV_8UC3, cv::Scalar(30, 90, 200));
  const std::vector<int> stored{cv::IMWRITE_PNG_COMPRESSION, 0};
  REQUIRE(cv::imwrite((in / "page.png").string(), page, stored));
  const auto size = fs::file_size(in / "page.png");
  const auto time = fs::last_write_time(in / "page.png") - 1h;
  fs::last_write_time(in / "page.png", time);
  REQUIRE(test::run_imgflow({in.string(), out.string(), "--gamma", "1.5"}).exit_code == 0);

  // The same operations with another value: redone, as a fresh run with that value makes it.
  auto run = test::run_imgflow({in.string(), out.string(), "--gamma", "2.2", "--skip-existing"});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("1 written, 0 skipped, 0 failed") != std::string::npos);
  REQUIRE(test::run_imgflow({in.string(), (dir / "fresh-2.2").string(), "--gamma", "2.2"}).exit_code == 0);
  CHECK(test::file_bytes(out / "page.png") == test::file_bytes(dir / "fresh-2.2" / "page.png"));
  run = test::run_imgflow({in.string(), out.string(), "--gamma", "2.2", "--skip-existing"});
  CHECK(run.err.find("0 written, 1 skipped, 0 failed") != std::string::npos);

  // One pixel changed, the same size and modification time: redone by the content hash.
  page.at<cv::Vec3b>(20, 30) = {31, 90, 200};
  REQUIRE(cv::imwrite((in / "page.png").string(), page, stored));
  REQUIRE(fs::file_size(in / "page.png") == size);
  fs::last_write_time(in / "page.png", time);
  run = test::run_imgflow({in.string(), out.string(), "--gamma", "2.2", "--skip-existing"});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("1 written, 0 skipped, 0 failed") != std::string::npos);
  REQUIRE(test::run_imgflow({in.string(), (dir / "fresh-changed").string(), "--gamma", "2.2"}).exit_code == 0);
  CHECK(test::file_bytes(out / "page.png") == test::file_bytes(dir / "fresh-changed" / "page.png"));
}

TEST_CASE("--failures lists failed inputs (path, stage, reason), --files-from retries exactly those") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out", list = dir / "failures.tsv";
  fs::create_directories(in);
  fs::copy_file(test::data_dir() / "page-0001.png", in / "good.png");
  std::ofstream(in / "broken.png") << "not an image";
  std::ofstream(in / "tab\there.png");  // an empty file with a tab in its name
  auto run = test::run_imgflow({in.string(), out.string(), "--failures", list.string()});
  CHECK(run.exit_code == 1);
  const auto text = test::file_bytes(list);
  CHECK(std::string(text.begin(), text.end()) ==
        (in / "broken.png").string() + "\tdecode\tnot a readable image (unknown format or corrupt data)\n" +
            (in / "tab\\there.png").string() + "\tdecode\tempty file\n");

  // Mend the two files and retry only the listed ones.
  fs::copy_file(test::data_dir() / "page-0002.png", in / "broken.png", fs::copy_options::overwrite_existing);
  fs::copy_file(test::data_dir() / "page-0003.png", in / "tab\there.png", fs::copy_options::overwrite_existing);
  fs::remove(out / "good.png");
  run = test::run_imgflow({in.string(), out.string(), "--files-from", list.string(), "--failures", list.string()});
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("2 written, 0 skipped, 0 failed") != std::string::npos);
  CHECK(test::files_below(out) == std::vector<std::string>{"broken.png", "tab\there.png"});
  CHECK(test::file_bytes(list).empty());  // rewritten: nothing failed this time

  // Paths outside INPUT_DIR are refused by name.
  std::ofstream(list) << "/etc/passwd\tread\tx\n";
  run = test::run_imgflow({in.string(), out.string(), "--files-from", list.string()});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("/etc/passwd: not inside the input directory") != std::string::npos);
}

TEST_CASE("--fail-fast stops at the first failed image with exit 1, the default goes on") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  fs::create_directories(in);
  std::ofstream(in / "a-broken.png") << "not an image";
  for (int i = 0; i < 12; ++i) {
    const std::string name = fmt::format("b{}.png", i);
    fs::copy_file(test::data_dir() / "page-0001.png", in / name);
  }
  auto run = test::run_imgflow({in.string(), (dir / "fast").string(), "--fail-fast", "-j", "1", "--max-in-flight", "1"});
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("0 written, 0 skipped, 1 failed") != std::string::npos);
  CHECK(run.err.find("stopped at the first failure (--fail-fast): 12 images not started") != std::string::npos);
  run = test::run_imgflow({in.string(), (dir / "all").string()});
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("12 written, 0 skipped, 1 failed") != std::string::npos);
}

TEST_CASE("a file in the way of an output directory fails those images only, exit 1") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in / "sub");
  fs::copy_file(test::data_dir() / "page-0001.png", in / "top.png");
  fs::copy_file(test::data_dir() / "page-0001.png", in / "sub" / "a.png");
  fs::create_directories(out);
  std::ofstream(out / "sub") << "a file, not a directory";
  const auto run = test::run_imgflow({in.string(), out.string(), "-r"});
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("error: " + (in / "sub" / "a.png").string() + ": write: cannot create directory " +
                     (out / "sub").string() + ": Not a directory") != std::string::npos);
  CHECK(test::files_below(out) == std::vector<std::string>{"sub", "top.png"});
}

// Permissions mean nothing to root, so these run imgflow as the user nobody (setpriv needs
// root to switch; elsewhere the test says SKIPPED). The tree is made readable by everyone.
TEST_CASE("permission denied: unreadable input, unwritable output folder, unwritable OUTPUT_DIR") {
  if (::geteuid() != 0) {
    test::skip("needs root to run imgflow as another user (root itself ignores permissions)");
    return;
  }
  if (test::run_program("/usr/bin/setpriv", {"--reuid=nobody", "--regid=nogroup", "--clear-groups", "/bin/true"})
          .exit_code != 0) {
    test::skip("setpriv cannot switch to the user nobody here");
    return;
  }
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in / "sub");
  fs::create_directories(out / "sub");
  for (const char* name : {"a.png", "secret.png", "sub/b.png"})
    fs::copy_file(test::data_dir() / "page-0001.png", in / name);
  const auto everyone = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec;
  fs::permissions(dir.path(), fs::perms::all);  // nobody writes the failure list here
  fs::permissions(in, everyone);
  fs::permissions(in / "sub", everyone);
  fs::permissions(in / "secret.png", fs::perms::owner_read | fs::perms::owner_write);  // root only
  fs::permissions(out, fs::perms::all);                                                 // nobody may write
  fs::permissions(out / "sub", everyone);                                               // but not here
  const auto as_nobody = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--reuid=nobody", "--regid=nogroup", "--clear-groups", test::imgflow_binary()});
    return test::run_program("/usr/bin/setpriv", args);
  };
  const fs::path failures = dir / "failures.tsv";
  auto run = as_nobody({in.string(), out.string(), "-r", "--failures", failures.string()});
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("error: " + (in / "secret.png").string() + ": read: cannot open: Permission denied\n") !=
        std::string::npos);
  CHECK(run.err.find("error: " + (in / "sub" / "b.png").string() + ": write: cannot create a file in " +
                     (out / "sub").string() + ": Permission denied\n") != std::string::npos);
  std::size_t denied = 0;
  for (auto at = run.err.find("Permission denied"); at != std::string::npos; at = run.err.find("Permission denied", at + 1))
    ++denied;
  CHECK(denied == 2);
  CHECK(test::files_below(out) == std::vector<std::string>{"a.png"});  // and no temporary left
  const auto listed = test::file_bytes(failures);
  const std::string list(listed.begin(), listed.end());
  CHECK(list.find((in / "secret.png").string() + "\tread\t") != std::string::npos);
  CHECK(list.find((in / "sub" / "b.png").string() + "\twrite\t") != std::string::npos);

  // OUTPUT_DIR itself unwritable: found before any work, exit 2.
  fs::permissions(out, everyone);
  run = as_nobody({in.string(), out.string()});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("cannot write to output directory " + out.string() + ": Permission denied") !=
        std::string::npos);
}

namespace {

// A small tmpfs of our own, unmounted at scope exit; skipped where the machine forbids mounts.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(const std::string& options) {
    fs::create_directories(dir_ / "mnt");
    mounted_ = ::mount("tmpfs", (dir_ / "mnt").c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2((dir_ / "mnt").c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  fs::path path() const { return dir_ / "mnt"; }

 private:
  test::TempDir dir_;
  bool mounted_ = false;
};

}  // namespace

TEST_CASE("disk full: a clear error, the run stops early with exit 2, no partial file") {
  SmallFilesystem small("size=600k");
  if (!small.mounted()) {
    test::skip("this machine does not allow mounting a tmpfs (needs root or CAP_SYS_ADMIN)");
    return;
  }
  const Dataset& data = dataset();
  const fs::path out = small.path() / "out";
  const auto run = test::run_imgflow({data.in.string(), out.string(), "-j", "1", "--max-in-flight", "1"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("write: cannot write: No space left on device") != std::string::npos);
  CHECK(run.err.find("stopped: the output side cannot take any more files") != std::string::npos);
  const std::size_t written = count_outputs(out);
  CHECK(written > 0);
  CHECK(written < data.names.size());
  CHECK(temporaries_below(out).empty());
  data.check_only_complete_outputs(out);
}

TEST_CASE("read-only output filesystem: exit 2 before any work") {
  SmallFilesystem readonly("size=1m,ro");
  if (!readonly.mounted()) {
    test::skip("this machine does not allow mounting a tmpfs (needs root or CAP_SYS_ADMIN)");
    return;
  }
  const auto run = test::run_imgflow({test::data_dir().string(), readonly.path().string()});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("cannot write to output directory " + readonly.path().string() + ": Read-only file system") !=
        std::string::npos);
}

TEST_CASE("outputs appear only by rename: inotify sees no final name created or written in place") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in);
  for (const auto& entry : fs::directory_iterator(test::data_dir()))
    if (entry.path().extension() == ".png") fs::copy_file(entry.path(), in / entry.path().filename());
  fs::create_directories(out);
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(watch >= 0);
  REQUIRE(::inotify_add_watch(watch, out.c_str(), IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO) >= 0);
  const auto run = test::run_imgflow({in.string(), out.string()});
  CHECK(run.exit_code == 0);
  std::map<std::string, std::vector<std::uint32_t>> final_names;  // the events on each name without the marker
  alignas(inotify_event) char buffer[1 << 16];
  for (ssize_t n; (n = ::read(watch, buffer, sizeof buffer)) > 0;) {
    for (char* at = buffer; at < buffer + n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(at);
      const std::string name = event->len ? event->name : "";
      // (The unnamed O_TMPFILE probe shows up as "#INODE".)
      if (!name.empty() && name[0] != '#' && name.find(kTemporaryMarker) == std::string::npos)
        final_names[name].push_back(event->mask);
      at += sizeof(inotify_event) + event->len;
    }
  }
  ::close(watch);
  std::string seen;
  for (const auto& [name, mask] : final_names) seen += name + " ";
  CAPTURE(seen);
  REQUIRE(final_names.size() == 7);
  for (const auto& [name, masks] : final_names) {
    CAPTURE(name);
    // First the rename; never a creation or a write under the final name. (The writer closes
    // the file after renaming it, holding its lock until then: one IN_CLOSE_WRITE may follow.)
    CHECK(masks.front() == IN_MOVED_TO);
    for (const std::uint32_t mask : masks) CHECK((mask & (IN_CREATE | IN_MODIFY)) == 0);
  }
}

TEST_CASE("one image in flight with a file of five pages among others: every page and file written, exit 0") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  fs::create_directories(in);
  for (const char* name : {"page-0001.png", "page-0002.png", "scan-rgb-0001.png"})
    fs::copy_file(test::data_dir() / name, in / name);
  fs::copy_file(test::shared_dir() / "corpus" / "formats" / "TwelveMonkeys__fivepages-scan-causingerrors.tif", in / "fax.tif");
  for (const char* in_flight : {"1", "2"}) {
    CAPTURE(in_flight);
    const fs::path out = dir / (std::string("out-") + in_flight);
    const auto run = test::run_imgflow({in.string(), out.string(), "--max-in-flight", in_flight, "-j", "2"});
    CHECK(run.exit_code == 0);
    CHECK(run.err.find("8 written, 0 skipped, 0 failed") != std::string::npos);
    CHECK(test::files_below(out) == std::vector<std::string>{"fax-p0001.png", "fax-p0002.png", "fax-p0003.png", "fax-p0004.png",
                                                             "fax-p0005.png", "page-0001.png", "page-0002.png",
                                                             "scan-rgb-0001.png"});
  }
}

TEST_CASE("two runs that are each PID 1 of their own PID namespace, on one host, into one folder: no shared temporary names") {
  if (test::run_program("/usr/bin/unshare", {"--pid", "--fork", "/bin/true"}).exit_code != 0) {
    test::skip("cannot make a PID namespace here (needs root or user namespaces)");
    return;
  }
  const Dataset& data = dataset();
  test::TempDir dir;
  const fs::path out = dir / "out";
  // The same inputs into the same folder at once: every output name is written by both.
  std::vector<std::unique_ptr<test::Child>> runs;
  for (int i = 0; i < 2; ++i)
    runs.push_back(std::make_unique<test::Child>(
        "/usr/bin/unshare", std::vector<std::string>{"--pid", "--fork", test::imgflow_binary(), data.in.string(), out.string(), "-j", "1"}));
  for (auto& run : runs) {
    const auto result = run->wait();
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("error") == std::string::npos);
  }
  data.check_complete_set(out);
  CHECK(temporaries_below(out).empty());
}
