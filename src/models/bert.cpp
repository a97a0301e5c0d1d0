#include "src/models/bert.h"

#include <algorithm>
#include <cmath>

#include <omp.h>

#include "simd/matmul.h"
#include "simd/ops.h"
#include "src/models/gpt2.h"
#include "src/models/model.h"
#include "weights/error.h"
#include "weights/limits.h"
#include "weights/quant.h"

namespace lm {

namespace {

BertWeights map_weights(const ModelFile& f, const Config& c) {
    auto take = [&](const std::string& name, int64_t ne0, int64_t ne1) { return checked_tensor(f, name, ne0, ne1); };
    BertWeights w;
    w.token_embd = take("token_embd.weight", c.dim, c.vocab_size);
    w.position_embd = take("position_embd.weight", c.dim, c.context_length);
    const Tensor& types = f.get("token_types.weight");
    w.token_types = take("token_types.weight", c.dim, std::max<int64_t>(1, types.rows()));
    w.embd_norm = take("token_embd_norm.weight", c.dim, 1);
    w.embd_norm_b = take("token_embd_norm.bias", c.dim, 1);
    for (int l = 0; l < c.n_layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        BertLayer L;
        L.wq = take(p + "attn_q.weight", c.dim, c.dim);
        L.bq = take(p + "attn_q.bias", c.dim, 1);
        L.wk = take(p + "attn_k.weight", c.dim, c.dim);
        L.bk = take(p + "attn_k.bias", c.dim, 1);
        L.wv = take(p + "attn_v.weight", c.dim, c.dim);
        L.bv = take(p + "attn_v.bias", c.dim, 1);
        L.wo = take(p + "attn_output.weight", c.dim, c.dim);
        L.bo = take(p + "attn_output.bias", c.dim, 1);
        L.attn_norm = take(p + "attn_output_norm.weight", c.dim, 1);
        L.attn_norm_b = take(p + "attn_output_norm.bias", c.dim, 1);
        L.w_up = take(p + "ffn_up.weight", c.dim, c.hidden_dim);
        L.b_up = take(p + "ffn_up.bias", c.hidden_dim, 1);
        L.w_down = take(p + "ffn_down.weight", c.hidden_dim, c.dim);
        L.b_down = take(p + "ffn_down.bias", c.dim, 1);
        L.out_norm = take(p + "layer_output_norm.weight", c.dim, 1);
        L.out_norm_b = take(p + "layer_output_norm.bias", c.dim, 1);
        w.layers.push_back(L);
    }
    // Heads are optional: a plain encoder has none of them.
    if (f.find("cls.weight")) {
        w.pooler = take("cls.weight", c.dim, c.dim);
        w.pooler_b = take("cls.bias", c.dim, 1);
    }
    if (const Tensor* out = f.find("cls.output.weight")) {
        if (!w.pooler) fail(f.path, ": has a classifier (cls.output) but no pooler (cls)");
        w.classifier = take("cls.output.weight", c.dim, std::max<int64_t>(1, out->rows()));
        w.classifier_b = take("cls.output.bias", w.classifier->ne[1], 1);
    }
    if (f.find("qa.weight")) {
        w.qa = take("qa.weight", c.dim, 2);
        w.qa_b = take("qa.bias", 2, 1);
    }
    return w;
}

void layernorm_rows(float* x, const Tensor& weight, const Tensor& bias, int n, int dim, float eps) {
    for (int i = 0; i < n; ++i) layernorm(x + i * dim, x + i * dim, weight.f32(), bias.f32(), dim, eps);
}

// y = W x + b over n rows.
void linear(float* y, const Tensor& w, const Tensor& b, const float* x, int n, int threads) {
    matmul(y, w, x, n, threads);
    add_bias(y, b, n);
}

}  // namespace

std::vector<std::string> bert_labels(const ModelFile& file) {
    const Tensor* classifier = file.find("cls.output.weight");
    const size_t n = classifier ? static_cast<size_t>(classifier->ne[1]) : 0;
    const auto* names = file.meta.get_strings("bert.classifier.output_labels");
    if (names && names->size() == n) return *names;
    std::vector<std::string> labels;
    for (size_t i = 0; i < n; ++i) labels.push_back("LABEL_" + std::to_string(i));
    return labels;
}

Bert::Bert(const ModelFile& file, int max_rows) : config_(read_config(file)), source_(file.path) {
    if (config_.arch != "bert") fail(file.path, ": architecture '", config_.arch, "' is not a BERT model");
    w_ = map_weights(file, config_);
    const Config& c = config_;
    n_types_ = static_cast<int>(w_.token_types->ne[1]);
    const int64_t pooling = file.meta.get_int("bert.pooling_type", 1);
    if (pooling != 1 && pooling != 2) fail(file.path, ": bert.pooling_type ", pooling, " is not 1 (mean) or 2 (cls)");
    pooling_ = pooling == 2 ? Pooling::cls : Pooling::mean;
    labels_ = bert_labels(file);
    BertState& s = state_;
    s.max_rows = std::max(max_rows, c.context_length);
    const size_t N = s.max_rows;
    const uint64_t row_bytes = (6 * static_cast<uint64_t>(c.dim) + static_cast<uint64_t>(c.hidden_dim)) * sizeof(float);
    limits::check_fits_in_memory(checked_mul(N, row_bytes, "activations"), concat(file.path, ": activations for ", N, " positions"));
    for (auto* b : {&s.x, &s.xb, &s.xb2, &s.q, &s.k, &s.v}) b->resize(N * c.dim);
    s.hb.resize(N * c.hidden_dim);
    s.mask.resize(N);
}

void Bert::encode(const int* tokens, const int* types, const unsigned char* mask, int len, int threads, int n_seq) {
    const Config& c = config_;
    BertState& s = state_;
    const int dim = c.dim;
    const float eps = c.norm_eps;
    if (len < 1 || len > c.context_length) fail("encode: ", len, " tokens do not fit the model's ", c.context_length, " positions");
    if (n_seq < 1 || static_cast<int64_t>(n_seq) * len > s.max_rows)
        fail("encode: ", n_seq, " sequences of ", len, " tokens exceed the ", s.max_rows, " rows allocated");
    const int n = n_seq * len;
    s.len = len, s.n_seq = n_seq;
    // x = LayerNorm(word + position + token type)
    for (int i = 0; i < n; ++i) {
        const int type = types ? types[i] : 0;
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size) fail("encode: token id ", tokens[i], " is out of range");
        if (type < 0 || type >= n_types_) fail("encode: token type ", type, " is out of range (", n_types_, " types)");
        s.mask[i] = mask ? mask[i] != 0 : 1;
        float* x = &s.x[i * dim];
        dequantize_row(w_.token_embd->type, w_.token_embd->row(tokens[i]), x, dim);
        dequantize_row(w_.position_embd->type, w_.position_embd->row(i % len), &s.xb[i * dim], dim);
        add(x, &s.xb[i * dim], dim);
        dequantize_row(w_.token_types->type, w_.token_types->row(type), &s.xb[i * dim], dim);
        add(x, &s.xb[i * dim], dim);
    }
    for (int q = 0; q < n_seq; ++q)
        if (std::find(&s.mask[q * len], &s.mask[q * len] + len, 1) == &s.mask[q * len] + len)
            fail("encode: sequence ", q, " is all padding");
    layernorm_rows(s.x.data(), *w_.embd_norm, *w_.embd_norm_b, n, dim, eps);
    for (const BertLayer& L : w_.layers) {
        linear(s.q.data(), *L.wq, *L.bq, s.x.data(), n, threads);
        linear(s.k.data(), *L.wk, *L.bk, s.x.data(), n, threads);
        linear(s.v.data(), *L.wv, *L.bv, s.x.data(), n, threads);
        attention(threads);
        linear(s.xb2.data(), *L.wo, *L.bo, s.xb.data(), n, threads);
        add(s.x.data(), s.xb2.data(), n * dim);  // post-LN: x = LN(x + attention(x))
        layernorm_rows(s.x.data(), *L.attn_norm, *L.attn_norm_b, n, dim, eps);

        linear(s.hb.data(), *L.w_up, *L.b_up, s.x.data(), n, threads);
        gelu_erf(s.hb.data(), s.hb.data(), n * c.hidden_dim);
        linear(s.xb.data(), *L.w_down, *L.b_down, s.hb.data(), n, threads);
        add(s.x.data(), s.xb.data(), n * dim);  // x = LN(x + ffn(x))
        layernorm_rows(s.x.data(), *L.out_norm, *L.out_norm_b, n, dim, eps);
    }
    for (int q = 0; q < n_seq; ++q) check_finite_rows(source_, &s.x[static_cast<size_t>(q) * len * dim], len, dim, 0);
}

// Bidirectional multi-head attention of every row over the real tokens of its own
// sequence; into s.xb.
void Bert::attention(int threads) {
    const Config& c = config_;
    BertState& s = state_;
    const int dim = c.dim, hd = c.head_dim, len = s.len, n = s.n_seq * s.len;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    threads = std::max(1, threads);
    if (s.att.size() < static_cast<size_t>(threads) * len) s.att.resize(static_cast<size_t>(threads) * c.context_length);
    const int64_t work = static_cast<int64_t>(n) * len * dim;
    const int team = work > (1 << 15) ? threads : 1;
#pragma omp parallel for collapse(2) num_threads(team) schedule(static)
    for (int i = 0; i < n; ++i) {
        for (int h = 0; h < c.n_heads; ++h) {
            float* att = &s.att[static_cast<size_t>(omp_get_thread_num()) * c.context_length];
            const int first = i / len * len;  // the sequence's first row
            const float* q = &s.q[i * dim + h * hd];
            for (int t = 0; t < len; ++t)
                att[t] = s.mask[first + t] ? dot(q, &s.k[(first + t) * dim + h * hd], hd) * scale : -INFINITY;
            softmax(att, len);
            float* out = &s.xb[i * dim + h * hd];
            std::fill(out, out + hd, 0.0f);
            for (int t = 0; t < len; ++t) {
                if (!s.mask[first + t]) continue;
                const float* v = &s.v[(first + t) * dim + h * hd];
                for (int d = 0; d < hd; ++d) out[d] += att[t] * v[d];
            }
        }
    }
}

void Bert::span_logits(float* start, float* end, int n) const {
    if (!w_.qa) fail("this BERT model has no span head (qa_outputs)");
    std::vector<float> both(static_cast<size_t>(n) * 2);
    linear(both.data(), *w_.qa, *w_.qa_b, state_.x.data(), n, 1);
    for (int i = 0; i < n; ++i) {
        start[i] = both[2 * i];
        end[i] = both[2 * i + 1];
    }
}

std::vector<float> Bert::classify(int seq) const {
    if (!w_.classifier) fail("this BERT model has no classification head (pooler + classifier)");
    const int dim = config_.dim;
    std::vector<float> pooled(dim), probs(n_labels());
    linear(pooled.data(), *w_.pooler, *w_.pooler_b, &state_.x[static_cast<size_t>(seq) * state_.len * dim], 1, 1);
    for (float& p : pooled) p = std::tanh(p);
    linear(probs.data(), *w_.classifier, *w_.classifier_b, pooled.data(), 1, 1);
    softmax(probs.data(), n_labels());
    return probs;
}

std::vector<float> Bert::embed(Pooling pooling, int seq) const {
    const int dim = config_.dim, first = seq * state_.len;
    const float* cls = &state_.x[static_cast<size_t>(first) * dim];
    std::vector<float> e(cls, cls + dim);
    if (pooling == Pooling::mean) {
        std::fill(e.begin(), e.end(), 0.0f);
        int count = 0;
        for (int i = first; i < first + state_.len; ++i) {
            if (!state_.mask[i]) continue;
            add(e.data(), &state_.x[static_cast<size_t>(i) * dim], dim);
            ++count;
        }
        for (float& v : e) v /= std::max(1, count);
    }
    const float norm = std::sqrt(dot(e.data(), e.data(), dim));
    if (norm > 0)
        for (float& v : e) v /= norm;
    return e;
}

}  // namespace lm
