#pragma once
#include <filesystem>
#include <string>
#include <variant>

#include "api/run_spec.hpp"
#include "imgflow/imgflow.hpp"

namespace imgflow {

enum class Verbosity { quiet, normal, verbose };
enum class ColorMode { automatic, always, never };

/// Everything the command line decides: the library's settings (include/imgflow/imgflow.hpp),
/// resolved as the library resolves them (the RunSpec this extends), and what only the command
/// has: messages, progress, the hot folder.
struct CliOptions : RunSpec {
  Settings settings;                    ///< as given, for imgflow::run()
  bool progress = true;                 ///< the progress line (off with --no-progress)
  int progress_interval = 10;           ///< seconds between progress lines off a terminal
  ColorMode color = ColorMode::automatic;
  Verbosity verbosity = Verbosity::normal;
  bool watch = false;                   ///< --watch: process files as they arrive, until stopped
  int rescan_interval = 0;              ///< --rescan-interval: seconds (0: only where inotify cannot serve)
  std::filesystem::path log_file;       ///< --log: messages to this file (reopened on SIGHUP) instead of stderr
};

/// Parses argv. Returns the options, or the exit code to leave with at once: 0 after --help,
/// --version or a generated man page or completion script, 2 after a usage error (already
/// printed).
std::variant<CliOptions, int> parse_command_line(int argc, char** argv);

}  // namespace imgflow
