// src/models/qa.h: question-answering windows, best span, and the character/byte/token offset maps.
#include "src/models/qa.h"

#include "tests/testing.h"
#include "weights/error.h"

using namespace lm;

TEST_SUITE("qa") {

TEST_CASE("windows: [CLS] q [SEP] context [SEP], overlapping by the stride, covering the context") {
    const std::vector<int32_t> q = {7, 8}, c = {10, 11, 12, 13, 14, 15, 16, 17};
    // max_seq 9: room 4 context tokens; stride 1: offsets 0, 3, 6 (the last one shorter).
    const std::vector<QaWindow> w = qa_windows(q, c, 1, 2, 9, 1);
    REQUIRE(w.size() == 3);
    CHECK(w[0].ids == std::vector<int>{1, 7, 8, 2, 10, 11, 12, 13, 2});
    CHECK(w[0].types == std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 1});
    CHECK(w[0].context_at == 4);
    CHECK((w[1].offset == 3 && w[1].len == 4));
    CHECK((w[2].offset == 6 && w[2].len == 2));
    CHECK(w[2].ids == std::vector<int>{1, 7, 8, 2, 16, 17, 2});
    // One window when it all fits.
    CHECK(qa_windows(q, {10, 11}, 1, 2, 9, 0).size() == 1);
    CHECK(qa_default_stride(300) == 128);
    CHECK(qa_default_stride(10) == 5);
    CHECK_THROWS_WITH_AS(qa_windows(q, c, 1, 2, 5, 0), doctest::Contains("leaves no room for the context"), Error);
    CHECK_THROWS_WITH_AS(qa_windows(q, c, 1, 2, 9, 4), doctest::Contains("stride 4"), Error);
}

TEST_CASE("best span: the highest p(start) * p(end) with start <= end within max_answer") {
    const std::vector<int32_t> q = {7};
    const std::vector<QaWindow> w = qa_windows(q, {10, 11, 12, 13}, 1, 2, 16, 0);
    //                     CLS  q  SEP  c0   c1   c2   c3   SEP
    const float start[] = {9, 9, 9, 0, 5, 0, 0, 9};
    const float end[] = {9, 9, 9, 0, 0, 0, 5, 9};
    Span s = best_span(start, end, w[0], 30);
    CHECK((s.start == 1 && s.end == 3));
    s = best_span(start, end, w[0], 2);  // c1..c3 is three tokens
    CHECK(s.end - s.start < 2);
    // An end before every start is never chosen.
    const float end_first[] = {0, 0, 0, 0, 0, 0, 0, 0};
    const float start_last[] = {0, 0, 0, 0, 0, 0, 5, 0};
    s = best_span(start_last, end_first, w[0], 30);
    CHECK((s.start == 3 && s.end == 3));
}

TEST_CASE("character offsets are code points; token spans from byte spans") {
    const std::string text = "caf\xC3\xA9 \xE2\x82\xAC" "5 \xF0\x9F\x98\x80!";  // "café €5 😀!"
    CHECK(char_count(text) == 10);
    CHECK(byte_offset_of_char(text, 0) == 0);
    CHECK(byte_offset_of_char(text, 4) == 5);   // after é (2 bytes)
    CHECK(byte_offset_of_char(text, 6) == 9);   // after € (3 bytes)
    CHECK(byte_offset_of_char(text, 9) == 15);  // after 😀 (4 bytes)
    CHECK(byte_offset_of_char(text, 10) == text.size());
    CHECK_THROWS_AS(byte_offset_of_char(text, 11), Error);

    // "the eiffel tower": tokens the | eif | ##fel | tower
    const std::vector<ByteSpan> spans = {{0, 3}, {4, 7}, {7, 10}, {11, 16}};
    Span s = token_span_of_bytes(spans, 4, 16);
    CHECK((s.start == 1 && s.end == 3));
    CHECK(span_text("the eiffel tower", spans, s) == "eiffel tower");
    s = token_span_of_bytes(spans, 5, 8);  // inside eif and ##fel
    CHECK((s.start == 1 && s.end == 2));
    CHECK(token_span_of_bytes(spans, 3, 4).start == -1);  // only the space
    CHECK(span_text("the eiffel tower", spans, Span{}) == "");

    const std::vector<QaWindow> w = qa_windows({7}, {10, 11, 12, 13}, 1, 2, 6, 0);  // room 2: [0,2), [2,4)
    int a = -1, b = -1;
    window_target(w[1], Span{2, 3, 1}, a, b);
    CHECK((a == 3 && b == 4));
    window_target(w[0], Span{1, 2, 1}, a, b);  // crosses the window's end
    CHECK((a == 0 && b == 0));
}

}  // TEST_SUITE
