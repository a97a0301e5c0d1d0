// Gemma 2, as llama.cpp runs it (llm_build_gemma2) and Hugging Face defines it: the embedding
// scaled by sqrt(dim); RMSNorm whose weights llama.cpp's converter stored as 1 + w; heads of
// attention.key_length that need not split the embedding; NeoX RoPE; attention scores capped
// as c * tanh(s / c) (attn_logit_softcapping); a norm after attention and after the
// feed-forward as well as before each; GELU (tanh) gating; the classifier tied to the
// embedding; final logits capped (final_logit_softcapping). Every other layer attends to a
// sliding window only: lm's context stops at the window (Config), where all layers agree.
#include "src/models/gemma2.h"

#include <cmath>

#include "simd/matmul.h"
#include "simd/ops.h"
#include "weights/error.h"
#include "weights/quant.h"

namespace lm {

namespace {

Gemma2Weights map_weights(const ModelFile& f, const Config& c) {
    Gemma2Weights w;
    w.token_embd = checked_tensor(f, "token_embd.weight", c.dim, c.vocab_size);
    for (int l = 0; l < c.n_layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        Gemma2Layer L;
        L.attn_norm = checked_tensor(f, p + "attn_norm.weight", c.dim, 1);
        L.wq = checked_tensor(f, p + "attn_q.weight", c.dim, c.q_dim());
        L.wk = checked_tensor(f, p + "attn_k.weight", c.dim, c.kv_dim());
        L.wv = checked_tensor(f, p + "attn_v.weight", c.dim, c.kv_dim());
        L.wo = checked_tensor(f, p + "attn_output.weight", c.q_dim(), c.dim);
        L.post_attention_norm = checked_tensor(f, p + "post_attention_norm.weight", c.dim, 1);
        L.ffn_norm = checked_tensor(f, p + "ffn_norm.weight", c.dim, 1);
        L.w_gate = checked_tensor(f, p + "ffn_gate.weight", c.dim, c.hidden_dim);
        L.w_up = checked_tensor(f, p + "ffn_up.weight", c.dim, c.hidden_dim);
        L.w_down = checked_tensor(f, p + "ffn_down.weight", c.hidden_dim, c.dim);
        L.post_ffw_norm = checked_tensor(f, p + "post_ffw_norm.weight", c.dim, 1);
        w.layers.push_back(L);
    }
    w.output_norm = checked_tensor(f, "output_norm.weight", c.dim, 1);
    return w;
}

void softcap(float* x, int n, float cap) {
    for (int i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace

Gemma2::Gemma2(const ModelFile& file, const DecoderOptions& options) : config_(read_config(file)) {
    if (config_.arch != "gemma2") fail(file.path, ": architecture '", config_.arch, "' is not a gemma2 model");
    const Config& c = config_;
    // llama.cpp scales queries by 1/sqrt(head_dim), by 1/sqrt(dim / heads) for the 27B (46 layers).
    query_scale_ = 1.0f / std::sqrt(static_cast<float>(c.n_layers == 46 ? c.dim / c.n_heads : c.head_dim));
    w_ = map_weights(file, c);
    std::vector<const Tensor**> matrices{&w_.token_embd};
    for (Gemma2Layer& L : w_.layers)
        matrices.insert(matrices.end(), {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down});
    packed_.pack(matrices, file.mapping.get());
    Gemma2State& s = state_;
    set_limits(options, c.context_length);
    const size_t B = this->max_batch();
    s.x.resize(B * c.dim);
    s.xb.resize(B * c.dim);
    s.xb2.resize(B * c.dim);
    s.q.resize(B * c.q_dim());
    s.att.resize(B * c.q_dim());
    s.k.resize(B * c.kv_dim());
    s.v.resize(B * c.kv_dim());
    s.hb.resize(B * c.hidden_dim);
    s.hb2.resize(B * c.hidden_dim);
    s.logits.resize(c.vocab_size);
    cache_ = KvCache(c.n_layers, this->context(), c.kv_dim(), c.head_dim, options.k_type, options.v_type);
}

void Gemma2::forward_chunk(const int* tokens, int n, int pos, int threads, float* all_logits) {
    const Config& c = config_;
    Gemma2State& s = state_;
    const int dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), hidden = c.hidden_dim;
    const float embd_scale = std::sqrt(static_cast<float>(dim));
    for (int i = 0; i < n; ++i) {
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size) fail("forward: token id ", tokens[i], " is out of range");
        // The packed copy (if any) is the classifier's; the row comes from the original layout.
        dequantize_row(w_.token_embd->type, w_.token_embd->row(tokens[i]), &s.x[i * dim], dim);
        for (int d = 0; d < dim; ++d) s.x[i * dim + d] *= embd_scale;
    }
    for (int l = 0; l < c.n_layers; ++l) {
        const Gemma2Layer& L = w_.layers[l];
        for_rows(n, threads, [&](int i) { rmsnorm(&s.xb[i * dim], &s.x[i * dim], L.attn_norm->f32(), dim, c.norm_eps); });
        const MatmulPart qkv[] = {{s.q.data(), L.wq}, {s.k.data(), L.wk}, {s.v.data(), L.wv}};
        matmul(qkv, 3, s.xb.data(), n, threads);
        for_rows(n, threads, [&](int i) {
            rope(&s.q[i * q_dim], c.head_dim, c.n_heads, pos + i, c.rope_freq_base, true);
            rope(&s.k[i * kv_dim], c.head_dim, c.n_kv_heads, pos + i, c.rope_freq_base, true);
            for (int d = 0; d < q_dim; ++d) s.q[i * q_dim + d] *= query_scale_;
            cache_.store(l, pos + i, 1, &s.k[i * kv_dim], &s.v[i * kv_dim], kv_dim);
        });
        cache_.attend(s.att.data(), q_dim, s.q.data(), q_dim, l, n, pos, c.n_heads, c.head_dim, threads, 1.0f,
                      c.attn_softcap);
        matmul(s.xb2.data(), *L.wo, s.att.data(), n, threads);
        for_rows(n, threads, [&](int i) {
            rmsnorm(&s.xb[i * dim], &s.xb2[i * dim], L.post_attention_norm->f32(), dim, c.norm_eps);
            add(&s.x[i * dim], &s.xb[i * dim], dim);
            rmsnorm(&s.xb[i * dim], &s.x[i * dim], L.ffn_norm->f32(), dim, c.norm_eps);
        });
        const MatmulPart gate_up[] = {{s.hb.data(), L.w_gate}, {s.hb2.data(), L.w_up}};
        matmul(gate_up, 2, s.xb.data(), n, threads);
        for_rows(n, threads, [&](int i) {
            float* h = &s.hb[i * hidden];
            gelu_tanh(h, h, hidden);
            for (int j = 0; j < hidden; ++j) h[j] *= s.hb2[i * hidden + j];
        });
        matmul(s.xb2.data(), *L.w_down, s.hb.data(), n, threads);
        for_rows(n, threads, [&](int i) {
            rmsnorm(&s.xb[i * dim], &s.xb2[i * dim], L.post_ffw_norm->f32(), dim, c.norm_eps);
            add(&s.x[i * dim], &s.xb[i * dim], dim);
        });
    }
    const int first = all_logits ? 0 : n - 1;
    for (int i = first; i < n; ++i) rmsnorm(&s.xb[i * dim], &s.x[i * dim], w_.output_norm->f32(), dim, c.norm_eps);
    if (all_logits) {
        matmul(all_logits, *w_.token_embd, s.xb.data(), n, threads);
        if (c.final_softcap > 0) softcap(all_logits, n * c.vocab_size, c.final_softcap);
    }
    matmul(s.logits.data(), *w_.token_embd, &s.xb[(n - 1) * dim], 1, threads);
    if (c.final_softcap > 0) softcap(s.logits.data(), c.vocab_size, c.final_softcap);
}

}  // namespace lm
