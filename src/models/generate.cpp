#include "src/models/generate.h"

#include <algorithm>
#include <chrono>

namespace lm {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// llama.cpp's context shift: drops the oldest half of the tokens after the first when that is
// BOS, and re-processes the rest from position 0; the last position's logits then predict the
// next token again.
void shift_context(Decoder& model, std::vector<int>& tokens, int bos, int threads) {
    const size_t keep = tokens.size() > 2 && tokens[0] == bos ? 1 : 0;
    const size_t discard = std::max<size_t>(1, (tokens.size() - keep) / 2);
    tokens.erase(tokens.begin() + keep, tokens.begin() + keep + discard);
    model.forward(tokens.data(), static_cast<int>(tokens.size()), 0, threads);
}
}  // namespace

std::vector<int> prompt_tokens(const Tokenizer& tok, std::string_view prompt) {
    const std::vector<int32_t> ids = tok.encode(prompt, true);
    std::vector<int> tokens(ids.begin(), ids.end());
    if (tokens.empty() && tok.bos() >= 0) tokens.push_back(tok.bos());
    return tokens;
}

const char* stop_reason_name(StopReason reason) {
    switch (reason) {
    case StopReason::n_predict: return "-n";
    case StopReason::end_of_text: return "end of text";
    case StopReason::context_full: return "context full";
    case StopReason::caller: return "stopped by the caller";
    case StopReason::cancelled: return "cancelled";
    }
    return "?";
}

StopReason generate(Decoder& model, Sampler& sampler, const Tokenizer& tok, std::vector<int>& tokens,
                    const GenerateOptions& options, const std::function<bool(int token, const std::string& text)>& on_text,
                    GenerateStats* stats) {
    GenerateStats local;
    GenerateStats& st = stats ? *stats : local;
    const int context = model.context();
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(tokens.data() + options.cached, static_cast<int>(tokens.size()) - options.cached, options.cached,
                  options.threads);
    st.prompt_seconds = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    Utf8Stream out;
    std::vector<float> logits(model.vocab_size());
    StopReason stop = StopReason::n_predict;
    while (options.n_predict < 0 || st.generated < options.n_predict) {
        if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
            stop = StopReason::cancelled;
            break;
        }
        logits.assign(model.logits(), model.logits() + logits.size());
        const int next = sampler.sample(logits.data(), tokens);
        if (tok.is_eog(next)) {
            stop = StopReason::end_of_text;
            break;
        }
        const std::string text = out.push(tok.decode_token(tokens.back(), next));
        tokens.push_back(next);
        ++st.generated;
        if (!on_text(next, text)) {
            stop = StopReason::caller;
            break;
        }
        if (st.generated == options.n_predict) break;
        if (static_cast<int>(tokens.size()) < context) {
            model.forward(&tokens.back(), 1, static_cast<int>(tokens.size()) - 1, options.threads);
        } else if (options.ctx_shift) {
            shift_context(model, tokens, tok.bos(), options.threads);
            ++st.shifts;
        } else {
            stop = StopReason::context_full;
            break;
        }
    }
    const std::string rest = out.flush();
    if (!rest.empty()) on_text(-1, rest);
    st.decode_seconds = seconds_since(t1);
    return stop;
}

}  // namespace lm
