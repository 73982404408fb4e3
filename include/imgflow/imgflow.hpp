#pragma once
// imgflow as a library: the exact bild adjustments, the document operations, the strict
// decoders and the parallel pipeline of the `imgflow` command, for C++ programs.
//
//   find_package(imgflow 0.1 REQUIRED)
//   target_link_libraries(app PRIVATE imgflow::imgflow)
//
// Stable (API level 1, kept through the 0.1.x releases, whose ABI is libimgflow.so.0.1's; a new
// minor release may change it under a new SONAME): every name declared in this header,
// the meaning of each field, the operations' names and values, and run()'s report (its layout
// has a version of its own, report["report_format"]). Not stable: the text of messages and the
// order in which they come. Nothing in namespace imgflow that is not declared here is part of
// the library. Errors are exceptions of type imgflow::Error (below) or values in a run's
// result, never lines printed by the library: it prints nothing.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <atomic>

// The library is built with hidden symbols; what this header declares is what it exports.
#define IMGFLOW_API __attribute__((visibility("default")))

namespace imgflow {

inline constexpr int kApiLevel = 1;

/// The library's version, "0.1.0".
IMGFLOW_API std::string version();

/// What the library refuses: settings (stage "settings"), an image it cannot read ("read",
/// "decode"), operations it cannot do on a layout ("apply"), an image a format cannot hold
/// ("encode"). `file()` names the file when there is one.
class IMGFLOW_API Error : public std::runtime_error {
 public:
  Error(std::string stage, std::string file, const std::string& reason);
  const std::string& stage() const noexcept { return stage_; }
  const std::string& file() const noexcept { return file_; }
  /// The reason alone (what() is "FILE: STAGE: REASON", or "STAGE: REASON" without a file).
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string stage_, file_, reason_;
};

/// One operation, as the command line gives it: its name and its value as text, e.g.
/// {"brightness", "0.25"}, {"grayscale", ""}, {"threshold", "otsu"}, {"deskew", ""} (default
/// angle), {"dpi", "300"}. Operations apply in order; adjacent point adjustments compose into
/// one table applied once, exactly as bild computes them one after the other.
struct Step {
  std::string name;
  std::string value;
};
/// A step with a number, written so that it reads back as the same double.
IMGFLOW_API Step step(std::string name, double value);

/// A declaration shared by the command's --help, the man page, and the Python module's
/// docstrings and type stubs: a run setting or an operation.
struct Declaration {
  std::string_view name;   ///< the Python keyword and Settings field: "skip_existing"
  std::string_view flag;   ///< the command's flag: "--skip-existing"
  std::string_view type;   ///< "bool", "int", "float", "str", "path" or "paths"; "" for an operation without a value
  std::string_view help;
};
/// The settings of run(), in the order of Settings' fields.
IMGFLOW_API std::span<const Declaration> setting_declarations();
/// The operations: every adjustment of bild, then the document operations.
IMGFLOW_API std::span<const Declaration> operation_declarations();

/// A batch, as the command runs one (see `imgflow --help` for each setting; the same text is
/// setting_declarations()'s help).
struct Settings {
  std::vector<std::filesystem::path> inputs;  ///< image files and folders
  std::filesystem::path output_dir;
  std::vector<Step> operations;               ///< empty: brightness 0.25 then contrast 0.25
  double assume_dpi = 0;
  bool recursive = false;
  bool follow_symlinks = false;
  bool skip_existing = false;
  bool overwrite_foreign = false;
  bool fail_fast = false;
  std::filesystem::path failures_file;
  std::filesystem::path files_from;
  bool null_separated = false;
  bool strip = false;
  std::string pages = "all";
  std::filesystem::path move_input;
  int threads = 0;
  std::size_t max_in_flight = 0;
  std::uint64_t max_pixels = 200'000'000;
  bool skip_checksums = false;
  bool strict = false;
  bool no_sync = false;
  std::string png_level = "default";
  std::string format = "png";
  std::string join = "none";                  ///< "none", "documents" or "folders"
  bool lossless = false;
  std::string compression = "auto";
  int quality = 0;                            ///< 0: the format's default
  std::filesystem::path report_file;
  std::filesystem::path trace_file;
  std::string shard;                          ///< "I/N", "auto", "auto/N"; empty: the whole listing
  bool dry_run = false;                       ///< list what would be written (Callbacks::planned)
  /// Recorded in the report as the command line (the command passes its argv).
  std::vector<std::string> command_line;
};

enum class Level { debug, info, warning, error };

/// After each image: how many input files are done of how many (a file of several pages once
/// its last page is), how many images (pages) failed, input bytes read.
struct Progress {
  std::size_t done = 0, total = 0, failed = 0;
  std::uint64_t input_bytes = 0;
};

/// What a run tells while it works. Each may be empty. They are called from the library's
/// threads, one call at a time (never two at once), and must not throw.
struct Callbacks {
  /// Every line the command prints (errors name the file and stage), at `level` and above.
  std::function<void(Level, const std::string&)> message;
  Level level = Level::info;
  /// Once, when the run knows how many images it has (before any progress).
  std::function<void(std::size_t total)> started;
  std::function<void(const Progress&)> progress;
  /// Settings::dry_run: each image's input and output, and why it would be refused (or "").
  std::function<void(const std::filesystem::path& input, const std::filesystem::path& output, const std::string& refused)>
      planned;
};

/// A failed image or listing: the command's --failures line.
struct Failure {
  std::filesystem::path input;
  int page = 0;         ///< 1-based for a page of a file of several pages, 0 otherwise
  std::string stage;    ///< "read", "decode", ..., "write", "list"
  std::string reason;
};

struct RunResult {
  /// The command's exit status: 0 every image written or skipped, 1 some failed, 2 the run could
  /// not go on (output unwritable, disk full, a folder gone), 128 + N stopped through `stop`.
  int exit_code = 0;
  std::size_t written = 0, skipped = 0, failed = 0, not_started = 0;
  bool stopped = false;               ///< stopped early (by `stop`, fail_fast, or the output side)
  std::vector<Failure> failures;
  std::string report;                 ///< the --report document (JSON), whether or not report_file was set
};

/// Asks a run to stop: from any thread, or from a signal handler (it only stores a number).
class Stop {
 public:
  /// `signal`: the signal that asked (named in the run's messages, exit code 128 + signal), or 0.
  void request(int signal = 0) noexcept {
    int none = -1;
    signal_.compare_exchange_strong(none, signal);
  }
  bool requested() const noexcept { return signal_.load(std::memory_order_relaxed) >= 0; }
  int signal() const noexcept { return signal_.load(); }

 private:
  std::atomic<int> signal_{-1};
};

/// Runs a batch: lists the inputs, processes them in parallel, writes each output whole (a
/// hidden temporary, synced, renamed), and returns what the run did. Throws Error (stage
/// "settings") for settings that cannot go together or a run that cannot start (a missing input,
/// an output folder that cannot be made or written); a bad image is a failure in the result,
/// never an exception. A stop requested on `stop` ends it as SIGINT ends the command: images in
/// flight finish, no partial output is left, exit_code 128 + the signal (130 for 0). Several
/// runs may go on at once from different threads (tested from Python); they share the process's
/// worker threads, whose number the smallest `threads` among them limits.
IMGFLOW_API RunResult run(const Settings& settings, const Callbacks& callbacks = {}, const Stop* stop = nullptr);

/// Pixels in the caller's memory: interleaved samples (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) of
/// 8 or 16 bits (machine byte order), rows `row_bytes` apart (at least width x channels x
/// sample size).
struct PixelView {
  const void* data = nullptr;
  int width = 0, height = 0, channels = 0, bit_depth = 8;
  std::ptrdiff_t row_bytes = 0;
};
struct MutablePixelView {
  void* data = nullptr;
  int width = 0, height = 0, channels = 0, bit_depth = 8;
  std::ptrdiff_t row_bytes = 0;
  operator PixelView() const { return {data, width, height, channels, bit_depth, row_bytes}; }
};

/// An image owned by the library's caller: rows packed. A 1-bit page comes as 8-bit gray of 0
/// (black) and 255 (white) with `bilevel` set, and is written 1-bit again where the format can.
struct ImageData {
  int width = 0, height = 0, channels = 0, bit_depth = 8;
  bool bilevel = false;
  std::vector<std::uint8_t> pixels;
  double dpi_x = 0, dpi_y = 0;        ///< 0: none recorded
  std::vector<std::uint8_t> icc;      ///< the ICC profile, empty if none (or sRGB's: `srgb`)
  bool srgb = false;                  ///< the colour space is sRGB (the standard sRGB profile, or said so)
  std::string format;                 ///< the decoded file's format: "PNG", "TIFF", ...
  int page = 1, pages = 1;            ///< which page this is, of how many
  std::vector<std::string> warnings;  ///< what the decoder said (and metadata it dropped)

  PixelView view() const {
    return {pixels.data(), width, height, channels, bit_depth,
            static_cast<std::ptrdiff_t>(width) * channels * (bit_depth == 16 ? 2 : 1)};
  }
  MutablePixelView mutable_view() {
    return {pixels.data(), width, height, channels, bit_depth,
            static_cast<std::ptrdiff_t>(width) * channels * (bit_depth == 16 ? 2 : 1)};
  }
};

struct DecodeSettings {
  int page = 1;                        ///< 1-based
  std::uint64_t max_pixels = 200'000'000;
  bool verify_checksums = true;
  bool strict = false;
};
/// Decodes one page of an image file's bytes (the format from the content), upright, with its
/// resolution and profile. Throws Error (stage "decode").
IMGFLOW_API ImageData decode(std::span<const std::uint8_t> bytes, const DecodeSettings& settings = {});
/// The same for a file (stage "read" when it cannot be read); Error::file() names it.
IMGFLOW_API ImageData decode_file(const std::filesystem::path& file, const DecodeSettings& settings = {});

/// Applies `steps` to an image, as the command does to a page, into a new image (which may
/// have another layout: grayscale, threshold, dpi). Throws Error (stage "settings" for a bad
/// step, "apply" for what a page cannot take, such as dpi without a resolution).
IMGFLOW_API ImageData apply(const ImageData& image, std::span<const Step> steps);
IMGFLOW_API ImageData apply(const PixelView& pixels, std::span<const Step> steps);
/// In place, without a copy, when every step keeps the layout and looks at pixels one at a time
/// (point adjustments); otherwise through a copy, written back when the layout is kept. Throws
/// Error (stage "apply") when the result would not fit (e.g. grayscale of an RGB view).
IMGFLOW_API void apply_in_place(const MutablePixelView& pixels, std::span<const Step> steps);

struct EncodeOptions {
  int quality = 0;             ///< 0: the format's default (90)
  bool lossless = false;       ///< WebP, JPEG 2000
  std::string compression = "auto";  ///< TIFF
  std::string png_level = "default";
  bool strip = false;          ///< drop the resolution and profile
};
/// Encodes an image as `format` ("png", "tiff", "jpeg", "webp", "jp2", "pdf"), fitted to what the
/// format holds by the command's rules (docs/formats.md: 16-bit samples cut to 8 and alpha
/// flattened onto white for JPEG; each change is a line in `fitted` when given). Throws Error
/// (stage "settings" for the options, "encode" for the image).
IMGFLOW_API std::vector<std::uint8_t> encode(const ImageData& image, std::string_view format = "png",
                                             const EncodeOptions& options = {},
                                             std::vector<std::string>* fitted = nullptr);

}  // namespace imgflow
