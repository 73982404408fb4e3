// The library's front door (include/imgflow/imgflow.hpp): run(), and what the header declares
// besides the single-image level (api/image.cpp).
#include <charconv>
#include <new>

#include "api/batch.hpp"
#include "api/run_spec.hpp"

namespace imgflow {

std::string version() { return IMGFLOW_VERSION; }

Error::Error(std::string stage, std::string file, const std::string& reason)
    : std::runtime_error(file.empty() ? stage + ": " + reason : file + ": " + stage + ": " + reason),
      stage_(std::move(stage)),
      file_(std::move(file)),
      reason_(reason) {}

Step step(std::string name, double value) {
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);  // shortest text that reads back the same
  return {std::move(name), std::string(text, ec == std::errc{} ? end : text)};
}

void rethrow_as_error(const std::string& stage, const std::string& file) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (...) {
    throw Error(stage, file, current_exception_reason());
  }
}

RunResult run(const Settings& settings, const Callbacks& callbacks, const Stop* stop) {
  const RunSpec spec = resolve(settings);
  try {
    return run_batch(spec, callbacks, stop);
  } catch (...) {
    rethrow_as_error("run");
  }
}

}  // namespace imgflow
