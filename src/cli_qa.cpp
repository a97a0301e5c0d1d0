// lm qa MODEL --question Q --context C: extractive question answering with a BERT span head.
// The input is [CLS] question [SEP] context [SEP]; a context longer than the model's window
// is read in overlapping windows (--stride tokens shared by neighbours), as the Hugging Face
// question-answering pipeline does, and the best span over all windows wins. The answer is
// printed as it stands in the context.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "src/bert.h"
#include "src/cli.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"

namespace lm {

namespace {

struct Span {
    int start = -1, end = -1;  // context token indices, inclusive
    double score = -1;         // p(start) * p(end) within its window
};

// Softmax over the context positions [first, first + len) of one window's logits.
std::vector<double> context_probs(const std::vector<float>& logits, int first, int len) {
    double max = logits[first];
    for (int i = 0; i < len; ++i) max = std::max(max, static_cast<double>(logits[first + i]));
    std::vector<double> p(len);
    double sum = 0;
    for (int i = 0; i < len; ++i) sum += p[i] = std::exp(logits[first + i] - max);
    for (double& v : p) v /= sum;
    return p;
}

// The best span with start <= end < start + max_len in one window of the context.
Span best_span(const std::vector<float>& start, const std::vector<float>& end, int first, int len, int offset,
               int max_len) {
    const std::vector<double> ps = context_probs(start, first, len), pe = context_probs(end, first, len);
    Span best;
    for (int i = 0; i < len; ++i)
        for (int j = i; j < len && j < i + max_len; ++j)
            if (ps[i] * pe[j] > best.score) best = {offset + i, offset + j, ps[i] * pe[j]};
    return best;
}

}  // namespace

int cmd_qa(Args& args) {
    const char* usage = "lm qa MODEL --question Q --context C [--max-answer N] [--stride N] [-t THREADS]";
    const std::string question = args.text({"--question", "-q"}, "");
    const std::string context = args.text({"--context", "-c"}, "");
    const int max_answer = static_cast<int>(args.integer({"--max-answer"}, 30, 1, 1 << 20));
    const int64_t stride_flag = args.integer({"--stride"}, -1, 0, 1 << 20);
    const int threads = static_cast<int>(args.integer({"-t", "--threads"}, default_threads(), 1, 1024));
    const auto pos = args.positional(1, 1, usage);
    if (question.empty() || context.empty()) fail("qa: --question and --context are required (usage: ", usage, ")");

    ModelFile file = open_model(pos[0], "");
    Tokenizer tok(file.meta);
    Bert bert(file);
    if (!bert.has_span_head()) fail(pos[0], ": has no span head (qa_outputs): not a question-answering model");
    const std::vector<int32_t> q = tok.encode(question, false);
    std::vector<ByteSpan> spans;  // the bytes of `context` each token came from
    const std::vector<int32_t> c = tok.encode_with_spans(context, spans);
    if (c.empty()) fail("qa: the context has no tokens");
    const int window = bert.max_tokens(), n_q = static_cast<int>(q.size()), n_c = static_cast<int>(c.size());
    const int room = window - n_q - 3;  // [CLS] q [SEP] ... [SEP]
    if (room < 1) fail("qa: the question is ", n_q, " tokens and leaves no room for the context in the model's ",
                       window, " positions");
    // Default overlap: half the room, at most 128 tokens (the pipeline's doc_stride).
    const int stride = stride_flag >= 0 ? static_cast<int>(stride_flag) : std::min(128, room / 2);
    if (n_c > room && stride_flag == 0)
        fail("qa: question and context are ", n_q + n_c + 3, " tokens, longer than the model's ", window,
             " positions (use --stride N to read the context in overlapping windows)");
    if (stride >= room) fail("--stride: ", stride, " must be smaller than the ", room, " context tokens a window holds");

    std::vector<int> ids, types;
    std::vector<float> start(window), end(window);
    Span best;
    for (int offset = 0;; offset += room - stride) {
        const int len = std::min(room, n_c - offset);
        ids.assign({tok.bos()});
        ids.insert(ids.end(), q.begin(), q.end());
        ids.push_back(tok.eos());
        types.assign(ids.size(), 0);
        ids.insert(ids.end(), c.begin() + offset, c.begin() + offset + len);
        ids.push_back(tok.eos());
        types.resize(ids.size(), 1);
        const int n = static_cast<int>(ids.size());
        bert.encode(ids.data(), types.data(), nullptr, n, threads);
        bert.span_logits(start.data(), end.data(), n);
        const Span s = best_span(start, end, n_q + 2, len, offset, max_answer);
        if (s.score > best.score) best = s;
        if (offset + len >= n_c) break;
    }
    const size_t from = spans[best.start].begin, to = spans[best.end].end;
    const std::string answer = context.substr(from, std::max(from, to) - from);
    std::printf("%s\nscore: %.6f (context tokens %d..%d)\n", answer.c_str(), best.score, best.start, best.end);
    return 0;
}

}  // namespace lm
