// End-to-end: imgflow as a Unix citizen. Special files, symlink loops, long and hostile names,
// closed standard descriptors, reports to pipes, inputs as arguments and lists on stdin,
// terminal manners, and folders that vanish mid-run. Anything that could hang runs under
// coreutils' timeout, so a hang fails the test (exit 124) instead of stalling the suite.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "files/file_io.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int kTimedOut = 124;  // coreutils timeout's exit code

// imgflow under a deadline.
test::RunResult run_with_deadline(const std::vector<std::string>& args, int seconds = 60) {
  std::vector<std::string> all{"-s", "KILL", std::to_string(seconds), test::imgflow_binary()};
  all.insert(all.end(), args.begin(), args.end());
  return test::run_program("/usr/bin/timeout", all);
}

// A shell script with imgflow as $0 and `args` as $1...: quoting stays the shell's problem,
// never the test's.
test::RunResult run_shell(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> all{"-c", script, test::imgflow_binary()};
  all.insert(all.end(), args.begin(), args.end());
  return test::run_program("/bin/sh", all);
}

void copy_page(const fs::path& to, const char* sample = "page-0001.png") {
  fs::create_directories(to.parent_path());
  fs::copy_file(test::data_dir() / sample, to, fs::copy_options::overwrite_existing);
}

// Files below `dir` so far (none while it does not exist yet).
std::size_t files_so_far(const fs::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) n += it->is_regular_file(ec);
  return n;
}

std::size_t count_lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

// Special files are never opened (a FIFO would block, a device never end). Named like an image
// in a folder, named as an INPUT or listed, each is an input that could not be read: a line
// naming it and the reason, counted as failed, in --failures (so a retry lists it), exit 1.
// Under another name in a folder it is no input: skipped with a line of its own, exit 0.
TEST_CASE("special files are never opened: a FIFO, a device or a dangling link named like an image fails, exit 1, in --failures") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  copy_page(in / "a.png");
  REQUIRE(::mkfifo((in / "fifo.png").c_str(), 0644) == 0);
  fs::create_symlink("/dev/zero", in / "zero.png");
  fs::create_symlink("gone.png", in / "dangling.png");
  fs::create_symlink("gone.txt", in / "dangling.txt");
  REQUIRE(::mkfifo((in / "pipe.txt").c_str(), 0644) == 0);
  const auto run = run_with_deadline({in.string(), out.string(), "--failures", (dir / "failures.tsv").string()}, 30);
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("error: " + (in / "fifo.png").string() + ": read: not a regular file: a FIFO\n") != std::string::npos);
  CHECK(run.err.find("error: " + (in / "zero.png").string() + ": read: not a regular file: a character device\n") !=
        std::string::npos);
  CHECK(run.err.find("error: " + (in / "dangling.png").string() + ": read: a dangling symbolic link: cannot open: " +
                     "No such file or directory\n") != std::string::npos);
  CHECK(run.err.find("warning: " + (in / "dangling.txt").string() + ": skipped: a dangling symbolic link\n") != std::string::npos);
  CHECK(run.err.find("warning: " + (in / "pipe.txt").string() + ": skipped: not a regular file: a FIFO\n") != std::string::npos);
  CHECK(run.err.find("1 written, 0 skipped, 3 failed") != std::string::npos);
  CHECK(run.err.find("2 files skipped (not read)") != std::string::npos);
  CHECK(test::files_below(out) == std::vector<std::string>{"a.png"});
  std::ifstream failures_file(dir / "failures.tsv");
  const std::string failures((std::istreambuf_iterator<char>(failures_file)), {});
  for (const char* name : {"dangling.png", "fifo.png", "zero.png"})
    CHECK(failures.find((in / name).string() + "\tread\t") != std::string::npos);
  // The failure list as a retry's input: the same three, failing the same way.
  const auto retry = run_with_deadline({"--files-from", (dir / "failures.tsv").string(), in.string(), (dir / "retry").string()}, 30);
  CHECK(retry.exit_code == 1);
  CHECK(retry.err.find("0 written, 0 skipped, 3 failed") != std::string::npos);

  // Named as INPUTs: the same failures; a device as the only INPUT too (it used to say "no
  // image files to process" and exit 0).
  const auto named = run_with_deadline({(in / "fifo.png").string(), (in / "a.png").string(), (dir / "out2").string()}, 30);
  CHECK(named.exit_code == 1);
  CHECK(named.err.find("error: " + (in / "fifo.png").string() + ": read: not a regular file: a FIFO\n") != std::string::npos);
  CHECK(named.err.find("1 written, 0 skipped, 1 failed") != std::string::npos);
  const auto device = run_with_deadline({"/dev/null", (dir / "out-device").string(), "--failures", (dir / "device.tsv").string()}, 30);
  CHECK(device.exit_code == 1);
  CHECK(device.err.find("error: /dev/null: read: not a regular file: a character device\n") != std::string::npos);
  CHECK(device.err.find("no image files to process") == std::string::npos);
  std::ifstream device_file(dir / "device.tsv");
  CHECK(std::string((std::istreambuf_iterator<char>(device_file)), {}).starts_with("/dev/null\tread\t"));
  // Named in a list, where every entry is meant to be an image: failed, counted, exit 1.
  std::ofstream(dir / "list") << "fifo.png\nzero.png\na.png\n";
  const auto listed = run_with_deadline({"--files-from", (dir / "list").string(), in.string(), (dir / "out3").string()}, 30);
  CHECK(listed.exit_code == 1);
  CHECK(listed.err.find("error: " + (in / "fifo.png").string() + ": read: not a regular file: a FIFO\n") != std::string::npos);
  CHECK(listed.err.find("error: " + (in / "zero.png").string() + ": read: not a regular file: a character device\n") !=
        std::string::npos);
  CHECK(listed.err.find("1 written, 0 skipped, 2 failed") != std::string::npos);
}

// The list itself may be any readable stream: only the images listed must be regular files.
TEST_CASE("--files-from reads its list from a pipe: <(find ...), a named FIFO and /dev/stdin, as from a file") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  copy_page(in / "one.png");
  copy_page(in / "two.png", "page-0002.png");
  const std::vector<std::string> expected{"one.png", "two.png"};
  // Process substitution (/dev/fd/N, a pipe), in bash.
  const auto substituted = test::run_program(
      "/bin/bash", {"-c", R"("$0" --files-from <(cd "$1" && printf 'one.png\ntwo.png\n') "$1" "$2" -q)",
                    test::imgflow_binary(), in.string(), (dir / "o1").string()});
  CHECK(substituted.exit_code == 0);
  CHECK(substituted.err == "");
  CHECK(test::files_below(dir / "o1") == expected);
  // A named FIFO, its writer started beside the run.
  REQUIRE(::mkfifo((dir / "list.fifo").c_str(), 0644) == 0);
  // (The writer is ended after the run: were the FIFO never opened, it would wait for ever.)
  const auto fifo = run_shell(R"(printf 'one.png\ntwo.png\n' > "$1" & w=$!; timeout -s KILL 60 "$0" --files-from "$1" "$2" "$3" -q;
                                 s=$?; kill $w 2>/dev/null; wait; exit $s)",
                              {(dir / "list.fifo").string(), in.string(), (dir / "o2").string()});
  CHECK(fifo.exit_code == 0);
  CHECK(fifo.err == "");
  CHECK(test::files_below(dir / "o2") == expected);
  // /dev/stdin on a pipe, NUL-separated.
  const auto stdin_pipe = run_shell(R"(cd "$1" && printf 'one.png\0two.png\0' | "$0" --files-from /dev/stdin -0 . "$2" -q)",
                                    {in.string(), (dir / "o3").string()});
  CHECK(stdin_pipe.exit_code == 0);
  CHECK(stdin_pipe.err == "");
  CHECK(test::files_below(dir / "o3") == expected);
  // A directory is still no list.
  const auto directory = run_with_deadline({"--files-from", in.string(), in.string(), (dir / "o4").string()}, 30);
  CHECK(directory.exit_code == 2);
  CHECK(directory.err.find("Is a directory") != std::string::npos);
}

TEST_CASE("symlink loops: not followed by default, with -L each directory is listed once, loops reported, never exponential") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  copy_page(in / "a.png");
  copy_page(in / "sub" / "b.png");
  fs::create_directory_symlink("..", in / "sub" / "up");
  fs::create_directory_symlink("..", in / "sub" / "up2");  // two loops: 2^depth paths if followed naively
  fs::create_directory_symlink("sub", in / "alias");        // a second way into sub
  const auto plain = run_with_deadline({in.string(), (dir / "out").string(), "-r"}, 30);
  CHECK(plain.exit_code == 0);
  CHECK(test::files_below(dir / "out") == std::vector<std::string>{"a.png", "sub/b.png"});
  CHECK(plain.err.find("warning: " + (in / "sub" / "up").string() +
                       ": skipped: a symbolic link to a directory, not followed (-L follows)") != std::string::npos);

  const auto followed = run_with_deadline({in.string(), (dir / "out-L").string(), "-r", "-L"}, 30);
  CHECK(followed.exit_code == 0);
  CHECK(test::files_below(dir / "out-L") == std::vector<std::string>{"a.png", "sub/b.png"});
  CHECK(followed.err.find((in / "sub" / "up").string() + ": skipped: a directory loop: it leads back to " +
                          fs::canonical(in).string()) != std::string::npos);
  CHECK(followed.err.find((in / "sub" / "up2").string() + ": skipped: a directory loop") != std::string::npos);
  CHECK(followed.err.find((in / "alias").string() + ": skipped: a directory listed already by another path") !=
        std::string::npos);

  // A deep chain of double links: linear with -L, so the dry run ends at once.
  fs::path deep = dir / "deep";
  for (int level = 0; level < 40; ++level) {
    fs::create_directories(deep / "next");
    fs::create_directory_symlink("next", deep / "a");
    fs::create_directory_symlink("next", deep / "b");
    deep /= "next";
  }
  copy_page(deep / "leaf.png");
  const auto dry = run_with_deadline({(dir / "deep").string(), (dir / "out-deep").string(), "-r", "-L", "-n"}, 30);
  CHECK(dry.exit_code == 0);
  CHECK(count_lines(dry.out) == 1);
}

TEST_CASE("names: a 255-byte name is processed, control characters are escaped in messages and lists, so retries work") {
  test::TempDir dir;
  const fs::path in = dir / "in", out = dir / "out";
  const std::string longest = std::string(251, 'n') + ".png";  // NAME_MAX exactly
  copy_page(in / longest);
  const std::string hostile = "bad\nname\x1b[31m.png";
  std::ofstream(in / hostile) << "not an image";
  const auto run = test::run_imgflow({in.string(), out.string(), "--failures", (dir / "failed.tsv").string()});
  CHECK(run.exit_code == 1);
  CHECK(test::files_below(out) == std::vector<std::string>{longest});
  // One error, one line, no raw escape character reaching the terminal.
  CHECK(run.err.find('\x1b') == std::string::npos);
  CHECK(run.err.find("error: " + (in / "bad\\nname\\x1b[31m.png").string() + ": decode: ") != std::string::npos);
  const auto list = test::file_bytes(dir / "failed.tsv");
  const std::string text(list.begin(), list.end());
  CHECK(count_lines(text) == 1);
  CHECK(text.rfind((in / "bad\\nname\x1b[31m.png").string() + "\tdecode\t", 0) == 0);
  // The retry reads the list back to exactly that file.
  const auto retry = test::run_imgflow({"--files-from", (dir / "failed.tsv").string(), in.string(), out.string(), "-n"});
  CHECK(retry.exit_code == 0);
  CHECK(retry.out == (in / "bad\\nname\\x1b[31m.png").string() + " -> " + (out / "bad\\nname\\x1b[31m.png").string() + "\n");
}

TEST_CASE("closed standard descriptors: outputs are byte-identical to a normal run's, nothing lands in them") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  for (const char* name : {"page-0001.png", "page-0002.png", "page-0003.png", "scan-rgb-0001.png"}) copy_page(in / name, name);
  std::ofstream(in / "broken.png") << "not an image";  // an error line to write somewhere
  REQUIRE(test::run_imgflow({in.string(), (dir / "reference").string()}).exit_code == 1);
  const auto reference = test::files_below(dir / "reference");
  REQUIRE(reference.size() == 4);
  for (const char* closing : {"2>&-", "1>&- 2>&-", "0<&- 1>&- 2>&-"}) {
    CAPTURE(closing);
    const fs::path out = dir / fmt::format("out-{}", std::strlen(closing));
    const auto run = run_shell(fmt::format("exec \"$0\" \"$1\" \"$2\" -v {}", closing), {in.string(), out.string()});
    CHECK(run.exit_code == 1);
    REQUIRE(test::files_below(out) == reference);
    for (const auto& name : reference)
      CHECK_MESSAGE(test::file_bytes(out / name) == test::file_bytes(dir / "reference" / name), name);
  }
}

TEST_CASE("report, trace and failure list go where the path leads: a pipe, /dev/stdout, a process substitution, a symlink's target") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  copy_page(in / "a.png");
  std::ofstream(in / "broken.png") << "not an image";

  // /dev/stdout into a pipe, for jq; the run's other output stays on stderr.
  const auto piped = run_shell("\"$0\" \"$1\" \"$2\" --report /dev/stdout -q | cat", {in.string(), (dir / "o1").string()});
  const auto report = nlohmann::json::parse(piped.out);
  CHECK(report.at("counts").at("written") == 1);
  CHECK(report.at("exit_code") == 1);
  // /dev/stdout when stdout is a regular file (the test's capture): written there, not renamed over.
  const auto direct = test::run_imgflow({in.string(), (dir / "o2").string(), "--failures", "/dev/stdout", "-q"});
  CHECK(direct.exit_code == 1);
  CHECK(direct.out.rfind((in / "broken.png").string() + "\tdecode\t", 0) == 0);
  // A process substitution (bash): the run exits with the run's code, not 2.
  const auto substituted = test::run_program(
      "/bin/bash", {"-c", "\"$0\" \"$1\" \"$2\" --trace >(cat > \"$3\") -q; code=$?; wait; exit $code",
                    test::imgflow_binary(), in.string(), (dir / "o3").string(), (dir / "trace.json").string()});
  CHECK(substituted.exit_code == 1);
  for (int i = 0; i < 100 && fs::file_size(dir / "trace.json") == 0; ++i) std::this_thread::sleep_for(50ms);
  const auto trace_bytes = test::file_bytes(dir / "trace.json");
  CHECK(nlohmann::json::parse(std::string(trace_bytes.begin(), trace_bytes.end())).at("traceEvents").size() > 0);
  // A FIFO with a reader.
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0644) == 0);
  const auto fifo = run_shell("cat \"$3\" > \"$4\" & \"$0\" \"$1\" \"$2\" --failures \"$3\" -q; code=$?; wait; exit $code",
                              {in.string(), (dir / "o4").string(), (dir / "fifo").string(), (dir / "from-fifo").string()});
  CHECK(fifo.exit_code == 1);
  CHECK(test::file_bytes(dir / "from-fifo").size() > 0);
  CHECK(fs::is_fifo(dir / "fifo"));
  // A symlink: its target is written (atomically), the link stays a link.
  fs::create_directories(dir / "lists");
  fs::create_symlink("lists/failed.tsv", dir / "latest.tsv");
  const auto linked = test::run_imgflow({in.string(), (dir / "o5").string(), "--failures", (dir / "latest.tsv").string(), "-q"});
  CHECK(linked.exit_code == 1);
  CHECK(fs::is_symlink(dir / "latest.tsv"));
  CHECK(test::file_bytes(dir / "lists" / "failed.tsv").size() > 0);
}

TEST_CASE("inputs as arguments: files and directories mixed, a shell glob, one file, --files-from - and NUL-separated lists") {
  test::TempDir dir;
  copy_page(dir / "loose" / "one.png");
  copy_page(dir / "loose" / "two.png", "page-0002.png");
  copy_page(dir / "tree" / "sub" / "three.png", "page-0003.png");
  const fs::path out = dir / "out";
  const auto mixed = test::run_imgflow({(dir / "loose" / "one.png").string(), (dir / "tree").string(), out.string(), "-r"});
  CHECK(mixed.exit_code == 0);
  CHECK(test::files_below(out) == std::vector<std::string>{"one.png", "sub/three.png"});
  const auto glob = run_shell("\"$0\" \"$1\"/*.png \"$2\" -q", {(dir / "loose").string(), (dir / "glob").string()});
  CHECK(glob.exit_code == 0);
  CHECK(test::files_below(dir / "glob") == std::vector<std::string>{"one.png", "two.png"});
  // A missing input among others: the rest is done, the run says so and exits 1.
  const auto partly = test::run_imgflow({(dir / "loose" / "one.png").string(), (dir / "nope.png").string(), (dir / "o2").string()});
  CHECK(partly.exit_code == 1);
  CHECK(partly.err.find("error: " + (dir / "nope.png").string() + ": cannot list: No such file or directory") != std::string::npos);
  CHECK(test::files_below(dir / "o2") == std::vector<std::string>{"one.png"});

  // Names that break line-based lists: a tab, a backslash, a newline.
  for (const char* name : {"tab\there.png", "back\\slash.png", "new\nline.png"}) copy_page(dir / "odd" / name);
  const auto nul = run_shell("cd \"$1\" && find . -name '*.png' -print0 | \"$0\" --files-from - -0 \"$2\" -q",
                             {(dir / "odd").string(), (dir / "o-nul").string()});
  CHECK(nul.exit_code == 0);
  CHECK(test::files_below(dir / "o-nul") == std::vector<std::string>{"back\\slash.png", "new\nline.png", "tab\there.png"});
  const auto lines = run_shell("printf 'one.png\\ntwo.png\\n' | \"$0\" --files-from - \"$1\" \"$2\" -q",
                               {(dir / "loose").string(), (dir / "o-stdin").string()});
  CHECK(lines.exit_code == 0);
  CHECK(test::files_below(dir / "o-stdin") == std::vector<std::string>{"one.png", "two.png"});
}

TEST_CASE("terminal manners: colour only on a terminal and never with NO_COLOR, plain progress lines in a log") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  std::ofstream((fs::create_directories(in), in / "broken.png")) << "not an image";
  const auto always = test::run_imgflow({in.string(), (dir / "o1").string(), "--color", "always"});
  CHECK(always.err.find("\x1b[") != std::string::npos);
  const auto never = test::run_imgflow({in.string(), (dir / "o2").string(), "--color", "never"});
  CHECK(never.err.find('\x1b') == std::string::npos);
  // On a terminal (script(1) gives one): coloured by default, plain with NO_COLOR.
  REQUIRE(fs::exists("/usr/bin/script"));  // util-linux, on every Debian system
  {
    const std::string command = fmt::format("'{}' '{}' '{}' --no-progress", test::imgflow_binary(), in.string(), (dir / "o3").string());
    const auto tty = test::run_program("/usr/bin/script", {"-qec", command, "/dev/null"});
    CHECK(tty.out.find("\x1b[") != std::string::npos);
    const auto no_color = test::run_program("/usr/bin/env", {"NO_COLOR=1", "/usr/bin/script", "-qec", command, "/dev/null"});
    CHECK(no_color.out.find("error: ") != std::string::npos);
    CHECK(no_color.out.find("\x1b[") == std::string::npos);
  }
  // Off a terminal: a plain line every --progress-interval seconds (here 1 s), none with -q.
  REQUIRE(test::run_generator({"-n", "40", "--size", "1200x1600", (dir / "many").string()}).exit_code == 0);
  const auto logged = test::run_imgflow({(dir / "many").string(), (dir / "o4").string(), "-j", "1", "--progress-interval", "1",
                                         "--png-level", "smallest"});
  CHECK(logged.exit_code == 0);
  CHECK(logged.err.find("progress: ") != std::string::npos);
  CHECK(logged.err.find(" images (") != std::string::npos);
  CHECK(logged.err.find('\r') == std::string::npos);
  const auto quiet = test::run_imgflow({(dir / "many").string(), (dir / "o5").string(), "-q", "--progress-interval", "1"});
  CHECK(quiet.err.empty());
}

TEST_CASE("folders that vanish mid-run: OUTPUT_DIR removed stops the run (exit 2) without re-creating it, and so does the input") {
  test::TempDir dir;
  const fs::path in = dir / "in";
  REQUIRE(test::run_generator({"-n", "30", "--size", "1200x1600", in.string()}).exit_code == 0);
  {
    const fs::path out = dir / "out";
    test::Child run(test::imgflow_binary(), {in.string(), out.string(), "-j", "1", "--png-level", "smallest"});
    for (int i = 0; i < 600 && files_so_far(out) < 3; ++i) std::this_thread::sleep_for(20ms);
    // imgflow may remove a temporary of its own while the folder is being removed.
    std::error_code ec;
    for (int i = 0; i < 100 && fs::exists(out); ++i) fs::remove_all(out, ec);
    const auto result = run.wait();
    CHECK(result.exit_code == 2);
    CHECK(result.err.find("the output directory " + out.string() + " has gone") != std::string::npos);
    CHECK(result.err.find("stopped: the output side cannot take any more files") != std::string::npos);
    CHECK(count_lines(result.err) < 12);  // a stop, not one error per image
    CHECK_FALSE(fs::exists(out));
  }
  {
    fs::copy(in, dir / "in2");
    const fs::path out = dir / "out2";
    test::Child run(test::imgflow_binary(), {(dir / "in2").string(), out.string(), "-j", "1", "--max-in-flight", "1",
                                                   "--png-level", "smallest"});
    for (int i = 0; i < 600 && files_so_far(out) < 3; ++i) std::this_thread::sleep_for(20ms);
    fs::remove_all(dir / "in2");
    const auto result = run.wait();
    CHECK(result.exit_code == 2);
    CHECK(result.err.find("stopped: an input directory has gone") != std::string::npos);
    CHECK(count_lines(result.err) < 12);
  }
}

namespace {

// strace on imgflow: a way to run it with some system calls logged, and to read the log.
struct Strace {
  // Exits with 77 (skipped) where strace is missing, or runs but sees no system calls (some
  // sandboxes): probed with a rename of our own.
  explicit Strace(const fs::path& where) : dir(where) {
    if (!fs::exists("/usr/bin/strace")) {
      MESSAGE("strace is not installed: skipped");
      std::exit(77);
    }
    std::ofstream(dir / "probe-a") << "x";
    const fs::path log = dir / "probe.strace";
    const auto probe = test::run_program("/usr/bin/strace", {"-f", "-qq", "-e", "trace=rename,renameat,renameat2", "-o", log.string(),
                                                            "/bin/mv", (dir / "probe-a").string(), (dir / "probe-b").string()});
    std::ifstream stream(log);
    const std::string seen((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
    if (probe.exit_code != 0 || seen.find("rename") == std::string::npos) {
      MESSAGE("strace sees no system calls here (exit " << probe.exit_code << ", " << probe.err << "): skipped");
      std::exit(77);
    }
  }

  // The log's lines of `imgflow ARGS -j 2 -q` with the calls `calls` traced in every thread,
  // and which thread (PID) named itself what.
  std::vector<std::string> run(const std::string& name, const std::string& calls, std::vector<std::string> args) {
    const fs::path log = dir / (name + ".strace");
    // LeakSanitizer stops the process with ptrace at exit, which a traced process cannot.
    std::vector<std::string> all{"-f", "-qq", "-E", "ASAN_OPTIONS=detect_leaks=0", "-e", "trace=prctl," + calls,
                                 "-o", log.string(), test::imgflow_binary(), "-j", "2", "-q"};
    all.insert(all.end(), args.begin(), args.end());
    const auto result = test::run_program("/usr/bin/strace", all);
    REQUIRE_MESSAGE(result.exit_code == 0, result.err);
    std::vector<std::string> lines;
    std::ifstream stream(log);
    for (std::string line; std::getline(stream, line);) {
      const auto named = line.find("prctl(PR_SET_NAME, \"");
      if (named != std::string::npos) {
        const auto open = line.find('"', named) + 1;
        thread_names[pid(line)] = line.substr(open, line.find('"', open) - open);
      }
      lines.push_back(line);
    }
    return lines;
  }

  static std::string pid(const std::string& line) { return line.substr(0, line.find(' ')); }
  // "PID name(" -> name; strace pads short PIDs with spaces.
  static std::string call(const std::string& line) {
    const auto start = line.find_first_not_of(' ', line.find(' ')), paren = line.find('(');
    return start == std::string::npos || paren == std::string::npos || paren < start ? std::string()
                                                                                      : line.substr(start, paren - start);
  }
  // The first quoted argument of the line's call.
  static std::string first_path(const std::string& line) {
    const auto open = line.find('"'), close = line.find('"', open + 1);
    return open == std::string::npos || close == std::string::npos ? std::string() : line.substr(open + 1, close - open - 1);
  }
  std::string thread_name(const std::string& line) const {
    const auto it = thread_names.find(pid(line));
    return it == thread_names.end() ? "(unnamed: main or a TBB worker)" : it->second;
  }

  fs::path dir;
  std::map<std::string, std::string> thread_names;  // PID -> name it gave itself
};

}  // namespace

TEST_CASE("durability: outputs are renamed into place only after a sync that followed their writing, by one writer thread, with fewer syncs than files") {
  test::TempDir dir;
  Strace strace(dir.path());
  const fs::path in = dir / "in";
  REQUIRE(test::run_generator({"-n", "60", "--size", "320x240", in.string()}).exit_code == 0);
  const std::string calls = "syncfs,fdatasync,linkat,rename,renameat,renameat2";

  const auto lines = strace.run("synced", calls, {in.string(), (dir / "synced").string()});
  std::map<std::string, std::size_t> linked_at;  // temporary name -> line of its linkat
  std::size_t renames = 0, syncs = 0, last_sync = 0;
  std::set<std::string> threads;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string name = Strace::call(lines[i]);
    CHECK(name != "fdatasync");  // no file is synced on its own
    if (name == "linkat") {
      const auto start = lines[i].find(std::string(kTemporaryMarker));
      REQUIRE(start != std::string::npos);
      const auto open = lines[i].rfind('"', start), close = lines[i].find('"', start);
      linked_at[fs::path(lines[i].substr(open + 1, close - open - 1)).filename().string()] = i;
      threads.insert(strace.thread_name(lines[i]));
    } else if (name == "syncfs") {
      ++syncs;
      last_sync = i;
      threads.insert(strace.thread_name(lines[i]));
    } else if (name.rfind("rename", 0) == 0) {
      ++renames;
      threads.insert(strace.thread_name(lines[i]));
      const auto start = lines[i].find(std::string(kTemporaryMarker));
      REQUIRE(start != std::string::npos);
      const auto open = lines[i].rfind('"', start), close = lines[i].find('"', start);
      const std::string temporary = fs::path(lines[i].substr(open + 1, close - open - 1)).filename().string();
      CAPTURE(temporary);
      REQUIRE(linked_at.count(temporary) == 1);
      CHECK(last_sync > linked_at[temporary]);  // a sync came between its writing and its rename
    }
  }
  CHECK(renames == 60);
  CHECK(syncs >= 1);
  CHECK(syncs <= renames);
  MESSAGE(syncs << " syncs for " << renames << " files");
  // All by the writer thread, none by the two TBB workers or the main thread.
  CHECK(threads == std::set<std::string>{"imgflow-write"});
  CHECK(test::files_below(dir / "synced").size() == 60);

  const auto unsynced = strace.run("unsynced", calls, {in.string(), (dir / "unsynced").string(), "--no-sync"});
  for (const auto& line : unsynced) CHECK((Strace::call(line) != "syncfs" && Strace::call(line) != "fdatasync"));
}

TEST_CASE("reading off the compute threads: inputs, and outputs checked by --skip-existing, are opened only by the reader threads") {
  test::TempDir dir;
  Strace strace(dir.path());
  const fs::path in = dir / "in", out = dir / "out";
  REQUIRE(test::run_generator({"-n", "40", "--size", "160x120", in.string()}).exit_code == 0);
  // A TIFF of three pages: its pages are listed, and their outputs checked, by the reader too.
  fs::copy_file(test::shared_dir() / "corpus/formats/TwelveMonkeys__multipage.tif", in / "multipage.tif");
  // Which threads open which files (the listing's folders aside).
  const auto openers = [&](const std::vector<std::string>& lines, const fs::path& under) {
    std::map<std::string, std::set<std::string>> by_thread;  // thread name -> files it opened
    for (const auto& line : lines) {
      const std::string path = Strace::first_path(line);
      if (Strace::call(line) != "openat" || line.find("O_DIRECTORY") != std::string::npos ||
          path.rfind(under.string() + "/", 0) != 0 || path.find(std::string(kTemporaryMarker)) != std::string::npos)
        continue;
      by_thread[strace.thread_name(line)].insert(fs::path(path).filename().string());
    }
    return by_thread;
  };

  const auto first = openers(strace.run("first", "openat", {in.string(), out.string()}), in);
  REQUIRE(first.size() == 1);
  CHECK(first.begin()->first == "imgflow-read");
  CHECK(first.begin()->second.size() == 41);
  REQUIRE(test::files_below(out).size() == 43);
  int readers = 0;
  for (const auto& [pid, name] : strace.thread_names) readers += name == "imgflow-read";
  CHECK(readers >= 2);  // a few, so that slow storage has several reads outstanding

  // The rerun reads every input again and checks every output: all on the reader threads.
  const auto again = openers(strace.run("again", "openat", {in.string(), out.string(), "--skip-existing"}), out);
  REQUIRE(again.size() == 1);
  CHECK(again.begin()->first == "imgflow-read");
  CHECK(again.begin()->second.size() == 43);
}
