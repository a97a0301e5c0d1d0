// The one error type of lm. Every layer throws lm::Error with a message that names the
// file or flag and what was wrong; only the CLI turns it into "lm: error: ..." and exit 1.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace lm {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <typename... Args>
std::string concat(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
    throw Error(concat(args...));
}

// Overflow-checked size arithmetic for parsers: every size derived from file contents goes
// through these so a hostile count cannot wrap around.
inline uint64_t checked_mul(uint64_t a, uint64_t b, const char* what) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) fail(what, ": size overflows");
    return r;
}
inline uint64_t checked_add(uint64_t a, uint64_t b, const char* what) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) fail(what, ": size overflows");
    return r;
}

}  // namespace lm
