// Shared helpers for the test suite.
#pragma once
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace lm::testing {

inline bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

// Path of a file under ../shared/ (tests run from the project root). Empty when the file
// is missing: the calling test must then return; in CI a missing file fails the test.
inline std::string shared_file(const std::string& rel) {
    std::string path = "../shared/" + rel;
    if (std::filesystem::exists(path)) return path;
    if (in_ci()) FAIL_CHECK("missing shared test file ", path, " (CI=true)");
    else MESSAGE("skipping: missing shared test file ", path);
    return "";
}

// A scratch directory for files a test writes (removed by `make clean`).
inline std::string temp_path(const std::string& name) {
    std::filesystem::create_directories("build/tmp");
    return "build/tmp/" + name;
}

}  // namespace lm::testing
