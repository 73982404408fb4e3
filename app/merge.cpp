// imgflow-merge: combines the reports and failure lists of the shards of one job array into one
// summary, and checks the union of their outputs against a fresh listing of the input: every
// input must have a finished output (complete, newer, same adjustments; as --skip-existing
// judges). Exit 0 when everything is there, 1 when a shard failed or a file is missing, 2 when
// the reports cannot be merged (missing shard, mismatched settings, unreadable file).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "files/file_io.hpp"
#include "app/cli_docs.hpp"
#include "app/versions.hpp"
#include "files/listing.hpp"
#include "codec/formats.hpp"
#include "files/document.hpp"
#include "files/resume.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace imgflow;

namespace {

constexpr int kExitOk = 0, kExitIncomplete = 1, kExitCannotMerge = 2;

std::string text_of(const fs::path& path) {
  try {
    const auto bytes = read_file(path);
    return {bytes.begin(), bytes.end()};
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", path.string(), e.what()));
  }
}

// A shard's report, parsed; a file that is not one says so with its name.
json read_report(const fs::path& path) {
  try {
    json report = json::parse(text_of(path));
    report.at("shard").at("index").get<std::size_t>();
    report.at("settings").at("inputs");
    return report;
  } catch (const json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not an imgflow report: {}", path.string(), e.what()));
  }
}

// The reports named on the command line; a folder stands for the report*.json files in it.
std::vector<fs::path> expand(const std::vector<fs::path>& arguments) {
  std::vector<fs::path> files;
  for (const fs::path& argument : arguments) {
    if (!fs::is_directory(argument)) {
      files.push_back(argument);
      continue;
    }
    for (const auto& entry : fs::directory_iterator(argument)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("report", 0) == 0 && entry.path().extension() == ".json") files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return natural_path_less(a, b); });
  return files;
}

// The same listing every shard made, from the settings they share. Reports record absolute
// paths and the directory the shards ran in, so this works from anywhere.
Listing list_inputs(const json& settings) {
  InputSpec spec;
  for (const auto& input : settings.at("inputs")) spec.inputs.emplace_back(input.get<std::string>());
  spec.files_from = settings.value("files_from", "");
  std::error_code ec;
  if (spec.files_from == "-" || (!spec.files_from.empty() && !fs::is_regular_file(spec.files_from, ec)))
    throw std::runtime_error("the shards read their list from " +
                             (spec.files_from == "-" ? std::string("standard input") : spec.files_from.string() + ", not a regular file") +
                             ", which cannot be read again: give imgflow --files-from a file to merge such runs");
  spec.separator = settings.value("null_separated", false) ? '\0' : '\n';
  spec.walk.recursive = settings.at("recursive").get<bool>();
  spec.walk.follow_symlinks = settings.value("follow_symlinks", false);
  if (!spec.files_from.empty() && spec.inputs.empty()) spec.inputs.emplace_back(settings.value("working_dir", "."));
  return list_run_inputs(spec, settings.at("output_dir").get<std::string>());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> arguments;
  fs::path failures_out, report_out;
  CLI::App app{"imgflow-merge: combine the reports and failure lists of an imgflow job array's shards, and check "
               "that every input has a finished output",
               "imgflow-merge"};
  app.add_option("REPORTS", arguments, "The shards' --report files, or folders holding report*.json");
  app.add_option("--failures", failures_out,
                 "Write every input without a finished output to FILE (PATH<TAB>STAGE<TAB>REASON): the "
                 "shards' failures, and files missing from the union; retry with --files-from FILE")
      ->type_name("FILE");
  app.add_option("--report", report_out, "Write the merged totals to FILE (JSON)")->type_name("FILE");
  app.footer("Exit status: 0 every input has a finished output, 1 some shard failed or some output is missing, "
             "2 usage error, or the reports cannot be merged (a file missing or not a report, settings differing "
             "between shards, the input cannot be listed).");
  app.set_version_flag("--version", version_text("imgflow-merge"));
  const DocumentationFlags documentation(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitCannotMerge;  // help and version: 0; usage errors: 2
  }
  if (documentation.print(app, {".B imgflow\\-merge\n[\\fIOPTIONS\\fR] \\fIREPORT\\fR...\n", {{"SEE ALSO", "imgflow(1)"}}}))
    return kExitOk;
  if (arguments.empty()) {
    fmt::print(stderr, "error: no REPORTS given\nRun with --help for more information.\n");
    return kExitCannotMerge;
  }
  // Absolute before the merge moves to the shards' working directory.
  if (!failures_out.empty()) failures_out = fs::absolute(failures_out);
  if (!report_out.empty()) report_out = fs::absolute(report_out);

  try {
    // Read every report; for a shard reported twice (a resumed array), the later run wins.
    std::map<std::size_t, json> shards;
    std::size_t count = 0;
    json first;
    for (const fs::path& file : expand(arguments)) {
      json report = read_report(file);
      report["_file"] = file.string();
      const std::size_t index = report.at("shard").at("index"), n = report.at("shard").at("count");
      if (first.is_null()) {
        first = report;
        count = n;
      }
      for (const char* key : {"inputs", "output_dir", "adjustments", "recursive", "files_from"})
        if (report.at("settings").at(key) != first.at("settings").at(key))
          throw std::runtime_error(fmt::format("{}: setting {} differs from {}", file.string(), key,
                                               first.at("_file").get<std::string>()));
      if (n != count) throw std::runtime_error(fmt::format("{}: shard count {} differs from {}", file.string(), n, count));
      auto [it, inserted] = shards.emplace(index, report);
      if (!inserted && report.at("started_at_utc") >= it->second.at("started_at_utc")) it->second = report;
    }
    if (shards.empty()) throw std::runtime_error("no reports");

    json totals{{"written", 0}, {"skipped", 0}, {"failed", 0}, {"not_started", 0}};
    double wall_max = 0, cpu = 0;
    std::vector<std::string> problems;
    std::string failure_lines;
    for (std::size_t index = 0; index < count; ++index) {
      const auto it = shards.find(index);
      if (it == shards.end()) {
        problems.push_back(fmt::format("shard {}/{} has no report (did the task run?)", index, count));
        continue;
      }
      const json& report = it->second;
      for (auto& [key, value] : totals.items()) value = value.get<std::size_t>() + report.at("counts").at(key).get<std::size_t>();
      wall_max = std::max(wall_max, report.at("time").at("wall_s").get<double>());
      cpu += report.at("time").at("cpu_user_s").get<double>() + report.at("time").at("cpu_system_s").get<double>();
      if (report.at("exit_code") != 0)
        problems.push_back(fmt::format("shard {}/{} exited {} ({} failed, {} not started; {})", index, count,
                                       report.at("exit_code").get<int>(), report.at("counts").at("failed").get<int>(),
                                       report.at("counts").at("not_started").get<int>(),
                                       report.at("_file").get<std::string>()));
      const std::string list = report.at("settings").value("failures_file", "");
      if (!list.empty() && fs::exists(list)) failure_lines += text_of(list);
    }

    // The union: a fresh listing, and a finished output for each input.
    const json& settings = first.at("settings");
    const fs::path output = settings.at("output_dir").get<std::string>();
    // Relative paths in the reports (a list's entries) are the shards' working directory's.
    fs::current_path(settings.value("working_dir", fs::current_path().string()));
    const Listing listing = list_inputs(settings);
    // The inputs the shards' own lists already name (absolute, sorted).
    std::set<fs::path> already_listed;
    for (std::string_view lines = failure_lines; !lines.empty();) {
      const std::string_view line = lines.substr(0, lines.find('\n'));
      lines.remove_prefix(std::min(lines.size(), line.size() + 1));
      if (!line.empty() && line[0] != '#')
        already_listed.insert(fs::absolute(unescape_list_field(line.substr(0, line.find('\t')))).lexically_normal());
    }
    std::size_t missing = 0;
    Bytes scratch;
    // The shards' output format (reports from before --format are PNG's).
    const Format* format = output_format(settings.value("format", std::string("png")));
    if (!format) throw std::runtime_error("the shards wrote an output format this imgflow-merge does not know");
    const std::optional<JoinKind> join = parse_join(settings.value("join", std::string("none")));
    // Each output (each document, with --join) finished from exactly its inputs, as
    // --skip-existing judges it; every input of one that is not counts as missing.
    const std::string stamp = settings.at("stamp").get<std::string>();
    const auto judge = [&](const fs::path& out, const std::vector<fs::path>& inputs, std::string_view what) {
      if (check_document(out, inputs, stamp, scratch) == OutputState::finished) return;
      missing += inputs.size();
      for (const fs::path& in : inputs)
        if (!already_listed.count(fs::absolute(in).lexically_normal()))
          failure_lines += fmt::format("{}\tmissing\tno finished {} {}\n", escape_list_field(in.string()), what,
                                       escape_list_field(out.string()));
    };
    if (!join) {
      for (const ListedFile& file : listing.files)
        judge(output / output_relative_path(file.relative(), format->output_extension), {file.input()}, "output");
    } else {
      const DocumentSet set = plan_documents(listing, *join, output, format->output_extension);
      const auto inputs_of = set.inputs(listing);
      for (std::size_t d = 0; d < set.documents.size(); ++d) judge(set.documents[d].output, inputs_of[d], "document");
    }
    const std::size_t inputs = listing.files.size();
    if (inputs != first.at("counts").at("listed").get<std::size_t>())
      problems.push_back(fmt::format("the input now lists {} files, the shards listed {}", inputs,
                                     first.at("counts").at("listed").get<std::size_t>()));
    if (missing) problems.push_back(fmt::format("{} of {} inputs have no finished output", missing, inputs));

    fmt::print("imgflow-merge: {} of {} shards reported; {} written, {} skipped, {} failed, {} not started; "
               "{} inputs, {} with a finished output; slowest shard {:.3f} s, {:.3f} s of CPU in all\n",
               shards.size(), count, totals["written"].get<std::size_t>(), totals["skipped"].get<std::size_t>(),
               totals["failed"].get<std::size_t>(), totals["not_started"].get<std::size_t>(), inputs,
               inputs - missing, wall_max, cpu);
    for (const auto& problem : problems) fmt::print(stderr, "error: {}\n", problem);

    const auto write = [](const fs::path& file, const std::string& text) {
      try {
        write_output_file(file, text);
      } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: cannot write: {}", file.string(), e.what()));
      }
    };
    if (!failures_out.empty()) write(failures_out, failure_lines);
    if (!report_out.empty()) {
      json merged{{"shards", count},
                  {"shards_reported", shards.size()},
                  {"counts", totals},
                  {"inputs", inputs},
                  {"missing", missing},
                  {"slowest_shard_wall_s", wall_max},
                  {"cpu_s", cpu},
                  {"problems", problems},
                  {"reports", json::array()}};
      for (const auto& [index, report] : shards) merged["reports"].push_back(report.at("_file"));
      write(report_out, merged.dump(2) + "\n");
    }
    return problems.empty() ? kExitOk : kExitIncomplete;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return kExitCannotMerge;
  }
}
