// A trainable language model (Llama- or GPT-2-style Transformer, or an RNN) over layers.h,
// llm.c-style: parameters, gradients, AdamW moments and activations are flat buffers allocated
// once for a fixed (B, T); forward, backward and the optimizer step allocate nothing.
//
// Llama: RMSNorm, adjacent-pair RoPE, grouped-query attention, SwiGLU, no biases, tied or
// untied head. GPT-2: learned positions, LayerNorm, GELU (tanh), biases everywhere, tied head.
// RNN (the Keras example): embedding (C) -> one tanh RNN layer (H) -> linear head with bias.
// Packed layouts (rows of the weight matrices, so one matmul computes several projections):
//   qkvw [L, (NH + 2 NKV) HS, C] = rows of wq | wk | wv
//   fcw  [L, FC, C] with FC = 2H for Llama (rows of w1 (gate) | w3 (up)), H for GPT-2
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace lm {

enum class TrainArch { llama, gpt2, rnn };

constexpr int IGNORE_INDEX = -100;     // targets with this value do not count in the loss
constexpr long NORM_CHUNK = 1L << 16;  // gradient values per partial sum of the norm

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
    float* headb;                 // RNN: [V]
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
    float* rnn_h;                      // RNN: [BT, H] states
};

// Gradients of activations for one layer at a time (reused down the stack) plus the head.
struct TrainScratch {
    float* dresidual;                  // [BT, C] gradient of the residual stream
    float *dln1, *dqkv, *dqkvr, *datt, *datty, *dln2, *dfch, *dfch_act;
    float *dlnf, *dlogits;             // [BT, C], [BT, V]
    float *drnn_h, *dpre;              // RNN: [BT, H] each
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
    std::vector<double> norm_parts;    // partial sums of the gradient norm, one per NORM_CHUNK
    float loss = 0.0f;
    int adam_steps = 0;  // completed optimizer steps (bias correction uses adam_steps + 1)
};

// Validates the config and allocates every buffer for batches of B sequences of T tokens.
void train_model_init(TrainModel& model, const TrainConfig& config, int B, int T);
// GPT-2-style initial weights: N(0, 0.02), residual projections scaled by 1/sqrt(2L), norm
// weights 1, biases 0 (RNN: variance 1/fan_in for wx and wh); deterministic in seed.
void train_model_init_weights(TrainModel& model, unsigned long seed);
const ParamTensor* find_tensor(const TrainModel& model, const std::string& name);

// Mean cross-entropy of targets (ignore_index rows skipped) given inputs, both [B*T].
float train_forward(TrainModel& model, const int* inputs, const int* targets);
void train_zero_grad(TrainModel& model);
// Accumulates loss_scale * d(loss of the last forward)/d(params) into model.grads; with
// gradient accumulation over k micro-batches, loss_scale = 1/k averages them.
void train_backward(TrainModel& model, float loss_scale = 1.0f);
// Global gradient L2 norm (NaN or inf when a gradient is: the caller's non-finite check);
// when max_norm > 0 and the norm exceeds it, scales grads to max_norm.
float train_clip_grad_norm(TrainModel& model, float max_norm);
// One AdamW step with decoupled weight decay (Loshchilov & Hutter, alg. 2) on tensors marked decay.
void train_adamw_step(TrainModel& model, const AdamWConfig& adam, float lr);

}  // namespace lm
