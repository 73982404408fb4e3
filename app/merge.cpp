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
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/file_io.hpp"
#include "pipeline/listing.hpp"
#include "pipeline/stages.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace imgflow;

namespace {

constexpr int kExitOk = 0, kExitIncomplete = 1, kExitCannotMerge = 2;

std::string text_of(const fs::path& path) {
  const auto bytes = read_file(path);
  return {bytes.begin(), bytes.end()};
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
  std::sort(files.begin(), files.end(), natural_path_less);
  return files;
}

// The same listing every shard made, from the settings they share.
Listing list_inputs(const json& settings) {
  return list_run_inputs(settings.at("input_dir").get<std::string>(), settings.at("output_dir").get<std::string>(),
                         settings.at("recursive").get<bool>(), settings.value("files_from", ""));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> arguments;
  fs::path failures_out, report_out;
  CLI::App app{"imgflow-merge: combine the reports and failure lists of an imgflow job array's shards, and check "
               "that every input has a finished output",
               "imgflow-merge"};
  app.add_option("REPORTS", arguments, "The shards' --report files, or folders holding report*.json")->required();
  app.add_option("--failures", failures_out,
                 "Write every input without a finished output to FILE (PATH<TAB>STAGE<TAB>REASON): the "
                 "shards' failures, and files missing from the union; retry with --files-from FILE")
      ->type_name("FILE");
  app.add_option("--report", report_out, "Write the merged totals to FILE (JSON)")->type_name("FILE");
  app.footer("Exit status: 0 every input has a finished output, 1 some shard failed or some output is missing, "
             "2 the reports cannot be merged.");
  CLI11_PARSE(app, argc, argv);

  try {
    // Read every report; for a shard reported twice (a resumed array), the later run wins.
    std::map<std::size_t, json> shards;
    std::size_t count = 0;
    json first;
    for (const fs::path& file : expand(arguments)) {
      json report = json::parse(text_of(file));
      report["_file"] = file.string();
      const std::size_t index = report.at("shard").at("index"), n = report.at("shard").at("count");
      if (first.is_null()) {
        first = report;
        count = n;
      }
      for (const char* key : {"input_dir", "output_dir", "adjustments", "recursive"})
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
    const fs::path input = settings.at("input_dir").get<std::string>();
    const fs::path output = settings.at("output_dir").get<std::string>();
    const Listing listing = list_inputs(settings);
    // The inputs the shards' own lists already name (relative to the input, natural order).
    const std::vector<fs::path> already_listed = read_file_list(failure_lines, input).images;
    std::size_t missing = 0;
    Bytes scratch;
    for (const fs::path& relative : listing.images) {
      const fs::path in = input / relative, out = output / output_relative_path(relative);
      if (is_finished_output(out, in, settings.at("stamp").get<std::string>(), scratch)) continue;
      ++missing;
      if (!std::binary_search(already_listed.begin(), already_listed.end(), relative, natural_path_less))
        failure_lines += fmt::format("{}\tmissing\tno finished output {}\n", escape_list_field(in.string()),
                                     escape_list_field(out.string()));
    }
    if (listing.images.size() != first.at("counts").at("listed").get<std::size_t>())
      problems.push_back(fmt::format("the input now lists {} files, the shards listed {}", listing.images.size(),
                                     first.at("counts").at("listed").get<std::size_t>()));
    if (missing) problems.push_back(fmt::format("{} of {} inputs have no finished output", missing, listing.images.size()));

    fmt::print("imgflow-merge: {} of {} shards reported; {} written, {} skipped, {} failed, {} not started; "
               "{} inputs, {} with a finished output; slowest shard {:.3f} s, {:.3f} s of CPU in all\n",
               shards.size(), count, totals["written"].get<std::size_t>(), totals["skipped"].get<std::size_t>(),
               totals["failed"].get<std::size_t>(), totals["not_started"].get<std::size_t>(), listing.images.size(),
               listing.images.size() - missing, wall_max, cpu);
    for (const auto& problem : problems) fmt::print(stderr, "error: {}\n", problem);

    const auto write = [](const fs::path& file, const std::string& text) {
      write_file_atomically(file, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    };
    if (!failures_out.empty()) write(failures_out, failure_lines);
    if (!report_out.empty()) {
      json merged{{"shards", count},
                  {"shards_reported", shards.size()},
                  {"counts", totals},
                  {"inputs", listing.images.size()},
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
