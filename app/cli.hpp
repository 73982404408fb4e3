#pragma once
#include <filesystem>
#include <string>
#include <vector>
#include <variant>

#include "kernels/adjustment.hpp"
#include "pipeline/config.hpp"
#include "pipeline/shard.hpp"

namespace imgflow {

enum class Verbosity { quiet, normal, verbose };

/// Everything the command line decides.
struct CliOptions {
  std::filesystem::path input_dir;
  std::filesystem::path output_dir;
  AdjustmentChain chain;  ///< in command-line order; the default chain when none was given
  bool recursive = false;
  bool dry_run = false;
  std::filesystem::path failures_file;  ///< --failures: where to list failed inputs ("" = nowhere)
  std::filesystem::path files_from;     ///< --files-from: process these inputs instead of listing INPUT_DIR
  std::filesystem::path report_file;    ///< --report: the run report (JSON)
  std::filesystem::path trace_file;     ///< --trace: the timeline (Chrome trace-event JSON)
  Shard shard;                          ///< --shard: which part of the listing this task takes
  bool progress = true;                 ///< the live line on a terminal (off with --no-progress)
  std::string png_level;                ///< the preset's name, for the report
  std::string pages_text = "all";       ///< --pages as given, for the report
  std::vector<std::string> command_line;
  Verbosity verbosity = Verbosity::normal;
  PipelineConfig pipeline;
};

/// Parses argv. Returns the options, or the exit code to leave with at once: 0 after --help
/// or --version, 2 after a usage error (already printed).
std::variant<CliOptions, int> parse_command_line(int argc, char** argv);

}  // namespace imgflow
