#include "src/models/qa.h"

#include <algorithm>
#include <cmath>

#include "tokenizer/unicode.h"
#include "weights/error.h"

namespace lm {

int qa_default_stride(int room) { return std::min(128, room / 2); }

std::vector<QaWindow> qa_windows(const std::vector<int32_t>& question, const std::vector<int32_t>& context, int cls,
                                 int sep, int max_seq, int stride) {
    const int n_q = static_cast<int>(question.size()), n_c = static_cast<int>(context.size());
    const int room = qa_context_room(n_q, max_seq);
    if (room < 1)
        fail("the question is ", n_q, " tokens and leaves no room for the context in ", max_seq, " positions");
    if (stride < 0 || stride >= room)
        fail("stride ", stride, " must be from 0 to less than the ", room, " context tokens a window holds");
    if (n_c == 0) fail("the context has no tokens");
    std::vector<QaWindow> windows;
    for (int offset = 0;; offset += room - stride) {
        QaWindow w;
        w.offset = offset;
        w.len = std::min(room, n_c - offset);
        w.context_at = n_q + 2;
        w.ids.reserve(w.context_at + w.len + 1);
        w.ids.push_back(cls);
        w.ids.insert(w.ids.end(), question.begin(), question.end());
        w.ids.push_back(sep);
        w.types.assign(w.ids.size(), 0);
        w.ids.insert(w.ids.end(), context.begin() + offset, context.begin() + offset + w.len);
        w.ids.push_back(sep);
        w.types.resize(w.ids.size(), 1);
        windows.push_back(std::move(w));
        if (offset + windows.back().len >= n_c) break;
    }
    return windows;
}

namespace {

// Softmax over the window's context positions of one row of logits.
std::vector<double> context_probs(const float* logits, const QaWindow& w) {
    const float* x = logits + w.context_at;
    double max = x[0];
    for (int i = 0; i < w.len; ++i) max = std::max(max, static_cast<double>(x[i]));
    std::vector<double> p(w.len);
    double sum = 0;
    for (int i = 0; i < w.len; ++i) sum += p[i] = std::exp(x[i] - max);
    for (double& v : p) v /= sum;
    return p;
}

}  // namespace

Span best_span(const float* start_logits, const float* end_logits, const QaWindow& w, int max_answer) {
    const std::vector<double> ps = context_probs(start_logits, w), pe = context_probs(end_logits, w);
    Span best;
    for (int i = 0; i < w.len; ++i)
        for (int j = i; j < w.len && j < i + max_answer; ++j)
            if (ps[i] * pe[j] > best.score) best = {w.offset + i, w.offset + j, ps[i] * pe[j]};
    return best;
}

std::string span_text(std::string_view context, const std::vector<ByteSpan>& spans, const Span& s) {
    if (s.start < 0 || s.end < s.start || s.end >= static_cast<int>(spans.size())) return "";
    const size_t from = spans[s.start].begin, to = spans[s.end].end;
    return std::string(context.substr(from, std::max(from, to) - from));
}

size_t byte_offset_of_char(std::string_view text, size_t char_offset) {
    size_t pos = 0;
    for (size_t c = 0; c < char_offset; ++c) {
        if (pos >= text.size())
            fail("character offset ", char_offset, " is past the end of a text of ", c, " characters");
        pos += decode_utf8(text, pos).len;
    }
    return pos;
}

size_t char_count(std::string_view text) {
    size_t n = 0;
    for (size_t pos = 0; pos < text.size(); pos += decode_utf8(text, pos).len) ++n;
    return n;
}

Span token_span_of_bytes(const std::vector<ByteSpan>& spans, size_t begin, size_t end) {
    Span s;
    for (int t = 0; t < static_cast<int>(spans.size()); ++t) {
        if (spans[t].end <= begin || spans[t].begin >= end) continue;
        if (s.start < 0) s.start = t;
        s.end = t;
    }
    if (s.start < 0) s.end = -1;
    return s;
}

void window_target(const QaWindow& w, const Span& answer, int& start_position, int& end_position) {
    if (answer.start < w.offset || answer.end >= w.offset + w.len || answer.start < 0 || answer.end < answer.start) {
        start_position = end_position = 0;
        return;
    }
    start_position = w.context_at + answer.start - w.offset;
    end_position = w.context_at + answer.end - w.offset;
}

}  // namespace lm
