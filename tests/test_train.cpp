// Whole-model training check against PyTorch: tests/ref/make_train_ref.py records two tiny
// Llamas, a tiny GPT-2 and a tanh RNN (format at the top of the script); lm must match the
// loss, every parameter gradient and the parameters after 3 AdamW steps within 1e-4 relative.
// Errors are normwise per tensor: max |lm - ref| / max |ref|. LM_VERBOSE=1 prints them.
// Also: config validation, initial weights, gradient accumulation, thread-count independence
// and a skipped timing case.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "src/train/model.h"
#include "weights/error.h"
#include "tests/testing.h"

namespace {

constexpr double REL_TOL = 1e-4;
// The update p_after - p_init on its own: Adam divides each gradient by its own running
// magnitude, so the float rounding of the smallest gradients reaches the update at full size.
constexpr double UPDATE_TOL = 1e-3;

struct RefTensor {
    std::string name;
    std::vector<float> init, grad, final;
};

struct TrainRef {
    lm::TrainConfig config;
    lm::AdamWConfig adam;
    float lr = 0;
    int B = 0, T = 0, steps = 0;
    std::vector<int> inputs, targets;
    std::vector<float> losses;
    std::vector<RefTensor> tensors;
    // BERT (make_bert_train_ref.py): inputs are the tokens; the batch's other fields.
    std::vector<int> types, lengths, positions, mlm_targets, labels, starts, ends;

    lm::BertBatch bert_batch() const {
        lm::BertBatch b;
        b.B = B, b.T = T, b.tokens = inputs.data(), b.types = types.data(), b.lengths = lengths.data();
        b.mlm_positions = positions.data(), b.mlm_targets = mlm_targets.data();
        b.n_masked = static_cast<int>(positions.size());
        b.labels = labels.data(), b.starts = starts.data(), b.ends = ends.data();
        return b;
    }
};

struct Reader {
    std::vector<char> bytes;
    size_t pos = 0;
    template <typename X>
    X get() {
        X x;
        REQUIRE(pos + sizeof(X) <= bytes.size());
        std::memcpy(&x, bytes.data() + pos, sizeof(X));
        pos += sizeof(X);
        return x;
    }
    template <typename X>
    std::vector<X> get(size_t n) {
        std::vector<X> v(n);
        for (auto& x : v) x = get<X>();
        return v;
    }
};

TrainRef load_ref(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    REQUIRE_MESSAGE(file, "missing reference ", path, " (run /usr/bin/python3 tests/ref/make_train_ref.py)");
    Reader r{std::vector<char>(std::istreambuf_iterator<char>(file), {})};
    const std::string magic(r.bytes.data(), 8);
    REQUIRE((magic == "LMTRAIN1" || magic == "LMBERT01"));
    r.pos = 8;
    TrainRef ref;
    lm::TrainConfig& c = ref.config;
    if (magic == "LMBERT01") {
        const auto h = r.get<int>(13);
        c.arch = lm::TrainArch::bert;
        c.head = static_cast<lm::BertHead>(h[0]);
        c.vocab_size = h[1], c.dim = h[2], c.n_layers = h[3], c.n_heads = c.n_kv_heads = h[4], c.hidden_dim = h[5];
        c.max_seq_len = h[6], c.n_types = h[7], c.n_labels = h[8];
        ref.B = h[9], ref.T = h[10], ref.steps = h[11];
        const auto f = r.get<float>(6);
        c.norm_eps = f[0], ref.lr = f[1];
        ref.adam.beta1 = f[2], ref.adam.beta2 = f[3], ref.adam.eps = f[4], ref.adam.weight_decay = f[5];
        ref.inputs = r.get<int>(ref.B * ref.T);
        ref.types = r.get<int>(ref.B * ref.T);
        ref.lengths = r.get<int>(ref.B);
        ref.positions = r.get<int>(h[12]);
        ref.mlm_targets = r.get<int>(h[12]);
        ref.labels = r.get<int>(ref.B);
        ref.starts = r.get<int>(ref.B);
        ref.ends = r.get<int>(ref.B);
    } else {
    const auto h = r.get<int>(12);
    c.arch = h[0] == 0 ? lm::TrainArch::llama : h[0] == 1 ? lm::TrainArch::gpt2 : lm::TrainArch::rnn;
    c.vocab_size = h[1], c.dim = h[2], c.n_layers = h[3], c.n_heads = h[4], c.n_kv_heads = h[5];
    c.hidden_dim = h[6], c.max_seq_len = h[7], c.tied_head = h[8] != 0;
    ref.B = h[9], ref.T = h[10], ref.steps = h[11];
    const auto f = r.get<float>(7);
    c.norm_eps = f[0], c.rope_base = f[1], ref.lr = f[2];
    ref.adam.beta1 = f[3], ref.adam.beta2 = f[4], ref.adam.eps = f[5], ref.adam.weight_decay = f[6];
    ref.inputs = r.get<int>(ref.B * ref.T);
    ref.targets = r.get<int>(ref.B * ref.T);
    }
    ref.losses = r.get<float>(ref.steps);
    const int n = r.get<int>();
    for (int i = 0; i < n; ++i) {
        RefTensor t;
        const int len = r.get<int>();
        const auto name = r.get<char>(len);
        t.name.assign(name.begin(), name.end());
        const int size = r.get<int>();
        t.init = r.get<float>(size);
        t.grad = r.get<float>(size);
        t.final = r.get<float>(size);
        ref.tensors.push_back(std::move(t));
    }
    CHECK(r.pos == r.bytes.size());
    return ref;
}

double rel_error(const float* a, const std::vector<float>& b) {
    double diff = 0, scale = 0;
    for (size_t i = 0; i < b.size(); ++i) {
        diff = std::max(diff, (double)std::abs(a[i] - b[i]));
        scale = std::max(scale, (double)std::abs(b[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

void check_close(const std::string& what, double err, double& worst, double tol = REL_TOL) {
    if (std::getenv("LM_VERBOSE")) std::printf("  %-30s %.3e\n", what.c_str(), err);
    worst = std::max(worst, err);
    INFO(what, " relative error ", err);
    CHECK(err < tol);
}

// The key bias only shifts all scores of a query by q . b_k, which softmax ignores, so its
// gradient is zero up to rounding: lm's float noise (~1e-9) against torch's float64 noise,
// which Adam then scales to steps of ~lr/10. Checked to be zero, then left out of the
// post-step comparison of qkvb. Returns the [begin, end) of the key bias within qkvb.
std::pair<size_t, size_t> key_bias_range(const TrainRef& ref, int layer) {
    const lm::TrainConfig& c = ref.config;
    const size_t HS = c.dim / c.n_heads, C3 = HS * (c.n_heads + 2 * c.n_kv_heads);
    const size_t begin = layer * C3 + c.n_heads * HS;
    return {begin, begin + c.n_kv_heads * HS};
}

void drop_key_bias(const TrainRef& ref, std::vector<float>& v) {
    for (int l = 0; l < ref.config.n_layers; ++l) {
        const auto [begin, end] = key_bias_range(ref, l);
        for (size_t i = begin; i < end; ++i) v[i] = 0.0f;
    }
}

// The same holds for any element whose gradient is near float noise (~1e-6 of the tensor's
// largest): zero in exact arithmetic (the span head's bias and the norm bias under it, which
// shift all of a sequence's logits) or small by coincidence. Adam's step g / (|g| + eps)
// turns that noise into a step error of its own size, so elements below 1e-4 of the largest
// gradient (noise under 1 %) are covered by the gradient check and left out after the steps.
void drop_noise_level(const std::vector<float>& grad, std::vector<float>& v) {
    float scale = 0.0f;
    for (float g : grad) scale = std::max(scale, std::abs(g));
    for (size_t i = 0; i < v.size(); ++i)
        if (std::abs(grad[i]) <= 1e-4f * scale) v[i] = 0.0f;
}

void check_against_reference(const std::string& file) {
    const TrainRef ref = load_ref("tests/ref/" + file);
    lm::TrainModel model;
    lm::train_model_init(model, ref.config, ref.B, ref.T);
    REQUIRE(model.tensors.size() == ref.tensors.size());
    for (size_t i = 0; i < ref.tensors.size(); ++i) {
        const lm::ParamTensor& t = model.tensors[i];
        REQUIRE(t.name == ref.tensors[i].name);
        REQUIRE(t.size == ref.tensors[i].init.size());
        std::copy(ref.tensors[i].init.begin(), ref.tensors[i].init.end(), model.params.begin() + t.offset);
    }
    double worst_loss = 0, worst_grad = 0, worst_param = 0, worst_update = 0;
    for (int step = 0; step < ref.steps; ++step) {
        lm::train_zero_grad(model);
        const float loss = ref.config.arch == lm::TrainArch::bert
                               ? lm::bert_forward(model, ref.bert_batch())
                               : lm::train_forward(model, ref.inputs.data(), ref.targets.data());
        check_close(file + " loss step " + std::to_string(step), std::abs(loss - ref.losses[step]) / ref.losses[step],
                    worst_loss);
        lm::train_backward(model);
        if (step == 0)
            for (size_t i = 0; i < ref.tensors.size(); ++i) {
                const float* g = model.grads.data() + model.tensors[i].offset;
                check_close(file + " grad " + ref.tensors[i].name, rel_error(g, ref.tensors[i].grad), worst_grad);
                if (ref.tensors[i].name != "qkvb") continue;
                float scale = 0.0f;
                for (float x : ref.tensors[i].grad) scale = std::max(scale, std::abs(x));
                for (int l = 0; l < ref.config.n_layers; ++l) {
                    const auto [begin, end] = key_bias_range(ref, l);
                    for (size_t j = begin; j < end; ++j) CHECK(std::abs(g[j]) < 1e-6f * scale);
                }
            }
        lm::train_adamw_step(model, ref.adam, ref.lr);
    }
    for (size_t i = 0; i < ref.tensors.size(); ++i) {
        RefTensor r = ref.tensors[i];
        const float* params = model.params.data() + model.tensors[i].offset;
        std::vector<float> p(params, params + r.init.size());
        if (r.name == "qkvb")
            for (auto* v : {&p, &r.init, &r.final}) drop_key_bias(ref, *v);
        for (auto* v : {&p, &r.init, &r.final}) drop_noise_level(r.grad, *v);
        check_close(file + " param " + r.name, rel_error(p.data(), r.final), worst_param);
        // The update alone, so a wrong step cannot hide behind the size of the weights.
        std::vector<float> update(r.init.size()), ref_update(r.init.size());
        for (size_t j = 0; j < update.size(); ++j) {
            update[j] = p[j] - r.init[j];
            ref_update[j] = r.final[j] - r.init[j];
        }
        check_close(file + " update " + r.name, rel_error(update.data(), ref_update), worst_update, UPDATE_TOL);
    }
    if (std::getenv("LM_VERBOSE"))
        std::printf("%s worst: loss %.2e grad %.2e param %.2e update %.2e\n", file.c_str(), worst_loss, worst_grad,
                    worst_param, worst_update);
}

}  // namespace

TEST_SUITE("train") {
TEST_CASE("tiny Llama (GQA, RoPE, SwiGLU, untied head) matches PyTorch: loss, grads, 3 AdamW steps") {
    check_against_reference("train_llama.bin");
}

TEST_CASE("one-layer Llama (multi-query attention, tied head, RoPE base 5e5) matches PyTorch") {
    check_against_reference("train_llama_mqa.bin");
}

TEST_CASE("tiny GPT-2 (learned positions, LayerNorm, GELU, biases, tied head) matches PyTorch") {
    check_against_reference("train_gpt2.bin");
}

TEST_CASE("BERT masked-LM (post-LN, token types, padding masks, tied decoder) matches PyTorch") {
    check_against_reference("train_bert_mlm.bin");
}

TEST_CASE("BERT sequence classifier (pooler + linear) matches PyTorch") {
    check_against_reference("train_bert_classify.bin");
}

TEST_CASE("BERT span head (start/end over each sequence's real tokens) matches PyTorch") {
    check_against_reference("train_bert_qa.bin");
}

TEST_CASE("tanh RNN (embedding, backprop through time, head with bias) matches PyTorch") {
    check_against_reference("train_rnn.bin");
}

TEST_CASE("initial weights: N(0, 0.02) matrices, unit norms, zero biases, fixed by the seed") {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::gpt2;
    c.vocab_size = 500, c.dim = 64, c.n_layers = 2, c.n_heads = c.n_kv_heads = 4, c.hidden_dim = 128;
    c.max_seq_len = 8;
    lm::TrainModel a, b;
    lm::train_model_init(a, c, 1, 8);
    lm::train_model_init(b, c, 1, 8);
    lm::train_model_init_weights(a, 9);
    lm::train_model_init_weights(b, 9);
    CHECK(a.params == b.params);
    const lm::ParamTensor* wte = lm::find_tensor(a, "wte");
    double sum = 0, sq = 0;
    for (size_t i = 0; i < wte->size; ++i) {
        sum += a.params[wte->offset + i];
        sq += (double)a.params[wte->offset + i] * a.params[wte->offset + i];
    }
    const double mean = sum / wte->size, sd = std::sqrt(sq / wte->size - mean * mean);
    CHECK(std::abs(mean) < 5e-4);  // 32000 samples: standard error 1.1e-4
    CHECK(std::abs(sd - 0.02) < 5e-4);
    CHECK(a.params[lm::find_tensor(a, "ln1w")->offset] == 1.0f);
    CHECK(a.params[lm::find_tensor(a, "qkvb")->offset] == 0.0f);
}

TEST_CASE("train model rejects inconsistent configs") {
    lm::TrainModel model;
    lm::TrainConfig c;
    c.vocab_size = 10, c.dim = 12, c.n_layers = 1, c.n_heads = 3, c.n_kv_heads = 2, c.hidden_dim = 8;
    c.max_seq_len = 4;
    CHECK_THROWS_AS(lm::train_model_init(model, c, 1, 4), lm::Error);  // 3 heads, 2 kv heads
    c.n_kv_heads = 3;
    CHECK_NOTHROW(lm::train_model_init(model, c, 2, 4));
    CHECK_THROWS_AS(lm::train_model_init(model, c, 1, 5), lm::Error);  // context past max_seq_len
    c.dim = 9;
    CHECK_THROWS_AS(lm::train_model_init(model, c, 1, 4), lm::Error);  // odd head size for RoPE
    c.dim = 12, c.arch = lm::TrainArch::gpt2, c.n_kv_heads = 1;
    CHECK_THROWS_AS(lm::train_model_init(model, c, 1, 4), lm::Error);  // gpt2 with kv heads != heads
    c.n_kv_heads = 3;
    CHECK_NOTHROW(lm::train_model_init(model, c, 1, 4));
    CHECK_THROWS_AS(lm::train_model_init(model, c, 1 << 27, 4), lm::Error);  // buffers past 2^31 values
    c.vocab_size = 1 << 23;
    CHECK_THROWS_AS(lm::train_model_init(model, c, 1, 4), lm::Error);
    c.vocab_size = 10;
    lm::train_model_init(model, c, 1, 4);
    std::vector<int> tokens = {1, 2, 10, 3};  // 10 is outside the vocabulary
    CHECK_THROWS_AS(lm::train_forward(model, tokens.data(), tokens.data()), lm::Error);
}
}

// A fresh BERT's learned positions start as sinusoids of the other weights' RMS (sin in even,
// cos in odd columns, wavelengths 2 pi 10000^(i / C)), so position p + k is a fixed linear map
// of position p; a decoder's learned positions stay random.
TEST_CASE("a fresh BERT's positions are sinusoids of the init's RMS; GPT-2's stay random") {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::bert, c.head = lm::BertHead::mlm, c.vocab_size = 17, c.dim = 8, c.n_layers = 1;
    c.n_heads = c.n_kv_heads = 2, c.hidden_dim = 16, c.max_seq_len = 12;
    lm::TrainModel model;
    lm::train_model_init(model, c, 1, 12);
    lm::train_model_init_weights(model, 5, 0.05f);
    const float* wpe = model.params.data() + lm::find_tensor(model, "wpe")->offset;
    double rms = 0;
    for (int p = 0; p < 12; ++p)
        for (int i = 0; i < 8; i += 2) {
            const double angle = p / std::pow(10000.0, i / 8.0);
            CHECK(wpe[p * 8 + i] == doctest::Approx(0.05 * std::sqrt(2.0) * std::sin(angle)).epsilon(1e-5));
            CHECK(wpe[p * 8 + i + 1] == doctest::Approx(0.05 * std::sqrt(2.0) * std::cos(angle)).epsilon(1e-5));
            rms += (double)wpe[p * 8 + i] * wpe[p * 8 + i] + (double)wpe[p * 8 + i + 1] * wpe[p * 8 + i + 1];
        }
    CHECK(std::sqrt(rms / 96) == doctest::Approx(0.05).epsilon(1e-6));
    c.arch = lm::TrainArch::gpt2;
    lm::TrainModel gpt2;
    lm::train_model_init(gpt2, c, 1, 12);
    lm::train_model_init_weights(gpt2, 5, 0.05f);
    const float* gpe = gpt2.params.data() + lm::find_tensor(gpt2, "wpe")->offset;
    CHECK(gpe[0 * 8 + 1] != doctest::Approx(0.05 * std::sqrt(2.0)).epsilon(1e-3));  // cos(0) would be that
}

// Dropout (BertBatch::dropout) is a fixed mask for a fixed seed, so the loss is a smooth
// function of the weights and the backward can be checked against central differences of the
// float forward; the mask drops about p of the values and scales the rest by 1 / (1 - p).
TEST_CASE("BERT dropout: masks drop p and scale the rest, gradients against finite differences") {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::bert, c.head = lm::BertHead::classify, c.n_labels = 3, c.norm_eps = 1e-12f;
    c.vocab_size = 17, c.dim = 8, c.n_layers = 2, c.n_heads = c.n_kv_heads = 2, c.hidden_dim = 16;
    c.max_seq_len = 6;
    lm::TrainModel model;
    lm::train_model_init(model, c, 3, 6);
    lm::train_model_init_weights(model, 5, 0.3f);
    const int tokens[18] = {1, 4, 9, 2, 16, 3, 1, 7, 7, 2, 0, 0, 1, 12, 0, 0, 0, 0};
    const int lengths[3] = {6, 4, 2}, labels[3] = {0, 2, 1};
    lm::BertBatch batch;
    batch.B = 3, batch.T = 6, batch.tokens = tokens, batch.lengths = lengths, batch.labels = labels;
    const float plain = lm::bert_forward(model, batch);
    batch.dropout = 0.25f, batch.dropout_seed = 99;
    auto loss = [&] { return static_cast<double>(lm::bert_forward(model, batch)); };
    const double dropped = loss();
    CHECK(std::abs(dropped - plain) > 1e-3);
    lm::train_zero_grad(model);
    lm::bert_backward(model);
    // Central differences in float: h = 1e-3 keeps rounding (~1e-7 / h) and curvature (~h^2)
    // under 1e-3 of the largest gradient.
    double diff = 0, scale = 0;
    for (size_t i = 0; i < model.params.size(); ++i) {
        const float saved = model.params[i], h = 1e-3f;
        model.params[i] = saved + h;
        const double up = loss();
        model.params[i] = saved - h;
        const double down = loss();
        model.params[i] = saved;
        const double fd = (up - down) / (2 * (double)h);
        diff = std::max(diff, std::abs(fd - model.grads[i]));
        scale = std::max(scale, std::abs(fd));
    }
    INFO("max |analytic - fd| ", diff, " of max |fd| ", scale);
    CHECK(scale > 0.05);
    CHECK(diff < 2e-3 * scale);

    // The embedding norm's output with and without a mask of p = 0.25 over 4096 values.
    c.dim = 64, c.max_seq_len = 64;
    lm::TrainModel wide;
    lm::train_model_init(wide, c, 1, 64);
    lm::train_model_init_weights(wide, 5);
    std::vector<int> ids(64);
    for (int t = 0; t < 64; ++t) ids[t] = t % 17;
    lm::BertBatch one;
    one.B = 1, one.T = 64, one.tokens = ids.data(), one.labels = labels;
    lm::bert_forward(wide, one);
    const std::vector<float> kept(wide.acts.lne, wide.acts.lne + 64 * 64);
    one.dropout = 0.25f, one.dropout_seed = 3;
    lm::bert_forward(wide, one);
    int zeros = 0;
    for (int i = 0; i < 64 * 64; ++i) {
        const float x = wide.acts.lne[i];
        if (x == 0.0f) ++zeros;
        else CHECK(x == doctest::Approx(kept[i] / 0.75f).epsilon(1e-6));
    }
    CHECK(zeros > 0.23 * 4096);  // binomial(4096, 0.25): 1024 +- 28
    CHECK(zeros < 0.27 * 4096);
    one.dropout = 1.0f;
    CHECK_THROWS_AS(lm::bert_forward(wide, one), lm::Error);
}

// Work is split so every value is computed the same way whatever the thread count: a
// prerequisite for bit-exact --resume. Shapes large enough that every layer runs threaded.
TEST_CASE("training steps are bit-identical across thread counts") {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::gpt2;
    c.vocab_size = 301, c.dim = 64, c.n_layers = 2, c.n_heads = c.n_kv_heads = 4, c.hidden_dim = 256;
    c.max_seq_len = 32;
    std::vector<int> tokens(8 * 32 + 1);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = (int)(i * 7919 % c.vocab_size);
    auto train = [&](int threads) {
        const int saved = omp_get_max_threads();
        omp_set_num_threads(threads);
        lm::TrainModel model;
        lm::train_model_init(model, c, 8, 32);
        lm::train_model_init_weights(model, 7);
        std::vector<float> losses;
        for (int step = 0; step < 2; ++step) {
            lm::train_zero_grad(model);
            losses.push_back(lm::train_forward(model, tokens.data(), tokens.data() + 1));
            lm::train_backward(model);
            lm::train_clip_grad_norm(model, 1.0f);
            lm::train_adamw_step(model, lm::AdamWConfig{0.9f, 0.95f, 1e-8f, 0.1f}, 1e-3f);
        }
        omp_set_num_threads(saved);
        losses.insert(losses.end(), model.params.begin(), model.params.end());
        return losses;
    };
    const std::vector<float> one = train(1), three = train(3);
    CHECK(std::memcmp(one.data(), three.data(), sizeof(float) * one.size()) == 0);
}

TEST_CASE("gradient accumulation: two half-scaled backward passes equal one") {
    const TrainRef ref = load_ref("tests/ref/train_llama.bin");
    lm::TrainModel model;
    lm::train_model_init(model, ref.config, ref.B, ref.T);
    lm::train_model_init_weights(model, 3);
    lm::train_zero_grad(model);
    lm::train_forward(model, ref.inputs.data(), ref.targets.data());
    lm::train_backward(model);
    const std::vector<float> once = model.grads;
    lm::train_zero_grad(model);
    for (int micro = 0; micro < 2; ++micro) {
        lm::train_forward(model, ref.inputs.data(), ref.targets.data());
        lm::train_backward(model, 0.5f);
    }
    const double err = rel_error(model.grads.data(), once);
    INFO("relative error ", err);
    CHECK(err < 1e-6);
}

// Timing, not correctness: build/test_lm -ts=train -tc='*speed*' --no-skip
TEST_CASE("train step speed: nanoGPT CPU shape and GPT-2 124M shape" * doctest::skip()) {
    struct Shape {
        const char* name;
        lm::TrainArch arch;
        int V, C, L, NH, NKV, H, B, T, steps;
    };
    const auto gpt2 = lm::TrainArch::gpt2, llama = lm::TrainArch::llama;
    for (Shape s : {Shape{"nanoGPT char 4x128", gpt2, 65, 128, 4, 4, 4, 512, 12, 64, 10},
                    Shape{"Llama GQA 4x128", llama, 512, 128, 4, 4, 2, 344, 12, 64, 10},
                    Shape{"GPT-2 124M", gpt2, 50257, 768, 12, 12, 12, 3072, 4, 64, 1}}) {
        if (std::getenv("LM_SPEED_ONLY") && !std::strstr(s.name, std::getenv("LM_SPEED_ONLY"))) continue;
        lm::TrainConfig c;
        c.arch = s.arch;
        c.vocab_size = s.V, c.dim = s.C, c.n_layers = s.L, c.n_heads = s.NH, c.n_kv_heads = s.NKV, c.hidden_dim = s.H;
        c.max_seq_len = s.T, c.tied_head = true;
        lm::TrainModel model;
        lm::train_model_init(model, c, s.B, s.T);
        lm::train_model_init_weights(model, 1);
        std::vector<int> tokens(s.B * s.T + 1);
        for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = (int)(i * 7919 % s.V);
        lm::AdamWConfig adam;
        double fwd = 0, bwd = 0, opt = 0;
        timespec cpu0, cpu1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
        for (int step = 0; step <= s.steps; ++step) {  // step 0 warms up
            auto t0 = std::chrono::steady_clock::now();
            lm::train_forward(model, tokens.data(), tokens.data() + 1);
            auto t1 = std::chrono::steady_clock::now();
            lm::train_zero_grad(model);
            lm::train_backward(model);
            auto t2 = std::chrono::steady_clock::now();
            lm::train_adamw_step(model, adam, 1e-4f);
            auto t3 = std::chrono::steady_clock::now();
            if (step == 0) continue;
            fwd += std::chrono::duration<double, std::milli>(t1 - t0).count();
            bwd += std::chrono::duration<double, std::milli>(t2 - t1).count();
            opt += std::chrono::duration<double, std::milli>(t3 - t2).count();
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
        const double cpu_ms =
            ((cpu1.tv_sec - cpu0.tv_sec) * 1e3 + (cpu1.tv_nsec - cpu0.tv_nsec) * 1e-6) / (s.steps + 1);
        std::printf("%-20s forward %8.1f ms  backward %8.1f ms  adamw %6.1f ms  step %8.1f ms  cpu/step %8.1f ms\n",
                    s.name, fwd / s.steps, bwd / s.steps, opt / s.steps, (fwd + bwd + opt) / s.steps, cpu_ms);
    }
}
