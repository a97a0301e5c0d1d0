#include "src/models/bert_tasks.h"

#include <algorithm>

#include "src/models/qa.h"
#include "weights/error.h"

namespace lm {

// [CLS] text [SEP]; a text longer than the model's positions is an error, not truncated.
std::vector<int> encode_text(const Tokenizer& tok, const std::string& text, int max_tokens) {
    std::vector<int32_t> ids = tok.encode(text, true);
    if (static_cast<int>(ids.size()) > max_tokens)
        fail("text \"", text.substr(0, 40), text.size() > 40 ? "...\"" : "\"", " is ", ids.size(),
             " tokens, longer than the model's ", max_tokens, " positions");
    return std::vector<int>(ids.begin(), ids.end());
}

void encode_batches(Bert& bert, const Tokenizer& tok, const std::vector<std::string>& texts, int threads,
                    const std::function<void(size_t text, int seq)>& done) {
    std::vector<std::vector<int>> ids;
    for (const std::string& text : texts) ids.push_back(encode_text(tok, text, bert.max_tokens()));
    std::vector<int> tokens;
    std::vector<unsigned char> mask;
    for (size_t first = 0; first < ids.size();) {
        // Grow the batch while its rows, padded to the longest text, still fit.
        size_t end = first + 1, len = ids[first].size();
        while (end < ids.size() && (end - first + 1) * std::max(len, ids[end].size()) <= static_cast<size_t>(bert.max_rows()))
            len = std::max(len, ids[end++].size());
        tokens.assign((end - first) * len, 0);  // padding: any valid id, masked out
        mask.assign(tokens.size(), 0);
        for (size_t t = first; t < end; ++t) {
            std::copy(ids[t].begin(), ids[t].end(), tokens.begin() + (t - first) * len);
            std::fill_n(mask.begin() + (t - first) * len, ids[t].size(), 1);
        }
        bert.encode(tokens.data(), nullptr, mask.data(), static_cast<int>(len), threads, static_cast<int>(end - first));
        for (size_t t = first; t < end; ++t) done(t, static_cast<int>(t - first));
        first = end;
    }
}

Answer answer_question(Bert& bert, const Tokenizer& tok, const std::string& question, const std::string& context,
                       int max_answer, int stride_flag, int threads) {
    const std::vector<int32_t> q = tok.encode(question, false);
    std::vector<ByteSpan> spans;  // the bytes of `context` each token came from
    const std::vector<int32_t> c = tok.encode_with_spans(context, spans);
    if (c.empty()) fail("qa: the context has no tokens");
    const int window = bert.max_tokens(), n_q = static_cast<int>(q.size()), n_c = static_cast<int>(c.size());
    const int room = qa_context_room(n_q, window);
    if (room < 1) fail("qa: the question is ", n_q, " tokens and leaves no room for the context in the model's ",
                       window, " positions");
    const int stride = stride_flag >= 0 ? stride_flag : qa_default_stride(room);
    if (n_c > room && stride_flag == 0)
        fail("qa: question and context are ", n_q + n_c + 3, " tokens, longer than the model's ", window,
             " positions (use --stride N to read the context in overlapping windows)");
    if (stride >= room) fail("--stride: ", stride, " must be smaller than the ", room, " context tokens a window holds");

    std::vector<float> start(window), end(window);
    Span best;
    for (const QaWindow& w : qa_windows(q, c, tok.bos(), tok.eos(), window, stride)) {
        const int n = static_cast<int>(w.ids.size());
        bert.encode(w.ids.data(), w.types.data(), nullptr, n, threads);
        bert.span_logits(start.data(), end.data(), n);
        const Span s = best_span(start.data(), end.data(), w, max_answer);
        if (s.score > best.score) best = s;
    }
    return {span_text(context, spans, best), best.score, best.start, best.end};
}

}  // namespace lm
