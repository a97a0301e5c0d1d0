// Gemma 2 decoder (src/models/gemma2.cpp). Weights are views into the mapped file; every buffer is
// allocated once.
#pragma once
#include <vector>

#include "src/models/config.h"
#include "src/models/kv_cache.h"
#include "src/models/model.h"

namespace lm {

struct Gemma2Layer {
    const Tensor *attn_norm, *post_attention_norm;
    const Tensor *wq, *wk, *wv, *wo;
    const Tensor *ffn_norm, *post_ffw_norm;
    const Tensor *w_gate, *w_up, *w_down;
};

struct Gemma2Weights {
    const Tensor* token_embd;  // also the classifier
    std::vector<Gemma2Layer> layers;
    const Tensor* output_norm;
};

struct Gemma2State {
    Rows x, xb, xb2;  // residual stream, normed input, sublayer output [batch][dim]
    Rows q, att;      // [batch][n_heads * head_dim]
    Rows k, v;        // [batch][kv_dim]
    Rows hb, hb2;     // feed-forward gate and up [batch][hidden]
    std::vector<float> logits;  // last position [vocab]
};

class Gemma2 : public Decoder {
public:
    Gemma2(const ModelFile& file, const DecoderOptions& options);

    const float* logits() const override { return state_.logits.data(); }
    int vocab_size() const override { return config_.vocab_size; }

private:
    void forward_chunk(const int* tokens, int n, int pos, int threads, float* all_logits) override;

    Config config_;
    float query_scale_ = 1;
    Gemma2Weights w_;
    PackedWeights packed_;
    Gemma2State state_;
    KvCache cache_;
};

}  // namespace lm
