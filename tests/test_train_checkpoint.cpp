// The run around the model: learning-rate schedule, data split and batches, validation loss,
// and checkpoints (resume continues bit for bit; damaged files are refused with a message).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "src/train/checkpoint.h"
#include "src/train/data.h"
#include "src/train/export.h"
#include "tests/testing.h"
#include "weights/error.h"
#include "weights/gguf.h"

namespace {

lm::TrainConfig tiny_llama() {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::llama;
    c.vocab_size = 37, c.dim = 16, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 24;
    c.max_seq_len = 8, c.tied_head = false;
    return c;
}

lm::TrainConfig tiny_rnn() {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::rnn;
    c.vocab_size = 37, c.dim = 8, c.n_layers = 1, c.hidden_dim = 12, c.max_seq_len = 8, c.tied_head = false;
    return c;
}

std::vector<int> corpus(int n, int vocab) {
    std::vector<int> tokens(n);
    for (int i = 0; i < n; ++i) tokens[i] = (i * i + 7 * i) % vocab;
    return tokens;
}

// One optimizer step on a fresh batch: what lm train does per iteration.
void step(lm::TrainModel& model, const std::vector<int>& tokens, lm::Rng& rng, int iteration) {
    const lm::LrSchedule schedule{1e-2f, 1e-3f, 2, 6};
    std::vector<int> inputs(model.B * model.T), targets(model.B * model.T);
    lm::sample_batch(tokens, model.B, model.T, rng, inputs.data(), targets.data());
    lm::train_zero_grad(model);
    lm::train_forward(model, inputs.data(), targets.data());
    lm::train_backward(model);
    lm::train_clip_grad_norm(model, 1.0f);
    lm::train_adamw_step(model, lm::AdamWConfig{0.9f, 0.99f, 1e-8f, 0.1f}, lm::learning_rate(schedule, iteration));
}

void check_resume(const lm::TrainConfig& config, const std::string& name) {
    const std::vector<int> tokens = corpus(500, config.vocab_size);
    const int B = 3, T = 8;
    lm::TrainModel straight;
    lm::train_model_init(straight, config, B, T);
    lm::train_model_init_weights(straight, 11);
    lm::TrainModel first;
    lm::train_model_init(first, config, B, T);
    lm::train_model_init_weights(first, 11);
    lm::Rng rng{42};
    for (int i = 0; i < 6; ++i) step(straight, tokens, rng, i);

    lm::Rng rng2{42};
    for (int i = 0; i < 3; ++i) step(first, tokens, rng2, i);
    lm::Metadata run;
    run.set("run.step", lm::Value::of_int(lm::ValueType::I64, 3));
    run.set("run.rng", lm::Value::of_int(lm::ValueType::U64, static_cast<int64_t>(rng2.state)));
    const std::string path = lm::testing::temp_path(name);
    lm::train_save_checkpoint(path, first, run);

    lm::TrainModel resumed;
    const lm::Metadata back = lm::train_load_checkpoint(path, resumed, B, T);
    lm::Rng rng3{static_cast<uint64_t>(back.get_int("run.rng"))};
    for (int i = static_cast<int>(back.get_int("run.step")); i < 6; ++i) step(resumed, tokens, rng3, i);
    CHECK(resumed.adam_steps == straight.adam_steps);
    const std::vector<float>* pairs[][2] = {{&resumed.params, &straight.params},
                                             {&resumed.adam_m, &straight.adam_m},
                                             {&resumed.adam_v, &straight.adam_v}};
    for (const auto& pair : pairs) {
        REQUIRE(pair[0]->size() == pair[1]->size());
        CHECK(std::memcmp(pair[0]->data(), pair[1]->data(), sizeof(float) * pair[0]->size()) == 0);
    }
}

}  // namespace

TEST_SUITE("train") {
TEST_CASE("learning rate: linear warmup, cosine decay to min_lr, then flat") {
    const lm::LrSchedule s{1e-3f, 1e-4f, 10, 110};
    CHECK(lm::learning_rate(s, 0) == doctest::Approx(1e-4));
    CHECK(lm::learning_rate(s, 9) == doctest::Approx(1e-3));
    CHECK(lm::learning_rate(s, 10) == doctest::Approx(1e-3));
    CHECK(lm::learning_rate(s, 60) == doctest::Approx(5.5e-4));  // halfway: (lr + min_lr) / 2
    CHECK(lm::learning_rate(s, 110) == doctest::Approx(1e-4));
    CHECK(lm::learning_rate(s, 500) == doctest::Approx(1e-4));
    for (int i = 10; i < 110; ++i) CHECK(lm::learning_rate(s, i + 1) <= lm::learning_rate(s, i));
}

TEST_CASE("data: split sizes, too-short corpora, batches are windows of the stream") {
    const std::vector<int> tokens = corpus(100, 37);
    const lm::TokenSplit split = lm::split_tokens(tokens, 0.1, 8);
    CHECK(split.train.size() == 90);
    CHECK(split.val.size() == 10);
    CHECK_THROWS_AS(lm::split_tokens(corpus(50, 37), 0.1, 8), lm::Error);  // 5 validation tokens < 9
    CHECK_THROWS_AS(lm::split_tokens({}, 0.1, 8), lm::Error);

    lm::Rng a{7}, b{7};
    std::vector<int> in1(4 * 8), tg1(4 * 8), in2(4 * 8), tg2(4 * 8);
    lm::sample_batch(split.train, 4, 8, a, in1.data(), tg1.data());
    lm::sample_batch(split.train, 4, 8, b, in2.data(), tg2.data());
    CHECK(in1 == in2);  // the generator's state is all there is
    CHECK(a.state == b.state);
    for (int r = 0; r < 4; ++r) {
        bool window = false;  // some offset holds this row's 9 tokens in order
        for (size_t s = 0; s + 8 < split.train.size() && !window; ++s) {
            window = true;
            for (int t = 0; t < 8; ++t)
                window = window && split.train[s + t] == in1[r * 8 + t] && split.train[s + t + 1] == tg1[r * 8 + t];
        }
        CHECK(window);
    }
}

TEST_CASE("validation loss: mean over every window, a partial last batch padded") {
    const std::vector<int> tokens = corpus(3 * 8 + 1, 37);  // exactly 3 windows of 9 tokens
    lm::TrainModel two, one;
    lm::train_model_init(two, tiny_llama(), 2, 8);
    lm::train_model_init_weights(two, 3);
    lm::train_model_init(one, tiny_llama(), 1, 8);
    std::copy(two.params.begin(), two.params.end(), one.params.begin());
    double sum = 0;
    for (int w = 0; w < 3; ++w) sum += lm::train_forward(one, tokens.data() + w * 8, tokens.data() + w * 8 + 1);
    CHECK(lm::evaluate_loss(two, tokens, 100) == doctest::Approx(sum / 3).epsilon(1e-6));
    const float first = lm::train_forward(one, tokens.data(), tokens.data() + 1);
    CHECK(lm::evaluate_loss(one, tokens, 1) == doctest::Approx(first));
}

// A patterned corpus is learnable: 80 steps must take the validation loss well below its start.
TEST_CASE("a short run learns: validation loss falls") {
    std::vector<int> tokens(2000);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = (int)((i % 7) * 5 + (i / 7) % 3);  // period 21, vocab < 37
    const lm::TokenSplit split = lm::split_tokens(tokens, 0.1, 8);
    for (lm::TrainConfig config : {tiny_llama(), tiny_rnn()}) {
        lm::TrainModel model;
        lm::train_model_init(model, config, 4, 8);
        lm::train_model_init_weights(model, 1);
        const float before = lm::evaluate_loss(model, split.val, 10);
        lm::Rng rng{3};
        std::vector<int> inputs(32), targets(32);
        for (int i = 0; i < 80; ++i) {
            lm::sample_batch(split.train, 4, 8, rng, inputs.data(), targets.data());
            lm::train_zero_grad(model);
            lm::train_forward(model, inputs.data(), targets.data());
            lm::train_backward(model);
            lm::train_clip_grad_norm(model, 1.0f);
            lm::train_adamw_step(model, lm::AdamWConfig{0.9f, 0.99f, 1e-8f, 0.0f}, 1e-2f);
        }
        const float after = lm::evaluate_loss(model, split.val, 10);
        INFO("validation loss ", before, " -> ", after);
        CHECK(after < 0.3f * before);
    }
}

TEST_CASE("checkpoint: 3 steps + save + load + 3 steps equals 6 steps, bit for bit") {
    check_resume(tiny_llama(), "ckpt_llama.gguf");
    check_resume(tiny_rnn(), "ckpt_rnn.gguf");
}

TEST_CASE("checkpoint: corrupted, truncated and foreign files are refused") {
    lm::TrainModel model;
    lm::train_model_init(model, tiny_llama(), 2, 8);
    lm::train_model_init_weights(model, 5);
    const std::string path = lm::testing::temp_path("ckpt_damaged.gguf");
    lm::train_save_checkpoint(path, model, lm::Metadata{});
    lm::TrainModel loaded;
    CHECK_NOTHROW(lm::train_load_checkpoint(path, loaded, 2, 8));

    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-100, std::ios::end);
    f.put('\x7f');
    f.close();
    CHECK_THROWS_WITH_AS(lm::train_load_checkpoint(path, loaded, 2, 8), doctest::Contains("corrupted"), lm::Error);

    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
    CHECK_THROWS_AS(lm::train_load_checkpoint(path, loaded, 2, 8), lm::Error);

    const std::string exported = lm::testing::temp_path("ckpt_foreign.gguf");
    lm::Metadata meta;
    lm::train_architecture_metadata(model, meta);
    lm::write_gguf(exported, meta, lm::train_tensor_views(model));
    CHECK_THROWS_WITH_AS(lm::train_load_checkpoint(exported, loaded, 2, 8),
                         doctest::Contains("not an lm training checkpoint"), lm::Error);
    lm::Metadata reserved;
    reserved.set("lmtrain.step", lm::Value::of_int(lm::ValueType::I64, 1));
    CHECK_THROWS_AS(lm::train_save_checkpoint(path, model, reserved), lm::Error);
}
}
