#pragma once
// Helpers shared by the tests: where the fixtures are, temporary folders, running the binary,
// the reference tables, and an independent check (OpenCV's decoder) of an output's pixels.
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "codec/image.hpp"
#include "files/listing.hpp"
#include "kernels/lookup_table.hpp"

namespace imgflow::test {

/// The exit code of a test process whose case could not run here (CTest's SKIP_RETURN_CODE).
inline constexpr int kSkipExitCode = 77;
/// Marks the running case as not runnable here, with the reason; the case should return at once.
/// The process then exits with kSkipExitCode (unless a check failed), so CTest says "skipped".
void skip(const std::string& reason);
const std::string& skip_reason();

std::filesystem::path shared_dir();  ///< ../shared; fails the test if it is missing
std::filesystem::path data_dir();    ///< the bundled sample pages
std::filesystem::path source_dir();  ///< the checkout (tests/fuzz/regressions...)

/// A fresh directory under /tmp, removed with everything in it at scope exit (kept when the
/// environment sets IMGFLOW_KEEP_TEST_DIRS, to look at after a failure).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
  long max_rss_kb = 0;  ///< the child's peak resident memory
  long minor_faults = 0;  ///< the child's page faults served without I/O (fresh memory touched)
};
/// A program started with `args` (no shell: arguments are passed as they are), stdin from
/// /dev/null, stdout and stderr captured. Killed (SIGKILL) and reaped at scope exit if still
/// running, so a failing test leaves no process behind.
class Child {
 public:
  Child(const std::string& program, const std::vector<std::string>& args);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  int pid() const { return pid_; }
  void signal(int number) const;
  /// Waits for the exit; the exit code is 128 + N for death by signal N.
  RunResult wait();

 private:
  TempDir capture_;
  int pid_ = 0;
};

/// Runs a program to its end (see Child).
RunResult run_program(const std::string& program, const std::vector<std::string>& args);
/// The tools under test: this build's, or those in $IMGFLOW_TEST_BINARY_DIR when it is set and
/// holds them (scripts/test runs the release build's end-to-end tests on the sanitizer builds'
/// tools, rather than building the test driver once more in each; a tool a sanitizer build did
/// not make, such as the test-data generator, is this build's).
const char* imgflow_binary();
const char* generator_binary();
const char* merge_binary();
/// The sanitizer the code under test was built with: "address" (with UndefinedBehaviorSanitizer),
/// "thread", or "" (none). This binary's own build, or $IMGFLOW_TEST_SANITIZER with the above.
std::string_view sanitizer();
/// run_program on the imgflow binary.
RunResult run_imgflow(const std::vector<std::string>& args);
/// run_program on the imgflow-gen binary.
RunResult run_generator(const std::vector<std::string>& args);

/// The tables a chain such as "brightness=0.25,contrast=0.25" must give, made independently of
/// the code under test: each step's formula written out here (bild's, at 8 and at 16 bits) and
/// applied value by value, clamped then truncated as bild does. Where bild-tables.tsv has the
/// chain, the 8-bit table is bild's own row, and the formulas are checked against it first.
LookupTables expected_tables(const std::string& chain_text);

/// The rows of bild-tables.tsv: chain text -> 256 values.
std::map<std::string, std::vector<int>> reference_tables();

/// An image of random samples (every byte drawn from `rng`; with `smooth`, a random walk that
/// deflates as a scan does). A bilevel row's bits past its last pixel are random too.
Image random_image(int width, int height, int channels, int depth, std::mt19937& rng, bool smooth = false);

/// The relative paths of a listing's files, in order.
std::vector<std::filesystem::path> relative_paths(const imgflow::Listing& listing);

/// Every regular file below `dir`, as relative generic paths, sorted.
std::vector<std::string> files_below(const std::filesystem::path& dir);

std::vector<std::uint8_t> file_bytes(const std::filesystem::path& path);

/// IHDR fields read straight from the file's bytes, and whether it has a tRNS chunk.
struct PngHeader {
  int width = 0, height = 0, bit_depth = 0, colour_type = -1;
  bool has_trns = false;
};
PngHeader read_png_header(const std::filesystem::path& path);

struct PngChunk {
  std::string type;
  std::vector<std::uint8_t> data;
  bool operator==(const PngChunk&) const = default;
};
/// Every chunk of a PNG file in order, read straight from its bytes.
std::vector<PngChunk> read_png_chunks(const std::filesystem::path& path);

/// An image file's samples as they are (OpenCV's IMREAD_UNCHANGED); empty when it cannot be
/// read. OpenCV's channel order: gray, BGR, BGRA (it reads gray+alpha as BGRA).
cv::Mat read_unchanged(const std::filesystem::path& path);
/// Whether two images have the same size, type and every sample (and neither is empty).
bool same_samples(const cv::Mat& a, const cv::Mat& b);
/// What libtiff's tiffinfo prints about a file.
std::string tiffinfo(const std::filesystem::path& path);

/// For a failure message: how two PNG files differ (sizes, first differing byte, chunk lists,
/// and whether the decoded pixels differ too).
std::string describe_difference(const std::filesystem::path& got, const std::filesystem::path& expected);

/// Checks with OpenCV's decoder that `output` holds `input`'s pixels mapped through `tables`
/// (8- or 16-bit by depth), alpha unchanged. Returns an empty string or what differs.
std::string check_adjusted(const std::filesystem::path& input, const std::filesystem::path& output,
                           const LookupTables& tables);

}  // namespace imgflow::test
