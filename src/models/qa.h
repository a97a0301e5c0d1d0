// Extractive question answering around a BERT span head, shared by inference (lm qa, lm eval
// --task qa) and training (lm train --task qa): the input windows [CLS] question [SEP]
// context-window [SEP], the best answer span from start/end logits, and the maps between
// SQuAD's character offsets, the context's bytes and its tokens.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lm {

// One model input: ids and token types of [CLS] question [SEP] context[offset, offset+len) [SEP].
struct QaWindow {
    std::vector<int> ids, types;  // types: 0 for [CLS] question [SEP], 1 for the context and its [SEP]
    int offset = 0, len = 0;      // the context tokens [offset, offset + len) this window holds
    int context_at = 0;           // index in ids of the first context token
};

// Context tokens one window holds: max_seq minus the question and [CLS], [SEP], [SEP].
inline int qa_context_room(int question_tokens, int max_seq) { return max_seq - question_tokens - 3; }
// The overlap used when none is asked for: half a window's context, at most 128 tokens (the
// Hugging Face doc_stride).
int qa_default_stride(int room);

// The windows covering the whole context, each of at most max_seq ids, neighbours sharing
// `stride` context tokens (0: they only touch). Throws lm::Error when the question leaves no
// room for context, when stride >= the room, or when the context is empty.
std::vector<QaWindow> qa_windows(const std::vector<int32_t>& question, const std::vector<int32_t>& context, int cls,
                                 int sep, int max_seq, int stride);

struct Span {
    int start = -1, end = -1;  // context token indices, inclusive; -1 when none
    double score = -1;         // p(start) * p(end), each a softmax over the window's context
};

// The span start <= end < start + max_answer with the highest p(start) * p(end) among the
// window's context tokens; the logits are indexed by position in w.ids.
Span best_span(const float* start_logits, const float* end_logits, const QaWindow& w, int max_answer);

// The text of context tokens [s.start, s.end] as it stands in `context`, through the byte
// spans encode_with_spans gave for them ("" for no span).
std::string span_text(std::string_view context, const std::vector<ByteSpan>& spans, const Span& s);

// The byte offset in UTF-8 `text` of code point `char_offset` (SQuAD's answer_start counts
// code points, as Python's str does); text.size() for the end. Throws when past the end.
size_t byte_offset_of_char(std::string_view text, size_t char_offset);
// Number of code points in UTF-8 `text` (invalid bytes count one each).
size_t char_count(std::string_view text);

// The context tokens covering bytes [begin, end) of the context: the first token ending after
// begin through the last token starting before end. {-1, -1} when no token overlaps.
Span token_span_of_bytes(const std::vector<ByteSpan>& spans, size_t begin, size_t end);

// Where a training target lies in window w: ids positions of the answer's first and last
// token, or both 0 ([CLS]) when the answer is not wholly inside the window (as BERT's SQuAD
// fine-tuning marks impossible windows).
void window_target(const QaWindow& w, const Span& answer, int& start_position, int& end_position);

}  // namespace lm
