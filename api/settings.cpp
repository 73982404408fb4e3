// The declarations of run()'s settings and of the operations (the command's --help and the
// Python module's docstrings and stubs are made from them), and their resolution into a RunSpec.
#include <charconv>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "api/run_spec.hpp"
#include "api/shard_spec.hpp"
#include "codec/encode.hpp"
#include "codec/formats.hpp"
#include "kernels/adjustment.hpp"

namespace imgflow {
namespace {

// In the order of Settings' fields (include/imgflow/imgflow.hpp). The Python module takes each as
// a keyword (tests/python: every one accepted and type-checked).
constexpr Declaration kSettings[] = {
    {"inputs", "INPUT", "paths", "Image files and directories of images (PNG, JPEG, TIFF with every page, JPEG 2000, WebP, GIF, BMP, PNM; the format is read from the content)"},
    {"output_dir", "OUTPUT_DIR", "path", "Where outputs go, created if missing; mirrors each directory's tree"},
    {"operations", "", "steps", "Adjustments and document operations, applied in order; default: brightness 0.25 then contrast 0.25, the bild tutorial's chain"},
    {"assume_dpi", "--assume-dpi", "float", "With --dpi: the resolution of pages that carry none (default: such pages fail)"},
    {"recursive", "--recursive", "bool", "Walk subdirectories and mirror the tree under OUTPUT_DIR"},
    {"follow_symlinks", "--follow-symlinks", "bool",
     "Follow symbolic links to directories (default: not followed, like find -P; links to files are always read "
     "through). Each directory is listed once: a loop is reported and skipped"},
    {"skip_existing", "--skip-existing", "bool",
     "Leave finished outputs alone: complete, valid PNGs written by imgflow with the same adjustments from the same "
     "input (size, modification time and content hash recorded in the output; clocks are not compared). A file "
     "imgflow did not write is left alone too, and counted (default: overwrite everything). Resumes an interrupted run"},
    {"overwrite_foreign", "--overwrite-foreign", "bool", "With --skip-existing, replace files in OUTPUT_DIR that imgflow did not write"},
    {"fail_fast", "--fail-fast", "bool", "Stop at the first image that fails (default: report it and go on)"},
    {"failures_file", "--failures", "path",
     "Write the failed inputs to FILE, one line each: PATH<TAB>STAGE<TAB>REASON, and <TAB>page=N for a page of a file "
     "of several pages (tabs, newlines and backslashes escaped as \\t \\n \\\\)"},
    {"files_from", "--files-from", "path",
     "Process the inputs listed in FILE ('-': standard input; a pipe or FIFO, such as <(find ...), works too): first "
     "tab-separated column, e.g. a --failures file, whose page=N fields select pages; paths inside INPUT_DIR or "
     "relative to it (to the current directory without INPUT_DIR); # starts a comment"},
    {"null_separated", "--null", "bool", "The --files-from list is separated by NUL bytes, paths taken as they are (find -print0)"},
    {"strip", "--strip", "bool",
     "Drop colour-space and resolution chunks (iCCP sRGB gAMA cHRM cICP pHYs sBIT); by default they are kept: copied "
     "from PNG inputs, made from other formats' resolution and ICC profile"},
    {"pages", "--pages", "str",
     "Which pages of a file of several pages (multi-page TIFF) to write: all, first, or a list such as 1,3-5,9- . "
     "Page N of a file of several pages is written as NAME-pNNNN.png; a file of one page as NAME.png"},
    {"move_input", "--move-input", "path",
     "Move each input into DIR (same path below it) once its outputs are synced and in place; never replaces a file "
     "in DIR (an input whose move fails stays, with a warning). DIR must be on the inputs' filesystem"},
    {"threads", "--threads", "int",
     "Compute threads for the whole process, 0 = all cores (files are read and written by a few I/O threads besides)"},
    {"max_in_flight", "--max-in-flight", "int",
     "Images decoded at once (and files read), 0 = 2 x threads; up to 4 times as many encoded outputs may wait for "
     "the writer"},
    {"max_pixels", "--max-pixels", "int", "Refuse images with more pixels than this"},
    {"skip_checksums", "--skip-checksums", "bool",
     "Do not verify PNG chunk CRCs and zlib Adler-32 (faster; damage can go unnoticed)"},
    {"strict", "--strict", "bool",
     "Also reject what cannot change the pixels: a PNG with any checksum error or without its IEND chunk, and every "
     "decoder warning (default: only damage that affects the pixels rejects a file; a damaged ancillary chunk is "
     "dropped)"},
    {"no_sync", "--no-sync", "bool",
     "Do not sync outputs to the device before renaming them into place (faster; after a power loss an output may be "
     "empty, though never after a crash of imgflow)"},
    {"png_level", "--png-level", "str", "PNG compression preset:"},  // the presets are listed after it
    {"format", "--format", "str",
     "Output format: png (default); tiff (1-bit pages as CCITT G4, the rest Deflate with the predictor); jpeg "
     "(quality 90; 16-bit samples cut to 8, alpha flattened onto white, each with a warning); webp (lossy at quality "
     "90, or --lossless; alpha kept); jp2 (JPEG 2000, lossless unless given --quality); pdf (a page per image at its "
     "true size: G4 for 1-bit pages, lossless Flate otherwise, JPEG with --quality). Resolution, ICC profile and the "
     "resume stamp are carried in each"},
    {"join", "--join", "str",
     "Put pages together into documents (--format tiff or pdf): `--join` alone puts each input's pages into one file "
     "(a multi-page TIFF in, one TIFF or PDF out); `--join folders` makes FOLDER.EXT of each folder's images in "
     "natural order. A document is written only whole: one failed page fails it (the others are still written)"},
    {"lossless", "--lossless", "bool", "WebP and JPEG 2000: lossless (every sample exact)"},
    {"compression", "--compression", "str",
     "TIFF compression: auto (CCITT G4 for 1-bit pages, Deflate with the horizontal predictor otherwise), g4 (1-bit "
     "pages only), deflate, lzw, jpeg (8-bit gray or RGB without alpha only; --quality) or none; a page the "
     "compression cannot hold fails with the reason"},
    {"quality", "--quality", "int",
     "Quality of the lossy encoders, 1-100 (default 90): JPEG, lossy WebP, JPEG pages in a PDF, TIFF's --compression "
     "jpeg; for jp2 the target PSNR in dB (as libvips's Q)"},
    {"report_file", "--report", "path",
     "Write a run report to FILE (JSON): settings, machine, counts, time, memory, and per stage busy time, "
     "mean/median/p95/max per image and waiting time"},
    {"trace_file", "--trace", "path",
     "Write a timeline to FILE (Chrome trace-event JSON, for Perfetto or chrome://tracing): a track per worker "
     "thread, a span per image and stage"},
    {"shard", "--shard", "str",
     "Process only shard I of N: the files whose position in the sorted listing is I mod N (with --join, the "
     "documents whose index is). 'auto' takes I and N from a Slurm job array "
     "(SLURM_ARRAY_TASK_ID/MIN/STEP/COUNT); 'auto/N' also from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)"},
    {"dry_run", "--dry-run", "bool", "List what would be written, write nothing"},
};

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<Operation> parse_deskew(std::string_view text, std::string& problem) {
  Operation op;
  op.kind = Operation::Kind::deskew;
  if (text.empty()) return op;
  const auto value = parse_number(text);
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
  const auto value = parse_number(text);
  if (!value || !(*value >= 1 && *value <= 100000)) {
    problem = "--dpi: expected a resolution from 1 to 100000, got '" + std::string(text) + "'";
    return std::nullopt;
  }
  op.dpi = *value;
  return op;
}

using Value = DocumentOperation::Value;
constexpr DocumentOperation kDocumentOperations[] = {
    {{"grayscale", "--grayscale", "",
      "Gray output, exactly bild's effect.Grayscale: 0.3 R + 0.6 G + 0.1 B + 0.5, truncated (alpha kept); written as "
      "a gray PNG"},
     "", Value::none,
     [](std::string_view, std::string&) -> std::optional<Operation> {
       Operation op;
       op.kind = Operation::Kind::grayscale;
       return op;
     }},
    {{"normalize", "--normalize", "str",
      "Stretch each page's levels: the LOW and HIGH percentiles of its histogram become black and white (default "
      "0.5,99.5); composed with the adjustments beside it into one table"},
     "[=LOW,HIGH]", Value::optional, parse_normalize},
    {{"threshold", "--threshold", "str",
      "1-bit output. LEVEL 0-256: exactly bild's segment.Threshold (white where the rank 0.3 R + 0.6 G + 0.1 B, "
      "truncated, is >= LEVEL; a fully transparent pixel is white); otsu: the level by Otsu's method per page (as "
      "OpenCV's THRESH_OTSU); sauvola: Sauvola's local threshold over a W x W window (odd, default 31) with K "
      "(default 0.2)"},
     "LEVEL|otsu|sauvola[:W[,K]]", Value::required, parse_threshold},
    {{"deskew", "--deskew", "float",
      "Straighten each page: find its skew up to MAX degrees (default 5) by projection profiles and turn it back; a "
      "page with no reliable angle, or straight, is left as it is (-v and the report give the angle)"},
     "[=MAX]", Value::optional, parse_deskew},
    {{"dpi", "--dpi", "float",
      "Resample each page to N dots per inch from the resolution it carries (area averaging), and record N; a page "
      "without one fails unless --assume-dpi is given"},
     "N", Value::required, parse_dpi},
};

[[noreturn]] void refuse(const std::string& problem) { throw Error("settings", "", problem); }

}  // namespace

std::span<const Declaration> setting_declarations() { return kSettings; }

const Declaration& setting_declaration(std::string_view name) {
  for (const Declaration& declaration : kSettings)
    if (declaration.name == name) return declaration;
  std::abort();  // a name the code spelt wrong: a defect, caught by any test that runs it
}

std::span<const DocumentOperation> document_operations() { return kDocumentOperations; }

std::span<const Declaration> operation_declarations() {
  // Adjustments' help with their range, made once (the texts must outlive every caller).
  static const auto table = [] {
    struct Table {
      std::vector<std::unique_ptr<std::string>> texts;
      std::vector<Declaration> declarations;
    } made;
    for (const AdjustmentSpec& spec : adjustment_specs()) {
      made.texts.push_back(std::make_unique<std::string>("--" + std::string(spec.name)));
      const std::string_view flag = *made.texts.back();
      made.texts.push_back(std::make_unique<std::string>(
          spec.takes_value ? std::string(spec.help) + "; F " + std::string(spec.range_text) : std::string(spec.help)));
      made.declarations.push_back({spec.name, flag, spec.takes_value ? "float" : "", *made.texts.back()});
    }
    for (const DocumentOperation& op : kDocumentOperations) made.declarations.push_back(op.declaration);
    return made;
  }();
  return table.declarations;
}

Recipe recipe_of(std::span<const Step> steps, double assume_dpi) {
  Recipe recipe;
  for (const Step& step : steps) {
    if (const AdjustmentSpec* spec = find_adjustment(step.name)) {
      double param = 0;
      if (spec->takes_value) {
        std::string problem;
        const auto value = adjustment_value(*spec, step.value, &problem);
        if (!value) refuse("--" + step.name + ": " + problem);
        param = *value;
      } else if (!step.value.empty()) {
        refuse("--" + step.name + " takes no value, got '" + step.value + "'");
      }
      recipe.add(Adjustment{spec, param});
      continue;
    }
    const DocumentOperation* found = nullptr;
    for (const DocumentOperation& op : kDocumentOperations)
      if (op.declaration.name == step.name) found = &op;
    if (!found) refuse("no operation is called '" + step.name + "'");
    if (found->value == Value::none && !step.value.empty())
      refuse("--" + step.name + " takes no value, got '" + step.value + "'");
    if (found->value == Value::required && step.value.empty()) refuse("--" + step.name + " needs a value");
    std::string problem;
    std::optional<Operation> op = found->parse(step.value, problem);
    if (!op) refuse(problem.empty() ? "--" + step.name + ": bad value '" + step.value + "'" : problem);
    op->assume_dpi = assume_dpi;
    recipe.add(std::move(*op));
  }
  return recipe;
}

RunSpec resolve(const Settings& settings) {
  RunSpec spec;
  spec.inputs = settings.inputs;
  spec.output_dir = settings.output_dir;
  if (spec.output_dir.empty()) refuse("no output folder given");
  if (spec.inputs.empty() && settings.files_from.empty()) refuse("no input given");
  spec.recipe = recipe_of(settings.operations, settings.assume_dpi);
  if (settings.assume_dpi < 0 || settings.assume_dpi > 100000)
    refuse("--assume-dpi: expected a resolution from 1 to 100000");
  if (settings.assume_dpi > 0 && spec.recipe.text().find("dpi=") == std::string::npos)
    refuse("--assume-dpi applies to --dpi");
  if (spec.recipe.operations.empty()) spec.recipe = Recipe::of(default_chain());
  spec.recursive = settings.recursive;
  spec.follow_symlinks = settings.follow_symlinks;
  spec.null_separated = settings.null_separated;
  if (spec.null_separated && settings.files_from.empty()) refuse("--null applies to a --files-from list");
  spec.dry_run = settings.dry_run;
  spec.failures_file = settings.failures_file;
  spec.files_from = settings.files_from;
  spec.report_file = settings.report_file;
  spec.trace_file = settings.trace_file;
  spec.command_line = settings.command_line;
  spec.move_input_dir = settings.move_input;

  PipelineConfig& config = spec.pipeline;
  config.threads = settings.threads;
  if (settings.threads < 0) refuse("--threads: must be 0 or more");
  config.max_in_flight = settings.max_in_flight;
  config.skip_existing = settings.skip_existing;
  config.overwrite_foreign = settings.overwrite_foreign;
  config.strip_metadata = settings.strip;
  config.fail_fast = settings.fail_fast;
  config.sync = !settings.no_sync;
  if (settings.max_pixels < 1) refuse("--max-pixels: must be 1 or more");
  config.decode.max_pixels = settings.max_pixels;
  config.decode.verify_checksums = !settings.skip_checksums;
  config.decode.strict = settings.strict;
  if (settings.strict && settings.skip_checksums) refuse("--strict and --skip-checksums cannot go together");
  const auto pages = PageSelection::parse(settings.pages);
  if (!pages) refuse("--pages: expected all, first or a list such as 1,3-5,9-, got '" + settings.pages + "'");
  config.pages = *pages;
  spec.pages_text = settings.pages;

  const PngLevel* level = find_png_level(settings.png_level);
  if (!level) refuse("--png-level: no preset is called '" + settings.png_level + "'");
  config.encode.png = level->settings;
  spec.png_level = settings.png_level;
  const std::string& format = settings.format;
  config.output_format = output_format(format);
  if (!config.output_format) refuse("--format: expected png, tiff, jpeg, webp, jp2 or pdf, got '" + format + "'");
  const std::map<std::string, TiffCompression> compressions{
      {"auto", TiffCompression::automatic}, {"g4", TiffCompression::g4}, {"deflate", TiffCompression::deflate},
      {"lzw", TiffCompression::lzw},        {"jpeg", TiffCompression::jpeg}, {"none", TiffCompression::none}};
  const auto compression = compressions.find(settings.compression);
  if (compression == compressions.end())
    refuse("--compression: expected auto, g4, deflate, lzw, jpeg or none, got '" + settings.compression + "'");
  if (format != "tiff" && settings.compression != "auto") refuse("--compression applies to --format tiff");
  const bool quality_given = settings.quality != 0;
  if (quality_given && (settings.quality < 1 || settings.quality > 100))
    refuse("--quality: expected 1 to 100, got " + std::to_string(settings.quality));
  if (quality_given && !(format == "jpeg" || format == "webp" || format == "jp2" || format == "pdf" ||
                         (format == "tiff" && settings.compression == "jpeg")))
    refuse("--quality applies to --format jpeg, webp, jp2 or pdf, or to tiff with --compression jpeg");
  if (settings.lossless && format != "webp" && format != "jp2")
    refuse("--lossless applies to --format webp and jp2 (" + format + " is " +
           (format == "jpeg" ? "always lossy" : "lossless already") + ")");
  if (settings.lossless && quality_given) refuse("--lossless and --quality cannot go together");
  config.encode.tiff = {compression->second, quality_given ? settings.quality : kDefaultQuality};
  config.encode.quality = quality_given ? settings.quality : 0;
  config.encode.lossless = settings.lossless;
  if (settings.join != "none" && !parse_join(settings.join))
    refuse("--join: expected documents or folders, got '" + settings.join + "'");
  spec.join = settings.join == "none" ? std::nullopt : parse_join(settings.join);
  if (spec.join && !config.output_format->open_document)
    refuse("--join writes documents of many pages: --format tiff or pdf (" + std::string(config.output_format->name) +
           " holds one page)");
  if (!spec.move_input_dir.empty() && spec.join)
    refuse("--move-input moves an input once its own outputs are in place: not with --join");
  config.move_inputs = !spec.move_input_dir.empty();
  if (!settings.shard.empty()) {
    auto shard = parse_shard(settings.shard, [](const char* name) { return std::getenv(name); });
    if (const std::string* problem = std::get_if<std::string>(&shard)) refuse(*problem);
    spec.shard = std::get<Shard>(shard);
  }
  return spec;
}

}  // namespace imgflow
