#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>
#include <variant>

#include "kernels/adjustment.hpp"
#include "files/document.hpp"
#include "pipeline/config.hpp"
#include "pipeline/recipe.hpp"
#include "files/shard.hpp"

namespace imgflow {

enum class Verbosity { quiet, normal, verbose };
enum class ColorMode { automatic, always, never };

/// Everything the command line decides.
struct CliOptions {
  std::vector<std::filesystem::path> inputs;  ///< INPUT...: files and directories (none with --files-from: ".")
  std::filesystem::path output_dir;
  Recipe recipe;  ///< adjustments and document operations in command-line order; the default chain when none was given
  bool recursive = false;
  bool follow_symlinks = false;  ///< -L: follow symbolic links to directories
  bool null_separated = false;   ///< -0: the --files-from list is NUL-separated
  bool dry_run = false;
  std::filesystem::path failures_file;  ///< --failures: where to list failed inputs ("" = nowhere)
  std::filesystem::path files_from;     ///< --files-from: process these inputs instead of listing ("-": stdin)
  std::filesystem::path report_file;    ///< --report: the run report (JSON)
  std::filesystem::path trace_file;     ///< --trace: the timeline (Chrome trace-event JSON)
  Shard shard;                          ///< --shard: which part of the listing this task takes
  bool progress = true;                 ///< the progress line (off with --no-progress)
  int progress_interval = 10;           ///< seconds between progress lines off a terminal
  ColorMode color = ColorMode::automatic;
  std::string png_level;                ///< the preset's name, for the report
  std::string pages_text = "all";       ///< --pages as given, for the report
  std::vector<std::string> command_line;
  Verbosity verbosity = Verbosity::normal;
  std::optional<JoinKind> join;  ///< --join: what makes a document; none: a file per page
  bool watch = false;                   ///< --watch: process files as they arrive, until stopped
  int rescan_interval = 0;              ///< --rescan-interval: seconds (0: only where inotify cannot serve)
  std::filesystem::path move_input_dir; ///< --move-input: where inputs go once their outputs are in place
  std::filesystem::path log_file;       ///< --log: messages to this file (reopened on SIGHUP) instead of stderr
  PipelineConfig pipeline;
};

/// Parses argv. Returns the options, or the exit code to leave with at once: 0 after --help,
/// --version or a generated man page or completion script, 2 after a usage error (already
/// printed).
std::variant<CliOptions, int> parse_command_line(int argc, char** argv);

}  // namespace imgflow
