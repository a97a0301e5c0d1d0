#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>

#include "tests/testing.h"

namespace {
unsigned g_passed = 0, g_failed = 0;

// Collects the totals so main can end the run with the plain "N passed, N failed" line.
struct Totals : doctest::IReporter {
    explicit Totals(const doctest::ContextOptions&) {}
    void test_run_end(const doctest::TestRunStats& s) override {
        g_failed = s.numTestCasesFailed;
        g_passed = s.numTestCasesPassingFilters - s.numTestCasesFailed;
    }
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_case_start(const doctest::TestCaseData&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};
}  // namespace
DOCTEST_REGISTER_LISTENER("totals", 1, Totals);

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int status = context.run();
    std::error_code ec;
    std::filesystem::remove_all(lm::testing::temp_dir(), ec);
    if (!context.shouldExit()) std::printf("%u passed, %u failed\n", g_passed, g_failed);
    return status;
}
