// GPT-2 decoder: learned positions, pre-LayerNorm blocks, fused QKV with bias, GELU (tanh),
// classifier tied to the token embedding. Weights are views; every buffer is allocated once.
#pragma once
#include <vector>

#include "src/models/config.h"
#include "src/models/kv_cache.h"
#include "src/models/model.h"

namespace lm {

struct Gpt2Layer {
    const Tensor *attn_norm, *attn_norm_b;
    const Tensor *wqkv, *bqkv;  // [dim] -> [3 dim]: q, k, v one after the other
    const Tensor *wo, *bo;
    const Tensor *ffn_norm, *ffn_norm_b;
    const Tensor *w_up, *b_up, *w_down, *b_down;
};

struct Gpt2Weights {
    const Tensor *token_embd, *position_embd;
    std::vector<Gpt2Layer> layers;
    const Tensor *output_norm, *output_norm_b;
    const Tensor* output;  // token_embd unless the file has its own output.weight
};

// Activations for up to max_batch tokens at once.
struct Gpt2State {
    Rows x, xb, xb2;  // residual stream, normed input, attention output [batch][dim]
    Rows qkv;         // [batch][3 dim]
    Rows hb;          // feed-forward hidden [batch][hidden]
    std::vector<float> logits;  // last position [vocab]
};

class Gpt2 : public Decoder {
public:
    Gpt2(const ModelFile& file, const DecoderOptions& options);
    Gpt2(const ModelFile& file, int context, int max_batch) : Gpt2(file, DecoderOptions{context, max_batch}) {}

    const float* logits() const override { return state_.logits.data(); }
    int vocab_size() const override { return config_.vocab_size; }
    const Config& config() const { return config_; }

private:
    void forward_chunk(const int* tokens, int n, int pos, int threads, float* all_logits) override;

    Config config_;
    Gpt2Weights w_;
    PackedWeights packed_;  // interleaved copies of w_'s matrices for decode
    Gpt2State state_;
    KvCache cache_;
};

// y[r][c] += bias[c] for n rows of `cols` (the bias of a Linear layer over a batch).
void add_bias(float* y, const Tensor& bias, int n);

}  // namespace lm
