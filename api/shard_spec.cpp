#include "api/shard_spec.hpp"

#include <fmt/format.h>

#include <charconv>

namespace imgflow {
namespace {

// A whole number from an environment variable or a flag; false if absent or malformed.
bool read_number(std::string_view text, long long& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

bool read_number(const char* text, long long& value) { return text && read_number(std::string_view(text), value); }

// The task's place in a Slurm job array. SLURM_ARRAY_TASK_ID runs over MIN, MIN+STEP, ...;
// Slurm sets STEP only for arrays written with a step (0-9:2), so 1 when absent.
std::variant<Shard, std::string> from_slurm(const EnvironmentLookup& env, long long given_count) {
  const char* id_text = env("SLURM_ARRAY_TASK_ID");
  const char* min_text = env("SLURM_ARRAY_TASK_MIN");
  const char* step_text = env("SLURM_ARRAY_TASK_STEP");
  const char* count_text = env("SLURM_ARRAY_TASK_COUNT");
  long long id = 0, min = 0, step = 1, count = 0;
  if (!read_number(id_text, id) || !read_number(min_text, min) || (step_text && !read_number(step_text, step)) ||
      step <= 0)
    return std::string("--shard auto: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_STEP must be numbers");
  const bool have_count = read_number(count_text, count);
  if (given_count > 0) {
    if (have_count && count != given_count)
      return fmt::format("--shard auto/{}: the array has SLURM_ARRAY_TASK_COUNT={} tasks", given_count, count_text);
    count = given_count;
  }
  if (count <= 0) return std::string("--shard auto: SLURM_ARRAY_TASK_COUNT is missing or not a positive number");
  if (id < min || (id - min) % step != 0)
    return fmt::format("--shard auto: SLURM_ARRAY_TASK_ID={} is not in the array {}-...:{} (for a list of task IDs "
                       "such as 1,5,9 use --shard I/N)", id_text, min_text, step);
  const long long index = (id - min) / step;
  if (index >= count)
    return fmt::format("--shard auto: SLURM_ARRAY_TASK_ID={} is task {} of an array of {} (for a list of task IDs "
                       "use --shard I/N)", id_text, index + 1, count);
  return Shard{static_cast<std::size_t>(index), static_cast<std::size_t>(count),
               fmt::format("SLURM_ARRAY_TASK_ID={} SLURM_ARRAY_TASK_MIN={} SLURM_ARRAY_TASK_STEP={} count {}", id_text,
                           min_text, step, count)};
}

}  // namespace

std::variant<Shard, std::string> parse_shard(std::string_view spec, const EnvironmentLookup& env) {
  const auto slash = spec.find('/');
  const std::string_view first = spec.substr(0, slash);
  long long count = 0;
  if (slash != std::string_view::npos && (!read_number(spec.substr(slash + 1), count) || count <= 0))
    return fmt::format("--shard {}: N must be a positive whole number", spec);
  if (first != "auto") {
    long long index = 0;
    if (!read_number(first, index) || count <= 0)
      return fmt::format("--shard {}: expected I/N (e.g. 0/8), auto or auto/N", spec);
    if (index < 0 || index >= count) return fmt::format("--shard {}: I must be 0 to N-1", spec);
    return Shard{static_cast<std::size_t>(index), static_cast<std::size_t>(count), fmt::format("--shard {}", spec)};
  }
  if (env("SLURM_ARRAY_TASK_ID")) return from_slurm(env, count);
  if (const char* k8s = env("JOB_COMPLETION_INDEX")) {
    if (count <= 0)
      return std::string("--shard auto: JOB_COMPLETION_INDEX is set but the count is not: use --shard auto/N "
                         "with N = the Job's completions");
    long long index = 0;
    if (!read_number(k8s, index) || index < 0 || index >= count)
      return fmt::format("--shard auto/{}: JOB_COMPLETION_INDEX={} must be 0 to {}", count, k8s, count - 1);
    return Shard{static_cast<std::size_t>(index), static_cast<std::size_t>(count),
                 fmt::format("JOB_COMPLETION_INDEX={} count {}", k8s, count)};
  }
  return std::string("--shard auto: not in a Slurm job array (SLURM_ARRAY_TASK_ID is not set) nor a Kubernetes "
                     "Indexed Job (JOB_COMPLETION_INDEX is not set); use --shard I/N");
}

}  // namespace imgflow
