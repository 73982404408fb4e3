// End-to-end: the run report (--report), the timeline (--trace), the bottleneck line and the
// progress line, checked against the run they describe.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "pipeline/job.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json load_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), path.string());
  return json::parse(in);  // throws (and fails the test) on invalid JSON
}

// Sample pages plus one broken file: 8 listed, 7 written, 1 failed at decode.
fs::path make_input(const test::TempDir& dir) {
  const fs::path in = dir / "in";
  fs::create_directories(in);
  for (const auto& entry : fs::directory_iterator(test::data_dir()))
    if (entry.path().extension() == ".png") fs::copy_file(entry.path(), in / entry.path().filename());
  std::ofstream(in / "zz-broken.png") << "not an image";
  return in;
}

}  // namespace

TEST_CASE("--report: the documented fields, with counts, stages and bottleneck equal to the run's") {
  test::TempDir dir;
  const fs::path in = make_input(dir);
  const std::vector<std::string> args{in.string(), (dir / "out").string(), "--report", (dir / "report.json").string(),
                                      "-j", "2", "-v"};
  const auto run = test::run_imgflow(args);
  REQUIRE(run.exit_code == 1);
  const json report = load_json(dir / "report.json");

  CHECK(report.at("report_format") == 2);
  // Absolute paths, so that imgflow-merge finds them from any directory.
  CHECK(report.at("settings").at("inputs") == json::array({fs::absolute(in).lexically_normal().string()}));
  CHECK(report.at("settings").at("output_dir") == fs::absolute(dir / "out").lexically_normal().string());
  CHECK(report.at("imgflow_version").is_string());
  CHECK(report.at("command_line").size() == args.size() + 1);
  CHECK(report.at("command_line")[1] == in.string());
  CHECK(report.at("started_at_utc").get<std::string>().size() == 20);
  for (const char* key : {"host", "cpu_model"}) CHECK(report.at("machine").at(key).is_string());
  CHECK(report.at("machine").at("cores").get<int>() >= 1);
  CHECK(report.at("settings").at("threads") == 2);
  CHECK(report.at("settings").at("max_in_flight") == 4);
  CHECK(report.at("settings").at("adjustments") == "brightness=0.25,contrast=0.25");
  CHECK(report.at("settings").at("png_level") == "default");

  const json& counts = report.at("counts");
  CHECK(counts.at("listed") == 8);
  CHECK(counts.at("written") == 7);
  CHECK(counts.at("skipped") == 0);
  CHECK(counts.at("failed") == 1);
  CHECK(counts.at("not_started") == 0);
  CHECK(report.at("exit_code") == 1);
  CHECK(report.at("stop_reason") == "none");

  const json& time = report.at("time");
  CHECK(time.at("wall_s").get<double>() > 0);
  CHECK(time.at("cpu_user_s").get<double>() > 0);
  CHECK(time.at("cpu_system_s").get<double>() >= 0);
  CHECK(report.at("memory").at("peak_rss_mb").get<double>() > 1);
  CHECK(report.at("bytes").at("output").get<double>() > 0);
  CHECK(report.at("throughput").at("images_per_s").get<double>() ==
        doctest::Approx(7.0 / time.at("wall_s").get<double>()));

  const json& stages = report.at("stages");
  REQUIRE(stages.size() == kStageCount);
  // The default chain is one run of point operations: no page visits analyse or neighbourhood.
  const std::map<std::string, int> images{{"read", 8},   {"decode", 8},        {"analyse", 0}, {"adjust", 7},
                                          {"neighbourhood", 0}, {"encode", 7}, {"write", 7}};
  double share = 0, cpu_share = 0, busiest = -1;
  std::string busiest_name;
  for (std::size_t s = 0; s < kStageCount; ++s) {
    const json& stage = stages[s];
    const std::string name = stage.at("name");
    CAPTURE(name);
    CHECK(name == kStageNames[s]);
    CHECK(stage.at("images") == images.at(name));
    for (const char* part : {"per_image", "wait_before"}) {
      const json& d = stage.at(part);
      CHECK(d.at("median_ms").get<double>() <= d.at("p95_ms").get<double>());
      CHECK(d.at("p95_ms").get<double>() <= d.at("max_ms").get<double>());
      CHECK(d.at("mean_ms").get<double>() <= d.at("max_ms").get<double>());
      CHECK(d.at("total_s").get<double>() >= 0);
    }
    CHECK((stage.at("per_image").at("mean_ms").get<double>() > 0) == (images.at(name) > 0));
    CHECK(stage.at("busy_s").get<double>() == doctest::Approx(stage.at("per_image").at("total_s").get<double>()));
    share += stage.at("busy_share").get<double>();
    cpu_share += stage.at("cpu_share").get<double>();
    CHECK((stage.at("cpu_s").get<double>() > 0) == (images.at(name) > 0));
    if (stage.at("cpu_s").get<double>() > busiest) {
      busiest = stage.at("cpu_s").get<double>();
      busiest_name = name;
    }
  }
  CHECK(share == doctest::Approx(1.0));
  CHECK(cpu_share == doctest::Approx(1.0));
  // The stages' CPU time is part of the process's (which also lists, reports and starts up).
  double stage_cpu = 0;
  for (const json& stage : stages) stage_cpu += stage.at("cpu_s").get<double>();
  CHECK(stage_cpu <= time.at("cpu_user_s").get<double>() + time.at("cpu_system_s").get<double>() + 0.01);
  CHECK(report.at("bottleneck").at("stage") == busiest_name);
  // The text summary names the same bottleneck in one line.
  const std::string summary = report.at("bottleneck").at("summary");
  CHECK(summary.rfind("bottleneck: " + busiest_name + " (", 0) == 0);
  CHECK(run.err.find(summary + "\n") != std::string::npos);
}

TEST_CASE("--trace: valid trace-event JSON whose spans cover every image and stage, in order") {
  test::TempDir dir;
  const fs::path in = make_input(dir);
  const auto run = test::run_imgflow({in.string(), (dir / "out").string(), "--trace", (dir / "trace.json").string()});
  REQUIRE(run.exit_code == 1);
  const json trace = load_json(dir / "trace.json");
  const json& events = trace.at("traceEvents");

  std::set<int> named_threads;
  std::map<int, std::string> track_names;
  std::map<std::string, std::vector<const json*>> spans_by_file;
  for (const json& e : events) {
    if (e.at("ph") == "M" && e.at("name") == "thread_name") {
      named_threads.insert(e.at("tid").get<int>());
      track_names[e.at("tid").get<int>()] = e.at("args").at("name").get<std::string>();
    }
    if (e.at("ph") != "X") continue;
    CHECK(e.at("ts").get<double>() >= 0);
    CHECK(e.at("dur").get<double>() > 0);
    CHECK(e.at("args").at("cpu_ms").get<double>() >= 0);
    spans_by_file[fs::path(e.at("args").at("file").get<std::string>()).filename().string()].push_back(&e);
  }
  REQUIRE(spans_by_file.size() == 8);
  for (const auto& [file, spans] : spans_by_file) {
    CAPTURE(file);
    const bool broken = file == "zz-broken.png";
    const std::vector<std::string> visited{"read", "decode", "adjust", "encode", "write"};
    REQUIRE(spans.size() == (broken ? 2u : visited.size()));
    for (std::size_t s = 0; s < spans.size(); ++s) {
      const json& span = *spans[s];
      CHECK(span.at("name") == visited[s]);
      CHECK(named_threads.count(span.at("tid").get<int>()) == 1);
      // Files are read and written by imgflow's own I/O threads, the rest by TBB's workers.
      const std::string track = track_names[span.at("tid").get<int>()];
      const std::string stage = span.at("name");
      CHECK(track == (stage == "read" ? "imgflow-read" : stage == "write" ? "imgflow-write" : track));
      if (stage != "read" && stage != "write") CHECK(track.rfind("worker ", 0) == 0);
      if (s > 0) {  // a stage starts after the previous one ended
        const json& before = *spans[s - 1];
        CHECK(span.at("ts").get<double>() >= before.at("ts").get<double>() + before.at("dur").get<double>() - 0.001);
      }
    }
    if (broken) CHECK(spans[1]->at("args").at("error").get<std::string>().find("not a readable image") == 0);
  }
}

TEST_CASE("progress: a live line on a terminal, none when stderr is not one, with -q or --no-progress") {
  test::TempDir dir;
  REQUIRE(test::run_generator({"-n", "12", "--size", "800x1000", (dir / "in").string()}).exit_code == 0);
  const auto command = [&](const std::string& out, const std::string& flags) {
    return std::string(test::imgflow_binary()) + " " + (dir / "in").string() + " " + (dir / out).string() +
           " -j 1 --png-level smallest " + flags;  // slow enough for several redraws
  };
  // Not a terminal: stderr is a file.
  const auto plain = test::run_imgflow({(dir / "in").string(), (dir / "plain").string(), "-j", "1"});
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.err.find('\r') == std::string::npos);
  CHECK(plain.err.find("images/s  ") == std::string::npos);

  // A terminal: script(1) runs imgflow on a pseudo-terminal and copies what it shows.
  const auto tty = test::run_program("/usr/bin/script", {"-qfec", command("tty", ""), "/dev/null"});
  REQUIRE(tty.exit_code == 0);
  CHECK(tty.out.find("\r\x1b[K") != std::string::npos);
  CHECK(tty.out.find("/12 images (") != std::string::npos);
  CHECK(tty.out.find("images/s") != std::string::npos);
  CHECK(tty.out.find("ETA ") != std::string::npos);
  CHECK(tty.out.find("12 written, 0 skipped, 0 failed") != std::string::npos);

  for (const char* flag : {"-q", "--no-progress"}) {
    CAPTURE(flag);
    const auto off = test::run_program("/usr/bin/script", {"-qfec", command(flag[1] == 'q' ? "q" : "np", flag), "/dev/null"});
    REQUIRE(off.exit_code == 0);
    CHECK(off.out.find("\x1b[K") == std::string::npos);
  }
}
