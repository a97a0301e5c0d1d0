// Trainable Llama / GPT-2 / RNN: buffers, forward, backward, AdamW (see model.h).
#include "src/train/model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "src/train/data.h"
#include "src/train/layers.h"
#include "weights/error.h"

namespace lm {
namespace {

struct ParamSlot {
    const char* name;
    float* TrainParams::*field;
    size_t size;
    bool decay, present;
};

std::vector<ParamSlot> param_slots(const TrainConfig& c) {
    const size_t V = c.vocab_size, C = c.dim, H = c.hidden_dim, maxT = c.max_seq_len;
    const bool gpt2 = c.arch == TrainArch::gpt2, rnn = c.arch == TrainArch::rnn, bert = c.arch == TrainArch::bert;
    const bool llama = !gpt2 && !rnn && !bert;
    const size_t L = rnn ? 0 : c.n_layers;  // transformer blocks (sizes 0 for the RNN)
    const size_t C3 = rnn ? 0 : C / c.n_heads * (c.n_heads + 2 * c.n_kv_heads);
    const size_t FC = llama ? 2 * H : H;
    if (rnn)
        return {
            {"wte", &TrainParams::wte, V * C, true, true},
            {"rnnwx", &TrainParams::rnnwx, H * C, true, true},
            {"rnnwh", &TrainParams::rnnwh, H * H, true, true},
            {"rnnb", &TrainParams::rnnb, H, false, true},
            {"head", &TrainParams::head, V * H, true, true},
            {"headb", &TrainParams::headb, V, false, true},
        };
    if (bert) {
        const size_t K = c.n_labels;
        const bool mlm = c.head == BertHead::mlm, classify = c.head == BertHead::classify, qa = c.head == BertHead::qa;
        return {
            {"wte", &TrainParams::wte, V * C, true, true},
            {"wpe", &TrainParams::wpe, maxT * C, true, true},
            {"wtt", &TrainParams::wtt, (size_t)c.n_types * C, true, true},
            {"lnew", &TrainParams::lnew, C, false, true},
            {"lneb", &TrainParams::lneb, C, false, true},
            {"qkvw", &TrainParams::qkvw, L * C3 * C, true, true},
            {"qkvb", &TrainParams::qkvb, L * C3, false, true},
            {"attprojw", &TrainParams::attprojw, L * C * C, true, true},
            {"attprojb", &TrainParams::attprojb, L * C, false, true},
            {"ln1w", &TrainParams::ln1w, L * C, false, true},
            {"ln1b", &TrainParams::ln1b, L * C, false, true},
            {"fcw", &TrainParams::fcw, L * H * C, true, true},
            {"fcb", &TrainParams::fcb, L * H, false, true},
            {"fcprojw", &TrainParams::fcprojw, L * C * H, true, true},
            {"fcprojb", &TrainParams::fcprojb, L * C, false, true},
            {"ln2w", &TrainParams::ln2w, L * C, false, true},
            {"ln2b", &TrainParams::ln2b, L * C, false, true},
            {"mlmw", &TrainParams::mlmw, C * C, true, mlm},
            {"mlmb", &TrainParams::mlmb, C, false, mlm},
            {"mlmlnw", &TrainParams::mlmlnw, C, false, mlm},
            {"mlmlnb", &TrainParams::mlmlnb, C, false, mlm},
            {"headb", &TrainParams::headb, V, false, mlm},
            {"poolw", &TrainParams::poolw, C * C, true, classify},
            {"poolb", &TrainParams::poolb, C, false, classify},
            {"clsw", &TrainParams::clsw, K * C, true, classify},
            {"clsb", &TrainParams::clsb, K, false, classify},
            {"qaw", &TrainParams::qaw, 2 * C, true, qa},
            {"qab", &TrainParams::qab, 2, false, qa},
        };
    }
    return {
        {"wte", &TrainParams::wte, V * C, true, true},
        {"wpe", &TrainParams::wpe, maxT * C, true, gpt2},
        {"ln1w", &TrainParams::ln1w, L * C, false, true},
        {"ln1b", &TrainParams::ln1b, L * C, false, gpt2},
        {"qkvw", &TrainParams::qkvw, L * C3 * C, true, true},
        {"qkvb", &TrainParams::qkvb, L * C3, false, gpt2},
        {"attprojw", &TrainParams::attprojw, L * C * C, true, true},
        {"attprojb", &TrainParams::attprojb, L * C, false, gpt2},
        {"ln2w", &TrainParams::ln2w, L * C, false, true},
        {"ln2b", &TrainParams::ln2b, L * C, false, gpt2},
        {"fcw", &TrainParams::fcw, L * FC * C, true, true},
        {"fcb", &TrainParams::fcb, L * FC, false, gpt2},
        {"fcprojw", &TrainParams::fcprojw, L * C * H, true, true},
        {"fcprojb", &TrainParams::fcprojb, L * C, false, gpt2},
        {"lnfw", &TrainParams::lnfw, C, false, true},
        {"lnfb", &TrainParams::lnfb, C, false, gpt2},
        {"head", &TrainParams::head, V * C, true, !c.tied_head},
    };
}

void point_params(TrainParams& p, float* base, const TrainConfig& config) {
    p = TrainParams{};
    size_t offset = 0;
    for (const ParamSlot& s : param_slots(config)) {
        if (!s.present) continue;
        p.*s.field = base + offset;
        offset += s.size;
    }
    if (config.tied_head) p.head = p.wte;
}

void validate(const TrainConfig& c, int B, int T) {
    if (c.vocab_size <= 0 || c.dim <= 0 || c.n_layers <= 0 || c.hidden_dim <= 0)
        fail("train model: vocab, dim, layers and hidden size must be positive");
    // The limits read_config puts on model files, so no size or index below can overflow.
    if (c.vocab_size > (1 << 22) || c.dim > (1 << 16) || c.n_layers > 1024 || c.hidden_dim > (1 << 18) ||
        c.max_seq_len > (1 << 22))
        fail("train model: vocab ", c.vocab_size, ", dim ", c.dim, ", layers ", c.n_layers, ", hidden ", c.hidden_dim,
             " or context ", c.max_seq_len, " is beyond lm's limits");
    if (B <= 0 || T <= 0 || T > c.max_seq_len)
        fail("train model: batch ", B, " x context ", T, " must be positive with context <= ", c.max_seq_len);
    if ((long)B * T * std::max({c.dim, 2 * c.hidden_dim, c.vocab_size}) > INT32_MAX ||
        (long)B * T * T * std::max(c.n_heads, 1) > INT32_MAX)
        fail("train model: batch ", B, " x context ", T, " is too large for this model's buffers");
    if (c.arch == TrainArch::rnn) {
        if (c.n_layers != 1 || c.tied_head) fail("train model: rnn has one layer and an untied head");
        return;
    }
    if (c.n_heads <= 0) fail("train model: heads must be positive");
    if (c.dim % c.n_heads) fail("train model: dim ", c.dim, " is not a multiple of heads ", c.n_heads);
    if (c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads)
        fail("train model: heads ", c.n_heads, " is not a multiple of kv heads ", c.n_kv_heads);
    if (c.arch == TrainArch::llama && (c.dim / c.n_heads) % 2)
        fail("train model: RoPE needs an even head size, got ", c.dim / c.n_heads);
    if (c.arch == TrainArch::gpt2 && c.n_kv_heads != c.n_heads)
        fail("train model: gpt2 has as many kv heads as heads");
    if (c.arch == TrainArch::bert) {
        if (c.n_kv_heads != c.n_heads || !c.tied_head)
            fail("train model: bert has as many kv heads as heads and a masked-LM decoder tied to the embeddings");
        if (c.n_types < 1 || c.n_types > 1024) fail("train model: bert needs 1 to 1024 token types, got ", c.n_types);
        if (c.head == BertHead::classify && (c.n_labels < 2 || c.n_labels > (1 << 16)))
            fail("train model: a classifier needs 2 to 65536 labels, got ", c.n_labels);
    }
}

// Lays out `fields` (member, size) consecutively in memory and points each member at its slice.
template <typename S>
void carve(S& s, std::vector<float>& memory, const std::vector<std::pair<float* S::*, size_t>>& fields) {
    size_t total = 0;
    for (const auto& f : fields) total += f.second;
    memory.assign(total, 0.0f);
    size_t offset = 0;
    for (const auto& f : fields) {
        s.*f.first = memory.data() + offset;
        offset += f.second;
    }
}

bool is_llama(const TrainModel& m) { return m.config.arch == TrainArch::llama; }
bool is_rnn(const TrainModel& m) { return m.config.arch == TrainArch::rnn; }
bool is_bert(const TrainModel& m) { return m.config.arch == TrainArch::bert; }

// BERT's activations and scratch (model.h): blocks as the decoders', the embedding norm
// instead of a final one, and the head's rows.
void carve_bert(TrainModel& m) {
    const TrainConfig& c = m.config;
    const size_t BT = (size_t)m.B * m.T, C = c.dim, L = c.n_layers, H = c.hidden_dim, C3 = 3 * C;
    const size_t ATT = (size_t)m.B * c.n_heads * m.T * m.T;
    size_t rows = 0, outputs = 0;  // the head's rows and its outputs per row
    switch (c.head) {
        case BertHead::mlm: rows = bert_max_masked(m.B, m.T), outputs = c.vocab_size; break;
        case BertHead::classify: rows = m.B, outputs = c.n_labels; break;
        case BertHead::qa: rows = 2 * (size_t)m.B, outputs = m.T; break;  // start and end rows
    }
    const size_t dense = c.head == BertHead::qa ? 0 : rows * C, mlm = c.head == BertHead::mlm ? rows : 0;
    const size_t qa = c.head == BertHead::qa ? 2 * BT : 0;
    using A = TrainActivations;
    carve(m.acts, m.act_memory,
          {{&A::encoded, BT * C}, {&A::lne, BT * C}, {&A::lne_mean, BT}, {&A::lne_rstd, BT}, {&A::qkv, L * BT * C3},
           {&A::att, L * ATT}, {&A::atty, L * BT * C}, {&A::attproj, L * BT * C}, {&A::residual2, L * BT * C},
           {&A::ln1, L * BT * C}, {&A::ln1_mean, L * BT}, {&A::ln1_rstd, L * BT}, {&A::fch, L * BT * H},
           {&A::fch_act, L * BT * H}, {&A::fcproj, L * BT * C}, {&A::residual3, L * BT * C}, {&A::ln2, L * BT * C},
           {&A::ln2_mean, L * BT}, {&A::ln2_rstd, L * BT}, {&A::last_att, dense}, {&A::head_h, dense},
           {&A::head_act, dense}, {&A::head_ln, dense}, {&A::head_mean, mlm}, {&A::head_rstd, mlm},
           {&A::probs, rows * outputs}, {&A::qa_logits, qa}});
    m.acts.qkvr = m.acts.qkv;
    using S = TrainScratch;
    carve(m.scratch, m.scratch_memory,
          {{&S::dresidual, BT * C}, {&S::dresidual2, BT * C}, {&S::dqkv, BT * C3}, {&S::datt, ATT},
           {&S::datty, BT * C}, {&S::dfch, BT * H}, {&S::dfch_act, BT * H}, {&S::dlogits, rows * outputs},
           {&S::dhead_h, dense}, {&S::dhead_act, dense}, {&S::dqa_logits, qa}});
    m.types.assign(BT, 0);
    m.lengths.assign(m.B, 0);
    m.head_rows.assign(rows, 0);
    m.head_targets.assign(rows, IGNORE_INDEX);
}

// RMSNorm for Llama, LayerNorm for GPT-2, over N rows of C.
void norm_forward(const TrainModel& m, float* out, float* mean, float* rstd, const float* inp, const float* weight,
                  const float* bias, int N) {
    const TrainConfig& c = m.config;
    if (is_llama(m)) rmsnorm_forward(out, rstd, inp, weight, N, c.dim, c.norm_eps);
    else layernorm_forward(out, mean, rstd, inp, weight, bias, N, c.dim, c.norm_eps);
}

void norm_backward(const TrainModel& m, float* dinp, float* dweight, float* dbias, const float* dout,
                   const float* inp, const float* weight, const float* mean, const float* rstd, int N) {
    if (is_llama(m)) rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, m.config.dim);
    else layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, m.config.dim);
}

// Zeroes n floats, large spans on every thread (memory bandwidth per core is the limit).
void zero(float* d, size_t size) {
    const long n = (long)size, chunk = 1L << 16;
#pragma omp parallel for schedule(static) if (n > (1L << 20))
    for (long i = 0; i < n; i += chunk) std::memset(d + i, 0, sizeof(float) * std::min(chunk, n - i));
}

// Per-layer slice of a [L, ...] buffer (null stays null).
inline float* at(float* base, int l, size_t stride) { return base ? base + l * stride : nullptr; }

}  // namespace

void train_model_init(TrainModel& m, const TrainConfig& config, int B, int T) {
    validate(config, B, T);
    m = TrainModel{};
    m.config = config;
    m.B = B;
    m.T = T;
    size_t offset = 0;
    for (const ParamSlot& s : param_slots(config)) {
        if (!s.present) continue;
        m.tensors.push_back({s.name, offset, s.size, s.decay});
        offset += s.size;
    }
    m.params.assign(offset, 0.0f);
    m.grads.assign(offset, 0.0f);
    m.adam_m.assign(offset, 0.0f);
    m.adam_v.assign(offset, 0.0f);
    m.norm_parts.assign((offset + NORM_CHUNK - 1) / NORM_CHUNK, 0.0);
    point_params(m.p, m.params.data(), config);
    point_params(m.g, m.grads.data(), config);

    m.inputs.assign((size_t)B * T, 0);
    m.targets.assign((size_t)B * T, IGNORE_INDEX);
    if (is_bert(m)) return carve_bert(m);
    // Transformer buffers get size 0 for the RNN and the RNN's for transformers.
    const bool rnn = is_rnn(m);
    const size_t BT = (size_t)B * T, C = config.dim, L = rnn ? 0 : config.n_layers, V = config.vocab_size;
    const size_t NH = rnn ? 0 : config.n_heads, H = config.hidden_dim;
    const size_t C3 = rnn ? 0 : C / NH * (NH + 2 * config.n_kv_heads), T1 = rnn ? 0 : 1, HR = rnn ? BT * H : 0;
    const size_t FC = is_llama(m) ? 2 * H : H, ATT = (size_t)B * NH * T * T;
    using A = TrainActivations;
    carve(m.acts, m.act_memory,
          {{&A::encoded, BT * C}, {&A::ln1, L * BT * C}, {&A::ln1_mean, L * BT}, {&A::ln1_rstd, L * BT},
           {&A::qkv, L * BT * C3}, {&A::qkvr, is_llama(m) ? L * BT * C3 : 0}, {&A::att, L * ATT},
           {&A::atty, L * BT * C}, {&A::attproj, L * BT * C}, {&A::residual2, L * BT * C}, {&A::ln2, L * BT * C},
           {&A::ln2_mean, L * BT}, {&A::ln2_rstd, L * BT}, {&A::fch, L * BT * FC}, {&A::fch_act, L * BT * H},
           {&A::fcproj, L * BT * C}, {&A::residual3, L * BT * C}, {&A::lnf, T1 * BT * C}, {&A::lnf_mean, T1 * BT},
           {&A::lnf_rstd, T1 * BT}, {&A::probs, BT * V}, {&A::rnn_h, HR}});
    if (!is_llama(m)) m.acts.qkvr = m.acts.qkv;
    using S = TrainScratch;
    carve(m.scratch, m.scratch_memory,
          {{&S::dresidual, BT * C}, {&S::dln1, T1 * BT * C}, {&S::dqkv, BT * C3}, {&S::dqkvr, BT * C3},
           {&S::datt, ATT}, {&S::datty, T1 * BT * C}, {&S::dln2, T1 * BT * C}, {&S::dfch, T1 * BT * FC},
           {&S::dfch_act, T1 * BT * H}, {&S::dlnf, T1 * BT * C}, {&S::dlogits, BT * V}, {&S::drnn_h, HR},
           {&S::dpre, HR}});
}

// Standard normal by Box-Muller over splitmix64, so the same seed gives the same weights on
// every platform (std::normal_distribution's algorithm is up to the library).
static float normal(Rng& rng) {
    const double u1 = ((rng.next() >> 11) + 1) * 0x1.0p-53, u2 = (rng.next() >> 11) * 0x1.0p-53;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

void train_model_init_weights(TrainModel& m, unsigned long seed, float std) {
    Rng rng{seed};
    const TrainConfig& c = m.config;
    for (const ParamTensor& t : m.tensors) {
        float* w = m.params.data() + t.offset;
        const bool norm = t.name.find("ln") != std::string::npos && t.name.back() == 'w';
        float sigma = std;
        // GPT-2 scales the residual projections; BERT initializes every matrix alike.
        if ((t.name == "attprojw" || t.name == "fcprojw") && c.arch != TrainArch::bert)
            sigma /= std::sqrt(2.0f * c.n_layers);
        // RNN: variance 1/fan_in keeps the recurrence from exploding or dying out at the start.
        if (t.name == "rnnwx") sigma = 1.0f / std::sqrt((float)c.dim);
        if (t.name == "rnnwh") sigma = 1.0f / std::sqrt((float)c.hidden_dim);
        for (size_t i = 0; i < t.size; ++i) w[i] = norm ? 1.0f : t.decay ? normal(rng) * sigma : 0.0f;
        // BERT's learned positions start as sinusoids of the same RMS as the other weights: with
        // random ones a bidirectional encoder cannot tell its neighbours from far tokens, and
        // masked-LM sits on the unigram plateau (predicting the token frequencies) for
        // thousands of steps; a sinusoid's shift by k is a linear map, so attention can pick
        // "the next token" from the first steps on.
        if (t.name == "wpe" && c.arch == TrainArch::bert) {
            const size_t C = c.dim;
            for (size_t p = 0; p < t.size / C; ++p)
                for (size_t i = 0; i + 1 < C; i += 2) {
                    const double angle = p / std::pow(10000.0, (double)i / C);
                    w[p * C + i] = static_cast<float>(std::sqrt(2.0) * sigma * std::sin(angle));
                    w[p * C + i + 1] = static_cast<float>(std::sqrt(2.0) * sigma * std::cos(angle));
                }
        }
    }
}

const char* train_arch_name(TrainArch arch) {
    switch (arch) {
        case TrainArch::llama: return "llama";
        case TrainArch::gpt2: return "gpt2";
        case TrainArch::rnn: return "rnn";
        case TrainArch::bert: return "bert";
    }
    return "?";
}

const ParamTensor* find_tensor(const TrainModel& m, const std::string& name) {
    for (const ParamTensor& t : m.tensors)
        if (t.name == name) return &t;
    return nullptr;
}

// embedding -> L x (norm -> attention -> residual -> norm -> MLP -> residual) -> norm -> head
static float transformer_forward(TrainModel& m, const int* inputs, const int* targets) {
    const TrainConfig& c = m.config;
    const int B = m.B, T = m.T, C = c.dim, NH = c.n_heads, NKV = c.n_kv_heads, HS = C / NH, H = c.hidden_dim;
    const int BT = B * T, C3 = HS * (NH + 2 * NKV), FC = is_llama(m) ? 2 * H : H, V = c.vocab_size;
    const TrainParams& p = m.p;
    const TrainActivations& a = m.acts;
    const size_t BTC = (size_t)BT * C;

    embedding_forward(a.encoded, inputs, p.wte, p.wpe, B, T, C);
    const float* residual = a.encoded;
    for (int l = 0; l < c.n_layers; ++l) {
        float *ln1 = at(a.ln1, l, BTC), *qkv = at(a.qkv, l, (size_t)BT * C3), *qkvr = at(a.qkvr, l, (size_t)BT * C3);
        float *att = at(a.att, l, (size_t)B * NH * T * T), *atty = at(a.atty, l, BTC);
        float *attproj = at(a.attproj, l, BTC), *residual2 = at(a.residual2, l, BTC), *ln2 = at(a.ln2, l, BTC);
        float *fch = at(a.fch, l, (size_t)BT * FC), *fch_act = at(a.fch_act, l, (size_t)BT * H);
        float *fcproj = at(a.fcproj, l, BTC), *residual3 = at(a.residual3, l, BTC);

        norm_forward(m, ln1, at(a.ln1_mean, l, BT), at(a.ln1_rstd, l, BT), residual, at(p.ln1w, l, C),
                     at(p.ln1b, l, C), BT);
        matmul_forward(qkv, ln1, at(p.qkvw, l, (size_t)C3 * C), at(p.qkvb, l, C3), BT, C, C3);
        if (is_llama(m)) rope_forward(qkvr, qkv, B, T, C3, NH + NKV, HS, c.rope_base);
        attention_forward(atty, att, qkvr, B, T, NH, NKV, HS);
        matmul_forward(attproj, atty, at(p.attprojw, l, (size_t)C * C), at(p.attprojb, l, C), BT, C, C);
        residual_forward(residual2, residual, attproj, BT * C);

        norm_forward(m, ln2, at(a.ln2_mean, l, BT), at(a.ln2_rstd, l, BT), residual2, at(p.ln2w, l, C),
                     at(p.ln2b, l, C), BT);
        matmul_forward(fch, ln2, at(p.fcw, l, (size_t)FC * C), at(p.fcb, l, FC), BT, C, FC);
        if (is_llama(m)) swiglu_forward(fch_act, fch, BT, H);
        else gelu_forward(fch_act, fch, BT * H);
        matmul_forward(fcproj, fch_act, at(p.fcprojw, l, (size_t)C * H), at(p.fcprojb, l, C), BT, H, C);
        residual_forward(residual3, residual2, fcproj, BT * C);
        residual = residual3;
    }
    norm_forward(m, a.lnf, a.lnf_mean, a.lnf_rstd, residual, p.lnfw, p.lnfb, BT);
    matmul_forward(a.probs, a.lnf, p.head, nullptr, BT, C, V);
    return crossentropy_forward(a.probs, a.probs, targets, BT, V, IGNORE_INDEX);
}

// The scratch's dlogits already holds d(loss)/d(logits); parameter gradients accumulate.
static void transformer_backward(TrainModel& m) {
    const TrainConfig& c = m.config;
    const int B = m.B, T = m.T, C = c.dim, NH = c.n_heads, NKV = c.n_kv_heads, HS = C / NH, H = c.hidden_dim;
    const int BT = B * T, C3 = HS * (NH + 2 * NKV), FC = is_llama(m) ? 2 * H : H, V = c.vocab_size, L = c.n_layers;
    const TrainParams &p = m.p, &g = m.g;
    const TrainActivations& a = m.acts;
    const TrainScratch& s = m.scratch;
    const size_t BTC = (size_t)BT * C;

    matmul_backward(s.dlnf, g.head, nullptr, s.dlogits, a.lnf, p.head, BT, C, V, Dinp::Overwrite);
    norm_backward(m, s.dresidual, g.lnfw, g.lnfb, s.dlnf, at(a.residual3, L - 1, BTC), p.lnfw, a.lnf_mean,
                  a.lnf_rstd, BT);

    // s.dresidual holds d(loss)/d(layer output); each residual add passes it through unchanged,
    // so branch gradients are added into it in place (layers.h residual_backward, folded).
    for (int l = L - 1; l >= 0; --l) {
        const float* residual = l == 0 ? a.encoded : at(a.residual3, l - 1, BTC);
        // Every scratch gradient has one writer, which overwrites it (nothing to zero first).
        constexpr Dinp set = Dinp::Overwrite;

        // residual3 = residual2 + fcproj(act(fc(ln2(residual2))))
        matmul_backward(s.dfch_act, at(g.fcprojw, l, (size_t)C * H), at(g.fcprojb, l, C), s.dresidual,
                        at(a.fch_act, l, (size_t)BT * H), at(p.fcprojw, l, (size_t)C * H), BT, H, C, set);
        if (is_llama(m)) swiglu_backward(s.dfch, s.dfch_act, at(a.fch, l, (size_t)BT * FC), BT, H, set);
        else gelu_backward(s.dfch, s.dfch_act, at(a.fch, l, (size_t)BT * FC), BT * H, set);
        matmul_backward(s.dln2, at(g.fcw, l, (size_t)FC * C), at(g.fcb, l, FC), s.dfch, at(a.ln2, l, BTC),
                        at(p.fcw, l, (size_t)FC * C), BT, C, FC, set);
        norm_backward(m, s.dresidual, at(g.ln2w, l, C), at(g.ln2b, l, C), s.dln2, at(a.residual2, l, BTC),
                      at(p.ln2w, l, C), at(a.ln2_mean, l, BT), at(a.ln2_rstd, l, BT), BT);

        // residual2 = residual + attproj(attention(rope(qkv(ln1(residual)))))
        matmul_backward(s.datty, at(g.attprojw, l, (size_t)C * C), at(g.attprojb, l, C), s.dresidual,
                        at(a.atty, l, BTC), at(p.attprojw, l, (size_t)C * C), BT, C, C, set);
        float* dq = is_llama(m) ? s.dqkvr : s.dqkv;
        attention_backward(dq, s.datt, s.datty, at(a.qkvr, l, (size_t)BT * C3), at(a.att, l, (size_t)B * NH * T * T),
                           B, T, NH, NKV, HS, set);
        if (is_llama(m)) rope_backward(s.dqkv, s.dqkvr, B, T, C3, NH + NKV, HS, c.rope_base, set);
        matmul_backward(s.dln1, at(g.qkvw, l, (size_t)C3 * C), at(g.qkvb, l, C3), s.dqkv, at(a.ln1, l, BTC),
                        at(p.qkvw, l, (size_t)C3 * C), BT, C, C3, set);
        norm_backward(m, s.dresidual, at(g.ln1w, l, C), at(g.ln1b, l, C), s.dln1, residual, at(p.ln1w, l, C),
                      at(a.ln1_mean, l, BT), at(a.ln1_rstd, l, BT), BT);
    }
    embedding_backward(g.wte, g.wpe, s.dresidual, m.inputs.data(), B, T, C);
}

// embedding -> tanh RNN -> head with bias -> cross-entropy
static float rnn_model_forward(TrainModel& m, const int* inputs, const int* targets) {
    const int B = m.B, T = m.T, C = m.config.dim, H = m.config.hidden_dim, V = m.config.vocab_size;
    const TrainActivations& a = m.acts;
    embedding_forward(a.encoded, inputs, m.p.wte, nullptr, B, T, C);
    rnn_forward(a.rnn_h, a.encoded, m.p.rnnwx, m.p.rnnwh, m.p.rnnb, B, T, C, H);
    matmul_forward(a.probs, a.rnn_h, m.p.head, m.p.headb, B * T, H, V);
    return crossentropy_forward(a.probs, a.probs, targets, B * T, V, IGNORE_INDEX);
}

// The scratch's dlogits already holds d(loss)/d(logits).
static void rnn_model_backward(TrainModel& m) {
    const int B = m.B, T = m.T, C = m.config.dim, H = m.config.hidden_dim, V = m.config.vocab_size;
    const TrainActivations& a = m.acts;
    const TrainScratch& s = m.scratch;
    matmul_backward(s.drnn_h, m.g.head, m.g.headb, s.dlogits, a.rnn_h, m.p.head, B * T, H, V, Dinp::Overwrite);
    rnn_backward(s.dresidual, m.g.rnnwx, m.g.rnnwh, m.g.rnnb, s.dpre, s.drnn_h, a.rnn_h, a.encoded, m.p.rnnwx,
                 m.p.rnnwh, B, T, C, H);
    embedding_backward(m.g.wte, nullptr, s.dresidual, m.inputs.data(), B, T, C);
}

float train_forward(TrainModel& m, const int* inputs, const int* targets) {
    const int BT = m.B * m.T, V = m.config.vocab_size;
    for (int i = 0; i < BT; ++i) {
        if (inputs[i] < 0 || inputs[i] >= V) fail("train: token id ", inputs[i], " outside vocabulary of ", V);
        if ((targets[i] < 0 || targets[i] >= V) && targets[i] != IGNORE_INDEX)
            fail("train: target id ", targets[i], " outside vocabulary of ", V);
    }
    std::copy(inputs, inputs + BT, m.inputs.begin());
    std::copy(targets, targets + BT, m.targets.begin());
    if (is_bert(m)) fail("train: a bert model takes BertBatch batches (bert_forward)");
    m.loss = is_rnn(m) ? rnn_model_forward(m, inputs, targets) : transformer_forward(m, inputs, targets);
    return m.loss;
}

void train_zero_grad(TrainModel& m) { zero(m.grads.data(), m.grads.size()); }

void train_backward(TrainModel& m, float loss_scale) {
    if (is_bert(m)) return bert_backward(m, loss_scale);
    const int BT = m.B * m.T, V = m.config.vocab_size;
    // The two buffers accumulated into (every other scratch gradient is overwritten by its
    // one writer: the classifier's dlnf / drnn_h, each layer's buffers, datt, dpre).
    zero(m.scratch.dlogits, (size_t)BT * V);
    zero(m.scratch.dresidual, (size_t)BT * m.config.dim);
    crossentropy_backward(m.scratch.dlogits, m.acts.probs, m.targets.data(), BT, V, IGNORE_INDEX);
    if (loss_scale != 1.0f)
        for (size_t i = 0; i < (size_t)BT * V; ++i) m.scratch.dlogits[i] *= loss_scale;
    if (is_rnn(m)) rnn_model_backward(m);
    else transformer_backward(m);
}


// Summed in fixed chunks and then in chunk order, so the norm does not depend on the thread count.
float train_clip_grad_norm(TrainModel& m, float max_norm) {
    const long n = (long)m.grads.size(), chunks = (long)m.norm_parts.size();
    const float* g = m.grads.data();
#pragma omp parallel for schedule(static) if (n > (1L << 18))
    for (long c = 0; c < chunks; ++c) {
        double ss = 0;
        for (long i = c * NORM_CHUNK; i < std::min(n, (c + 1) * NORM_CHUNK); ++i) ss += (double)g[i] * g[i];
        m.norm_parts[c] = ss;
    }
    double ss = 0;
    for (double part : m.norm_parts) ss += part;
    const float norm = static_cast<float>(std::sqrt(ss));
    if (max_norm > 0 && norm > max_norm) {
        const float scale = max_norm / norm;
        float* gw = m.grads.data();
#pragma omp parallel for schedule(static) if (n > (1L << 18))
        for (long i = 0; i < n; ++i) gw[i] *= scale;
    }
    return norm;
}

// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr (m^ / (sqrt(v^) + eps) + wd p)
// with bias-corrected m^ = m / (1 - b1^t), v^ = v / (1 - b2^t).
void train_adamw_step(TrainModel& m, const AdamWConfig& adam, float lr) {
    using vec = xsimd::batch<float>;
    constexpr long VL = vec::size;
    const int t = ++m.adam_steps;
    const float bc1 = 1.0f - std::pow(adam.beta1, (float)t), bc2 = 1.0f - std::pow(adam.beta2, (float)t);
    const float b1 = adam.beta1, b2 = adam.beta2, eps = adam.eps;
    for (const ParamTensor& tensor : m.tensors) {
        const float wd = tensor.decay ? adam.weight_decay : 0.0f;
        float* p = m.params.data() + tensor.offset;
        const float* g = m.grads.data() + tensor.offset;
        float* mom = m.adam_m.data() + tensor.offset;
        float* vel = m.adam_v.data() + tensor.offset;
        const long n = (long)tensor.size, n_vec = n / VL * VL;
#pragma omp parallel for schedule(static) if (n > (1L << 16))
        for (long i = 0; i < n_vec; i += VL) {
            const vec gi = xsimd::load_unaligned(g + i), pi = xsimd::load_unaligned(p + i);
            const vec mi = b1 * xsimd::load_unaligned(mom + i) + (1.0f - b1) * gi;
            const vec vi = b2 * xsimd::load_unaligned(vel + i) + (1.0f - b2) * gi * gi;
            mi.store_unaligned(mom + i);
            vi.store_unaligned(vel + i);
            (pi - lr * ((mi / bc1) / (xsimd::sqrt(vi / bc2) + eps) + wd * pi)).store_unaligned(p + i);
        }
        for (long i = n_vec; i < n; ++i) {
            mom[i] = b1 * mom[i] + (1.0f - b1) * g[i];
            vel[i] = b2 * vel[i] + (1.0f - b2) * g[i] * g[i];
            p[i] -= lr * ((mom[i] / bc1) / (std::sqrt(vel[i] / bc2) + eps) + wd * p[i]);
        }
    }
}

}  // namespace lm
