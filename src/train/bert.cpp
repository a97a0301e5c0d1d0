// BERT training (model.h): the encoder and its three heads, each forward beside its
// backward. A batch is B sequences padded to T tokens; per-layer activations sit at the
// model's full B x T strides, so any smaller batch fits the buffers allocated once.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "simd/ops.h"
#include "src/train/data.h"
#include "src/train/layers.h"
#include "src/train/model.h"
#include "weights/error.h"

namespace lm {

namespace {

// Per-layer slice of a [L, ...] buffer.
inline float* at(float* base, int l, size_t stride) { return base + l * stride; }

void zero(float* d, size_t n) { std::memset(d, 0, sizeof(float) * n); }

// Where dropout applies (BertBatch::dropout): the embedding norm's output, each layer's
// attention and MLP projections, the classifier's pooled [CLS].
enum DropoutSite : uint64_t { kDropEmbedding = 0, kDropPooled = 1, kDropLayers = 2 };
uint64_t drop_attention(int l) { return kDropLayers + 2 * (uint64_t)l; }
uint64_t drop_mlp(int l) { return kDropLayers + 2 * (uint64_t)l + 1; }

// Inverted dropout in place, x[i] *= mask[i] / (1 - p). The mask is a hash of the batch's seed,
// the site and i (ops.h dropout), so the backward multiplies the gradient by the same mask
// without storing it.
void dropout(const TrainModel& m, float* x, size_t n, uint64_t site) {
    const float p = m.dropout;
    if (p <= 0.0f) return;
    const auto seed = static_cast<uint32_t>(Rng{m.dropout_seed ^ (site << 40)}.next() >> 32);
    const auto threshold = static_cast<uint32_t>(std::min(4294967295.0, p * 4294967296.0));
    const float scale = 1.0f / (1.0f - p);
    constexpr long kChunk = 1 << 14;
    const long chunks = ((long)n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 2)
    for (long c = 0; c < chunks; ++c)
        lm::dropout(x + c * kChunk, (int)std::min(kChunk, (long)n - c * kChunk), seed, static_cast<uint32_t>(c * kChunk),
                    threshold, scale);
}

// The gradient through dropout, into dst (src when there is no dropout).
const float* dropout_backward(const TrainModel& m, float* dst, const float* src, size_t n, uint64_t site) {
    if (m.dropout <= 0.0f) return src;
    std::memcpy(dst, src, sizeof(float) * n);
    dropout(m, dst, n, site);
    return dst;
}

// The batch's ids and targets, checked against the model and copied into it (backward reads
// the copies).
void take_batch(TrainModel& m, const BertBatch& b) {
    const TrainConfig& c = m.config;
    if (b.B < 1 || b.B > m.B || b.T < 1 || b.T > m.T)
        fail("bert: batch ", b.B, " x ", b.T, " does not fit the model's ", m.B, " x ", m.T);
    if (!(b.dropout >= 0.0f && b.dropout < 1.0f)) fail("bert: dropout ", b.dropout, " is not in [0, 1)");
    m.batch_B = b.B, m.batch_T = b.T;
    m.dropout = b.dropout, m.dropout_seed = b.dropout_seed;
    for (int s = 0; s < b.B; ++s) {
        const int len = b.lengths ? b.lengths[s] : b.T;
        if (len < 1 || len > b.T) fail("bert: sequence ", s, " has length ", len, ", not 1 to ", b.T);
        m.lengths[s] = len;
    }
    for (int i = 0; i < b.B * b.T; ++i) {
        const bool real = i % b.T < m.lengths[i / b.T];
        const int token = real ? b.tokens[i] : 0, type = real && b.types ? b.types[i] : 0;
        if (token < 0 || token >= c.vocab_size) fail("bert: token id ", token, " outside vocabulary of ", c.vocab_size);
        if (type < 0 || type >= c.n_types) fail("bert: token type ", type, " is not below ", c.n_types);
        m.inputs[i] = token, m.types[i] = type;
    }
    switch (c.head) {
        case BertHead::mlm: {
            if (b.n_masked < 1 || b.n_masked > bert_max_masked(m.B, m.T))
                fail("bert: ", b.n_masked, " masked positions, the model has room for 1 to ",
                     bert_max_masked(m.B, m.T));
            for (int j = 0; j < b.n_masked; ++j) {
                const int pos = b.mlm_positions[j];
                if (pos < 0 || pos >= b.B * b.T || pos % b.T >= m.lengths[pos / b.T])
                    fail("bert: masked position ", pos, " is not a real token of the batch");
                const int target = b.mlm_targets ? b.mlm_targets[j] : IGNORE_INDEX;
                if (target != IGNORE_INDEX && (target < 0 || target >= c.vocab_size))
                    fail("bert: masked-LM target ", target, " outside vocabulary of ", c.vocab_size);
                m.head_rows[j] = pos, m.head_targets[j] = target;
            }
            m.n_masked = b.n_masked;
            break;
        }
        case BertHead::classify:
            for (int s = 0; s < b.B; ++s) {
                const int label = b.labels ? b.labels[s] : IGNORE_INDEX;
                if (label != IGNORE_INDEX && (label < 0 || label >= c.n_labels))
                    fail("bert: label ", label, " is not below ", c.n_labels);
                m.head_rows[s] = s * b.T, m.head_targets[s] = label;
            }
            break;
        case BertHead::qa:
            for (int s = 0; s < b.B; ++s)
                for (int k = 0; k < 2; ++k) {
                    const int* targets = k == 0 ? b.starts : b.ends;
                    const int target = targets ? targets[s] : IGNORE_INDEX;
                    if (target != IGNORE_INDEX && (target < 0 || target >= m.lengths[s]))
                        fail("bert: answer ", k == 0 ? "start " : "end ", target, " is outside sequence ", s);
                    m.head_targets[2 * s + k] = target;
                }
            break;
    }
}

// Rows of `src` (C wide) at `rows` into dst, and the backward: dst rows added back.
void gather_rows(float* dst, const float* src, const int* rows, int n, int C) {
    for (int j = 0; j < n; ++j) std::memcpy(dst + (long)j * C, src + (long)rows[j] * C, sizeof(float) * C);
}
void scatter_add_rows(float* dst, const float* src, const int* rows, int n, int C) {
    for (int j = 0; j < n; ++j) add(dst + (long)rows[j] * C, src + (long)j * C, C);
}

// ---------------------------------------------------------------------------------------------
// heads: x is the encoder's output at the head's rows ([rows, C]; QA: every row, [BT, C]);
// each returns the loss, and backward writes the gradient of x into dx.

// logits = LayerNorm(gelu(x W + b)) wte^T + headb at the masked rows.
float mlm_forward(TrainModel& m, const float* x) {
    const TrainConfig& c = m.config;
    const TrainParams& p = m.p;
    const TrainActivations& a = m.acts;
    const int M = m.n_masked, C = c.dim, V = c.vocab_size;
    matmul_forward(a.head_h, x, p.mlmw, p.mlmb, M, C, C);
    gelu_erf_forward(a.head_act, a.head_h, M * C);
    layernorm_forward(a.head_ln, a.head_mean, a.head_rstd, a.head_act, p.mlmlnw, p.mlmlnb, M, C, c.norm_eps);
    matmul_forward(a.probs, a.head_ln, p.wte, p.headb, M, C, V);
    return crossentropy_forward(a.probs, a.probs, m.head_targets.data(), M, V, IGNORE_INDEX);
}

void mlm_backward(TrainModel& m, const float* x, float* dx) {
    const TrainConfig& c = m.config;
    const TrainParams &p = m.p, &g = m.g;
    const TrainActivations& a = m.acts;
    const TrainScratch& s = m.scratch;
    const int M = m.n_masked, C = c.dim, V = c.vocab_size;
    matmul_backward(s.dhead_h, g.wte, g.headb, s.dlogits, a.head_ln, p.wte, M, C, V, Dinp::Overwrite);  // d head_ln
    zero(s.dhead_act, (size_t)M * C);
    layernorm_backward(s.dhead_act, g.mlmlnw, g.mlmlnb, s.dhead_h, a.head_act, p.mlmlnw, a.head_mean, a.head_rstd, M,
                       C);
    gelu_erf_backward(s.dhead_h, s.dhead_act, a.head_h, M * C, Dinp::Overwrite);
    matmul_backward(dx, g.mlmw, g.mlmb, s.dhead_h, x, p.mlmw, M, C, C, Dinp::Overwrite);
}

// logits = dropout(tanh(x[CLS] Wp + bp)) Wc + bc; head_ln keeps the pooled rows after dropout
float classify_forward(TrainModel& m, const float* x) {
    const TrainConfig& c = m.config;
    const TrainParams& p = m.p;
    const TrainActivations& a = m.acts;
    const int B = m.batch_B, C = c.dim, K = c.n_labels;
    matmul_forward(a.head_h, x, p.poolw, p.poolb, B, C, C);
    for (long i = 0; i < (long)B * C; ++i) a.head_act[i] = std::tanh(a.head_h[i]);
    std::memcpy(a.head_ln, a.head_act, sizeof(float) * B * C);
    dropout(m, a.head_ln, (size_t)B * C, kDropPooled);
    matmul_forward(a.probs, a.head_ln, p.clsw, p.clsb, B, C, K);
    return crossentropy_forward(a.probs, a.probs, m.head_targets.data(), B, K, IGNORE_INDEX);
}

// d tanh(u) = (1 - tanh(u)^2) du
void classify_backward(TrainModel& m, const float* x, float* dx) {
    const TrainConfig& c = m.config;
    const TrainParams &p = m.p, &g = m.g;
    const TrainActivations& a = m.acts;
    const TrainScratch& s = m.scratch;
    const int B = m.batch_B, C = c.dim, K = c.n_labels;
    matmul_backward(s.dhead_act, g.clsw, g.clsb, s.dlogits, a.head_ln, p.clsw, B, C, K, Dinp::Overwrite);
    dropout(m, s.dhead_act, (size_t)B * C, kDropPooled);
    for (long i = 0; i < (long)B * C; ++i) s.dhead_h[i] = s.dhead_act[i] * (1.0f - a.head_act[i] * a.head_act[i]);
    matmul_backward(dx, g.poolw, g.poolb, s.dhead_h, x, p.poolw, B, C, C, Dinp::Overwrite);
}

// [start, end] logits = x Wqa + bqa per row; each sequence's start (and end) distribution is a
// softmax over its real tokens, and the loss the mean of the start and end cross-entropies.
float qa_forward(TrainModel& m, const float* x) {
    const TrainActivations& a = m.acts;
    const int B = m.batch_B, T = m.batch_T, C = m.config.dim;
    matmul_forward(a.qa_logits, x, m.p.qaw, m.p.qab, B * T, C, 2);
    for (int b = 0; b < B; ++b)
        for (int k = 0; k < 2; ++k) {
            float* row = a.probs + (2L * b + k) * T;
            for (int t = 0; t < T; ++t) row[t] = t < m.lengths[b] ? a.qa_logits[2 * ((long)b * T + t) + k] : -INFINITY;
        }
    return crossentropy_forward(a.probs, a.probs, m.head_targets.data(), 2 * B, T, IGNORE_INDEX);
}

void qa_backward(TrainModel& m, const float* x, float* dx) {
    const TrainScratch& s = m.scratch;
    const int B = m.batch_B, T = m.batch_T, C = m.config.dim;
    for (int b = 0; b < B; ++b)
        for (int k = 0; k < 2; ++k)
            for (int t = 0; t < T; ++t) s.dqa_logits[2 * ((long)b * T + t) + k] = s.dlogits[(2L * b + k) * T + t];
    matmul_backward(dx, m.g.qaw, m.g.qab, s.dqa_logits, x, m.p.qaw, B * T, C, 2, Dinp::Overwrite);
}

// The rows the last block computes: the head's (null: every row), and how many.
const int* head_rows(const TrainModel& m) { return m.config.head == BertHead::qa ? nullptr : m.head_rows.data(); }
int head_row_count(const TrainModel& m) {
    switch (m.config.head) {
        case BertHead::mlm: return m.n_masked;
        case BertHead::classify: return m.batch_B;
        case BertHead::qa: break;
    }
    return m.batch_B * m.batch_T;
}

// Post-LN block l: r2 = x + drop(attproj(attention(qkv(x))));  h = LN1(r2);
// r3 = h + drop(fcproj(gelu(fc(h))));  out = LN2(r3). The keys and values come from every row
// of x; everything after the attention is computed at n rows only, x's rows rows[j] in that
// order (rows null: all BT rows, n = BT). The last block needs only the head's rows: for the
// classifier 1 in T, for masked-LM 15 %, which skips ~70 % of that block's arithmetic.
void block_forward(TrainModel& m, int l, const float* x, const int* rows, int n) {
    const TrainConfig& c = m.config;
    const int B = m.batch_B, T = m.batch_T, BT = B * T, C = c.dim, NH = c.n_heads, HS = C / NH, H = c.hidden_dim;
    const int C3 = 3 * C;
    const size_t MBT = (size_t)m.B * m.T, ATT = MBT * NH * m.T;  // per-layer strides
    const TrainParams& p = m.p;
    const TrainActivations& a = m.acts;
    float *qkv = at(a.qkv, l, MBT * C3), *att = at(a.att, l, ATT), *atty = at(a.atty, l, MBT * C);
    float *attproj = at(a.attproj, l, MBT * C), *residual2 = at(a.residual2, l, MBT * C);
    float *ln1 = at(a.ln1, l, MBT * C), *fch = at(a.fch, l, MBT * H), *fch_act = at(a.fch_act, l, MBT * H);
    float *fcproj = at(a.fcproj, l, MBT * C), *residual3 = at(a.residual3, l, MBT * C);

    matmul_forward(qkv, x, at(p.qkvw, l, (size_t)C3 * C), at(p.qkvb, l, C3), BT, C, C3);
    attention_forward(atty, att, qkv, B, T, NH, NH, HS, m.lengths.data());
    const float* att_rows = atty;
    if (rows) gather_rows(a.last_att, atty, rows, n, C), att_rows = a.last_att;
    matmul_forward(attproj, att_rows, at(p.attprojw, l, (size_t)C * C), at(p.attprojb, l, C), n, C, C);
    dropout(m, attproj, (size_t)n * C, drop_attention(l));
    if (rows) {
        gather_rows(residual2, x, rows, n, C);
        add(residual2, attproj, n * C);
    } else {
        residual_forward(residual2, x, attproj, n * C);
    }
    layernorm_forward(ln1, at(a.ln1_mean, l, MBT), at(a.ln1_rstd, l, MBT), residual2, at(p.ln1w, l, C),
                      at(p.ln1b, l, C), n, C, c.norm_eps);
    matmul_forward(fch, ln1, at(p.fcw, l, (size_t)H * C), at(p.fcb, l, H), n, C, H);
    gelu_erf_forward(fch_act, fch, n * H);
    matmul_forward(fcproj, fch_act, at(p.fcprojw, l, (size_t)C * H), at(p.fcprojb, l, C), n, H, C);
    dropout(m, fcproj, (size_t)n * C, drop_mlp(l));
    residual_forward(residual3, ln1, fcproj, n * C);
    layernorm_forward(at(a.ln2, l, MBT * C), at(a.ln2_mean, l, MBT), at(a.ln2_rstd, l, MBT), residual3,
                      at(p.ln2w, l, C), at(p.ln2b, l, C), n, C, c.norm_eps);
}

// block_forward's backward. On entry dx holds d(out) at the block's n rows; on return d x at
// every row. dr is scratch; the two [BT, C] buffers may trade places. Each residual add passes
// its gradient through, so the branch gradients are added into the same buffer (layers.h
// residual_backward, folded).
void block_backward(TrainModel& m, int l, const float* x, const int* rows, int n, float*& dx, float*& dr) {
    const TrainConfig& c = m.config;
    const int B = m.batch_B, T = m.batch_T, BT = B * T, C = c.dim, NH = c.n_heads, HS = C / NH, H = c.hidden_dim;
    const int C3 = 3 * C;
    const size_t MBT = (size_t)m.B * m.T, ATT = MBT * NH * m.T;
    const TrainParams &p = m.p, &g = m.g;
    const TrainActivations& a = m.acts;
    const TrainScratch& s = m.scratch;
    // out = LN2(r3): dr = d r3
    zero(dr, (size_t)n * C);
    layernorm_backward(dr, at(g.ln2w, l, C), at(g.ln2b, l, C), dx, at(a.residual3, l, MBT * C), at(p.ln2w, l, C),
                       at(a.ln2_mean, l, MBT), at(a.ln2_rstd, l, MBT), n, C);
    // r3 = h + drop(fcproj(gelu(fc(h)))): dr becomes d h (datty is free until the attention)
    const float* dfcproj = dropout_backward(m, s.datty, dr, (size_t)n * C, drop_mlp(l));
    matmul_backward(s.dfch_act, at(g.fcprojw, l, (size_t)C * H), at(g.fcprojb, l, C), dfcproj,
                    at(a.fch_act, l, MBT * H), at(p.fcprojw, l, (size_t)C * H), n, H, C, Dinp::Overwrite);
    gelu_erf_backward(s.dfch, s.dfch_act, at(a.fch, l, MBT * H), n * H, Dinp::Overwrite);
    matmul_backward(dr, at(g.fcw, l, (size_t)H * C), at(g.fcb, l, H), s.dfch, at(a.ln1, l, MBT * C),
                    at(p.fcw, l, (size_t)H * C), n, C, H, Dinp::Accumulate);
    // h = LN1(r2): dx = d r2
    zero(dx, (size_t)n * C);
    layernorm_backward(dx, at(g.ln1w, l, C), at(g.ln1b, l, C), dr, at(a.residual2, l, MBT * C), at(p.ln1w, l, C),
                       at(a.ln1_mean, l, MBT), at(a.ln1_rstd, l, MBT), n, C);
    // r2 = x + drop(attproj(attention(qkv(x)))): dx becomes d x (dr, d h, is spent). With rows,
    // d attention output comes at those rows (into dfch_act, spent) and is spread to all.
    const float* dattproj = dropout_backward(m, dr, dx, (size_t)n * C, drop_attention(l));
    float* datty = rows ? s.dfch_act : s.datty;
    matmul_backward(datty, at(g.attprojw, l, (size_t)C * C), at(g.attprojb, l, C), dattproj,
                    rows ? a.last_att : at(a.atty, l, MBT * C), at(p.attprojw, l, (size_t)C * C), n, C, C,
                    Dinp::Overwrite);
    if (rows) {
        zero(s.datty, (size_t)BT * C);
        scatter_add_rows(s.datty, datty, rows, n, C);
        zero(dr, (size_t)BT * C);
        scatter_add_rows(dr, dx, rows, n, C);
        std::swap(dx, dr);
    }
    attention_backward(s.dqkv, s.datt, s.datty, at(a.qkv, l, MBT * C3), at(a.att, l, ATT), B, T, NH, NH, HS,
                       Dinp::Overwrite, m.lengths.data());
    matmul_backward(dx, at(g.qkvw, l, (size_t)C3 * C), at(g.qkvb, l, C3), s.dqkv, x, at(p.qkvw, l, (size_t)C3 * C),
                    BT, C, C3, Dinp::Accumulate);
}

}  // namespace

int bert_max_masked(int B, int T) { return B * (static_cast<int>(std::lround(MLM_FRACTION * T)) + 1); }

const float* bert_head_outputs(const TrainModel& m) {
    return m.config.head == BertHead::qa ? m.acts.qa_logits : m.acts.probs;
}

// x = drop(LayerNorm(wte[token] + wpe[t] + wtt[type])) -> L x post-LN block -> head
float bert_forward(TrainModel& m, const BertBatch& batch) {
    if (m.config.arch != TrainArch::bert) fail("train: bert_forward needs a bert model");
    take_batch(m, batch);
    const TrainConfig& c = m.config;
    const int B = m.batch_B, T = m.batch_T, BT = B * T, C = c.dim;
    const TrainParams& p = m.p;
    const TrainActivations& a = m.acts;

    for (int i = 0; i < BT; ++i) {
        float* e = a.encoded + (long)i * C;
        std::memcpy(e, p.wte + (long)m.inputs[i] * C, sizeof(float) * C);
        add(e, p.wpe + (long)(i % T) * C, C);
        add(e, p.wtt + (long)m.types[i] * C, C);
    }
    layernorm_forward(a.lne, a.lne_mean, a.lne_rstd, a.encoded, p.lnew, p.lneb, BT, C, c.norm_eps);
    dropout(m, a.lne, (size_t)BT * C, kDropEmbedding);
    const float* x = a.lne;
    for (int l = 0; l < c.n_layers; ++l) {
        const bool last = l == c.n_layers - 1;
        block_forward(m, l, x, last ? head_rows(m) : nullptr, last ? head_row_count(m) : BT);
        x = at(a.ln2, l, (size_t)m.B * m.T * C);
    }
    switch (c.head) {
        case BertHead::mlm: m.loss = mlm_forward(m, x); break;
        case BertHead::classify: m.loss = classify_forward(m, x); break;
        case BertHead::qa: m.loss = qa_forward(m, x); break;
    }
    return m.loss;
}

// Two [BT, C] buffers alternate down the stack: dx holds d(loss)/d(a layer's output), dr the
// gradient of a LayerNorm's input.
void bert_backward(TrainModel& m, float loss_scale) {
    const TrainConfig& c = m.config;
    const int B = m.batch_B, T = m.batch_T, BT = B * T, C = c.dim, L = c.n_layers;
    const size_t MBT = (size_t)m.B * m.T;
    const TrainParams &p = m.p, &g = m.g;
    const TrainActivations& a = m.acts;
    const TrainScratch& s = m.scratch;
    float *dx = s.dresidual, *dr = s.dresidual2;

    const int rows = c.head == BertHead::mlm ? m.n_masked : c.head == BertHead::classify ? B : 2 * B;
    const int outputs = c.head == BertHead::mlm ? c.vocab_size : c.head == BertHead::classify ? c.n_labels : T;
    const size_t n_logits = (size_t)rows * outputs;
    zero(s.dlogits, n_logits);
    crossentropy_backward(s.dlogits, a.probs, m.head_targets.data(), rows, outputs, IGNORE_INDEX);
    if (loss_scale != 1.0f)
        for (size_t i = 0; i < n_logits; ++i) s.dlogits[i] *= loss_scale;
    const float* out = at(a.ln2, L - 1, MBT * C);
    switch (c.head) {
        case BertHead::mlm: mlm_backward(m, out, dx); break;
        case BertHead::classify: classify_backward(m, out, dx); break;
        case BertHead::qa: qa_backward(m, out, dx); break;
    }
    for (int l = L - 1; l >= 0; --l) {
        const bool last = l == L - 1;
        block_backward(m, l, l == 0 ? a.lne : at(a.ln2, l - 1, MBT * C), last ? head_rows(m) : nullptr,
                       last ? head_row_count(m) : BT, dx, dr);
    }
    dropout(m, dx, (size_t)BT * C, kDropEmbedding);
    zero(dr, (size_t)BT * C);
    layernorm_backward(dr, g.lnew, g.lneb, dx, a.encoded, p.lnew, a.lne_mean, a.lne_rstd, BT, C);
    for (int i = 0; i < BT; ++i) {  // serial: rows sharing an id add into the same gradient row
        const float* d = dr + (long)i * C;
        add(g.wte + (long)m.inputs[i] * C, d, C);
        add(g.wpe + (long)(i % T) * C, d, C);
        add(g.wtt + (long)m.types[i] * C, d, C);
    }
}

}  // namespace lm
