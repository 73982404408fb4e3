#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <optional>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unistd.h>

#include "app/cli_docs.hpp"
#include "app/shard_spec.hpp"
#include "app/versions.hpp"

namespace imgflow {
namespace {

constexpr const char* kExitStatusText =
    "Exit status: 0 every image written or skipped; 1 some image failed, a document (--join) was not "
    "written, or some input could not "
    "be listed or read; 2 usage error, or the run could not start or go on (missing input, "
    "OUTPUT_DIR unwritable, the same as an input directory, disk full, read-only filesystem, "
    "OUTPUT_DIR or an input directory removed mid-run); 128+N stopped by signal N: 129 SIGHUP, "
    "130 SIGINT, 143 SIGTERM (the images in flight finish and the summary is printed; a second "
    "signal quits at once). With --watch: 0 once stopped by SIGTERM or SIGINT (failures are "
    "reported and listed, not in the exit status), 1 stopped by --fail-fast's first failure, 2 "
    "if the outputs cannot be written any more; "
    "SIGHUP reopens --log. Outputs appear only complete; rerun with --skip-existing to finish "
    "the job.";

const ManPageExtra kManPageExtra{
    ".B imgflow\n[\\fIOPTIONS\\fR] \\fIINPUT\\fR... \\fIOUTPUT_DIR\\fR\n.br\n"
    ".B imgflow\n[\\fIOPTIONS\\fR] \\fB\\-\\-files\\-from\\fR \\fIFILE\\fR [\\fIINPUT_DIR\\fR] \\fIOUTPUT_DIR\\fR\n.br\n"
    ".B imgflow\n\\fB\\-\\-watch\\fR [\\fIOPTIONS\\fR] \\fIINPUT_DIR\\fR... \\fIOUTPUT_DIR\\fR\n",
    {{"EXIT STATUS", kExitStatusText},
     {"HOT FOLDER",
      "imgflow --watch runs until stopped, taking each image once its writer has closed it or renamed it into "
      "place (inotify), or by rescans where inotify cannot see (NFS, SMB, FUSE). The systemd template unit "
      "imgflow-watch@.service runs one per folder: systemctl enable --now "
      "imgflow-watch@$(systemd-escape --path /srv/scans).service watches /srv/scans/in, writes /srv/scans/out, "
      "moves each input to /srv/scans/done once its outputs are in place, and keeps report.json and "
      "failures.tsv there; extra flags go in /etc/default/imgflow-watch-INSTANCE as IMGFLOW_ARGS=\"...\"; "
      "systemctl reload sends SIGHUP (reopens --log)."},
     {"ENVIRONMENT",
      "NO_COLOR: when set (to anything), messages are not coloured (--color=always overrides). "
      "SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_STEP, SLURM_ARRAY_TASK_COUNT, "
      "JOB_COMPLETION_INDEX: read by --shard auto. IMGFLOW_WATCH_NO_INOTIFY=1: --watch does without "
      "inotify, as where it is missing (rescans only; for tests)."},
     {"FILES",
      "While an output is written it is a hidden temporary beside its final name (.NAME.imgflow-tmp.TOKEN), "
      "renamed into place only when complete; temporaries left by a killed run are removed by the next run."},
     {"SEE ALSO", "imgflow-merge(1)"}}};

std::optional<double> parse_number(const std::string& text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

constexpr const char* kOperationsGroup =
    "Adjustments and document operations (applied in command-line order, each may repeat; "
    "default: --brightness 0.25 --contrast 0.25, the bild tutorial's chain)";

// Adds one flag per declared adjustment, with its help and range check generated from the
// declaration. Returns the options so the chain can be read back in command-line order.
std::map<const CLI::Option*, const AdjustmentSpec*> add_adjustment_flags(CLI::App& app) {
  std::map<const CLI::Option*, const AdjustmentSpec*> flags;
  for (const AdjustmentSpec& spec : adjustment_specs()) {
    const std::string name = "--" + std::string(spec.name);
    CLI::Option* option = nullptr;
    if (spec.takes_value) {
      option = app.add_option(name)
                   ->description(std::string(spec.help) + "; F " + std::string(spec.range_text))
                   ->type_name("F")
                   ->expected(1)
                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                   ->check(CLI::Validator(
                       [&spec](std::string& text) -> std::string {
                         const auto value = parse_number(text);
                         if (!value) return "'" + text + "' is not a number";
                         if (!in_range(spec, *value))
                           return std::string(spec.name) + " must be " +
                                  std::string(spec.range_text) + ", got " + text;
                         return {};
                       },
                       "", "range"));
    } else {
      option = app.add_flag(name)->description(std::string(spec.help));
    }
    option->group(kOperationsGroup);
    flags.emplace(option, &spec);
  }
  return flags;
}

// The document operations, declared once each: flag, help, whether the value is optional
// (given as --flag=VALUE, so that a bare flag never takes the next path for its value), and the
// parser that checks the value and says what is wrong with it.
struct DocumentFlag {
  const char* name;
  const char* type_name;
  const char* help;
  enum class Value { none, optional, required } value;
  std::optional<Operation> (*parse)(std::string_view text, std::string& problem);
};

std::optional<Operation> parse_deskew(std::string_view text, std::string& problem) {
  Operation op;
  op.kind = Operation::Kind::deskew;
  if (text.empty()) return op;
  const auto value = parse_number(std::string(text));
  if (!value || !(*value > 0 && *value <= 45)) {
    problem = "--deskew: the largest angle must be more than 0 and at most 45 degrees, got '" + std::string(text) + "'";
    return std::nullopt;
  }
  op.max_degrees = *value;
  return op;
}

std::optional<Operation> parse_dpi(std::string_view text, std::string& problem) {
  Operation op;
  op.kind = Operation::Kind::resample;
  const auto value = parse_number(std::string(text));
  if (!value || !(*value >= 1 && *value <= 100000)) {
    problem = "--dpi: expected a resolution from 1 to 100000, got '" + std::string(text) + "'";
    return std::nullopt;
  }
  op.dpi = *value;
  return op;
}

constexpr std::array kDocumentFlags{
    DocumentFlag{"grayscale", "", "Gray output, exactly bild's effect.Grayscale: 0.3 R + 0.6 G + 0.1 B + 0.5, truncated (alpha kept); written as a gray PNG",
                 DocumentFlag::Value::none, [](std::string_view, std::string&) -> std::optional<Operation> {
                   Operation op;
                   op.kind = Operation::Kind::grayscale;
                   return op;
                 }},
    DocumentFlag{"normalize", "[=LOW,HIGH]",
                 "Stretch each page's levels: the LOW and HIGH percentiles of its histogram become black and "
                 "white (default 0.5,99.5); composed with the adjustments beside it into one table",
                 DocumentFlag::Value::optional, parse_normalize},
    DocumentFlag{"threshold", "LEVEL|otsu|sauvola[:W[,K]]",
                 "1-bit output. LEVEL 0-256: exactly bild's segment.Threshold (white where the rank "
                 "0.3 R + 0.6 G + 0.1 B, truncated, is >= LEVEL; a fully transparent pixel is white); otsu: "
                 "the level by Otsu's method per page (as OpenCV's THRESH_OTSU); sauvola: Sauvola's local "
                 "threshold over a W x W window (odd, default 31) with K (default 0.2)",
                 DocumentFlag::Value::required, parse_threshold},
    DocumentFlag{"deskew", "[=MAX]",
                 "Straighten each page: find its skew up to MAX degrees (default 5) by projection profiles "
                 "and turn it back; a page with no reliable angle, or straight, is left as it is (-v and "
                 "the report give the angle)",
                 DocumentFlag::Value::optional, parse_deskew},
    DocumentFlag{"dpi", "N",
                 "Resample each page to N dots per inch from the resolution it carries (area averaging), "
                 "and record N; a page without one fails unless --assume-dpi is given",
                 DocumentFlag::Value::required, parse_dpi},
};

std::map<const CLI::Option*, const DocumentFlag*> add_document_flags(CLI::App& app) {
  std::map<const CLI::Option*, const DocumentFlag*> flags;
  for (const DocumentFlag& flag : kDocumentFlags) {
    const std::string name = "--" + std::string(flag.name);
    CLI::Option* option = flag.value == DocumentFlag::Value::required
                              ? app.add_option(name)->expected(1)->type_name(flag.type_name)
                              : app.add_flag(name)->type_name(flag.type_name);
    option->description(flag.help)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->group(kOperationsGroup);
    flags.emplace(option, &flag);
  }
  return flags;
}

// Rebuilds the operations in the order the flags were typed: CLI11 records every occurrence
// in parse_order(), and each option's results() holds its values in order. Returns a problem
// with a value, if any.
std::string recipe_in_command_line_order(const CLI::App& app,
                                         const std::map<const CLI::Option*, const AdjustmentSpec*>& adjustments,
                                         const std::map<const CLI::Option*, const DocumentFlag*>& documents,
                                         double assume_dpi, Recipe& recipe) {
  std::map<const CLI::Option*, std::size_t> used;
  for (const CLI::Option* option : app.parse_order()) {
    if (const auto found = adjustments.find(option); found != adjustments.end()) {
      const AdjustmentSpec* spec = found->second;
      double param = 0;
      if (spec->takes_value) param = *parse_number(option->results().at(used[option]++));
      recipe.add(Adjustment{spec, param});
      continue;
    }
    const auto found = documents.find(option);
    if (found == documents.end()) continue;
    const DocumentFlag& flag = *found->second;
    std::string value = option->results().at(used[option]++);
    if (flag.value == DocumentFlag::Value::optional && value == "true") value.clear();  // bare flag
    std::string problem;
    std::optional<Operation> op = flag.parse(value, problem);
    if (!op) return problem.empty() ? "--" + std::string(flag.name) + ": bad value '" + value + "'" : problem;
    op->assume_dpi = assume_dpi;
    recipe.add(std::move(*op));
  }
  return {};
}

// Whole numbers in a range, with a message that names the range in words (CLI11's own checks
// print the limits of a double).
CLI::Validator whole_number(long long minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        long long value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size()) return "'" + text + "' is not a whole number";
        if (value < minimum) return "must be " + std::to_string(minimum) + " or more, got " + text;
        return {};
      },
      minimum == 0 ? "N >= 0" : "N >= " + std::to_string(minimum), "whole number");
}

// The usage line names the positionals the cp way: INPUT... OUTPUT_DIR.
class Formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    return "Usage: " + (name.empty() ? app->get_name() : name) + " [OPTIONS] INPUT... OUTPUT_DIR\n" +
           "       " + (name.empty() ? app->get_name() : name) + " [OPTIONS] --files-from FILE [INPUT_DIR] OUTPUT_DIR\n";
  }
};

// The edit distance between two flag names, for "did you mean".
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "--brightnes" -> "--brightness": the closest known long flag for each unknown one typed.
void suggest_flags(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> known;
  for (const CLI::Option* option : app.get_options())
    for (const std::string& name : option->get_lnames()) known.push_back("--" + name);
  for (int i = 1; i < argc; ++i) {
    std::string_view typed(argv[i]);
    if (typed == "--") break;
    if (!typed.starts_with("--")) continue;
    typed = typed.substr(0, typed.find('='));
    if (std::find(known.begin(), known.end(), typed) != known.end()) continue;
    const std::string* best = nullptr;
    std::size_t best_distance = 3;  // at most two typos
    for (const std::string& name : known)
      if (const std::size_t d = distance(typed, name); d < best_distance) best = &name, best_distance = d;
    if (best) std::fprintf(stderr, "%.*s: unknown flag; did you mean %s?\n", static_cast<int>(typed.size()), typed.data(), best->c_str());
  }
}

}  // namespace

std::variant<CliOptions, int> parse_command_line(int argc, char** argv) {
  CliOptions options;
  bool skip_checksums = false;
  std::string png_level(kDefaultPngLevel);
  std::string format = "png", compression = "auto", join = "none";
  int quality = 0;
  bool lossless = false;
  CLI::App app{
      "imgflow: apply point adjustments (exactly as the Go library bild does) to images and write "
      "PNGs (or TIFFs: --format) to OUTPUT_DIR, in parallel through a oneTBB flow graph. Each INPUT is an image file or "
      "a directory of images (PNG, JPEG, TIFF with every page, JPEG 2000, WebP, GIF, BMP, PNM; the "
      "format is read from the content); OUTPUT_DIR is created if missing and mirrors each "
      "directory's tree.",
      "imgflow"};
  app.set_version_flag("--version", version_text("imgflow"));
  app.formatter(std::make_shared<Formatter>());
  app.get_formatter()->column_width(34);

  std::vector<std::string> paths;
  app.add_option("PATHS", paths,
                 "INPUT... OUTPUT_DIR: image files and directories, then the output directory (with "
                 "--files-from: at most one INPUT_DIR the list's paths are relative to)")
      ->type_name("");

  const auto adjustment_flags = add_adjustment_flags(app);
  const auto document_flags = add_document_flags(app);
  double assume_dpi = 0;
  app.add_option("--assume-dpi", assume_dpi,
                 "With --dpi: the resolution of pages that carry none (default: such pages fail)")
      ->type_name("N")
      ->check(CLI::Range(1.0, 100000.0).description(""))
      ->group(kOperationsGroup);

  app.add_flag("-r,--recursive", options.recursive, "Walk subdirectories and mirror the tree under OUTPUT_DIR");
  app.add_flag("-L,--follow-symlinks", options.follow_symlinks,
               "Follow symbolic links to directories (default: not followed, like find -P; links "
               "to files are always read through). Each directory is listed once: a loop is "
               "reported and skipped");
  app.add_flag("--skip-existing", options.pipeline.skip_existing,
               "Leave finished outputs alone: complete, valid PNGs written by imgflow with the same "
               "adjustments from the same input (size, modification time and content hash recorded "
               "in the output; clocks are not compared). A file imgflow did not write is left "
               "alone too, and counted (default: overwrite everything). Resumes an interrupted run");
  app.add_flag("--overwrite-foreign", options.pipeline.overwrite_foreign,
               "With --skip-existing, replace files in OUTPUT_DIR that imgflow did not write");
  app.add_flag("--fail-fast", options.pipeline.fail_fast,
               "Stop at the first image that fails (default: report it and go on)");
  app.add_option("--failures", options.failures_file,
                 "Write the failed inputs to FILE, one line each: PATH<TAB>STAGE<TAB>REASON, and "
                 "<TAB>page=N for a page of a file of several pages (tabs, newlines and "
                 "backslashes escaped as \\t \\n \\\\)")
      ->type_name("FILE");
  app.add_option("--files-from", options.files_from,
                 "Process the inputs listed in FILE ('-': standard input; a pipe or FIFO, such as "
                 "<(find ...), works too): first tab-separated "
                 "column, e.g. a --failures file, whose page=N fields select pages; paths inside "
                 "INPUT_DIR or relative to it (to the current directory without INPUT_DIR); # "
                 "starts a comment")
      ->type_name("FILE");
  app.add_flag("-0,--null", options.null_separated,
               "The --files-from list is separated by NUL bytes, paths taken as they are (find -print0)");
  app.add_flag("--strip", options.pipeline.strip_metadata,
               "Drop colour-space and resolution chunks (iCCP sRGB gAMA cHRM cICP pHYs sBIT); by "
               "default they are kept: copied from PNG inputs, made from other formats' resolution "
               "and ICC profile");
  std::string pages = "all";
  app.add_option("--pages", pages,
                 "Which pages of a file of several pages (multi-page TIFF) to write: all, first, or "
                 "a list such as 1,3-5,9- . Page N of a file of several pages is written as "
                 "NAME-pNNNN.png; a file of one page as NAME.png")
      ->default_val(pages)
      ->check([](const std::string& text) {
        return PageSelection::parse(text) ? std::string{} : "expected all, first or a list such as 1,3-5,9-";
      });
  app.add_flag("-n,--dry-run", options.dry_run, "List what would be written, write nothing");
  app.add_flag("--watch", options.watch,
               "Keep running: process what is in the INPUT folders without a finished output (as "
               "--skip-existing), then every image that arrives, once its writer has closed it or "
               "renamed it into place (inotify; new subfolders too with -r), until SIGTERM or "
               "SIGINT (exit 0 once the images in flight are done). SIGHUP reopens --log. A file "
               "that fails is reported once and tried again only when it changes");
  app.add_option("--rescan-interval", options.rescan_interval,
                 "With --watch: also list the INPUT folders every S seconds (default: only where "
                 "inotify cannot see every change, such as NFS, SMB and FUSE, or runs out of "
                 "watches; then every 10 s)")
      ->type_name("S")
      ->check(whole_number(1));
  app.add_option("--move-input", options.move_input_dir,
                 "Move each input into DIR (same path below it) once its outputs are synced and in "
                 "place; never replaces a file in DIR (an input whose move fails stays, with a "
                 "warning). DIR must be on the inputs' filesystem")
      ->type_name("DIR");
  app.add_option("--log", options.log_file,
                 "Append messages to FILE, each with its time, instead of standard error; reopened "
                 "on SIGHUP under --watch (logrotate)")
      ->type_name("FILE");
  app.add_option("-j,--threads", options.pipeline.threads, "Compute threads for the whole process, 0 = all cores (files are read and written by a few I/O threads besides)")
      ->default_val(0)
      ->check(whole_number(0));
  app.add_option("--max-in-flight", options.pipeline.max_in_flight,
                 "Images decoded at once (and files read), 0 = 2 x threads; up to 4 times as many "
                 "encoded outputs may wait for the writer")
      ->default_val(0)
      ->check(whole_number(0));
  app.add_option("--max-pixels", options.pipeline.decode.max_pixels,
                 "Refuse images with more pixels than this")
      ->default_val(options.pipeline.decode.max_pixels)
      ->check(whole_number(1));
  auto* skip_checksums_flag =
      app.add_flag("--skip-checksums", skip_checksums,
                   "Do not verify PNG chunk CRCs and zlib Adler-32 (faster; damage can go unnoticed)");
  app.add_flag("--strict", options.pipeline.decode.strict,
               "Also reject what cannot change the pixels: a PNG with any checksum error or without "
               "its IEND chunk, and every decoder warning (default: only damage that affects the "
               "pixels rejects a file; a damaged ancillary chunk is dropped)")
      ->excludes(skip_checksums_flag);
  bool no_sync = false;
  app.add_flag("--no-sync", no_sync,
               "Do not sync outputs to the device before renaming them into place (faster; after a power loss "
               "an output may be empty, though never after a crash of imgflow)");
  std::string level_help = "PNG compression preset:";
  std::vector<std::string> level_names;
  for (const PngLevel& level : png_levels()) {
    level_help += "\n  " + std::string(level.name) + ": " + std::string(level.description);
    level_names.emplace_back(level.name);
  }
  app.add_option("--png-level", png_level, level_help)
      ->default_val(png_level)
      ->check(CLI::IsMember(level_names));
  std::vector<std::string> format_keys;
  for (const Format& written : formats())
    if (written.encode) format_keys.emplace_back(written.key);
  app.add_option("--format", format,
                 "Output format: png (default); tiff (1-bit pages as CCITT G4, the rest Deflate with "
                 "the predictor); jpeg (quality 90; 16-bit samples cut to 8, alpha flattened onto "
                 "white, each with a warning); webp (lossy at quality 90, or --lossless; alpha kept); "
                 "jp2 (JPEG 2000, lossless unless given --quality); pdf (a page per image at its "
                 "true size: G4 for 1-bit pages, lossless Flate otherwise, JPEG with --quality). "
                 "Resolution, ICC profile and the resume stamp are carried in each")
      ->default_val(format)
      ->check(CLI::IsMember(format_keys));
  app.add_option("--join", join,
                 "Put pages together into documents (--format tiff or pdf): `--join` alone puts each "
                 "input's pages into one file (a multi-page TIFF in, one TIFF or PDF out); `--join "
                 "folders` makes FOLDER.EXT of each folder's images in natural order. A document is "
                 "written only whole: one failed page fails it (the others are still written)")
      ->check(CLI::IsMember({"documents", "folders"}))
      ->type_name("[folders]");
  app.add_flag("--lossless", lossless, "WebP and JPEG 2000: lossless (every sample exact)");
  app.add_option("--compression", compression,
                 "TIFF compression: auto (CCITT G4 for 1-bit pages, Deflate with the horizontal "
                 "predictor otherwise), g4 (1-bit pages only), deflate, lzw, jpeg (8-bit gray or "
                 "RGB without alpha only; --quality) or none; a page the compression cannot hold "
                 "fails with the reason")
      ->default_val(compression)
      ->check(CLI::IsMember({"auto", "g4", "deflate", "lzw", "jpeg", "none"}));
  app.add_option("--quality", quality,
                 "Quality of the lossy encoders, 1-100 (default 90): JPEG, lossy WebP, JPEG pages in "
                 "a PDF, TIFF's --compression jpeg; for jp2 the target PSNR in dB (as libvips's Q)")
      ->check(CLI::Range(1, 100));
  app.add_option("--report", options.report_file,
                 "Write a run report to FILE (JSON): settings, machine, counts, time, memory, and "
                 "per stage busy time, mean/median/p95/max per image and waiting time")
      ->type_name("FILE");
  app.add_option("--trace", options.trace_file,
                 "Write a timeline to FILE (Chrome trace-event JSON, for Perfetto or "
                 "chrome://tracing): a track per worker thread, a span per image and stage")
      ->type_name("FILE");
  std::string shard_spec;
  app.add_option("--shard", shard_spec,
                 "Process only shard I of N: the files whose position in the sorted listing is I mod N (with --join, the documents whose index is). "
                 "'auto' takes I and N from a Slurm job array (SLURM_ARRAY_TASK_ID/MIN/STEP/COUNT); "
                 "'auto/N' also from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)")
      ->type_name("I/N|auto|auto/N")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later --shard overrides a script's
  bool no_progress = false;
  app.add_flag("--no-progress", no_progress,
               "No progress (on a terminal a live line; elsewhere, such as a Slurm log, a plain line "
               "every --progress-interval seconds; never with -q)");
  app.add_option("--progress-interval", options.progress_interval,
                 "Seconds between progress lines when stderr is not a terminal, 0 = none")
      ->default_val(options.progress_interval)
      ->check(whole_number(0));
  std::string color = "auto";
  app.add_option("--color", color,
                 "Colour in messages: auto (when stderr is a terminal and NO_COLOR is not set), always, never")
      ->default_val(color)
      ->check(CLI::IsMember({"auto", "always", "never"}));
  const DocumentationFlags documentation(app);
  bool quiet_flag = false, verbose_flag = false;
  auto* quiet = app.add_flag("-q,--quiet", quiet_flag, "Print errors only");
  auto* verbose = app.add_flag("-v,--verbose", verbose_flag, "Print a line per image");
  quiet->excludes(verbose);

  app.footer(kExitStatusText);

  // --join takes a value only when the next word is one of its values (`--join in/ out/` joins).
  std::vector<std::string> words(argv, argv + argc);
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (words[i] == "--") break;
    if (words[i] != "--join") continue;
    if (i + 1 < words.size() && (words[i + 1] == "documents" || words[i + 1] == "folders")) {
      words[i] += "=" + words[i + 1];
      words.erase(words.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    } else {
      words[i] += "=documents";
    }
  }
  std::vector<char*> word_pointers;
  for (std::string& word : words) word_pointers.push_back(word.data());
  try {
    app.parse(static_cast<int>(word_pointers.size()), word_pointers.data());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the error with a usage hint
    if (dynamic_cast<const CLI::ExtrasError*>(&e)) suggest_flags(app, argc, argv);
    return code == 0 ? 0 : 2;
  }
  if (documentation.print(app, kManPageExtra)) return 0;
  const auto usage_error = [](const std::string& message) {
    std::fprintf(stderr, "error: %s\nRun with --help for more information.\n", message.c_str());
    return 2;
  };
  if (options.files_from.empty()) {
    if (paths.size() < 2) return usage_error("expected INPUT... OUTPUT_DIR (at least one input, then the output directory)");
  } else if (paths.empty() || paths.size() > 2) {
    return usage_error("with --files-from, give OUTPUT_DIR, after at most one INPUT_DIR");
  }
  if (options.null_separated && options.files_from.empty()) return usage_error("--null applies to a --files-from list");
  options.output_dir = paths.back();
  paths.pop_back();
  options.inputs.assign(paths.begin(), paths.end());
  options.color = color == "always" ? ColorMode::always : color == "never" ? ColorMode::never : ColorMode::automatic;

  if (const std::string problem = recipe_in_command_line_order(app, adjustment_flags, document_flags, assume_dpi,
                                                               options.recipe);
      !problem.empty())
    return usage_error(problem);
  options.pipeline.pages = *PageSelection::parse(pages);
  options.pages_text = pages;
  options.pipeline.decode.verify_checksums = !skip_checksums;
  options.pipeline.sync = !no_sync;
  options.pipeline.encode.png = find_png_level(png_level)->settings;
  options.pipeline.output_format = output_format(format);
  if (format != "tiff" && app.count("--compression")) return usage_error("--compression applies to --format tiff");
  const bool quality_given = app.count("--quality") > 0;
  if (quality_given && !(format == "jpeg" || format == "webp" || format == "jp2" || format == "pdf" ||
                         (format == "tiff" && compression == "jpeg")))
    return usage_error("--quality applies to --format jpeg, webp, jp2 or pdf, or to tiff with --compression jpeg");
  if (lossless && format != "webp" && format != "jp2")
    return usage_error("--lossless applies to --format webp and jp2 (" + format + " is " +
                       (format == "jpeg" ? "always lossy" : "lossless already") + ")");
  if (lossless && quality_given) return usage_error("--lossless and --quality cannot go together");
  const std::map<std::string, TiffCompression> compressions{
      {"auto", TiffCompression::automatic}, {"g4", TiffCompression::g4}, {"deflate", TiffCompression::deflate},
      {"lzw", TiffCompression::lzw},        {"jpeg", TiffCompression::jpeg}, {"none", TiffCompression::none}};
  options.pipeline.encode.tiff = {compressions.at(compression), quality_given ? quality : kDefaultQuality};
  options.pipeline.encode.quality = quality_given ? quality : 0;
  options.pipeline.encode.lossless = lossless;
  options.join = parse_join(join);
  if (options.join && !options.pipeline.output_format->open_document)
    return usage_error("--join writes documents of many pages: --format tiff or pdf (" +
                       std::string(options.pipeline.output_format->name) + " holds one page)");
  options.png_level = png_level;
  options.progress = !no_progress;
  options.command_line.assign(argv, argv + argc);
  if (!shard_spec.empty()) {
    auto shard = parse_shard(shard_spec, [](const char* name) { return std::getenv(name); });
    if (const std::string* problem = std::get_if<std::string>(&shard)) {
      std::fprintf(stderr, "error: %s\n", problem->c_str());
      return 2;
    }
    options.shard = std::get<Shard>(shard);
  }
  if (options.watch) {
    for (const char* other : {"--join", "--trace", "--files-from", "--shard", "--dry-run"})
      if (app.count(other))
        return usage_error(std::string("--watch runs until stopped: ") + other +
                           " applies to a run over a fixed set of files");
    options.pipeline.skip_existing = true;
    options.pipeline.missing_input_skipped = true;
  } else if (app.count("--rescan-interval")) {
    return usage_error("--rescan-interval applies to --watch");
  }
  if (!options.move_input_dir.empty() && options.join)
    return usage_error("--move-input moves an input once its own outputs are in place: not with --join");
  options.pipeline.move_inputs = !options.move_input_dir.empty();
  if (assume_dpi > 0 && options.recipe.text().find("dpi=") == std::string::npos)
    return usage_error("--assume-dpi applies to --dpi");
  if (options.recipe.operations.empty()) options.recipe = Recipe::of(default_chain());
  if (quiet_flag) options.verbosity = Verbosity::quiet;
  if (verbose_flag) options.verbosity = Verbosity::verbose;
  return options;
}

}  // namespace imgflow
