// The C API (src/api/lm.h): the same numbers as the C++ library it wraps (logits, greedy text,
// embeddings, class probabilities, answers, training losses), and bad input through it —
// NULL handles, a buffer that is not a model, ids and positions out of range, a context in
// use, cancellation — answered with a status and a message, never a crash.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "src/api/lm.h"
#include "src/models/bert.h"
#include "src/models/bert_tasks.h"
#include "src/models/model.h"
#include "tests/testing.h"
#include "tokenizer/tokenizer.h"

namespace {

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct Handles {
    lm_model* model = nullptr;
    lm_context* context = nullptr;
    lm_sampler* sampler = nullptr;
    ~Handles() {
        lm_sampler_free(sampler);
        lm_context_free(context);
        lm_model_free(model);
    }
};

std::vector<int32_t> tokenize(const lm_model* model, const std::string& text) {
    std::vector<int32_t> ids(256);
    int32_t n = 0;
    REQUIRE(lm_tokenize(model, text.data(), text.size(), 1, 0, ids.data(), 256, &n) == LM_OK);
    ids.resize(n);
    return ids;
}

}  // namespace

TEST_CASE("C API: versions, and a NULL handle or pointer is LM_ERR_ARGUMENT with a message") {
    CHECK(lm_api_version() == LM_API_VERSION);
    CHECK(std::strlen(lm_version()) > 0);
    lm_model* model = reinterpret_cast<lm_model*>(1);
    CHECK(lm_model_load(nullptr, &model) == LM_ERR_ARGUMENT);
    CHECK(model == nullptr);
    CHECK(std::string(lm_last_error()) == "path is NULL");
    lm_context* context = nullptr;
    CHECK(lm_context_new(nullptr, nullptr, &context) == LM_ERR_ARGUMENT);
    CHECK(context == nullptr);
    const int32_t token = 1;
    CHECK(lm_decode(nullptr, &token, 1, 0) == LM_ERR_ARGUMENT);
    CHECK(std::string(lm_last_error()) == "context is NULL");
    CHECK(lm_logits(nullptr) == nullptr);
    CHECK(lm_vocab_size(nullptr) == 0);
    CHECK(lm_model_label(nullptr, 0) == nullptr);
    int32_t n = 0;
    CHECK(lm_tokenize(nullptr, "a", 1, 1, 0, nullptr, 0, &n) == LM_ERR_ARGUMENT);
    CHECK(lm_generate(nullptr, nullptr, "a", 1, nullptr, nullptr, nullptr) == LM_ERR_ARGUMENT);
    CHECK(lm_train_step(nullptr, &token, 1e-3f, nullptr) == LM_ERR_ARGUMENT);
    lm_model_free(nullptr);
    lm_context_free(nullptr);
    lm_sampler_free(nullptr);
    lm_trainer_free(nullptr);
    lm_cancel(nullptr);
}

TEST_CASE("C API: a missing file is LM_ERR_IO, bytes that are not a model LM_ERR_MODEL") {
    lm_model* model = nullptr;
    CHECK(lm_model_load("no/such/model.gguf", &model) == LM_ERR_IO);
    CHECK(std::string(lm_last_error()) == "no/such/model.gguf: no such file or directory");
    const std::string junk = "GGUF\x03\x00\x00\x00 this is not a model";
    CHECK(lm_model_load_from_memory(junk.data(), junk.size(), &model) == LM_ERR_MODEL);
    CHECK(model == nullptr);
    CHECK(std::string(lm_last_error()).find("model in memory") != std::string::npos);
    CHECK(lm_model_load_from_memory("", 0, &model) == LM_ERR_MODEL);
    // The message belongs to the failing thread's last call: a success clears it.
    CHECK(lm_api_version() == LM_API_VERSION);
    REQUIRE(lm_model_load(lm::testing::kStoryModel, &model) == LM_OK);
    CHECK(std::string(lm_last_error()).empty());
    lm_model_free(model);
    if (!lm::testing::kBuiltinModel) {  // the empty path names the model this build left out
        model = nullptr;
        CHECK(lm_model_load("", &model) != LM_OK);
        CHECK(std::string(lm_last_error()).find("without the built-in story model") != std::string::npos);
    }
}

TEST_CASE("C API: the built-in model from a file and from memory gives the library's logits") {
    const std::string bytes = file_bytes("weights/default-model.gguf");
    REQUIRE(bytes.size() > 1000);
    Handles file, memory;
    REQUIRE(lm_model_load(lm::testing::kStoryModel, &file.model) == LM_OK);
    REQUIRE(lm_model_load_from_memory(bytes.data(), bytes.size(), &memory.model) == LM_OK);
    CHECK(std::string(lm_model_architecture(memory.model)) == "llama");
    const std::vector<int32_t> ids = tokenize(file.model, "Once upon a time");
    CHECK(ids == tokenize(memory.model, "Once upon a time"));

    // The C++ library's own decoder on the same tokens.
    const lm::ModelFile mf = lm::open_model(lm::testing::kStoryModel);
    const lm::Tokenizer tok(mf.meta);
    const std::vector<int32_t> lib_ids = tok.encode("Once upon a time", true);
    CHECK(ids == lib_ids);
    auto decoder = lm::load_decoder(mf, 64, 16);
    const std::vector<int> as_int(ids.begin(), ids.end());
    decoder->forward(as_int.data(), static_cast<int>(as_int.size()), 0, 1);

    lm_context_params p = lm_context_default_params();
    p.n_ctx = 64, p.n_batch = 16, p.n_threads = 1;
    REQUIRE(lm_context_new(file.model, &p, &file.context) == LM_OK);
    REQUIRE(lm_context_new(memory.model, &p, &memory.context) == LM_OK);
    CHECK(lm_context_size(file.context) == 64);
    REQUIRE(lm_decode(file.context, ids.data(), static_cast<int32_t>(ids.size()), 0) == LM_OK);
    REQUIRE(lm_decode(memory.context, ids.data(), static_cast<int32_t>(ids.size()), 0) == LM_OK);
    const int vocab = lm_vocab_size(file.model);
    REQUIRE(vocab == decoder->vocab_size());
    CHECK(std::memcmp(lm_logits(file.context), decoder->logits(), vocab * sizeof(float)) == 0);
    CHECK(std::memcmp(lm_logits(memory.context), decoder->logits(), vocab * sizeof(float)) == 0);

    // A q8_0 / q4_0 cache as the library's -ctk / -ctv.
    auto quantized = lm::load_decoder(mf, lm::DecoderOptions{64, 16, lm::DType::Q8_0, lm::DType::Q4_0});
    quantized->forward(as_int.data(), static_cast<int>(as_int.size()), 0, 1);
    lm_context* q_context = nullptr;
    p.type_k = LM_KV_Q8_0, p.type_v = LM_KV_Q4_0;
    REQUIRE(lm_context_new(file.model, &p, &q_context) == LM_OK);
    REQUIRE(lm_decode(q_context, ids.data(), static_cast<int32_t>(ids.size()), 0) == LM_OK);
    CHECK(std::memcmp(lm_logits(q_context), quantized->logits(), vocab * sizeof(float)) == 0);
    CHECK(std::memcmp(lm_logits(q_context), decoder->logits(), vocab * sizeof(float)) != 0);
    lm_context_free(q_context);

    // Token pieces spell the prompt back.
    std::string text;
    for (size_t i = ids[0] == lm_token_bos(file.model) ? 1 : 0; i < ids.size(); ++i) {
        char piece[64];
        size_t len = 0;
        REQUIRE(lm_token_to_piece(file.model, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece, &len) == LM_OK);
        text.append(piece, len);
    }
    CHECK(text == "Once upon a time");
}

namespace {
struct Collected {
    std::vector<int32_t> tokens;
    std::string text;
    lm_context* probe = nullptr;   // called on from inside the callback: must be busy
    lm_context* cancel = nullptr;  // cancelled from inside the callback
    lm_status inner = LM_OK;
};

int collect(void* user, int32_t token, const char* text, size_t length) {
    auto* c = static_cast<Collected*>(user);
    if (token >= 0) c->tokens.push_back(token);
    c->text.append(text, length);
    if (c->probe) {  // a second call on the context while lm_generate runs on it
        const int32_t t = 1;
        c->inner = lm_decode(c->probe, &t, 1, 0);
    }
    lm_cancel(c->cancel);
    return 0;
}
}  // namespace

TEST_CASE("C API: greedy lm_generate equals lm_decode + argmax token by token; busy and cancel") {
    Handles h;
    REQUIRE(lm_model_load(lm::testing::kStoryModel, &h.model) == LM_OK);
    lm_context_params p = lm_context_default_params();
    p.n_ctx = 96, p.n_threads = 2;
    REQUIRE(lm_context_new(h.model, &p, &h.context) == LM_OK);
    lm_sampler_params sp = lm_sampler_default_params();
    sp.temperature = 0;
    REQUIRE(lm_sampler_new(h.model, &sp, &h.sampler) == LM_OK);
    Collected got;
    int32_t n = 0;
    REQUIRE(lm_generate(h.context, h.sampler, "Once upon a time", 20, collect, &got, &n) == LM_OK);
    CHECK(n == 20);
    REQUIRE(got.tokens.size() == 20);
    CHECK(got.text.size() > 20);

    // The same by hand.
    std::vector<int32_t> ids = tokenize(h.model, "Once upon a time");
    const int vocab = lm_vocab_size(h.model);
    REQUIRE(lm_decode(h.context, ids.data(), static_cast<int32_t>(ids.size()), 0) == LM_OK);
    for (int i = 0; i < 20; ++i) {
        const float* logits = lm_logits(h.context);
        const int32_t next = static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
        CHECK(next == got.tokens[i]);
        ids.push_back(next);
        REQUIRE(lm_decode(h.context, &ids.back(), 1, static_cast<int32_t>(ids.size()) - 1) == LM_OK);
    }

    // Out of range: ids, positions, buffers.
    const int32_t bad = vocab;
    CHECK(lm_decode(h.context, &bad, 1, 0) == LM_ERR_RANGE);
    CHECK(std::string(lm_last_error()) == "token id " + std::to_string(vocab) + " is outside the vocabulary of " +
                                              std::to_string(vocab));
    CHECK(lm_decode(h.context, ids.data(), 1, 96) == LM_ERR_RANGE);
    CHECK(lm_decode(h.context, ids.data(), 2, 95) == LM_ERR_RANGE);
    CHECK(lm_decode(h.context, ids.data(), 0, 0) == LM_ERR_RANGE);
    int32_t few[2];
    int32_t count = 0;
    CHECK(lm_tokenize(h.model, "Once upon a time", 16, 1, 0, few, 2, &count) == LM_ERR_BUFFER);
    CHECK(count == static_cast<int32_t>(tokenize(h.model, "Once upon a time").size()));
    char piece[1];
    size_t len = 0;
    CHECK(lm_token_to_piece(h.model, -1, bad, piece, 1, &len) == LM_ERR_RANGE);
    CHECK(lm_token_is_eog(h.model, bad) == 0);

    // A call on the context from inside its own lm_generate is refused; the generation goes on.
    Collected busy;
    busy.probe = h.context;
    REQUIRE(lm_generate(h.context, h.sampler, "Once upon a time", 3, collect, &busy, &n) == LM_OK);
    CHECK(busy.inner == LM_ERR_BUSY);
    CHECK(n == 3);
    // lm_cancel stops it after the token in hand.
    Collected cancel;
    cancel.cancel = h.context;
    CHECK(lm_generate(h.context, h.sampler, "Once upon a time", 10, collect, &cancel, &n) == LM_ERR_CANCELLED);
    CHECK(n == 1);
    CHECK(std::string(lm_last_error()) == "lm_generate: cancelled");
    // The next call starts uncancelled.
    Collected again;
    CHECK(lm_generate(h.context, h.sampler, "Once upon a time", 2, collect, &again, &n) == LM_OK);
    CHECK(n == 2);
}

TEST_CASE("C API: a prompt longer than the context and a context larger than the model's") {
    Handles h;
    REQUIRE(lm_model_load(lm::testing::kStoryModel, &h.model) == LM_OK);
    lm_context_params p = lm_context_default_params();
    p.n_ctx = lm_model_context_length(h.model) + 1;
    CHECK(lm_context_new(h.model, &p, &h.context) == LM_ERR_RANGE);
    p.n_ctx = 4;
    p.type_v = 7;
    CHECK(lm_context_new(h.model, &p, &h.context) == LM_ERR_ARGUMENT);
    p.type_v = LM_KV_Q4_0;
    REQUIRE(lm_context_new(h.model, &p, &h.context) == LM_OK);
    REQUIRE(lm_sampler_new(h.model, nullptr, &h.sampler) == LM_OK);
    Collected got;
    CHECK(lm_generate(h.context, h.sampler, "Once upon a time there was", 5, collect, &got, nullptr) == LM_ERR_RANGE);
    CHECK(std::string(lm_last_error()).find("longer than the context of 4") != std::string::npos);
    CHECK(lm_embed(h.context, "a", LM_POOLING_MEAN, nullptr, 0) == LM_ERR_MODEL);
    lm_sampler_params bad = lm_sampler_default_params();
    bad.top_p = 2;
    lm_sampler* s = nullptr;
    CHECK(lm_sampler_new(h.model, &bad, &s) == LM_ERR_ARGUMENT);
    CHECK(s == nullptr);
}

TEST_CASE("C API: BERT embeddings, classes and answers equal the library's") {
    Handles h;
    REQUIRE(lm_model_load("tests/ref/bert", &h.model) == LM_OK);
    REQUIRE(lm_context_new(h.model, nullptr, &h.context) == LM_OK);
    const lm::ModelFile mf = lm::open_model("tests/ref/bert");
    const lm::Tokenizer tok(mf.meta);
    lm::Bert bert(mf);
    const std::vector<int> ids = lm::encode_text(tok, "the movie was great", bert.max_tokens());
    bert.encode(ids.data(), nullptr, nullptr, static_cast<int>(ids.size()), 1);

    const int dim = lm_model_embedding_size(h.model);
    std::vector<float> v(dim);
    REQUIRE(lm_embed(h.context, "the movie was great", LM_POOLING_CLS, v.data(), dim) == LM_OK);
    CHECK(v == bert.embed(lm::Pooling::cls));
    CHECK(lm_embed(h.context, "the movie was great", LM_POOLING_CLS, v.data(), dim - 1) == LM_ERR_BUFFER);
    CHECK(lm_embed(h.context, "the movie was great", 9, v.data(), dim) == LM_ERR_ARGUMENT);

    REQUIRE(lm_model_n_labels(h.model) == bert.n_labels());
    REQUIRE(bert.n_labels() > 1);
    std::vector<float> probs(bert.n_labels());
    int32_t best = -1;
    REQUIRE(lm_classify(h.context, "the movie was great", probs.data(), bert.n_labels(), &best) == LM_OK);
    CHECK(probs == bert.classify());
    CHECK(best == std::max_element(probs.begin(), probs.end()) - probs.begin());
    CHECK(std::string(lm_model_label(h.model, 0)) == bert.labels()[0]);
    CHECK(lm_model_label(h.model, bert.n_labels()) == nullptr);

    Handles qa;
    REQUIRE(lm_model_load("tests/ref/bert-qa", &qa.model) == LM_OK);
    REQUIRE(lm_context_new(qa.model, nullptr, &qa.context) == LM_OK);
    char answer[64];
    size_t len = 0;
    float score = 0;
    REQUIRE(lm_answer(qa.context, "what is in paris ?", "the eiffel tower is in paris .", answer, sizeof answer, &len,
                      &score) == LM_OK);
    CHECK(std::string(answer) == "eiffel tower");
    CHECK(len == 12);
    CHECK(score == doctest::Approx(0.970227).epsilon(1e-5));
    CHECK(lm_answer(qa.context, "what is in paris ?", "the eiffel tower is in paris .", answer, 12, &len, nullptr) ==
          LM_ERR_BUFFER);
    const int32_t t = 1;
    CHECK(lm_decode(qa.context, &t, 1, 0) == LM_ERR_MODEL);
}

TEST_CASE("C API: training steps lower the loss; the saved model loads with the same loss") {
    Handles h;
    REQUIRE(lm_model_load(lm::testing::kStoryModel, &h.model) == LM_OK);
    lm_train_params p = lm_train_default_params();
    p.batch = 2, p.seq_len = 12, p.n_threads = 2;
    lm_trainer* trainer = nullptr;
    REQUIRE(lm_trainer_new(h.model, &p, &trainer) == LM_OK);
    std::vector<int32_t> ids = tokenize(h.model, "Once upon a time there was a little girl named Lily. She liked to "
                                                 "play with her red ball in the park every day.");
    REQUIRE(ids.size() >= 26);
    ids.resize(26);  // 2 x (12 + 1)
    float first = 0, loss = 0, eval = 0;
    REQUIRE(lm_train_step(trainer, ids.data(), 1e-3f, &first) == LM_OK);
    for (int i = 0; i < 10; ++i) REQUIRE(lm_train_step(trainer, ids.data(), 1e-3f, &loss) == LM_OK);
    CHECK(loss < first * 0.8f);
    REQUIRE(lm_train_evaluate(trainer, ids.data(), 13, &eval) == LM_OK);
    CHECK(lm_train_evaluate(trainer, ids.data(), 12, &eval) == LM_ERR_RANGE);
    std::vector<int32_t> bad = ids;
    bad[5] = lm_vocab_size(h.model);
    CHECK(lm_train_step(trainer, bad.data(), 1e-3f, &loss) == LM_ERR_RANGE);

    const std::string path = "build/test-api-trained.gguf";
    REQUIRE(lm_train_save(trainer, path.c_str()) == LM_OK);
    Handles saved;
    REQUIRE(lm_model_load(path.c_str(), &saved.model) == LM_OK);
    lm_trainer* again = nullptr;
    REQUIRE(lm_trainer_new(saved.model, &p, &again) == LM_OK);
    float eval_saved = 0;
    REQUIRE(lm_train_evaluate(again, ids.data(), 13, &eval_saved) == LM_OK);
    CHECK(eval_saved == doctest::Approx(eval).epsilon(1e-6));
    lm_trainer_free(again);
    lm_trainer_free(trainer);
    std::remove(path.c_str());

    // Fresh weights of a given shape with the model's vocabulary.
    lm_train_params fresh = p;
    fresh.dim = 32, fresh.n_layers = 1, fresh.n_heads = 2;
    REQUIRE(lm_trainer_new(h.model, &fresh, &trainer) == LM_OK);
    REQUIRE(lm_train_step(trainer, ids.data(), 3e-3f, &first) == LM_OK);
    CHECK(first == doctest::Approx(std::log(static_cast<float>(lm_vocab_size(h.model)))).epsilon(0.05));
    for (int i = 0; i < 30; ++i) REQUIRE(lm_train_step(trainer, ids.data(), 3e-3f, &loss) == LM_OK);
    CHECK(loss < first * 0.7f);
    lm_trainer_free(trainer);
    fresh.n_heads = 5;
    CHECK(lm_trainer_new(h.model, &fresh, &trainer) == LM_ERR_ARGUMENT);
    Handles bert;
    REQUIRE(lm_model_load("tests/ref/bert", &bert.model) == LM_OK);
    CHECK(lm_trainer_new(bert.model, &p, &trainer) == LM_ERR_MODEL);
}
