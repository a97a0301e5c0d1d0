// BERT encoder: word + position + token-type embeddings, post-LayerNorm blocks with
// bidirectional attention (padding masked out), GELU (erf); and the heads put on top of it:
// span start/end logits (question answering), pooler + classifier, pooled embeddings.
#pragma once
#include <string>
#include <vector>

#include "src/models/config.h"

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

// Activations for up to `max_rows` positions (sequences x padded length), and what the last
// encode ran.
struct BertState {
    int max_rows = 0;
    std::vector<float> x, xb, xb2;  // hidden states, scratch, attention output [rows][dim]
    std::vector<float> q, k, v;     // [rows][dim]
    std::vector<float> hb;          // feed-forward hidden [rows][hidden]
    std::vector<float> att;         // per-thread attention scores [context]
    std::vector<unsigned char> mask;  // [rows]: 1 real token, 0 padding
    int len = 0, n_seq = 0;
};

enum class Pooling { mean, cls };

// The classifier's label names (bert.classifier.output_labels, else LABEL_0, LABEL_1, ...);
// none without a classifier.
std::vector<std::string> bert_labels(const ModelFile& file);

class Bert {
public:
    // Room for max_rows positions per encode, at least one sequence of the context length.
    Bert(const ModelFile& file, int max_rows = 0);

    // Runs n_seq sequences of len positions each, one after the other in tokens (rows
    // s*len .. s*len+len-1 are sequence s). types (token type ids) may be null for all 0;
    // mask may be null for all real tokens, else mask[row] == 0 marks padding that no
    // position attends to.
    void encode(const int* tokens, const int* types, const unsigned char* mask, int len, int threads, int n_seq = 1);
    const float* hidden() const { return state_.x.data(); }  // [n_seq * len][dim] after encode

    bool has_span_head() const { return w_.qa != nullptr; }
    bool has_classifier() const { return w_.classifier != nullptr; }
    // Start and end logits of the last encode's first n rows.
    void span_logits(float* start, float* end, int n) const;
    // Class probabilities of sequence `seq` of the last encode, from its [CLS] (pooler,
    // tanh, classifier, softmax).
    std::vector<float> classify(int seq = 0) const;
    // Sequence `seq` of the last encode as one L2-normalized vector: the mean over its real
    // tokens, or its [CLS] vector.
    std::vector<float> embed(Pooling pooling, int seq = 0) const;

    const Config& config() const { return config_; }
    int max_tokens() const { return config_.context_length; }  // of one sequence
    int max_rows() const { return state_.max_rows; }
    int n_labels() const { return w_.classifier ? static_cast<int>(w_.classifier->ne[1]) : 0; }
    const std::vector<std::string>& labels() const { return labels_; }
    Pooling pooling() const { return pooling_; }  // the model's own, from bert.pooling_type

private:
    void attention(int threads);

    Config config_;
    BertWeights w_;
    BertState state_;
    std::vector<std::string> labels_;
    Pooling pooling_ = Pooling::mean;
    int n_types_ = 0;
    std::string source_;  // the file, for messages
};

}  // namespace lm
