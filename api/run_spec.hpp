#pragma once
// The library's settings (include/imgflow/imgflow.hpp) resolved into what the pipeline runs
// with, and the declarations the command's --help and the Python module share.
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "imgflow/imgflow.hpp"
#include "files/document.hpp"
#include "files/shard.hpp"
#include "pipeline/config.hpp"
#include "pipeline/recipe.hpp"

namespace imgflow {

/// A batch as the pipeline runs it: Settings checked, parsed and resolved.
struct RunSpec {
  std::vector<std::filesystem::path> inputs;  ///< INPUT...: files and directories (none with files_from: ".")
  std::filesystem::path output_dir;
  Recipe recipe;  ///< operations in order; the default chain when none was given
  bool recursive = false;
  bool follow_symlinks = false;  ///< follow symbolic links to directories
  bool null_separated = false;   ///< the files_from list is NUL-separated
  bool dry_run = false;
  std::filesystem::path failures_file;  ///< where to list failed inputs ("" = nowhere)
  std::filesystem::path files_from;     ///< process these inputs instead of listing ("-": stdin)
  std::filesystem::path report_file;    ///< the run report (JSON)
  std::filesystem::path trace_file;     ///< the timeline (Chrome trace-event JSON)
  Shard shard;                          ///< which part of the listing this task takes
  std::string png_level;                ///< the preset's name, for the report
  std::string pages_text = "all";       ///< pages as given, for the report
  std::vector<std::string> command_line;
  std::optional<JoinKind> join;         ///< what makes a document; none: a file per page
  std::filesystem::path move_input_dir; ///< where inputs go once their outputs are in place
  PipelineConfig pipeline;
};

/// Checks and resolves `settings`; throws Error (stage "settings") naming what is wrong, with
/// the command's flag names (the Python keywords are the same words with underscores).
RunSpec resolve(const Settings& settings);

/// The operations of `steps` in order, adjacent point adjustments composed; `assume_dpi` for
/// dpi steps. Throws Error (stage "settings").
Recipe recipe_of(std::span<const Step> steps, double assume_dpi = 0);

/// Inside a catch block: rethrows the exception being handled as an Error of `stage` about `file`
/// (an Error as it is; any other with current_exception_reason()).
[[noreturn]] void rethrow_as_error(const std::string& stage, const std::string& file = {});

/// A run setting's declaration by its name ("skip_existing"); its help is the --help text.
const Declaration& setting_declaration(std::string_view name);

/// A document operation: its declaration (operation_declarations() lists these after the
/// adjustments), how its value is given on the command line, and its parser.
struct DocumentOperation {
  Declaration declaration;
  const char* type_name;  ///< --help's placeholder: "[=MAX]", "N"
  enum class Value { none, optional, required } value;
  std::optional<Operation> (*parse)(std::string_view text, std::string& problem);
};
std::span<const DocumentOperation> document_operations();

}  // namespace imgflow
