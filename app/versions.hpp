#pragma once
#include <string>
#include <string_view>

namespace imgflow {

/// The --version text of a tool: its name and version, then the libraries in use, one per line.
std::string version_text(std::string_view tool);

}  // namespace imgflow
