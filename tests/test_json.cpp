// The JSON reader: every value type, escapes, and malformed input rejected with a position.
#include <string>

#include "tests/testing.h"
#include "weights/error.h"
#include "weights/json.h"

using lm::Json;
using lm::parse_json;

namespace {

std::string error_of(std::string_view text, int max_depth = 64) {
    try {
        parse_json(text, "t.json", max_depth);
    } catch (const lm::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_SUITE("json") {

TEST_CASE("values") {
    Json v = parse_json(R"( {"a": [1, -2.5, 3e2, true, false, null], "b": {"c": "d"}, "": 0} )", "t.json");
    REQUIRE(v.is_object());
    REQUIRE(v.members.size() == 3);
    CHECK(v.members[0].key == "a");  // file order kept
    const Json& a = *v.find("a");
    REQUIRE(a.items.size() == 6);
    CHECK(a.items[0].integral);
    CHECK(a.items[0].integer == 1);
    CHECK(a.items[1].number == -2.5);
    CHECK_FALSE(a.items[1].integral);
    CHECK(a.items[2].number == 300);
    CHECK_FALSE(a.items[2].integral);
    CHECK(a.items[3].is_bool());
    CHECK(a.items[3].boolean);
    CHECK_FALSE(a.items[4].boolean);
    CHECK(a.items[5].is_null());
    CHECK(v.find("b")->find("c")->str == "d");
    CHECK(v.find("")->integer == 0);
    CHECK(v.find("zz") == nullptr);
    CHECK(parse_json("[]", "t").items.empty());
    CHECK(parse_json("{}", "t").members.empty());
    CHECK(parse_json("\"x\"", "t").str == "x");
    CHECK(parse_json("-0", "t").integer == 0);
}

TEST_CASE("large integers stay exact") {
    Json v = parse_json("[9007199254740993, -9223372036854775808, 18446744073709551616]", "t");
    CHECK(v.items[0].integer == 9007199254740993LL);
    CHECK(v.items[1].integer == INT64_MIN);
    CHECK_FALSE(v.items[2].integral);  // does not fit: only the double
    CHECK(v.items[2].number == doctest::Approx(1.8446744073709552e19));
}

TEST_CASE("string escapes") {
    Json v = parse_json(R"(["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "ĠĊ"])", "t");
    CHECK(v.items[0].str == "a\"b\\c/d\b\f\n\r\t");
    CHECK(v.items[1].str == "\xC3\xA9\xE2\x82\xAC");
    CHECK(v.items[2].str == "\xF0\x9F\x98\x80");
    CHECK(v.items[3].str == "\xC4\xA0\xC4\x8A");
    CHECK(parse_json("\"\\u0000\"", "t").str == std::string(1, '\0'));
}

TEST_CASE("malformed input names the position") {
    std::string e = error_of("{\n  \"a\": tru\n}");
    CHECK(e.find("t.json") != std::string::npos);
    CHECK(e.find("line 2, column 8") != std::string::npos);
    const char* bad[] = {
        "", "   ", "{", "[", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{\"a\":1,}",
        "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud83d\"", "\"\\ude00\"",
        "\"\\ud83d\\u0041\"", "\"a\nb\"", "\"\xFF\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"",
        "01", "1.", ".5", "-", "1e", "1e+", "+1", "1e999", "tru", "nul", "[1] x", "{\"a\":1,\"a\":2}",
    };
    for (const char* text : bad) {
        CAPTURE(text);
        CHECK(error_of(text).find("JSON error") != std::string::npos);
    }
}

TEST_CASE("depth limit") {
    std::string deep(100, '[');
    deep += std::string(100, ']');
    CHECK(error_of(deep).find("nesting deeper than 64") != std::string::npos);
    CHECK(error_of(deep, 200).empty());
    std::string very_deep(1000000, '[');  // would overflow the stack without the limit
    CHECK(error_of(very_deep).find("nesting") != std::string::npos);
}

TEST_CASE("mutated documents are parsed or rejected, never crash") {
    const std::string doc = R"({"model": {"type": "BPE", "vocab": {"a": 0, "\u0120b": 1, "\ud83d\ude00": 2},
      "merges": [["a", "b"], "c d"]}, "n": [-1.5e3, 0, 12345678901234567890, true, null, "\n\"x"]})";
    REQUIRE(parse_json(doc, "t").is_object());
    uint32_t state = 1;
    auto next = [&] { return (state = state * 1664525u + 1013904223u) >> 8; };
    size_t parsed = 0, rejected = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string m = doc;
        for (uint32_t k = next() % 4 + 1; k > 0; --k) {
            size_t at = next() % m.size();
            switch (next() % 4) {
                case 0: m[at] = static_cast<char>(next()); break;
                case 1: m.erase(at, 1 + next() % 8); break;
                case 2: m = m.substr(0, at) + "{}[]\",:0e-\\u"[next() % 13] + m.substr(at); break;
                default: m.resize(at); break;
            }
            if (m.empty()) m.push_back('x');
        }
        try {
            parse_json(m, "t");
            ++parsed;
        } catch (const lm::Error&) {
            ++rejected;
        }
    }
    CHECK(parsed + rejected == 20000);
    CHECK(rejected > 10000);
}

TEST_CASE("files") {
    std::string path = lm::testing::temp_path("t.json");
    CHECK_THROWS_AS(lm::read_json_file(path + ".missing"), lm::Error);
    std::string encoder = lm::testing::shared_file("models/gpt2-vocab/encoder.json");
    if (encoder.empty()) return;
    Json v = lm::read_json_file(encoder);
    CHECK(v.members.size() == 50257);
    CHECK(v.find("<|endoftext|>")->integer == 50256);
}

}  // TEST_SUITE
