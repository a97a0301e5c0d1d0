// BERT encoder: word + position + token-type embeddings, post-LayerNorm blocks with
// bidirectional attention (padding masked out), GELU (erf); and the heads put on top of it:
// span start/end logits (question answering), pooler + classifier, pooled embeddings.
#pragma once
#include <string>
#include <vector>

#include "src/config.h"

namespace lm {

struct BertLayer {
    const Tensor *wq, *bq, *wk, *bk, *wv, *bv;
    const Tensor *wo, *bo;
    const Tensor *attn_norm, *attn_norm_b;  // after attention + residual
    const Tensor *w_up, *b_up, *w_down, *b_down;
    const Tensor *out_norm, *out_norm_b;    // after feed-forward + residual
};

struct BertWeights {
    const Tensor *token_embd, *position_embd, *token_types;
    const Tensor *embd_norm, *embd_norm_b;
    std::vector<BertLayer> layers;
    const Tensor *pooler = nullptr, *pooler_b = nullptr;          // "cls": dense + tanh over [CLS]
    const Tensor *classifier = nullptr, *classifier_b = nullptr;  // "cls.output"
    const Tensor *qa = nullptr, *qa_b = nullptr;                  // span head: 2 rows, start and end
};

// Activations for up to `max_tokens` positions of one sequence.
struct BertState {
    int max_tokens = 0;
    std::vector<float> x, xb, xb2;  // hidden states, scratch, attention output [n][dim]
    std::vector<float> q, k, v;     // [n][dim]
    std::vector<float> hb;          // feed-forward hidden [n][hidden]
    std::vector<float> att;         // per-thread attention scores [max_tokens]
};

enum class Pooling { mean, cls };

class Bert {
public:
    // max_tokens <= 0: the model's context length.
    Bert(const ModelFile& file, int max_tokens = 0);

    // Runs one sequence of n tokens. types (token type ids) may be null for all 0; mask may
    // be null for all real tokens, else mask[i] == 0 marks padding no position attends to.
    void encode(const int* tokens, const int* types, const unsigned char* mask, int n, int threads);
    const float* hidden() const { return state_.x.data(); }  // [n][dim] after encode

    bool has_span_head() const { return w_.qa != nullptr; }
    bool has_classifier() const { return w_.classifier != nullptr; }
    // Start and end logits of the last encode's n positions.
    void span_logits(float* start, float* end, int n) const;
    // Class probabilities from the last encode's [CLS] (pooler, tanh, classifier, softmax).
    std::vector<float> classify() const;
    // L2-normalized mean over real tokens, or the [CLS] vector.
    std::vector<float> embed(Pooling pooling, const unsigned char* mask, int n) const;

    const Config& config() const { return config_; }
    int max_tokens() const { return state_.max_tokens; }
    int n_labels() const { return w_.classifier ? static_cast<int>(w_.classifier->ne[1]) : 0; }
    const std::vector<std::string>& labels() const { return labels_; }
    Pooling pooling() const { return pooling_; }  // the model's own, from bert.pooling_type

private:
    void attention(const unsigned char* mask, int n, int threads);

    Config config_;
    BertWeights w_;
    BertState state_;
    std::vector<std::string> labels_;
    Pooling pooling_ = Pooling::mean;
    int n_types_ = 0;
};

}  // namespace lm
