// The generation loop `lm run` and the C API's lm_generate share: run the prompt, then sample,
// stream and feed back one token at a time until end-of-text, a token budget, a full context
// (or, with context shifting, on), the caller's stop, or a cancel from another thread.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "src/models/model.h"
#include "src/models/sampler.h"
#include "tokenizer/tokenizer.h"

namespace lm {

enum class StopReason { n_predict, end_of_text, context_full, caller, cancelled };
const char* stop_reason_name(StopReason reason);  // "-n", "end of text", "context full", ...

struct GenerateOptions {
    int64_t n_predict = 256;  // < 0: until end-of-text or a full context
    bool ctx_shift = false;   // when the context is full, drop its oldest half and go on
    int threads = 1;
    int cached = 0;           // leading tokens the KV cache already holds (lm chat's earlier turns)
    const std::atomic<bool>* cancel = nullptr;  // checked before each token
};

struct GenerateStats {
    int generated = 0, shifts = 0;
    double prompt_seconds = 0, decode_seconds = 0;
};

// The prompt's ids with BOS as the model adds it; an empty prompt starts from BOS alone for
// models that add none (GPT-2). Empty when the prompt is empty and the model has no BOS.
std::vector<int> prompt_tokens(const Tokenizer& tok, std::string_view prompt);

// `tokens` holds the prompt (at least one token more than `cached`, no longer than the
// model's context) and on return everything generated after it. on_text gets the text of each generated token as
// complete UTF-8 (empty while a character is split across tokens; what is left at the end
// comes with token -1) and returns false to stop.
StopReason generate(Decoder& model, Sampler& sampler, const Tokenizer& tok, std::vector<int>& tokens,
                    const GenerateOptions& options, const std::function<bool(int token, const std::string& text)>& on_text,
                    GenerateStats* stats = nullptr);

}  // namespace lm
