#pragma once
// The batch run behind imgflow::run() and the command, and the pieces of it the command's
// --watch shares (the output folder's preparation, the run files, each job's lines).
#include <filesystem>
#include <string>
#include <string_view>

#include "api/messages.hpp"
#include "api/run_spec.hpp"
#include "imgflow/imgflow.hpp"
#include "pipeline/job.hpp"

namespace imgflow {

inline constexpr int kExitOk = 0, kExitSomeFailed = 1, kExitCannotRun = 2;

/// Runs a batch (include/imgflow/imgflow.hpp, run()). Throws Error when it cannot start.
RunResult run_batch(const RunSpec& spec, const Callbacks& callbacks, const Stop* stop);

/// Refuses a run whose output directory is one of its input directories: its outputs would be
/// listed as inputs by the next run (and a PNG's output would be the PNG itself). Empty: fine.
std::string check_not_in_place(const RunSpec& spec);
/// Makes OUTPUT_DIR (and the move_input folder) ready: proved writable, the temporaries of a
/// killed run removed (a line says how many). Returns what is wrong, or empty.
std::string prepare_output(const RunSpec& spec, const Messages& out);
/// Writes a report, list or trace file whole (write_output_file); false, after its error line,
/// when it cannot.
bool write_run_file(const std::filesystem::path& file, std::string_view what, const std::string& text, bool sync,
                    const Messages& out);
/// The lines a finished job gives: its failure and warnings (what a user must see without -v),
/// and at Level::debug what it did.
void job_lines(const Job& job, const Messages& out);

}  // namespace imgflow
