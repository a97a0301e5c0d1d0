#include "src/models/llama.h"

#include <algorithm>
#include <cmath>

#include "simd/matmul.h"
#include "simd/ops.h"
#include "weights/error.h"
#include "weights/quant.h"

namespace lm {

namespace {

// Rows [first, first + n) of a matrix as a tensor of its own: the parts of Phi-3's fused
// q/k/v and gate/up matrices, which then run as Llama's separate ones do.
const Tensor* row_view(std::deque<Tensor>& views, const Tensor* t, int64_t first, int64_t n) {
    Tensor& v = views.emplace_back(*t);
    v.ne[1] = n;
    v.n_dims = 2;
    v.data = t->row(first);
    v.nbytes = static_cast<size_t>(n) * t->row_size();
    v.packed = nullptr;
    return &v;
}

LlamaWeights map_weights(const ModelFile& f, const Config& c, std::deque<Tensor>& views) {
    LlamaWeights w;
    w.token_embd = checked_tensor(f, "token_embd.weight", c.dim, c.vocab_size);
    for (int l = 0; l < c.n_layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        LlamaLayer L;
        L.attn_norm = checked_tensor(f, p + "attn_norm.weight", c.dim, 1);
        if (f.find(p + "attn_qkv.weight")) {  // Phi-3: q, k and v rows in one matrix
            const Tensor* qkv = checked_tensor(f, p + "attn_qkv.weight", c.dim, c.dim + 2 * c.kv_dim());
            L.wq = row_view(views, qkv, 0, c.dim);
            L.wk = row_view(views, qkv, c.dim, c.kv_dim());
            L.wv = row_view(views, qkv, c.dim + c.kv_dim(), c.kv_dim());
        } else {
            L.wq = checked_tensor(f, p + "attn_q.weight", c.dim, c.dim);
            L.wk = checked_tensor(f, p + "attn_k.weight", c.dim, c.kv_dim());
            L.wv = checked_tensor(f, p + "attn_v.weight", c.dim, c.kv_dim());
        }
        L.wo = checked_tensor(f, p + "attn_output.weight", c.dim, c.dim);
        // Qwen2 has biases on q, k and v (required); a Llama may have them too (llama.cpp reads them).
        if (c.arch == "qwen2" || f.find(p + "attn_q.bias")) {
            L.bq = checked_tensor(f, p + "attn_q.bias", c.dim, 1);
            L.bk = checked_tensor(f, p + "attn_k.bias", c.kv_dim(), 1);
            L.bv = checked_tensor(f, p + "attn_v.bias", c.kv_dim(), 1);
        }
        L.ffn_norm = checked_tensor(f, p + "ffn_norm.weight", c.dim, 1);
        if (c.arch == "phi3") {  // ffn_up holds the gate rows, then the up rows
            const Tensor* gate_up = checked_tensor(f, p + "ffn_up.weight", c.dim, 2 * c.hidden_dim);
            L.w_gate = row_view(views, gate_up, 0, c.hidden_dim);
            L.w_up = row_view(views, gate_up, c.hidden_dim, c.hidden_dim);
        } else {
            L.w_gate = checked_tensor(f, p + "ffn_gate.weight", c.dim, c.hidden_dim);
            L.w_up = checked_tensor(f, p + "ffn_up.weight", c.dim, c.hidden_dim);
        }
        L.w_down = checked_tensor(f, p + "ffn_down.weight", c.hidden_dim, c.dim);
        w.layers.push_back(L);
    }
    w.output_norm = checked_tensor(f, "output_norm.weight", c.dim, 1);
    if (f.find("rope_freqs.weight")) w.rope_freqs = checked_tensor(f, "rope_freqs.weight", c.head_dim / 2, 1);
    w.output = f.find("output.weight") ? checked_tensor(f, "output.weight", c.dim, c.vocab_size) : w.token_embd;
    return w;
}

}  // namespace

Llama::Llama(const ModelFile& file, const DecoderOptions& options, const char* arch) : config_(read_config(file)) {
    if (config_.arch != arch) fail(file.path, ": architecture '", config_.arch, "' is not a ", arch, " model");
    w_ = map_weights(file, config_, views_);
    std::vector<const Tensor**> matrices{&w_.output};
    for (LlamaLayer& L : w_.layers)
        matrices.insert(matrices.end(), {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down});
    packed_.pack(matrices, file.mapping.get());
    const Config& c = config_;
    LlamaState& s = state_;
    set_limits(options, c.context_length);
    const size_t B = this->max_batch();
    s.x.resize(B * c.dim);
    s.xb.resize(B * c.dim);
    s.xb2.resize(B * c.dim);
    s.q.resize(B * c.dim);
    s.k.resize(B * c.kv_dim());
    s.v.resize(B * c.kv_dim());
    s.hb.resize(B * c.hidden_dim);
    s.hb2.resize(B * c.hidden_dim);
    s.logits.resize(c.vocab_size);
    cache_ = KvCache(c.n_layers, this->context(), c.kv_dim(), c.head_dim, options.k_type, options.v_type);
}

void Llama::forward_chunk(const int* tokens, int n, int pos, int threads, float* all_logits) {
    const Config& c = config_;
    LlamaState& s = state_;
    const int dim = c.dim, kv_dim = c.kv_dim(), hidden = c.hidden_dim;
    for (int i = 0; i < n; ++i) {
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size) fail("forward: token id ", tokens[i], " is out of range");
        dequantize_row(w_.token_embd->type, w_.token_embd->row(tokens[i]), &s.x[i * dim], dim);
    }
    for (int l = 0; l < c.n_layers; ++l) {
        const LlamaLayer& L = w_.layers[l];
        for_rows(n, threads, [&](int i) { rmsnorm(&s.xb[i * dim], &s.x[i * dim], L.attn_norm->f32(), dim, c.norm_eps); });
        const MatmulPart qkv[] = {{s.q.data(), L.wq}, {s.k.data(), L.wk}, {s.v.data(), L.wv}};
        matmul(qkv, 3, s.xb.data(), n, threads);
        for_rows(n, threads, [&](int i) {
            if (L.bq) {
                add(&s.q[i * dim], L.bq->f32(), dim);
                add(&s.k[i * kv_dim], L.bk->f32(), kv_dim);
                add(&s.v[i * kv_dim], L.bv->f32(), kv_dim);
            }
            const float* factors = w_.rope_freqs ? w_.rope_freqs->f32() : nullptr;
            rope(&s.q[i * dim], c.head_dim, c.n_heads, pos + i, c.rope_freq_base, c.rope_neox, factors, c.rope_freq_scale);
            rope(&s.k[i * kv_dim], c.head_dim, c.n_kv_heads, pos + i, c.rope_freq_base, c.rope_neox, factors,
                 c.rope_freq_scale);
            cache_.store(l, pos + i, 1, &s.k[i * kv_dim], &s.v[i * kv_dim], kv_dim);
        });
        cache_.attend(s.xb.data(), dim, s.q.data(), dim, l, n, pos, c.n_heads, c.head_dim, threads);
        matmul(s.xb2.data(), *L.wo, s.xb.data(), n, threads);
        for_rows(n, threads, [&](int i) {
            add(&s.x[i * dim], &s.xb2[i * dim], dim);
            rmsnorm(&s.xb[i * dim], &s.x[i * dim], L.ffn_norm->f32(), dim, c.norm_eps);
        });
        const MatmulPart gate_up[] = {{s.hb.data(), L.w_gate}, {s.hb2.data(), L.w_up}};
        matmul(gate_up, 2, s.xb.data(), n, threads);
        for_rows(n, threads, [&](int i) { swiglu(&s.hb[i * hidden], &s.hb[i * hidden], &s.hb2[i * hidden], hidden); });
        matmul(s.xb.data(), *L.w_down, s.hb.data(), n, threads);
        for_rows(n, threads, [&](int i) { add(&s.x[i * dim], &s.xb[i * dim], dim); });
    }
    // Final norm and classifier: every row when all logits are wanted, else the last one.
    const int first = all_logits ? 0 : n - 1;
    for (int i = first; i < n; ++i) rmsnorm(&s.xb[i * dim], &s.x[i * dim], w_.output_norm->f32(), dim, c.norm_eps);
    if (all_logits) matmul(all_logits, *w_.output, s.xb.data(), n, threads);
    matmul(s.logits.data(), *w_.output, &s.xb[(n - 1) * dim], 1, threads);
}

}  // namespace lm
