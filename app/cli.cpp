#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unistd.h>

#include "app/cli_docs.hpp"
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

constexpr const char* kOperationsGroup =
    "Adjustments and document operations (applied in command-line order, each may repeat; "
    "default: --brightness 0.25 --contrast 0.25, the bild tutorial's chain)";

// An operation's --help text: the library's declaration (for adjustments, the help and the range).
std::string operation_help(std::string_view name) {
  for (const Declaration& declaration : operation_declarations())
    if (declaration.name == name) return std::string(declaration.help);
  return {};
}

// Adds one flag per declared adjustment, with its help and range check generated from the
// declaration. Returns the options so the chain can be read back in command-line order.
std::map<const CLI::Option*, const AdjustmentSpec*> add_adjustment_flags(CLI::App& app) {
  std::map<const CLI::Option*, const AdjustmentSpec*> flags;
  for (const AdjustmentSpec& spec : adjustment_specs()) {
    const std::string name = "--" + std::string(spec.name);
    CLI::Option* option = nullptr;
    if (spec.takes_value) {
      option = app.add_option(name)
                   ->description(operation_help(spec.name))
                   ->type_name("F")
                   ->expected(1)
                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                   ->check(CLI::Validator(
                       [&spec](std::string& text) {
                         std::string problem;
                         adjustment_value(spec, text, &problem);
                         return problem;
                       },
                       "", "range"));
    } else {
      option = app.add_flag(name)->description(operation_help(spec.name));
    }
    option->group(kOperationsGroup);
    flags.emplace(option, &spec);
  }
  return flags;
}

std::map<const CLI::Option*, const DocumentOperation*> add_document_flags(CLI::App& app) {
  std::map<const CLI::Option*, const DocumentOperation*> flags;
  for (const DocumentOperation& op : document_operations()) {
    const std::string name(op.declaration.flag);
    CLI::Option* option = op.value == DocumentOperation::Value::required
                              ? app.add_option(name)->expected(1)->type_name(op.type_name)
                              : app.add_flag(name)->type_name(op.type_name);
    option->description(std::string(op.declaration.help))
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->group(kOperationsGroup);
    flags.emplace(option, &op);
  }
  return flags;
}

// The operations in the order the flags were typed: CLI11 records every occurrence in
// parse_order(), and each option's results() holds its values in order. (The library checks
// the document operations' values: imgflow::resolve.)
std::vector<Step> steps_in_command_line_order(const CLI::App& app,
                                              const std::map<const CLI::Option*, const AdjustmentSpec*>& adjustments,
                                              const std::map<const CLI::Option*, const DocumentOperation*>& documents) {
  std::vector<Step> steps;
  std::map<const CLI::Option*, std::size_t> used;
  for (const CLI::Option* option : app.parse_order()) {
    if (const auto found = adjustments.find(option); found != adjustments.end()) {
      const AdjustmentSpec* spec = found->second;
      steps.push_back({std::string(spec->name), spec->takes_value ? option->results().at(used[option]++) : ""});
      continue;
    }
    const auto found = documents.find(option);
    if (found == documents.end()) continue;
    const DocumentOperation& op = *found->second;
    std::string value = option->results().at(used[option]++);
    if (op.value != DocumentOperation::Value::required && value == "true") value.clear();  // bare flag
    steps.push_back({std::string(op.declaration.name), value});
  }
  return steps;
}

// A setting's --help text: the library's declaration, which the Python module's docs share.
std::string help(std::string_view name) { return std::string(setting_declaration(name).help); }

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
  Settings& settings = options.settings;
  std::string join = "none";
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
  app.add_option("--assume-dpi", settings.assume_dpi, help("assume_dpi"))
      ->type_name("N")
      ->check(CLI::Range(1.0, 100000.0).description(""))
      ->group(kOperationsGroup);

  app.add_flag("-r,--recursive", settings.recursive, help("recursive"));
  app.add_flag("-L,--follow-symlinks", settings.follow_symlinks, help("follow_symlinks"));
  app.add_flag("--skip-existing", settings.skip_existing, help("skip_existing"));
  app.add_flag("--overwrite-foreign", settings.overwrite_foreign, help("overwrite_foreign"));
  app.add_flag("--fail-fast", settings.fail_fast, help("fail_fast"));
  app.add_option("--failures", settings.failures_file, help("failures_file"))->type_name("FILE");
  app.add_option("--files-from", settings.files_from, help("files_from"))->type_name("FILE");
  app.add_flag("-0,--null", settings.null_separated, help("null_separated"));
  app.add_flag("--strip", settings.strip, help("strip"));
  app.add_option("--pages", settings.pages, help("pages"))
      ->default_val(settings.pages)
      ->check([](const std::string& text) {
        return PageSelection::parse(text) ? std::string{} : "expected all, first or a list such as 1,3-5,9-";
      });
  app.add_flag("-n,--dry-run", settings.dry_run, help("dry_run"));
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
  app.add_option("--move-input", settings.move_input, help("move_input"))->type_name("DIR");
  app.add_option("--log", options.log_file,
                 "Append messages to FILE, each with its time, instead of standard error; reopened "
                 "on SIGHUP under --watch (logrotate)")
      ->type_name("FILE");
  app.add_option("-j,--threads", settings.threads, help("threads"))->default_val(0)->check(whole_number(0));
  app.add_option("--max-in-flight", settings.max_in_flight, help("max_in_flight"))
      ->default_val(0)
      ->check(whole_number(0));
  app.add_option("--max-pixels", settings.max_pixels, help("max_pixels"))
      ->default_val(settings.max_pixels)
      ->check(whole_number(1));
  auto* skip_checksums_flag = app.add_flag("--skip-checksums", settings.skip_checksums, help("skip_checksums"));
  app.add_flag("--strict", settings.strict, help("strict"))->excludes(skip_checksums_flag);
  app.add_flag("--no-sync", settings.no_sync, help("no_sync"));
  std::string level_help = help("png_level");
  std::vector<std::string> level_names;
  for (const PngLevel& level : png_levels()) {
    level_help += "\n  " + std::string(level.name) + ": " + std::string(level.description);
    level_names.emplace_back(level.name);
  }
  app.add_option("--png-level", settings.png_level, level_help)
      ->default_val(settings.png_level)
      ->check(CLI::IsMember(level_names));
  std::vector<std::string> format_keys;
  for (const Format& written : formats())
    if (written.encode) format_keys.emplace_back(written.key);
  app.add_option("--format", settings.format, help("format"))
      ->default_val(settings.format)
      ->check(CLI::IsMember(format_keys));
  app.add_option("--join", join, help("join"))
      ->check(CLI::IsMember({"documents", "folders"}))
      ->type_name("[folders]");
  app.add_flag("--lossless", settings.lossless, help("lossless"));
  app.add_option("--compression", settings.compression, help("compression"))
      ->default_val(settings.compression)
      ->check(CLI::IsMember({"auto", "g4", "deflate", "lzw", "jpeg", "none"}));
  app.add_option("--quality", settings.quality, help("quality"))->check(CLI::Range(1, 100));
  app.add_option("--report", settings.report_file, help("report_file"))->type_name("FILE");
  app.add_option("--trace", settings.trace_file, help("trace_file"))->type_name("FILE");
  app.add_option("--shard", settings.shard, help("shard"))
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
  if (settings.files_from.empty()) {
    if (paths.size() < 2) return usage_error("expected INPUT... OUTPUT_DIR (at least one input, then the output directory)");
  } else if (paths.empty() || paths.size() > 2) {
    return usage_error("with --files-from, give OUTPUT_DIR, after at most one INPUT_DIR");
  }
  settings.output_dir = paths.back();
  paths.pop_back();
  settings.inputs.assign(paths.begin(), paths.end());
  settings.join = join;
  settings.operations = steps_in_command_line_order(app, adjustment_flags, document_flags);
  settings.command_line.assign(argv, argv + argc);
  try {
    static_cast<RunSpec&>(options) = resolve(settings);
  } catch (const Error& e) {
    return usage_error(e.reason());
  }
  options.color = color == "always" ? ColorMode::always : color == "never" ? ColorMode::never : ColorMode::automatic;
  options.progress = !no_progress;
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
  if (quiet_flag) options.verbosity = Verbosity::quiet;
  if (verbose_flag) options.verbosity = Verbosity::verbose;
  return options;
}

}  // namespace imgflow
