#include "support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <sstream>

extern char** environ;  // for posix_spawn

namespace fs = std::filesystem;

namespace imgflow::test {

namespace {
std::string skipped_because;
}  // namespace

void skip(const std::string& reason) {
  skipped_because = reason;
  MESSAGE("SKIPPED: " << reason);
}

const std::string& skip_reason() { return skipped_because; }

fs::path shared_dir() {
  const fs::path dir = fs::weakly_canonical(IMGFLOW_SHARED_DIR);
  REQUIRE_MESSAGE(fs::is_directory(dir / "corpus"),
                  "the shared corpora are missing: expected " << dir.string());
  return dir;
}

fs::path data_dir() { return IMGFLOW_DATA_DIR; }

fs::path source_dir() { return IMGFLOW_SOURCE_DIR; }

TempDir::TempDir() {
  std::string templ = (fs::temp_directory_path() / "imgflow-test-XXXXXX").string();
  REQUIRE(::mkdtemp(templ.data()) != nullptr);
  path_ = templ;
}

TempDir::~TempDir() {
  if (std::getenv("IMGFLOW_KEEP_TEST_DIRS")) return;  // for a look after a failure
  std::error_code ec;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path_, ec);
}

namespace {
std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

Child::Child(const std::string& program, const std::vector<std::string>& args) {
  const std::string out = (capture_ / "out").string(), err = (capture_ / "err").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_storage{program};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int spawn_error = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE_MESSAGE(spawn_error == 0, "cannot start " << program);
}

Child::~Child() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

void Child::signal(int number) const { ::kill(pid_, number); }

RunResult Child::wait() {
  int status = 0;
  struct rusage usage {};
  REQUIRE(::wait4(pid_, &status, 0, &usage) == pid_);
  pid_ = 0;
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.max_rss_kb = usage.ru_maxrss;
  result.minor_faults = usage.ru_minflt;
  result.out = slurp(capture_ / "out");
  result.err = slurp(capture_ / "err");
  // Under a sanitizer build, a report in the child fails the test whatever its exit code.
  for (const char* report : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                             "runtime error:"})
    CHECK_MESSAGE(result.err.find(report) == std::string::npos, "sanitizer report:\n" << result.err);
  return result;
}

RunResult run_program(const std::string& program, const std::vector<std::string>& args) {
  return Child(program, args).wait();
}

namespace {

// A tool under test: `name` in $IMGFLOW_TEST_BINARY_DIR when that build made it, otherwise
// `built` (this build's: a sanitizer build makes only the tools its checks are for).
std::string binary_path(const char* built, const char* name) {
  const char* dir = std::getenv("IMGFLOW_TEST_BINARY_DIR");
  if (!dir || !*dir) return built;
  const std::filesystem::path there = std::filesystem::path(dir) / name;
  std::error_code ec;
  return std::filesystem::exists(there, ec) ? there.string() : std::string(built);
}

}  // namespace

const char* imgflow_binary() {
  static const std::string path = binary_path(IMGFLOW_BINARY, "imgflow");
  return path.c_str();
}
const char* generator_binary() {
  static const std::string path = binary_path(IMGFLOW_GEN_BINARY, "imgflow-gen");
  return path.c_str();
}
const char* merge_binary() {
  static const std::string path = binary_path(IMGFLOW_MERGE_BINARY, "imgflow-merge");
  return path.c_str();
}

std::string_view sanitizer() {
#if defined(IMGFLOW_THREAD_SANITIZER)
  return "thread";
#elif defined(IMGFLOW_SANITIZER)
  return "address";
#else
  const char* named = std::getenv("IMGFLOW_TEST_SANITIZER");
  return named ? named : "";
#endif
}

Image random_image(int width, int height, int channels, int depth, std::mt19937& rng, bool smooth) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.bit_depth = depth;
  image.allocate();
  std::uint8_t walk = 0;
  for (auto& b : image.pixels) b = smooth ? (walk = static_cast<std::uint8_t>(walk + rng() % 3)) : static_cast<std::uint8_t>(rng());
  return image;
}

RunResult run_imgflow(const std::vector<std::string>& args) { return run_program(imgflow_binary(), args); }
RunResult run_generator(const std::vector<std::string>& args) { return run_program(generator_binary(), args); }

std::map<std::string, std::vector<int>> reference_tables() {
  std::ifstream in(shared_dir() / "reference" / "bild-tables.tsv");
  REQUIRE(in.good());
  std::map<std::string, std::vector<int>> tables;
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::istringstream values(line.substr(tab + 1));
    std::vector<int>& table = tables[line.substr(0, tab)];
    for (int v; values >> v;) table.push_back(v);
  }
  return tables;
}

std::vector<std::string> files_below(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), dir).generic_string());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::uint8_t> file_bytes(const fs::path& path) {
  const std::string s = slurp(path);
  return {s.begin(), s.end()};
}

std::vector<PngChunk> read_png_chunks(const fs::path& path) {
  const auto bytes = file_bytes(path);
  const auto be32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(bytes[at] << 24 | bytes[at + 1] << 16 | bytes[at + 2] << 8 |
                                      bytes[at + 3]);
  };
  std::vector<PngChunk> chunks;
  for (std::size_t at = 8; at + 12 <= bytes.size();) {
    const std::size_t length = be32(at);
    if (length > bytes.size() - at - 12) break;
    const auto start = bytes.begin() + static_cast<std::ptrdiff_t>(at);
    chunks.push_back({std::string(start + 4, start + 8), {start + 8, start + 8 + static_cast<std::ptrdiff_t>(length)}});
    if (chunks.back().type == "IEND") break;
    at += 12 + length;
  }
  return chunks;
}

PngHeader read_png_header(const fs::path& path) {
  PngHeader header;
  const auto chunks = read_png_chunks(path);
  if (chunks.empty() || chunks[0].type != "IHDR" || chunks[0].data.size() != 13) return header;
  const auto& d = chunks[0].data;
  header.width = d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3];
  header.height = d[4] << 24 | d[5] << 16 | d[6] << 8 | d[7];
  header.bit_depth = d[8];
  header.colour_type = d[9];
  for (const auto& chunk : chunks) header.has_trns |= chunk.type == "tRNS";
  return header;
}

namespace {
template <typename T>
std::string compare_samples(const cv::Mat& in, const cv::Mat& out, const std::vector<T>& table) {
  const int cin = in.channels(), cout = out.channels();
  const bool in_alpha = cin == 2 || cin == 4, out_alpha = cout == 2 || cout == 4;
  for (int y = 0; y < in.rows; ++y) {
    const T* a = in.ptr<T>(y);
    const T* b = out.ptr<T>(y);
    for (int x = 0; x < in.cols; ++x) {
      for (int c = 0; c < cout; ++c) {
        const bool alpha = out_alpha && c == cout - 1;
        const int src_c = std::min(c, cin - 1);  // a gray input read as 1 channel, output as 4
        const T source = a[x * cin + src_c];
        const T expected = alpha ? (in_alpha ? source : b[x * cout + c]) : table[source];
        if (b[x * cout + c] != expected) {
          std::ostringstream why;
          why << "pixel (" << x << "," << y << ") channel " << c << ": input " << +source
              << ", output " << +b[x * cout + c] << ", expected " << +expected;
          return why.str();
        }
      }
    }
  }
  return {};
}
}  // namespace

std::string check_adjusted(const fs::path& input, const fs::path& output, const LookupTables& tables) {
  const cv::Mat in = cv::imread(input.string(), cv::IMREAD_UNCHANGED);
  const cv::Mat out = cv::imread(output.string(), cv::IMREAD_UNCHANGED);
  if (in.empty()) return "OpenCV cannot read the input";
  if (out.empty()) return "OpenCV cannot read the output";
  if (in.size() != out.size()) return "size differs";
  if (in.depth() != out.depth()) return "sample depth differs";
  const bool gray_gained_alpha = in.channels() == 1 && out.channels() == 4;  // tRNS on gray
  if (in.channels() != out.channels() && !gray_gained_alpha) return "channel count differs";
  if (in.depth() == CV_16U) return compare_samples<std::uint16_t>(in, out, tables.lut16());
  return compare_samples<std::uint8_t>(in, out, tables.lut8());
}

std::string describe_difference(const fs::path& got, const fs::path& expected) {
  const auto a = file_bytes(got), b = file_bytes(expected);
  if (a == b) return "identical";
  const auto names = [](const fs::path& path) {
    std::string list;
    for (const auto& chunk : read_png_chunks(path))
      list += chunk.type + "(" + std::to_string(chunk.data.size()) + ") ";
    return list;
  };
  std::size_t first = 0;
  while (first < a.size() && first < b.size() && a[first] == b[first]) ++first;
  std::string text = std::to_string(a.size()) + " bytes vs " + std::to_string(b.size()) + ", first difference at byte " +
                     std::to_string(first) + "; chunks [" + names(got) + "] vs [" + names(expected) + "]; pixels ";
  const cv::Mat x = cv::imread(got.string(), cv::IMREAD_UNCHANGED), y = cv::imread(expected.string(), cv::IMREAD_UNCHANGED);
  if (x.empty() || y.empty()) return text + "unreadable by OpenCV";
  if (x.size() != y.size() || x.type() != y.type()) return text + "of another size or type";
  const cv::Mat unequal = x != y;
  const auto differing = cv::countNonZero(unequal.reshape(1));
  return text + (differing ? std::to_string(differing) + " samples differ" : "identical");
}

std::vector<std::filesystem::path> relative_paths(const imgflow::Listing& listing) {
  std::vector<std::filesystem::path> paths;
  for (const auto& file : listing.files) paths.push_back(file.relative());
  return paths;
}

namespace {

// One step of bild's adjustments on a value of a `max`-valued scale, clamped and truncated.
double naive_step(const std::string& name, double param, double v, double max) {
  double x = 0;
  if (name == "brightness") x = v * (1 + param);
  else if (name == "contrast") x = ((v / max - 0.5) * (1 + param) + 0.5) * max;
  else if (name == "gamma") x = std::pow(v / max, 1 / param) * max;
  else if (name == "invert") x = max - v;
  else FAIL("expected_tables: no formula for " << name);
  return std::trunc(std::clamp(std::isnan(x) ? 0.0 : x, 0.0, max));
}

template <typename T>
std::vector<T> naive_table(const std::vector<std::pair<std::string, double>>& steps) {
  const double max = std::numeric_limits<T>::max();
  std::vector<T> table(static_cast<std::size_t>(max) + 1);
  for (std::size_t v = 0; v < table.size(); ++v) {
    double x = static_cast<double>(v);
    for (const auto& [name, param] : steps) x = naive_step(name, param, x, max);
    table[v] = static_cast<T>(x);
  }
  return table;
}

}  // namespace

LookupTables expected_tables(const std::string& chain_text) {
  std::vector<std::pair<std::string, double>> steps;
  std::istringstream items(chain_text);
  for (std::string item; std::getline(items, item, ',');) {
    const auto equals = item.find('=');
    steps.emplace_back(item.substr(0, equals), equals == std::string::npos ? 0.0 : std::stod(item.substr(equals + 1)));
  }
  auto lut8 = naive_table<std::uint8_t>(steps);
  const auto rows = reference_tables();
  if (const auto row = rows.find(chain_text); row != rows.end()) {
    REQUIRE_MESSAGE(std::vector<int>(lut8.begin(), lut8.end()) == row->second,
                    "the test's formulas disagree with bild on " << chain_text);
  }
  return LookupTables(std::move(lut8), naive_table<std::uint16_t>(steps));
}

cv::Mat read_unchanged(const fs::path& path) { return cv::imread(path.string(), cv::IMREAD_UNCHANGED); }

bool same_samples(const cv::Mat& a, const cv::Mat& b) {
  return !a.empty() && !b.empty() && a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

std::string tiffinfo(const fs::path& path) { return run_program("/usr/bin/tiffinfo", {path.string()}).out; }

}  // namespace imgflow::test
