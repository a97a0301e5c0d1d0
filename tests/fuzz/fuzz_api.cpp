// GGUF bytes through the C API alone (src/api/lm.h), as an embedding app would hand over a
// buffer: lm_model_load_from_memory, then tokenize, a small context, decode and a greedy
// token, or a BERT embedding. Every call must return a status; nothing may crash or throw.
#include <cstring>
#include <string>
#include <vector>

#include "src/api/lm.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    lm_model* model = nullptr;
    if (lm_model_load_from_memory(data, size, &model) != LM_OK) {
        if (model || std::strlen(lm_last_error()) == 0) std::abort();  // a failure says why, hands out nothing
        return 0;
    }
    int32_t ids[16], n = 0;
    lm_tokenize(model, "Once upon a time <s> 12", 23, 1, 1, ids, 16, &n);
    const std::string arch = lm_model_architecture(model);
    // BERT sizes its activations for the model's whole context: stay within the fuzzer's memory.
    const bool small = arch != "bert" || int64_t{lm_model_context_length(model)} * lm_model_embedding_size(model) <= (1 << 16);
    lm_context_params p = lm_context_default_params();
    p.n_ctx = 8, p.n_batch = 4, p.n_threads = 1;
    lm_context* context = nullptr;
    if (small && lm_context_new(model, &p, &context) == LM_OK) {
        const int32_t vocab = lm_vocab_size(model);
        const int32_t tokens[3] = {0, vocab > 0 ? vocab - 1 : 0, vocab / 2};
        if (arch == "bert") {
            std::vector<float> v(lm_model_embedding_size(model));
            lm_embed(context, "a b", LM_POOLING_MODEL, v.data(), static_cast<int32_t>(v.size()));
        } else if (lm_decode(context, tokens, 3, 0) == LM_OK) {
            lm_sampler* sampler = nullptr;
            int32_t next = 0;
            if (lm_sampler_new(model, nullptr, &sampler) == LM_OK)
                lm_sampler_sample(sampler, lm_logits(context), tokens, 3, &next);
            lm_sampler_free(sampler);
            lm_decode(context, tokens, 1, 3);
        }
        lm_context_free(context);
    }
    lm_model_free(model);
    return 0;
}
