#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace imgflow {
namespace {

std::optional<double> parse_number(const std::string& text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
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
    option->group("Adjustments (applied in command-line order, each may repeat; "
                  "default: --brightness 0.25 --contrast 0.25, the bild tutorial's chain)");
    flags.emplace(option, &spec);
  }
  return flags;
}

// Rebuilds the chain in the order the flags were typed: CLI11 records every occurrence in
// parse_order(), and each option's results() holds its values in order.
AdjustmentChain chain_in_command_line_order(
    const CLI::App& app, const std::map<const CLI::Option*, const AdjustmentSpec*>& flags) {
  AdjustmentChain chain;
  std::map<const CLI::Option*, std::size_t> used;
  for (const CLI::Option* option : app.parse_order()) {
    const auto found = flags.find(option);
    if (found == flags.end()) continue;
    const AdjustmentSpec* spec = found->second;
    double param = 0;
    if (spec->takes_value) param = *parse_number(option->results().at(used[option]++));
    chain.push_back({spec, param});
  }
  return chain;
}

}  // namespace

std::variant<CliOptions, int> parse_command_line(int argc, char** argv) {
  CliOptions options;
  bool skip_checksums = false;
  std::string png_level(kDefaultPngLevel);
  CLI::App app{
      "imgflow: apply point adjustments (exactly as the Go library bild does) to every image in "
      "INPUT_DIR and write PNGs to OUTPUT_DIR, in parallel through a oneTBB flow graph.",
      "imgflow"};
  app.set_version_flag("--version", "imgflow " IMGFLOW_VERSION);
  app.get_formatter()->column_width(34);

  app.add_option("INPUT_DIR", options.input_dir,
                 "Directory of images: PNG, JPEG, TIFF (every page), JPEG 2000, WebP, GIF, BMP, PNM; "
                 "the format is read from the content")
      ->required();
  app.add_option("OUTPUT_DIR", options.output_dir, "Where the PNGs go (created if missing)")->required();

  const auto adjustment_flags = add_adjustment_flags(app);

  app.add_flag("-r,--recursive", options.recursive, "Walk subdirectories and mirror the tree under OUTPUT_DIR");
  app.add_flag("--skip-existing", options.pipeline.skip_existing,
               "Leave finished outputs alone: complete, valid PNGs newer than their input and "
               "written by imgflow with the same adjustments (default: overwrite). Resumes an "
               "interrupted run");
  app.add_flag("--fail-fast", options.pipeline.fail_fast,
               "Stop at the first image that fails (default: report it and go on)");
  app.add_option("--failures", options.failures_file,
                 "Write the failed inputs to FILE, one line each: PATH<TAB>STAGE<TAB>REASON, and "
                 "<TAB>page=N for a page of a file of several pages (tabs, newlines and "
                 "backslashes escaped as \\t \\n \\\\)")
      ->type_name("FILE");
  app.add_option("--files-from", options.files_from,
                 "Process only the inputs listed in FILE (first tab-separated column, e.g. a "
                 "--failures file, whose page=N fields select pages; paths inside INPUT_DIR, or "
                 "relative to it; # starts a comment)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
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
  app.add_option("-j,--threads", options.pipeline.threads, "Worker threads for the whole process, 0 = all cores")
      ->default_val(0)
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-in-flight", options.pipeline.max_in_flight,
                 "Images in memory at once, 0 = 2 x threads")
      ->default_val(0)
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-pixels", options.pipeline.decode.max_pixels,
                 "Refuse images with more pixels than this")
      ->default_val(options.pipeline.decode.max_pixels)
      ->check(CLI::PositiveNumber);
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
               "Do not fsync outputs before renaming them into place (faster; after a power loss "
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
                 "Process only shard I of N: the files whose position in the sorted listing is I mod N. "
                 "'auto' takes I and N from a Slurm job array (SLURM_ARRAY_TASK_ID/MIN/STEP/COUNT); "
                 "'auto/N' also from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)")
      ->type_name("I/N|auto|auto/N")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later --shard overrides a script's
  bool no_progress = false;
  app.add_flag("--no-progress", no_progress,
               "No live progress line (it is shown only when stderr is a terminal, and never with -q)");
  bool quiet_flag = false, verbose_flag = false;
  auto* quiet = app.add_flag("-q,--quiet", quiet_flag, "Print errors only");
  auto* verbose = app.add_flag("-v,--verbose", verbose_flag, "Print a line per image");
  quiet->excludes(verbose);

  app.footer(
      "Exit status: 0 all images written or skipped, 1 some image failed, 2 usage error or the "
      "run could not go on (missing input directory, unwritable output directory, disk full, "
      "read-only filesystem), 130/143 interrupted by SIGINT/SIGTERM (a second one quits at "
      "once). Outputs appear only complete; rerun with --skip-existing to finish the job.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the error with a usage hint
    return code == 0 ? 0 : 2;
  }

  options.chain = chain_in_command_line_order(app, adjustment_flags);
  options.pipeline.pages = *PageSelection::parse(pages);
  options.pages_text = pages;
  options.pipeline.decode.verify_checksums = !skip_checksums;
  options.pipeline.sync = !no_sync;
  options.pipeline.encode = find_png_level(png_level)->settings;
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
  if (options.chain.empty()) options.chain = default_chain();
  if (quiet_flag) options.verbosity = Verbosity::quiet;
  if (verbose_flag) options.verbosity = Verbosity::verbose;
  return options;
}

}  // namespace imgflow
