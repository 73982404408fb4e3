// The test runner: doctest's, plus two rules CTest relies on.
// - A run in which no test case ran fails: CTest runs one case per process by name, and a name
//   CTest mangles (a ';' splits it) would otherwise match nothing and "pass".
// - A case that cannot run here (test::skip) ends the process with kSkipExitCode, which CTest
//   reports as skipped (SKIP_RETURN_CODE), never as passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "support.hpp"

namespace {

int cases_started = 0;

struct CountingListener : doctest::IReporter {
  explicit CountingListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++cases_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("counting", 1, CountingListener);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit() || result != 0) return result;  // --list-test-cases and the like, or a failure
  if (cases_started == 0) {
    std::fputs("error: no test case matched the filter (a name with ';' is cut by CTest)\n", stderr);
    return 1;
  }
  if (!imgflow::test::skip_reason().empty()) {
    std::fprintf(stderr, "SKIPPED: %s\n", imgflow::test::skip_reason().c_str());
    return imgflow::test::kSkipExitCode;
  }
  return 0;
}
