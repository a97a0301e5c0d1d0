#include "src/models/gpt2.h"

#include <algorithm>
#include <cmath>

#include <omp.h>

#include "simd/matmul.h"
#include "simd/ops.h"
#include "weights/error.h"
#include "weights/quant.h"

namespace lm {

namespace {

Gpt2Weights map_weights(const ModelFile& f, const Config& c) {
    auto take = [&](const std::string& name, int64_t ne0, int64_t ne1) { return checked_tensor(f, name, ne0, ne1); };
    Gpt2Weights w;
    w.token_embd = take("token_embd.weight", c.dim, c.vocab_size);
    w.position_embd = take("position_embd.weight", c.dim, c.context_length);
    for (int l = 0; l < c.n_layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        Gpt2Layer L;
        L.attn_norm = take(p + "attn_norm.weight", c.dim, 1);
        L.attn_norm_b = take(p + "attn_norm.bias", c.dim, 1);
        L.wqkv = take(p + "attn_qkv.weight", c.dim, 3 * c.dim);
        L.bqkv = take(p + "attn_qkv.bias", 3 * c.dim, 1);
        L.wo = take(p + "attn_output.weight", c.dim, c.dim);
        L.bo = take(p + "attn_output.bias", c.dim, 1);
        L.ffn_norm = take(p + "ffn_norm.weight", c.dim, 1);
        L.ffn_norm_b = take(p + "ffn_norm.bias", c.dim, 1);
        L.w_up = take(p + "ffn_up.weight", c.dim, c.hidden_dim);
        L.b_up = take(p + "ffn_up.bias", c.hidden_dim, 1);
        L.w_down = take(p + "ffn_down.weight", c.hidden_dim, c.dim);
        L.b_down = take(p + "ffn_down.bias", c.dim, 1);
        w.layers.push_back(L);
    }
    w.output_norm = take("output_norm.weight", c.dim, 1);
    w.output_norm_b = take("output_norm.bias", c.dim, 1);
    w.output = f.find("output.weight") ? take("output.weight", c.dim, c.vocab_size) : w.token_embd;
    return w;
}

}  // namespace

void add_bias(float* y, const Tensor& bias, int n) {
    const int cols = static_cast<int>(bias.ne[0]);
    for (int i = 0; i < n; ++i) add(y + static_cast<size_t>(i) * cols, bias.f32(), cols);
}

Gpt2::Gpt2(const ModelFile& file, const DecoderOptions& options) : config_(read_config(file)) {
    if (config_.arch != "gpt2") fail(file.path, ": architecture '", config_.arch, "' is not a GPT-2 model");
    w_ = map_weights(file, config_);
    std::vector<const Tensor**> matrices{&w_.output};
    for (Gpt2Layer& L : w_.layers) matrices.insert(matrices.end(), {&L.wqkv, &L.wo, &L.w_up, &L.w_down});
    packed_.pack(matrices, file.mapping.get());
    const Config& c = config_;
    Gpt2State& s = state_;
    set_limits(options, c.context_length);
    const size_t B = this->max_batch();
    s.x.resize(B * c.dim);
    s.xb.resize(B * c.dim);
    s.xb2.resize(B * c.dim);
    s.qkv.resize(B * 3 * c.dim);
    s.hb.resize(B * c.hidden_dim);
    s.logits.resize(c.vocab_size);
    cache_ = KvCache(c.n_layers, this->context(), c.dim, c.head_dim, options.k_type, options.v_type);
}

void Gpt2::forward_chunk(const int* tokens, int n, int pos, int threads, float* all_logits) {
    const Config& c = config_;
    Gpt2State& s = state_;
    const int dim = c.dim, hidden = c.hidden_dim;
    const float eps = c.norm_eps;
    // x = token embedding + position embedding
    for (int i = 0; i < n; ++i) {
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size) fail("forward: token id ", tokens[i], " is out of range");
        dequantize_row(w_.token_embd->type, w_.token_embd->row(tokens[i]), &s.x[i * dim], dim);
        dequantize_row(w_.position_embd->type, w_.position_embd->row(pos + i), &s.xb[i * dim], dim);
        add(&s.x[i * dim], &s.xb[i * dim], dim);
    }
    for (int l = 0; l < c.n_layers; ++l) {
        const Gpt2Layer& L = w_.layers[l];
        for_rows(n, threads, [&](int i) {
            layernorm(&s.xb[i * dim], &s.x[i * dim], L.attn_norm->f32(), L.attn_norm_b->f32(), dim, eps);
        });
        matmul(s.qkv.data(), *L.wqkv, s.xb.data(), n, threads);
        add_bias(s.qkv.data(), *L.bqkv, n);
        cache_.store(l, pos, n, &s.qkv[dim], &s.qkv[2 * dim], 3 * dim);
        cache_.attend(s.xb.data(), dim, s.qkv.data(), 3 * dim, l, n, pos, c.n_heads, c.head_dim, threads);
        matmul(s.xb2.data(), *L.wo, s.xb.data(), n, threads);
        add_bias(s.xb2.data(), *L.bo, n);
        for_rows(n, threads, [&](int i) {
            add(&s.x[i * dim], &s.xb2[i * dim], dim);
            layernorm(&s.xb[i * dim], &s.x[i * dim], L.ffn_norm->f32(), L.ffn_norm_b->f32(), dim, eps);
        });
        matmul(s.hb.data(), *L.w_up, s.xb.data(), n, threads);
        add_bias(s.hb.data(), *L.b_up, n);
        for_rows(n, threads, [&](int i) { gelu_tanh(&s.hb[i * hidden], &s.hb[i * hidden], hidden); });
        matmul(s.xb.data(), *L.w_down, s.hb.data(), n, threads);
        add_bias(s.xb.data(), *L.b_down, n);
        for_rows(n, threads, [&](int i) { add(&s.x[i * dim], &s.xb[i * dim], dim); });
    }
    // Final norm and classifier: every row when all logits are wanted, else the last one.
    const int first = all_logits ? 0 : n - 1;
    for (int i = first; i < n; ++i)
        layernorm(&s.xb[i * dim], &s.x[i * dim], w_.output_norm->f32(), w_.output_norm_b->f32(), dim, eps);
    if (all_logits) matmul(all_logits, *w_.output, s.xb.data(), n, threads);
    matmul(s.logits.data(), *w_.output, &s.xb[(n - 1) * dim], 1, threads);
}

}  // namespace lm
