#include "pipeline/job.hpp"

#include <fmt/format.h>

#include <exception>
#include <new>
#include <system_error>

namespace imgflow {

void Job::fail_with_current_exception(Stage stage) {
  try {
    throw;
  } catch (const std::system_error& e) {
    fail(stage, e.what(), e.code());
  } catch (const std::bad_alloc&) {
    fail(stage, "out of memory");
  } catch (const std::exception& e) {
    fail(stage, e.what());
  } catch (...) {
    fail(stage, "unknown error");
  }
}

std::string job_name(const Job& job) {
  if (job.page == 0) return job.input.string();
  if (job.page > job.page_count) return fmt::format("{}: after page {}", job.input.string(), job.page_count);
  return fmt::format("{}: page {} of {}", job.input.string(), job.page, job.page_count);
}

}  // namespace imgflow
