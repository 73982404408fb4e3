#include "app/versions.hpp"

#include <CLI/Version.hpp>
#include <fmt/format.h>
#include <oneapi/tbb/version.h>
#include <spdlog/version.h>

#include <nlohmann/json.hpp>

#include "codec/versions.hpp"

namespace imgflow {

std::string version_text(std::string_view tool) {
  std::string text = fmt::format("{} {}\nlibraries:", tool, IMGFLOW_VERSION);
  std::vector<LibraryVersion> libraries{{"oneTBB", TBB_runtime_version()}};
  for (LibraryVersion& library : codec_libraries()) libraries.push_back(std::move(library));
  libraries.push_back({"fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)});
  libraries.push_back({"spdlog", fmt::format("{}.{}.{}", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH)});
  libraries.push_back({"CLI11", CLI11_VERSION});
  libraries.push_back({"nlohmann-json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                                    NLOHMANN_JSON_VERSION_PATCH)});
  for (const LibraryVersion& library : libraries) text += fmt::format("\n  {} {}", library.name, library.version);
  return text;
}

}  // namespace imgflow
