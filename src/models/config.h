// Hyperparameters of a decoder model, read from metadata once and validated.
#pragma once
#include <string>

#include "weights/model_file.h"

namespace lm {

struct Config {
    std::string arch;  // general.architecture
    int dim = 0;       // d_model
    int hidden_dim = 0;
    int n_layers = 0;
    int n_heads = 0;
    int n_kv_heads = 0;
    int head_dim = 0;  // dim / n_heads, or ARCH.attention.key_length (Gemma 2)
    int vocab_size = 0;
    int context_length = 0;
    float norm_eps = 1e-5f;
    float rope_freq_base = 10000.0f;
    bool rope_neox = false;  // rotate halves instead of adjacent pairs
    float rope_freq_scale = 1.0f;  // 1 / ARCH.rope.scaling.factor for linear scaling
    float attn_softcap = 0, final_softcap = 0;  // Gemma 2: cap * tanh(x / cap) on scores, logits

    int q_dim() const { return n_heads * head_dim; }
    int kv_dim() const { return n_kv_heads * head_dim; }
};

// Reads `ARCH.*` keys; throws lm::Error naming the file and the missing or invalid key.
Config read_config(const ModelFile& file);

// A model's tensor looked up by name and checked: shape [ne0, ne1] (ne0 = input columns,
// ne1 = output rows; 1 for vectors, which must be f32) and a type lm computes with.
const Tensor* checked_tensor(const ModelFile& file, const std::string& name, int64_t ne0, int64_t ne1);

}  // namespace lm
