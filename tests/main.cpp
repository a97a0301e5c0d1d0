#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdio>

// Ends the run with the plain "N passed, N failed" line CI reads.
struct SummaryLine : doctest::IReporter {
    explicit SummaryLine(const doctest::ContextOptions&) {}
    void test_run_end(const doctest::TestRunStats& s) override {
        std::printf("%u passed, %u failed\n", s.numTestCasesPassingFilters - s.numTestCasesFailed, s.numTestCasesFailed);
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
DOCTEST_REGISTER_LISTENER("summary", 1, SummaryLine);
