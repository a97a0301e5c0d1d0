// Llama-family decoder: RMSNorm, RoPE, grouped-query attention, SwiGLU, tied or separate
// output. Weights are views into the mapped file; every buffer is allocated once.
#pragma once
#include <vector>

#include "src/config.h"
#include "src/model.h"

namespace lm {

struct LlamaLayer {
    const Tensor* attn_norm;
    const Tensor *wq, *wk, *wv, *wo;
    const Tensor* ffn_norm;
    const Tensor *w_gate, *w_up, *w_down;
};

struct LlamaWeights {
    const Tensor* token_embd;
    std::vector<LlamaLayer> layers;
    const Tensor* output_norm;
    const Tensor* output;  // token_embd when the classifier is tied
};

// Activations for up to `max_batch` tokens at once, and the KV cache for `context` positions.
struct LlamaState {
    int max_batch = 0, context = 0;
    std::vector<float> x, xb, xb2;  // residual stream, normed input, attention output [batch][dim]
    std::vector<float> q, k, v;     // [batch][dim], [batch][kv_dim] x2
    std::vector<float> hb, hb2;     // feed-forward gate and up [batch][hidden]
    std::vector<float> att;         // per-thread attention scratch
    std::vector<float> logits;      // last position [vocab]
    std::vector<uint16_t> key_cache, value_cache;  // f16 [layer][context][kv_dim]
};

class Llama : public Decoder {
public:
    Llama(const ModelFile& file, int context, int max_batch);

    void forward(const int* tokens, int n, int pos, int threads, float* all_logits = nullptr) override;
    const float* logits() const override { return state_.logits.data(); }
    int vocab_size() const override { return config_.vocab_size; }
    int context() const override { return state_.context; }
    const Config& config() const { return config_; }

private:
    void forward_chunk(const int* tokens, int n, int pos, int threads, float* all_logits);
    void attention(int layer, int n, int pos, int threads);

    Config config_;
    LlamaWeights w_;
    LlamaState state_;
};

}  // namespace lm
