// A trainable model (Llama- or GPT-2-style decoder, an RNN, or a BERT encoder) over layers.h,
// llm.c-style: parameters, gradients, AdamW moments and activations are flat buffers allocated
// once for a fixed (B, T); forward, backward and the optimizer step allocate nothing.
//
// Llama: RMSNorm, adjacent-pair RoPE, grouped-query attention, SwiGLU, no biases, tied or
// untied head. GPT-2: learned positions, LayerNorm, GELU (tanh), biases everywhere, tied head.
// RNN (the Keras example): embedding (C) -> one tanh RNN layer (H) -> linear head with bias.
// BERT (Devlin et al. 2019, as src/models/bert runs it): word + position + token-type embeddings ->
// LayerNorm -> L post-LN blocks (bidirectional attention over padded sequences, GELU (erf)),
// biases everywhere, and one head (BertHead): masked-LM (dense + GELU + LayerNorm + decoder
// tied to wte with its own bias, at the masked positions only), sequence classification
// (pooler dense + tanh on [CLS], then a linear layer) or extractive QA (linear to start/end).
// Packed layouts (rows of the weight matrices, so one matmul computes several projections):
//   qkvw [L, (NH + 2 NKV) HS, C] = rows of wq | wk | wv
//   fcw  [L, FC, C] with FC = 2H for Llama (rows of w1 (gate) | w3 (up)), H for GPT-2
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace lm {

enum class TrainArch { llama, gpt2, rnn, bert };
enum class BertHead { mlm, classify, qa };
const char* train_arch_name(TrainArch arch);  // "llama", "gpt2", "rnn", "bert"

constexpr int IGNORE_INDEX = -100;     // targets with this value do not count in the loss
constexpr long NORM_CHUNK = 1L << 16;  // gradient values per partial sum of the norm
constexpr double MLM_FRACTION = 0.15;  // BERT: tokens masked per sequence, round(0.15 n) (at least 1)

struct TrainConfig {
    TrainArch arch = TrainArch::llama;
    int vocab_size = 0;
    int dim = 0;          // C
    int n_layers = 0;     // L (RNN: 1)
    int n_heads = 0;      // NH; head size HS = C / NH
    int n_kv_heads = 0;   // NKV (GPT-2: = NH)
    int hidden_dim = 0;   // H, the MLP width (RNN: the state size)
    int max_seq_len = 0;  // rows of wpe (GPT-2); T may not exceed it
    bool tied_head = true;
    float norm_eps = 1e-5f;
    float rope_base = 10000.0f;
    // BERT only.
    BertHead head = BertHead::mlm;
    int n_types = 2;   // token types (segments A and B)
    int n_labels = 0;  // classify: classes
};

// One named parameter tensor inside the flat buffer.
struct ParamTensor {
    std::string name;
    size_t offset = 0, size = 0;
    bool decay = false;  // weight decay applies to matrices and embeddings, not norms or biases
};

// Pointers into a flat parameter (or gradient) buffer; null where the architecture has none.
struct TrainParams {
    float *wte, *wpe;             // [V, C], [maxT, C]
    float *ln1w, *ln1b;           // [L, C]
    float *qkvw, *qkvb;           // [L, C3, C], [L, C3]
    float *attprojw, *attprojb;   // [L, C, C], [L, C]
    float *ln2w, *ln2b;           // [L, C]
    float *fcw, *fcb;             // [L, FC, C], [L, FC]
    float *fcprojw, *fcprojb;     // [L, C, H], [L, C]
    float *lnfw, *lnfb;           // [C]
    float* head;                  // [V, C] (RNN: [V, H]); = wte when tied
    float *rnnwx, *rnnwh, *rnnb;  // RNN: [H, C], [H, H], [H]
    float* headb;                 // RNN, BERT masked-LM decoder: [V]
    // BERT. Blocks use the fields above: ln1 is the norm after attention, ln2 after the MLP.
    float* wtt;                   // [n_types, C] token-type embeddings
    float *lnew, *lneb;           // [C] embedding LayerNorm
    float *mlmw, *mlmb;           // [C, C], [C] masked-LM transform
    float *mlmlnw, *mlmlnb;       // [C] its LayerNorm
    float *poolw, *poolb;         // [C, C], [C] pooler
    float *clsw, *clsb;           // [K, C], [K] classifier
    float *qaw, *qab;             // [2, C], [2] span start / end
};

// What forward keeps for backward, per layer where indexed by l.
struct TrainActivations {
    float* encoded;                    // [BT, C]
    float *ln1, *ln1_mean, *ln1_rstd;  // [L, BT, C], [L, BT], [L, BT]
    float* qkv;                        // [L, BT, C3] projections
    float* qkvr;                       // [L, BT, C3] after RoPE (Llama; GPT-2 aliases qkv)
    float* att;                        // [L, B, NH, T, T] probabilities
    float* atty;                       // [L, BT, C] attention output before the projection
    float* attproj;                    // [L, BT, C]
    float* residual2;                  // [L, BT, C] residual + attention
    float *ln2, *ln2_mean, *ln2_rstd;  // [L, BT, C], [L, BT], [L, BT]
    float* fch;                        // [L, BT, FC]
    float* fch_act;                    // [L, BT, H] after SwiGLU / GELU
    float* fcproj;                     // [L, BT, C]
    float* residual3;                  // [L, BT, C] layer output
    float *lnf, *lnf_mean, *lnf_rstd;  // [BT, C], [BT], [BT]
    float* probs;                      // [BT, V] logits, turned into probabilities in place
                                       // (BERT: [rows, classes] of its head)
    float* rnn_h;                      // RNN: [BT, H] states
    // BERT: the embedding norm; block l's ln1/ln2 are its post-attention / output norms and
    // residual2/residual3 their inputs. Head rows: masked positions (MLM), [CLS] rows
    // (classify), every row (QA). The last block computes its outputs at the head's rows
    // only (its keys and values still come from every row): its buffers after the attention
    // hold those rows, in head order, first.
    float *lne, *lne_mean, *lne_rstd;  // [BT, C], [BT], [BT]
    float* last_att;                   // [rows, C] the last block's attention output at the head's rows
    float *head_h, *head_act;          // [rows, C] MLM dense / GELU; pooler dense / tanh
    float *head_ln, *head_mean, *head_rstd;  // [rows, C], [rows], [rows] MLM LayerNorm (classify:
                                             // the pooled rows after dropout)
    float* qa_logits;                  // [BT, 2]
};

// Gradients of activations for one layer at a time (reused down the stack) plus the head.
struct TrainScratch {
    float* dresidual;                  // [BT, C] gradient of the residual stream
    float *dln1, *dqkv, *dqkvr, *datt, *datty, *dln2, *dfch, *dfch_act;
    float *dlnf, *dlogits;             // [BT, C], [BT, V]
    float *drnn_h, *dpre;              // RNN: [BT, H] each
    float *dresidual2, *dhead_h, *dhead_act;  // BERT: [BT, C], [rows, C] x 2
    float* dqa_logits;                 // BERT QA: [BT, 2]
};

// One BERT batch of B sequences padded to T tokens (B, T no larger than the model's). Each
// sequence's real tokens come first, padding (any id) after them. Targets by head: masked-LM
// the flat positions (b * T + t) of the n_masked masked tokens and their original ids;
// classify a label per sequence; QA the start and end position of the answer per sequence.
// Targets may be null for a forward without loss (evaluation).
struct BertBatch {
    int B = 0, T = 0;
    const int* tokens = nullptr;   // [B * T]
    const int* types = nullptr;    // [B * T] token types, null: all 0
    const int* lengths = nullptr;  // [B] real tokens per sequence, null: all T
    const int *mlm_positions = nullptr, *mlm_targets = nullptr;
    int n_masked = 0;
    const int* labels = nullptr;                         // [B]
    const int *starts = nullptr, *ends = nullptr;        // [B]
    // Training only: each hidden state leaving the embedding norm, an attention or an MLP
    // projection (and the pooled [CLS] of the classifier) is zeroed with probability `dropout`
    // and the rest scaled by 1 / (1 - dropout), by a mask that is a hash of dropout_seed.
    float dropout = 0.0f;
    unsigned long long dropout_seed = 0;
};

struct AdamWConfig {
    float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
};

// Not copyable: p, g, acts and scratch point into the model's own buffers (moves keep them).
struct TrainModel {
    TrainModel() = default;
    TrainModel(const TrainModel&) = delete;
    TrainModel& operator=(const TrainModel&) = delete;
    TrainModel(TrainModel&&) = default;
    TrainModel& operator=(TrainModel&&) = default;

    TrainConfig config;
    int B = 0, T = 0;
    std::vector<ParamTensor> tensors;
    std::vector<float> params, grads, adam_m, adam_v;  // flat, laid out as `tensors`
    TrainParams p{}, g{};
    std::vector<float> act_memory, scratch_memory;
    TrainActivations acts{};
    TrainScratch scratch{};
    std::vector<int> inputs, targets;  // [BT] of the last forward
    // BERT: the last forward's batch (copied, so backward needs no arguments).
    int batch_B = 0, batch_T = 0, n_masked = 0;
    float dropout = 0.0f;
    unsigned long long dropout_seed = 0;
    std::vector<int> types, lengths, head_rows, head_targets;
    std::vector<double> norm_parts;    // partial sums of the gradient norm, one per NORM_CHUNK
    float loss = 0.0f;
    int adam_steps = 0;  // completed optimizer steps (bias correction uses adam_steps + 1)
};

// Validates the config and allocates every buffer for batches of B sequences of T tokens.
void train_model_init(TrainModel& model, const TrainConfig& config, int B, int T);
// GPT-2-style initial weights: N(0, std) with std 0.02 (BERT's initializer_range), residual
// projections scaled by 1/sqrt(2L) (not in BERT), norm weights 1, biases 0 (RNN: variance
// 1/fan_in for wx and wh); deterministic in seed.
void train_model_init_weights(TrainModel& model, unsigned long seed, float std = 0.02f);
const ParamTensor* find_tensor(const TrainModel& model, const std::string& name);

// Mean cross-entropy of targets (ignore_index rows skipped) given inputs, both [B*T].
float train_forward(TrainModel& model, const int* inputs, const int* targets);
void train_zero_grad(TrainModel& model);
// Accumulates loss_scale * d(loss of the last forward)/d(params) into model.grads; with
// gradient accumulation over k micro-batches, loss_scale = 1/k averages them.
void train_backward(TrainModel& model, float loss_scale = 1.0f);
// BERT: the loss of the batch under the model's head (mean cross-entropy over the masked
// tokens, the sequences, or the mean of the start and end losses); 0 without targets. After
// it, bert_head_outputs gives the head's output rows: MLM probabilities [n_masked, V],
// class probabilities [B, K], or QA logits [B * T, 2] (start, end; padding not masked).
float bert_forward(TrainModel& model, const BertBatch& batch);
void bert_backward(TrainModel& model, float loss_scale = 1.0f);
const float* bert_head_outputs(const TrainModel& model);
// Most masked positions a batch of the model's B x T may have (round(MLM_FRACTION T) + 1 per sequence).
int bert_max_masked(int B, int T);

// Global gradient L2 norm (NaN or inf when a gradient is: the caller's non-finite check);
// when max_norm > 0 and the norm exceeds it, scales grads to max_norm.
float train_clip_grad_norm(TrainModel& model, float max_norm);
// One AdamW step with decoupled weight decay (Loshchilov & Hutter, alg. 2) on tensors marked decay.
void train_adamw_step(TrainModel& model, const AdamWConfig& adam, float lr);

}  // namespace lm
