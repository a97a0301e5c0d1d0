// Llama-family decoder: RMSNorm, RoPE, grouped-query attention, SwiGLU, tied or separate
// output. Weights are views into the mapped file; every buffer is allocated once.
#pragma once
#include <deque>
#include <vector>

#include "src/models/config.h"
#include "src/models/kv_cache.h"
#include "src/models/model.h"

namespace lm {

struct LlamaLayer {
    const Tensor* attn_norm;
    const Tensor *wq, *wk, *wv, *wo;
    const Tensor *bq = nullptr, *bk = nullptr, *bv = nullptr;  // q/k/v biases (Qwen2), f32
    const Tensor* ffn_norm;
    const Tensor *w_gate, *w_up, *w_down;
};

struct LlamaWeights {
    const Tensor* token_embd;
    std::vector<LlamaLayer> layers;
    const Tensor* output_norm;
    const Tensor* output;  // token_embd when the classifier is tied
    const Tensor* rope_freqs = nullptr;  // Llama 3 RoPE scaling: per-pair angle divisors [head_dim/2]
};

// Activations for up to max_batch tokens at once.
struct LlamaState {
    Rows x, xb, xb2;  // residual stream, normed input, attention output [batch][dim]
    Rows q, k, v;     // [batch][dim], [batch][kv_dim] x2
    Rows hb, hb2;     // feed-forward gate and up [batch][hidden]
    std::vector<float> logits;  // last position [vocab]
};

class Llama : public Decoder {
public:
    Llama(const ModelFile& file, const DecoderOptions& options) : Llama(file, options, "llama") {}
    Llama(const ModelFile& file, int context, int max_batch) : Llama(file, DecoderOptions{context, max_batch}) {}

    const float* logits() const override { return state_.logits.data(); }
    int vocab_size() const override { return config_.vocab_size; }
    const Config& config() const { return config_; }

protected:
    // Architectures that are a Llama with a twist (src/models/qwen2.cpp) name themselves here; the
    // differences are read from the file: biases when present, the RoPE style from Config.
    Llama(const ModelFile& file, const DecoderOptions& options, const char* arch);

private:
    void forward_chunk(const int* tokens, int n, int pos, int threads, float* all_logits) override;

    Config config_;
    std::deque<Tensor> views_;  // row ranges of fused matrices (Phi-3); w_ points in here
    LlamaWeights w_;
    PackedWeights packed_;  // interleaved copies of w_'s matrices for decode
    LlamaState state_;
    KvCache cache_;
};

}  // namespace lm
