// A trained model written as GGUF must run in lm's inference path with the same outputs, and
// read back for fine-tuning bit for bit: checks the tensor names, shapes, packed-layout splits
// and metadata of src/train/export against src/models/llama and src/models/gpt2, which were written apart.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "simd/ops.h"
#include "src/models/bert.h"
#include "src/models/model.h"
#include "src/train/export.h"
#include "tests/testing.h"
#include "weights/error.h"
#include "weights/gguf.h"

namespace {

// Largest |softmax(logits) - probs| over T rows of V (logits are turned into probabilities in place).
double max_probability_gap(std::vector<float>& logits, const float* probs, int T, int V) {
    double worst = 0;
    for (int t = 0; t < T; ++t) {
        lm::softmax(logits.data() + (size_t)t * V, V);
        for (int i = 0; i < V; ++i)
            worst = std::max(worst, (double)std::abs(logits[(size_t)t * V + i] - probs[(size_t)t * V + i]));
    }
    return worst;
}

// Weights large enough that the logits are far from uniform: matrices U(-0.3, 0.3), norm
// weights near 1, biases small.
void randomize(lm::TrainModel& model, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-0.3f, 0.3f);
    for (const lm::ParamTensor& t : model.tensors) {
        const bool norm = t.name.rfind("ln", 0) == 0 && t.name.back() == 'w';
        for (size_t i = 0; i < t.size; ++i) model.params[t.offset + i] = norm ? 1.0f + u(rng) : u(rng);
    }
}

void check_round_trip(const lm::TrainConfig& config, const std::string& file_name) {
    const int T = 11;
    lm::TrainModel model;
    lm::train_model_init(model, config, 1, T);
    randomize(model, 5);
    std::vector<int> tokens(T + 1);
    for (int i = 0; i <= T; ++i) tokens[i] = (i * 17 + 3) % config.vocab_size;
    lm::train_forward(model, tokens.data(), tokens.data() + 1);

    lm::Metadata meta;
    lm::train_architecture_metadata(model, meta);
    const std::string path = lm::testing::temp_path(file_name);
    lm::write_gguf(path, meta, lm::train_tensor_views(model));

    // Inference (f16 KV cache: agreement to ~1e-4) sees the same next-token distributions.
    const lm::ModelFile file = lm::load_model(path);
    auto decoder = lm::load_decoder(file, T, T);
    const int V = config.vocab_size;
    std::vector<float> logits((size_t)T * V);
    decoder->forward(tokens.data(), T, 0, 1, logits.data());
    const double worst = max_probability_gap(logits, model.acts.probs, T, V);
    if (std::getenv("LM_VERBOSE")) std::printf("  %s max |p_inference - p_train| %.3e\n", file_name.c_str(), worst);
    INFO(file_name, ": max |p_inference - p_train| ", worst);
    CHECK(worst < 1e-3);

    // Read back for fine-tuning: the same config and every parameter bit for bit.
    const lm::TrainConfig back = lm::train_config_from(file);
    CHECK(back.tied_head == config.tied_head);
    lm::TrainModel again;
    lm::train_model_init(again, back, 1, T);
    lm::train_load_weights(again, file);
    REQUIRE(again.params.size() == model.params.size());
    CHECK(std::memcmp(again.params.data(), model.params.data(), sizeof(float) * model.params.size()) == 0);
}

// Fine-tuning starts from a pretrained file: its weights, read into a TrainModel, must give
// llama.cpp's next-token distributions (tests read ../shared/models, see its README).
void check_pretrained(const std::string& model_rel, const std::string& logits_rel, double tol) {
    const std::string model_path = lm::testing::shared_file(model_rel);
    const std::string logits_path = lm::testing::shared_file(logits_rel);
    if (model_path.empty() || logits_path.empty()) return;
    std::ifstream in(logits_path, std::ios::binary);
    int32_t n = 0, V = 0;
    in.read(reinterpret_cast<char*>(&n), 4).read(reinterpret_cast<char*>(&V), 4);
    std::vector<int> tokens(n);
    std::vector<float> logits((size_t)n * V);
    in.read(reinterpret_cast<char*>(tokens.data()), 4L * n).read(reinterpret_cast<char*>(logits.data()), 4L * n * V);
    REQUIRE(in);

    const lm::ModelFile file = lm::load_model(model_path);
    lm::TrainModel model;
    lm::train_model_init(model, lm::train_config_from(file), 1, n);
    REQUIRE(model.config.vocab_size == V);
    lm::train_load_weights(model, file);
    std::vector<int> targets(tokens.begin() + 1, tokens.end());
    targets.push_back(lm::IGNORE_INDEX);
    lm::train_forward(model, tokens.data(), targets.data());
    const double worst = max_probability_gap(logits, model.acts.probs, n, V);
    if (std::getenv("LM_VERBOSE")) std::printf("  %s max |p_train - p_llama.cpp| %.3e\n", model_rel.c_str(), worst);
    INFO(model_rel, ": max |p_train - p_llama.cpp| ", worst);
    CHECK(worst < tol);
}

}  // namespace

TEST_SUITE("train") {
TEST_CASE("fine-tuning input: pretrained GGUF weights give llama.cpp's distributions") {
    check_pretrained("models/stories260K/stories260K-F32.gguf", "models/stories260K/stories260K-F32.logits", 5e-4);
    check_pretrained("models/tiny-random/rq-F16.gguf", "models/tiny-random/rq-F16.logits", 1e-4);
    // Block-quantized weights are dequantized once; llama.cpp also quantizes the activations
    // (README: a few 1e-2 in logits), so a looser bound.
    check_pretrained("models/tiny-random/rq-Q8_0.gguf", "models/tiny-random/rq-Q8_0.logits", 1e-3);
}

TEST_CASE("export: a trained Llama (GQA, untied) runs in lm's llama path and reads back") {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::llama;
    c.vocab_size = 50, c.dim = 32, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 48;
    c.max_seq_len = 16, c.tied_head = false, c.rope_base = 10000.0f;
    check_round_trip(c, "train_export_llama.gguf");
}

TEST_CASE("export: a trained GPT-2 (tied) runs in lm's gpt2 path and reads back") {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::gpt2;
    c.vocab_size = 50, c.dim = 32, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 4, c.hidden_dim = 64;
    c.max_seq_len = 16, c.tied_head = true;
    check_round_trip(c, "train_export_gpt2.gguf");
}

// A fine-tuned BERT written as GGUF: src/models/bert (written apart) sees the training model's outputs
// for a padded batch (classifier probabilities, or span logits and hidden states), and the
// file reads back with its head and labels, bit for bit.
void check_bert_round_trip(lm::BertHead head, const std::string& file_name) {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::bert, c.head = head, c.n_labels = head == lm::BertHead::classify ? 3 : 0;
    c.vocab_size = 40, c.dim = 32, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 4, c.hidden_dim = 64;
    c.max_seq_len = 16, c.norm_eps = 1e-12f;
    const int B = 2, T = 9, lengths[B] = {9, 5};
    lm::TrainModel model;
    lm::train_model_init(model, c, B, T);
    randomize(model, 6);
    std::vector<int> tokens(B * T), types(B * T);
    std::vector<unsigned char> mask(B * T);
    for (int i = 0; i < B * T; ++i) {
        tokens[i] = (i * 13 + 5) % c.vocab_size, types[i] = i % T > 3;
        mask[i] = i % T < lengths[i / T];
    }
    lm::BertBatch batch;
    batch.B = B, batch.T = T, batch.tokens = tokens.data(), batch.types = types.data(), batch.lengths = lengths;
    lm::bert_forward(model, batch);

    lm::Metadata meta;
    lm::train_architecture_metadata(model, meta);
    const std::vector<std::string> labels{"neg", "neutral", "pos"};
    if (head == lm::BertHead::classify) meta.set("bert.classifier.output_labels", lm::Value::of_strings(labels));
    const std::string path = lm::testing::temp_path(file_name);
    lm::write_gguf(path, meta, lm::train_tensor_views(model));

    const lm::ModelFile file = lm::load_model(path);
    lm::Bert bert(file, B * T);
    bert.encode(tokens.data(), types.data(), mask.data(), T, 1, B);
    double worst = 0;
    if (head == lm::BertHead::classify) {
        CHECK(bert.labels() == labels);
        for (int s = 0; s < B; ++s) {
            const std::vector<float> p = bert.classify(s);
            for (int k = 0; k < 3; ++k) worst = std::max(worst, (double)std::abs(p[k] - model.acts.probs[s * 3 + k]));
        }
    } else {
        std::vector<float> start(B * T), end(B * T);
        bert.span_logits(start.data(), end.data(), B * T);
        const float* hidden = model.acts.ln2 + (size_t)(c.n_layers - 1) * B * T * c.dim;
        for (int i = 0; i < B * T; ++i) {
            if (!mask[i]) continue;
            worst = std::max(worst, (double)std::abs(start[i] - model.acts.qa_logits[2 * i]));
            worst = std::max(worst, (double)std::abs(end[i] - model.acts.qa_logits[2 * i + 1]));
            for (int d = 0; d < c.dim; ++d)
                worst = std::max(worst, (double)std::abs(bert.hidden()[i * c.dim + d] - hidden[i * c.dim + d]));
        }
    }
    INFO(file_name, ": max |inference - training| ", worst);
    CHECK(worst < 1e-4);

    const lm::TrainConfig back = lm::train_config_from(file);
    CHECK(back.head == head);
    CHECK(back.n_labels == c.n_labels);
    CHECK(back.n_types == 2);
    lm::TrainModel again;
    lm::train_model_init(again, back, B, T);
    lm::train_load_weights(again, file);
    REQUIRE(again.params.size() == model.params.size());
    CHECK(std::memcmp(again.params.data(), model.params.data(), sizeof(float) * model.params.size()) == 0);
}

TEST_CASE("export: a fine-tuned BERT classifier runs in lm's bert path with its labels, and reads back") {
    check_bert_round_trip(lm::BertHead::classify, "train_export_bert_cls.gguf");
}

TEST_CASE("export: a BERT span head runs in lm's bert path (padded batch) and reads back") {
    check_bert_round_trip(lm::BertHead::qa, "train_export_bert_qa.gguf");
}

TEST_CASE("export: the RNN has no GGUF layout") {
    lm::TrainConfig c;
    c.arch = lm::TrainArch::rnn;
    c.vocab_size = 10, c.dim = 4, c.n_layers = 1, c.hidden_dim = 6, c.max_seq_len = 4, c.tied_head = false;
    lm::TrainModel model;
    lm::train_model_init(model, c, 1, 4);
    CHECK_THROWS_AS(lm::train_tensor_views(model), lm::Error);
}
}
