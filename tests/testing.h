// Shared helpers for the test suite.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace lm::testing {

inline bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

// The story model: built into ./lm (the empty path opens it), or, in a build made with
// LM_BUILTIN_MODEL=0, read from its file in the repository.
#if !defined(LM_BUILTIN_MODEL) || LM_BUILTIN_MODEL
inline constexpr bool kBuiltinModel = true;
inline constexpr const char* kStoryModel = "";
#else
inline constexpr bool kBuiltinModel = false;
inline constexpr const char* kStoryModel = "weights/default-model.gguf";
#endif

// Path of a file under ../shared/ (tests run from the project root). Empty when the file
// is missing: the calling test must then return; in CI a missing file fails the test.
inline std::string shared_file(const std::string& rel) {
    std::string path = "../shared/" + rel;
    if (std::filesystem::exists(path)) return path;
    if (in_ci()) FAIL_CHECK("missing shared test file ", path, " (CI=true)");
    else MESSAGE("skipping: missing shared test file ", path);
    return "";
}

// n floats drawn from N(0, sigma^2) with a fixed seed.
inline std::vector<float> normal_floats(size_t n, uint32_t seed, float sigma = 1.f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.f, sigma);
    std::vector<float> v(n);
    for (float& f : v) f = dist(rng);
    return v;
}

// A scratch file for a test, in a directory of this process's own so that suites running
// side by side (make test, test-asan) never share one (removed by `make clean`).
inline const std::string& temp_dir() {
    static const std::string dir = "build/tmp/" + std::to_string(::getpid()) + "/";
    return dir;
}

inline std::string temp_path(const std::string& name) {
    std::filesystem::create_directories(temp_dir());
    return temp_dir() + name;
}

// temp_path(name) holding `bytes`.
inline std::string write_temp(const std::string& name, const std::string& bytes) {
    const std::string path = temp_path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

// Mean negative log-likelihood (nats) of tokens ids[1..n) given each position's logits
// (rows of `vocab`), in double: an independent check of what lm eval prints.
inline double mean_next_token_nll(const std::vector<float>& logits, const std::vector<int>& ids, int n, int vocab) {
    double total = 0;
    for (int t = 1; t < n; ++t) {
        const float* l = &logits[static_cast<size_t>(t - 1) * vocab];
        double sum = 0;
        for (int v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(l[v]));
        total += std::log(sum) - l[ids[t]];
    }
    return total / (n - 1);
}

}  // namespace lm::testing
