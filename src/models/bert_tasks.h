// What lm classify, lm embed, lm qa and the C API do with a BERT encoder: batches of texts
// padded to their longest, and an answer span found over the windows of a long context.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "src/models/bert.h"
#include "tokenizer/tokenizer.h"

namespace lm {

// [CLS] text [SEP] as ids, failing when longer than max_tokens (a text is never truncated).
std::vector<int> encode_text(const Tokenizer& tok, const std::string& text, int max_tokens);
// Runs the texts through the encoder (built with room for kEncoderBatchRows rows) in padded
// batches of neighbouring texts; after each batch, calls done(text index, its sequence in
// the batch).
constexpr int kEncoderBatchRows = 1024;
void encode_batches(Bert& bert, const Tokenizer& tok, const std::vector<std::string>& texts, int threads,
                    const std::function<void(size_t text, int seq)>& done);

struct Answer {
    std::string text;            // as it stands in the context
    double score = -1;           // p(start) * p(end)
    int start = -1, end = -1;    // context token indices, inclusive
};
// The best answer span to `question` in `context` over windows of the model's positions that
// share `stride` tokens (< 0: qa_default_stride; 0: one window, the context must fit).
Answer answer_question(Bert& bert, const Tokenizer& tok, const std::string& question, const std::string& context,
                       int max_answer, int stride, int threads);

}  // namespace lm
