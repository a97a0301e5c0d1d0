// The C API (src/api/lm.h) over the library the CLI runs: model files, the architecture table,
// the generation loop, the BERT heads and the trainer. Each entry point catches every
// exception and turns it into a status and a thread-local message.
#include "src/api/lm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "simd/matmul.h"
#include "src/models/bert.h"
#include "src/models/bert_tasks.h"
#include "src/models/config.h"
#include "src/models/generate.h"
#include "src/models/model.h"
#include "src/models/sampler.h"
#include "src/train/data.h"
#include "src/train/export.h"
#include "src/train/model.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/files.h"
#include "weights/gguf.h"

namespace {
// A loaded model, owned by its lm_model handle and by every context and trainer made from it.
struct Model {
    lm::ModelFile file;
    lm::Config config;
    std::unique_ptr<lm::Tokenizer> tok;
    std::vector<std::string> labels;
};
}  // namespace

struct lm_model {
    std::shared_ptr<const Model> model;
};

// A context holds a model reference (so a model freed first stays alive until its contexts
// go) and either a decoder with its KV cache or a BERT encoder.
struct lm_context {
    std::shared_ptr<const Model> model;
    std::unique_ptr<lm::Decoder> decoder;
    std::unique_ptr<lm::Bert> bert;
    int threads = 1;
    std::atomic<bool> busy{false}, cancel{false};
};

struct lm_sampler {
    lm::Sampler sampler;
    int vocab;
};

struct lm_trainer {
    std::shared_ptr<const Model> model;
    lm::TrainModel train;
    lm::AdamWConfig adam;
    float clip = 1.0f;
    int threads = 1;
    std::vector<int> inputs, targets;
};

namespace {

thread_local std::string g_error;

// Raised by the API's own checks with the status they mean.
struct ApiError {
    lm_status status;
    std::string message;
};

[[noreturn]] void api_fail(lm_status status, std::string message) { throw ApiError{status, std::move(message)}; }

// Runs fn, turning exceptions into a status (`otherwise` for lm::Error) and a message.
template <class Fn>
lm_status guarded(lm_status otherwise, Fn&& fn) {
    try {
        fn();
        g_error.clear();
        return LM_OK;
    } catch (const ApiError& e) {
        g_error = e.message;
        return e.status;
    } catch (const lm::Error& e) {
        g_error = e.what();
        return otherwise;
    } catch (const std::bad_alloc&) {
        g_error = "out of memory";
        return LM_ERR_MEMORY;
    } catch (const std::exception& e) {
        g_error = e.what();
        return LM_ERR_FAILED;
    } catch (...) {
        g_error = "unknown error";
        return LM_ERR_FAILED;
    }
}

void require(const void* p, const char* what) {
    if (!p) api_fail(LM_ERR_ARGUMENT, std::string(what) + " is NULL");
}

// One thread at a time per context: a second caller gets LM_ERR_BUSY instead of a race.
class Claim {
public:
    explicit Claim(lm_context* c) : c_(c) {
        require(c, "context");
        if (c->busy.exchange(true)) api_fail(LM_ERR_BUSY, "the context is in use by another thread");
        c->cancel.store(false);
    }
    ~Claim() { c_->busy.store(false); }
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;

private:
    lm_context* c_;
};

lm_status load(lm_model** out, const std::function<lm::ModelFile()>& open) {
    if (out) *out = nullptr;
    return guarded(LM_ERR_MODEL, [&] {
        require(out, "model (the output pointer)");
        auto m = std::make_shared<Model>();
        m->file = open();
        m->config = lm::read_config(m->file);
        m->tok = std::make_unique<lm::Tokenizer>(m->file.meta);
        if (m->config.arch == "bert") m->labels = lm::bert_labels(m->file);
        *out = new lm_model{std::move(m)};
    });
}

const Model& model_of(const lm_model* handle) {
    require(handle, "model");
    return *handle->model;
}
std::shared_ptr<const Model> share(const lm_model* handle) {
    require(handle, "model");
    return handle->model;
}

lm::Bert& bert_of(lm_context* c) {
    if (!c->bert) api_fail(LM_ERR_MODEL, "the model is a " + c->model->config.arch + " decoder, not a BERT encoder");
    return *c->bert;
}

int threads_or_default(int32_t n) { return n > 0 ? n : lm::default_threads(); }

lm::DType kv_type(int32_t t) {
    switch (t) {
    case LM_KV_F16: return lm::DType::F16;
    case LM_KV_Q8_0: return lm::DType::Q8_0;
    case LM_KV_Q4_0: return lm::DType::Q4_0;
    }
    api_fail(LM_ERR_ARGUMENT, "type_k / type_v " + std::to_string(t) + " is not an lm_kv_type");
}

}  // namespace

extern "C" {

const char* lm_version(void) { return "1.0.0"; }
int lm_api_version(void) { return LM_API_VERSION; }
const char* lm_last_error(void) { return g_error.c_str(); }

lm_status lm_model_load(const char* path, lm_model** model) {
    if (path && *path && !lm::files::exists(path)) {
        if (model) *model = nullptr;
        g_error = std::string(path) + ": no such file or directory";
        return LM_ERR_IO;
    }
    return load(model, [&] {
        require(path, "path");
        return lm::open_model(path);
    });
}

lm_status lm_model_load_from_memory(const void* data, size_t size, lm_model** model) {
    return load(model, [&] {
        require(data, "data");
        return lm::read_gguf(lm::MappedFile::borrow("model in memory", {static_cast<const char*>(data), size}));
    });
}

void lm_model_free(lm_model* model) { delete model; }

const char* lm_model_architecture(const lm_model* model) {
    return model ? model_of(model).config.arch.c_str() : "";
}
int32_t lm_model_context_length(const lm_model* model) { return model ? model_of(model).config.context_length : 0; }
int32_t lm_model_embedding_size(const lm_model* model) { return model ? model_of(model).config.dim : 0; }
int32_t lm_model_n_labels(const lm_model* model) {
    return model ? static_cast<int32_t>(model_of(model).labels.size()) : 0;
}
const char* lm_model_label(const lm_model* model, int32_t i) {
    if (!model || i < 0 || i >= lm_model_n_labels(model)) return nullptr;
    return model_of(model).labels[i].c_str();
}

int32_t lm_vocab_size(const lm_model* model) { return model ? model_of(model).tok->n_vocab() : 0; }
int32_t lm_token_bos(const lm_model* model) { return model ? model_of(model).tok->bos() : -1; }
int32_t lm_token_eos(const lm_model* model) { return model ? model_of(model).tok->eos() : -1; }
int lm_token_is_eog(const lm_model* model, int32_t token) {
    if (!model || token < 0 || token >= lm_vocab_size(model)) return 0;
    return model_of(model).tok->is_eog(token) ? 1 : 0;
}

lm_status lm_tokenize(const lm_model* model, const char* text, size_t length, int add_special, int parse_special,
                      int32_t* tokens, int32_t capacity, int32_t* n_tokens) {
    return guarded(LM_ERR_FAILED, [&] {
        const Model& m = model_of(model);
        if (length > 0) require(text, "text");
        require(n_tokens, "n_tokens");
        const std::vector<int32_t> ids = m.tok->encode({text ? text : "", length}, add_special != 0, parse_special != 0);
        *n_tokens = static_cast<int32_t>(ids.size());
        if (ids.size() > static_cast<size_t>(std::max(capacity, 0)))
            api_fail(LM_ERR_BUFFER, "the text is " + std::to_string(ids.size()) + " tokens, the buffer holds " +
                                        std::to_string(capacity));
        if (!ids.empty()) require(tokens, "tokens");
        std::copy(ids.begin(), ids.end(), tokens);
    });
}

lm_status lm_token_to_piece(const lm_model* model, int32_t prev, int32_t token, char* buffer, size_t capacity,
                            size_t* length) {
    return guarded(LM_ERR_RANGE, [&] {
        const Model& m = model_of(model);
        require(length, "length");
        if (token < 0 || token >= m.tok->n_vocab() || prev < -1 || prev >= m.tok->n_vocab())
            api_fail(LM_ERR_RANGE, "token id " + std::to_string(token < 0 || token >= m.tok->n_vocab() ? token : prev) +
                                       " is outside the vocabulary of " + std::to_string(m.tok->n_vocab()));
        const std::string piece = m.tok->decode_token(prev, token);
        *length = piece.size();
        if (piece.size() > capacity) api_fail(LM_ERR_BUFFER, "the piece is " + std::to_string(piece.size()) + " bytes");
        if (!piece.empty()) require(buffer, "buffer");
        std::memcpy(buffer, piece.data(), piece.size());
    });
}

lm_context_params lm_context_default_params(void) { return lm_context_params{0, 512, 0, LM_KV_F16, LM_KV_F16}; }

lm_status lm_context_new(lm_model* model, const lm_context_params* params, lm_context** context) {
    if (context) *context = nullptr;
    return guarded(LM_ERR_MODEL, [&] {
        require(context, "context (the output pointer)");
        const lm_context_params p = params ? *params : lm_context_default_params();
        const std::shared_ptr<const Model> m = share(model);
        if (p.n_ctx < 0 || p.n_batch < 0 || p.n_threads < 0)
            api_fail(LM_ERR_ARGUMENT, "n_ctx, n_batch and n_threads must not be negative");
        if (p.n_ctx > m->config.context_length)
            api_fail(LM_ERR_RANGE, "n_ctx " + std::to_string(p.n_ctx) + " is larger than the model's context length of " +
                                       std::to_string(m->config.context_length));
        auto c = std::make_unique<lm_context>();
        c->model = m;
        c->threads = threads_or_default(p.n_threads);
        if (m->config.arch == "bert") c->bert = std::make_unique<lm::Bert>(m->file);
        else c->decoder = lm::load_decoder(m->file, lm::DecoderOptions{p.n_ctx, p.n_batch > 0 ? p.n_batch : 512,
                                                                      kv_type(p.type_k), kv_type(p.type_v)});
        *context = c.release();
    });
}

void lm_context_free(lm_context* context) { delete context; }

int32_t lm_context_size(const lm_context* context) {
    if (!context) return 0;
    return context->decoder ? context->decoder->context() : context->bert->max_tokens();
}

lm_status lm_decode(lm_context* context, const int32_t* tokens, int32_t n, int32_t pos) {
    return guarded(LM_ERR_FAILED, [&] {
        Claim claim(context);
        if (!context->decoder) api_fail(LM_ERR_MODEL, "lm_decode: a BERT model has no decoder (see lm_embed)");
        require(tokens, "tokens");
        lm::Decoder& d = *context->decoder;
        if (n < 1 || pos < 0 || pos > d.context() - n)
            api_fail(LM_ERR_RANGE, "positions " + std::to_string(pos) + ".." + std::to_string(int64_t{pos} + n) +
                                       " are outside the context of " + std::to_string(d.context()));
        for (int32_t i = 0; i < n; ++i)
            if (tokens[i] < 0 || tokens[i] >= d.vocab_size())
                api_fail(LM_ERR_RANGE, "token id " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                                           std::to_string(d.vocab_size()));
        d.forward(tokens, n, pos, context->threads);
    });
}

const float* lm_logits(const lm_context* context) {
    return context && context->decoder ? context->decoder->logits() : nullptr;
}

void lm_cancel(lm_context* context) {
    if (context) context->cancel.store(true);
}

lm_sampler_params lm_sampler_default_params(void) {
    const lm::SamplerParams d;
    return lm_sampler_params{d.temperature, d.top_k, d.top_p, d.min_p, d.repeat_penalty, d.repeat_last_n, d.seed};
}

lm_status lm_sampler_new(const lm_model* model, const lm_sampler_params* params, lm_sampler** sampler) {
    if (sampler) *sampler = nullptr;
    return guarded(LM_ERR_ARGUMENT, [&] {
        require(sampler, "sampler (the output pointer)");
        const Model& m = model_of(model);
        const lm_sampler_params p = params ? *params : lm_sampler_default_params();
        if (!(p.temperature >= 0) || !(p.top_p >= 0 && p.top_p <= 1) || !(p.min_p >= 0 && p.min_p <= 1) ||
            !(p.repeat_penalty > 0) || p.repeat_last_n < 0)
            api_fail(LM_ERR_ARGUMENT, "sampler parameters out of range (temperature >= 0, top_p and min_p in [0, 1], "
                                      "repeat_penalty > 0, repeat_last_n >= 0)");
        lm::SamplerParams sp;
        sp.temperature = p.temperature, sp.top_k = p.top_k, sp.top_p = p.top_p, sp.min_p = p.min_p;
        sp.repeat_penalty = p.repeat_penalty, sp.repeat_last_n = p.repeat_last_n, sp.seed = p.seed;
        const int vocab = m.config.arch == "bert" ? m.tok->n_vocab() : m.config.vocab_size;
        *sampler = new lm_sampler{lm::Sampler(sp, vocab), vocab};
    });
}

void lm_sampler_free(lm_sampler* sampler) { delete sampler; }

lm_status lm_sampler_sample(lm_sampler* sampler, const float* logits, const int32_t* history, int32_t n_history,
                            int32_t* token) {
    return guarded(LM_ERR_FAILED, [&] {
        require(sampler, "sampler");
        require(logits, "logits");
        require(token, "token");
        if (n_history < 0 || (n_history > 0 && !history)) api_fail(LM_ERR_ARGUMENT, "history is NULL or n_history < 0");
        std::vector<float> copy(logits, logits + sampler->vocab);
        const std::vector<int> past(history, history + n_history);
        *token = sampler->sampler.sample(copy.data(), past);
    });
}

lm_status lm_generate(lm_context* context, lm_sampler* sampler, const char* prompt, int32_t n_predict,
                      lm_token_callback callback, void* user_data, int32_t* n_generated) {
    if (n_generated) *n_generated = 0;
    return guarded(LM_ERR_FAILED, [&] {
        Claim claim(context);
        if (!context->decoder) api_fail(LM_ERR_MODEL, "lm_generate: a BERT model has no decoder");
        require(sampler, "sampler");
        require(prompt, "prompt");
        require(reinterpret_cast<const void*>(callback), "callback");
        const lm::Tokenizer& tok = *context->model->tok;
        lm::Decoder& d = *context->decoder;
        std::vector<int> tokens = lm::prompt_tokens(tok, prompt);
        if (tokens.empty()) api_fail(LM_ERR_ARGUMENT, "the prompt is empty and the model has no BOS token");
        if (static_cast<int>(tokens.size()) > d.context())
            api_fail(LM_ERR_RANGE, "the prompt is " + std::to_string(tokens.size()) + " tokens, longer than the context of " +
                                       std::to_string(d.context()));
        lm::GenerateOptions options;
        options.n_predict = n_predict;
        options.threads = context->threads;
        options.cancel = &context->cancel;
        lm::GenerateStats stats;
        const lm::StopReason stop = lm::generate(d, sampler->sampler, tok, tokens, options, [&](int id, const std::string& text) {
            return callback(user_data, id, text.data(), text.size()) == 0;
        }, &stats);
        if (n_generated) *n_generated = stats.generated;
        if (stop == lm::StopReason::cancelled) api_fail(LM_ERR_CANCELLED, "lm_generate: cancelled");
    });
}

lm_status lm_embed(lm_context* context, const char* text, int32_t pooling, float* embedding, int32_t capacity) {
    return guarded(LM_ERR_RANGE, [&] {
        Claim claim(context);
        lm::Bert& bert = bert_of(context);
        require(text, "text");
        require(embedding, "embedding");
        const int dim = bert.config().dim;
        if (capacity < dim) api_fail(LM_ERR_BUFFER, "the embedding is " + std::to_string(dim) + " floats");
        if (pooling != LM_POOLING_MODEL && pooling != LM_POOLING_MEAN && pooling != LM_POOLING_CLS)
            api_fail(LM_ERR_ARGUMENT, "pooling " + std::to_string(pooling) + " is not an lm_pooling");
        const std::vector<int> ids = lm::encode_text(*context->model->tok, text, bert.max_tokens());
        bert.encode(ids.data(), nullptr, nullptr, static_cast<int>(ids.size()), context->threads);
        const lm::Pooling p = pooling == LM_POOLING_MODEL ? bert.pooling()
                              : pooling == LM_POOLING_CLS ? lm::Pooling::cls
                                                          : lm::Pooling::mean;
        const std::vector<float> v = bert.embed(p);
        std::copy(v.begin(), v.end(), embedding);
    });
}

lm_status lm_classify(lm_context* context, const char* text, float* probabilities, int32_t capacity, int32_t* best) {
    return guarded(LM_ERR_RANGE, [&] {
        Claim claim(context);
        lm::Bert& bert = bert_of(context);
        require(text, "text");
        require(probabilities, "probabilities");
        if (!bert.has_classifier()) api_fail(LM_ERR_MODEL, "the model has no classification head (pooler + classifier)");
        if (capacity < bert.n_labels())
            api_fail(LM_ERR_BUFFER, "the model has " + std::to_string(bert.n_labels()) + " labels");
        const std::vector<int> ids = lm::encode_text(*context->model->tok, text, bert.max_tokens());
        bert.encode(ids.data(), nullptr, nullptr, static_cast<int>(ids.size()), context->threads);
        const std::vector<float> probs = bert.classify();
        std::copy(probs.begin(), probs.end(), probabilities);
        if (best) *best = static_cast<int32_t>(std::max_element(probs.begin(), probs.end()) - probs.begin());
    });
}

lm_status lm_answer(lm_context* context, const char* question, const char* context_text, char* answer,
                    size_t capacity, size_t* length, float* score) {
    return guarded(LM_ERR_RANGE, [&] {
        Claim claim(context);
        lm::Bert& bert = bert_of(context);
        require(question, "question");
        require(context_text, "context_text");
        require(answer, "answer");
        if (!bert.has_span_head()) api_fail(LM_ERR_MODEL, "the model has no span head: not a question-answering model");
        const lm::Answer a = lm::answer_question(bert, *context->model->tok, question, context_text, 30, -1,
                                                 context->threads);
        if (length) *length = a.text.size();
        if (a.text.size() + 1 > capacity)
            api_fail(LM_ERR_BUFFER, "the answer is " + std::to_string(a.text.size()) + " bytes and its NUL");
        std::memcpy(answer, a.text.c_str(), a.text.size() + 1);
        if (score) *score = static_cast<float>(a.score);
    });
}

lm_train_params lm_train_default_params(void) {
    return lm_train_params{8, 64, 0.1f, 0.9f, 0.99f, 1.0f, 1, 0, 0, 0, 0, 0};
}

lm_status lm_trainer_new(const lm_model* model, const lm_train_params* params, lm_trainer** trainer) {
    if (trainer) *trainer = nullptr;
    return guarded(LM_ERR_MODEL, [&] {
        require(trainer, "trainer (the output pointer)");
        const lm_train_params p = params ? *params : lm_train_default_params();
        auto t = std::make_unique<lm_trainer>();
        t->model = share(model);
        const Model& m = *t->model;
        if (m.config.arch != "llama" && m.config.arch != "gpt2")
            api_fail(LM_ERR_MODEL, "lm_trainer_new: trains llama and gpt2 models, not " + m.config.arch);
        if (p.batch < 1 || p.seq_len < 1 || p.n_threads < 0 || !(p.weight_decay >= 0) || !(p.clip >= 0))
            api_fail(LM_ERR_ARGUMENT, "batch and seq_len must be at least 1, n_threads, weight_decay and clip not negative");
        const bool fresh = p.dim > 0;
        lm::TrainConfig config = lm::train_config_from(m.file);
        if (fresh) {
            if (p.n_layers < 1 || p.n_heads < 1 || p.dim % p.n_heads != 0 || p.hidden < 0)
                api_fail(LM_ERR_ARGUMENT, "a fresh model needs n_layers >= 1 and dim divisible by n_heads");
            config.arch = lm::TrainArch::llama;
            config.dim = p.dim, config.n_layers = p.n_layers, config.n_heads = p.n_heads, config.n_kv_heads = p.n_heads;
            config.hidden_dim = p.hidden > 0 ? p.hidden : 4 * p.dim;
            config.vocab_size = m.tok->n_vocab();
            config.max_seq_len = std::max(p.seq_len, m.config.context_length);
            config.tied_head = true;
        }
        if (p.seq_len > config.max_seq_len)
            api_fail(LM_ERR_RANGE, "seq_len " + std::to_string(p.seq_len) + " is longer than the model's context of " +
                                       std::to_string(config.max_seq_len));
        lm::train_model_init(t->train, config, p.batch, p.seq_len);
        lm::train_model_init_weights(t->train, static_cast<unsigned long>(p.seed));
        if (!fresh) lm::train_load_weights(t->train, m.file);
        t->adam.beta1 = p.beta1, t->adam.beta2 = p.beta2, t->adam.weight_decay = p.weight_decay;
        t->clip = p.clip;
        t->threads = threads_or_default(p.n_threads);
        t->inputs.resize(static_cast<size_t>(p.batch) * p.seq_len);
        t->targets.resize(t->inputs.size());
        *trainer = t.release();
    });
}

void lm_trainer_free(lm_trainer* trainer) { delete trainer; }

namespace {
void check_ids(const lm_trainer& t, const int32_t* tokens, size_t n) {
    const int vocab = t.train.config.vocab_size;
    for (size_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            api_fail(LM_ERR_RANGE, "token id " + std::to_string(tokens[i]) + " at " + std::to_string(i) +
                                       " is outside the vocabulary of " + std::to_string(vocab));
}
}  // namespace

lm_status lm_train_step(lm_trainer* trainer, const int32_t* tokens, float lr, float* loss) {
    return guarded(LM_ERR_FAILED, [&] {
        require(trainer, "trainer");
        require(tokens, "tokens");
        if (!(lr >= 0)) api_fail(LM_ERR_ARGUMENT, "lr must be a number >= 0");
        lm::TrainModel& model = trainer->train;
        const int B = model.B, T = model.T;
        check_ids(*trainer, tokens, static_cast<size_t>(B) * (T + 1));
        for (int b = 0; b < B; ++b)
            for (int t = 0; t < T; ++t) {
                trainer->inputs[b * T + t] = tokens[b * (T + 1) + t];
                trainer->targets[b * T + t] = tokens[b * (T + 1) + t + 1];
            }
        omp_set_num_threads(trainer->threads);
        const float l = lm::train_forward(model, trainer->inputs.data(), trainer->targets.data());
        if (!std::isfinite(l)) api_fail(LM_ERR_FAILED, "the loss is not finite (" + std::to_string(l) + ")");
        lm::train_zero_grad(model);
        lm::train_backward(model);
        const float norm = lm::train_clip_grad_norm(model, trainer->clip);
        if (!std::isfinite(norm)) api_fail(LM_ERR_FAILED, "the gradient is not finite");
        lm::train_adamw_step(model, trainer->adam, lr);
        if (loss) *loss = l;
    });
}

lm_status lm_train_evaluate(lm_trainer* trainer, const int32_t* tokens, size_t n, float* loss) {
    return guarded(LM_ERR_FAILED, [&] {
        require(trainer, "trainer");
        require(tokens, "tokens");
        require(loss, "loss");
        const int T = trainer->train.T;
        if (n < static_cast<size_t>(T) + 1)
            api_fail(LM_ERR_RANGE, "evaluation needs at least seq_len + 1 = " + std::to_string(T + 1) + " tokens");
        check_ids(*trainer, tokens, n);
        omp_set_num_threads(trainer->threads);
        const std::vector<int> ids(tokens, tokens + n);
        *loss = lm::evaluate_loss(trainer->train, ids, 1 << 30);
    });
}

lm_status lm_train_save(lm_trainer* trainer, const char* path) {
    return guarded(LM_ERR_IO, [&] {
        require(trainer, "trainer");
        require(path, "path");
        lm::train_write_gguf(path, trainer->train, trainer->model->file.meta, "lm_train_save", lm::DType::F32);
    });
}

}  // extern "C"
