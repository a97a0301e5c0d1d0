// The one error type of lm. Every layer throws lm::Error with a message that names the
// file or flag and what was wrong; only the CLI turns it into "lm: error: ..." and exit 1.
#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lm {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace concat_detail {

// One argument of concat/fail: text, a number or a character, printed as an ostream prints
// it (integers in decimal, floating point as %g, char types as the character). Call sites
// only fill an array of these; the formatting is one function (join), so each of the
// hundreds of distinct argument lists costs a few stores, not an inlined string stream.
struct Part {
    enum Kind : uint8_t { TEXT, SIGNED, UNSIGNED, FLOAT, CHAR } kind;
    union {
        struct {
            const char* data;
            size_t size;
        } text;
        long long i;
        unsigned long long u;
        double f;
        char c;
    };
    Part(const char* s) : kind(TEXT), text{s, std::char_traits<char>::length(s)} {}
    Part(std::string_view s) : kind(TEXT), text{s.data(), s.size()} {}
    Part(const std::string& s) : kind(TEXT), text{s.data(), s.size()} {}
    Part(char ch) : kind(CHAR), c(ch) {}
    Part(signed char ch) : kind(CHAR), c(static_cast<char>(ch)) {}
    Part(unsigned char ch) : kind(CHAR), c(static_cast<char>(ch)) {}
    template <std::signed_integral T>
    Part(T v) : kind(SIGNED), i(v) {}
    template <std::unsigned_integral T>
    Part(T v) : kind(UNSIGNED), u(v) {}
    template <std::floating_point T>
    Part(T v) : kind(FLOAT), f(static_cast<double>(v)) {}
};

std::string join(std::initializer_list<Part> parts);
[[noreturn]] void throw_error(std::initializer_list<Part> parts);

}  // namespace concat_detail

template <typename... Args>
std::string concat(const Args&... args) {
    return concat_detail::join({concat_detail::Part(args)...});
}

template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
    concat_detail::throw_error({concat_detail::Part(args)...});
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
