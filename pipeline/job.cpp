#include "pipeline/job.hpp"

#include <fmt/format.h>

#include <exception>
#include <new>
#include <system_error>

namespace imgflow {

std::string current_exception_reason(std::error_code* code) {
  try {
    throw;
  } catch (const std::system_error& e) {
    if (code) *code = e.code();
    return e.what();
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

void Job::fail_with_current_exception(Stage stage) {
  std::error_code code;
  std::string reason = current_exception_reason(&code);
  fail(stage, std::move(reason), code);
}

std::string job_name(const Job& job) {
  if (job.page == 0) return job.input.string();
  if (job.page > job.page_count) return fmt::format("{}: after page {}", job.input.string(), job.page_count);
  return fmt::format("{}: page {} of {}", job.input.string(), job.page, job.page_count);
}

}  // namespace imgflow
