#include "pipeline/job.hpp"

#include <fmt/format.h>

namespace imgflow {

std::string job_name(const Job& job) {
  if (job.page == 0) return job.input.string();
  if (job.page > job.page_count) return fmt::format("{}: after page {}", job.input.string(), job.page_count);
  return fmt::format("{}: page {} of {}", job.input.string(), job.page, job.page_count);
}

}  // namespace imgflow
