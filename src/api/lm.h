/* lm.h: the C API of lm, for programs that embed it (C99; C++ may include it too).
 *
 * A model (lm_model) is a file mapped read-only, or a caller's buffer, with its vocabulary;
 * any number of contexts (lm_context) share it, each with its own KV cache, context length
 * and threads. Two contexts of one model may be used from two threads at once; one context
 * is used by one thread at a time (a second call meanwhile returns LM_ERR_BUSY).
 *
 * Every call that can fail returns an lm_status; on failure lm_last_error() holds a one-line
 * message for the calling thread. The library never prints, never exits, and no C++
 * exception leaves it. Handles are freed by their lm_*_free function (NULL is allowed). */
#ifndef LM_H
#define LM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LM_API_VERSION 1

typedef enum lm_status {
    LM_OK = 0,
    LM_ERR_ARGUMENT = 1,    /* a NULL handle or pointer, a value out of its range */
    LM_ERR_MODEL = 2,       /* not a model lm runs, or the wrong kind for this call */
    LM_ERR_RANGE = 3,       /* a token id, position or length beyond the vocabulary or context */
    LM_ERR_BUFFER = 4,      /* the output buffer is too small; the size needed is returned */
    LM_ERR_BUSY = 5,        /* the context is in use by another thread */
    LM_ERR_CANCELLED = 6,   /* lm_cancel stopped the call */
    LM_ERR_IO = 7,          /* a file could not be read or written */
    LM_ERR_MEMORY = 8,      /* out of memory */
    LM_ERR_FAILED = 9       /* anything else; see lm_last_error() */
} lm_status;

/* The library's version ("1.0.0"), its API version (LM_API_VERSION it was built with), and
 * the message of the calling thread's last failed call ("" when none). */
const char* lm_version(void);
int lm_api_version(void);
const char* lm_last_error(void);

/* ---- Models ---------------------------------------------------------------------------- */
typedef struct lm_model lm_model;

/* A GGUF file, a llama2.c checkpoint (with tokenizer.bin beside it) or a Hugging Face
 * directory, memory-mapped; "" is the small story model built into lm (as `lm run`). */
lm_status lm_model_load(const char* path, lm_model** model);
/* A GGUF file's bytes held by the caller, read in place: the buffer must stay valid and
 * unchanged until lm_model_free (contexts keep the model alive until they are freed too). */
lm_status lm_model_load_from_memory(const void* data, size_t size, lm_model** model);
void lm_model_free(lm_model* model);

const char* lm_model_architecture(const lm_model* model); /* "llama", "gpt2", "bert", ... */
int32_t lm_model_context_length(const lm_model* model);
int32_t lm_model_embedding_size(const lm_model* model);    /* the hidden size */
int32_t lm_model_n_labels(const lm_model* model);          /* BERT classifier classes, else 0 */
const char* lm_model_label(const lm_model* model, int32_t i); /* NULL when out of range */

/* ---- Vocabulary ------------------------------------------------------------------------ */
int32_t lm_vocab_size(const lm_model* model);
int32_t lm_token_bos(const lm_model* model); /* -1 when the model has none ([CLS] for BERT) */
int32_t lm_token_eos(const lm_model* model); /* -1 when the model has none ([SEP] for BERT) */
int lm_token_is_eog(const lm_model* model, int32_t token); /* 1 for end-of-generation tokens */

/* The ids of `length` bytes of `text`; add_special adds BOS/EOS as the model does, and
 * parse_special turns control-token texts ("<|endoftext|>") into their ids. *n_tokens gets
 * the count; LM_ERR_BUFFER when it is more than `capacity` (nothing else is written). */
lm_status lm_tokenize(const lm_model* model, const char* text, size_t length, int add_special, int parse_special,
                      int32_t* tokens, int32_t capacity, int32_t* n_tokens);
/* The bytes of `token` as they follow `prev` (-1 at the start); not NUL-terminated, and may
 * be part of a UTF-8 character. *length gets the size; LM_ERR_BUFFER when it is more than
 * `capacity`. */
lm_status lm_token_to_piece(const lm_model* model, int32_t prev, int32_t token, char* buffer, size_t capacity,
                            size_t* length);

/* ---- Contexts -------------------------------------------------------------------------- */
typedef struct lm_context lm_context;

/* The KV cache's element types (llama.cpp's -ctk / -ctv): q8_0 takes about half of f16's
 * memory, q4_0 a quarter; both need heads of whole 32-element blocks. */
typedef enum lm_kv_type { LM_KV_F16 = 0, LM_KV_Q8_0 = 1, LM_KV_Q4_0 = 2 } lm_kv_type;

typedef struct lm_context_params {
    int32_t n_ctx;     /* positions the KV cache holds; 0: the model's context length */
    int32_t n_batch;   /* most tokens one forward pass runs (prompts are split); 0: 512 */
    int32_t n_threads; /* 0: the machine's physical cores */
    int32_t type_k, type_v; /* lm_kv_type (plain integers: any value a caller passes is checked) */
} lm_context_params;

lm_context_params lm_context_default_params(void);
/* A decoder (llama, gpt2) gets a KV cache; a BERT model an encoder for the calls below. */
lm_status lm_context_new(lm_model* model, const lm_context_params* params, lm_context** context);
void lm_context_free(lm_context* context);
int32_t lm_context_size(const lm_context* context); /* n_ctx as created */

/* Runs tokens[0..n) at positions pos..pos+n-1 (the cache keeps positions before pos);
 * afterwards lm_logits gives the last position's lm_vocab_size() logits, valid until the
 * next call on this context. LM_ERR_RANGE for an id outside the vocabulary or positions
 * past the context. */
lm_status lm_decode(lm_context* context, const int32_t* tokens, int32_t n, int32_t pos);
const float* lm_logits(const lm_context* context);

/* Asks lm_generate running on `context` in another thread (or from its callback) to stop
 * before its next token; it then returns LM_ERR_CANCELLED. The request is cleared when the
 * next call on the context starts. Safe from any thread. */
void lm_cancel(lm_context* context);

/* ---- Sampling and generation ----------------------------------------------------------- */
typedef struct lm_sampler lm_sampler;

typedef struct lm_sampler_params {
    float temperature;    /* 0: greedy */
    int32_t top_k;        /* <= 0: all tokens */
    float top_p;          /* 1: off */
    float min_p;          /* 0: off */
    float repeat_penalty; /* 1: off */
    int32_t repeat_last_n;
    uint64_t seed;
} lm_sampler_params;

lm_sampler_params lm_sampler_default_params(void); /* lm run's: 0.8, 40, 0.95, 0.05, 1, 64, 0 */
lm_status lm_sampler_new(const lm_model* model, const lm_sampler_params* params, lm_sampler** sampler);
void lm_sampler_free(lm_sampler* sampler);
/* The next token from `logits` (lm_vocab_size() values, not changed) after the tokens of
 * `history` (for the repetition penalty; may be NULL when n_history is 0). */
lm_status lm_sampler_sample(lm_sampler* sampler, const float* logits, const int32_t* history, int32_t n_history,
                            int32_t* token);

/* Called with each generated token and its text (complete UTF-8: empty while a character is
 * split across tokens; bytes left at the end come with token -1). Return nonzero to stop. */
typedef int (*lm_token_callback)(void* user_data, int32_t token, const char* text, size_t length);

/* Generates from `prompt` (BOS added as the model does) in a fresh context window: up to
 * n_predict tokens (-1: until end-of-text or a full context), as `lm run` does. *n_generated
 * (may be NULL) gets the number of tokens generated. */
lm_status lm_generate(lm_context* context, lm_sampler* sampler, const char* prompt, int32_t n_predict,
                      lm_token_callback callback, void* user_data, int32_t* n_generated);

/* ---- BERT: embeddings, classification, question answering ------------------------------ */
typedef enum lm_pooling { LM_POOLING_MODEL = 0, LM_POOLING_MEAN = 1, LM_POOLING_CLS = 2 } lm_pooling;

/* The L2-normalized embedding of `text` (lm_model_embedding_size() floats). */
lm_status lm_embed(lm_context* context, const char* text, int32_t pooling /* lm_pooling */, float* embedding,
                   int32_t capacity);
/* The probability of each label (lm_model_n_labels() floats); *best (may be NULL) gets the
 * most likely label's index. */
lm_status lm_classify(lm_context* context, const char* text, float* probabilities, int32_t capacity, int32_t* best);
/* The answer to `question` as it stands in `context_text` (NUL-terminated in `answer`; the
 * length without the NUL in *length), read in overlapping windows when long, and its score
 * (p(start) * p(end); may be NULL). LM_ERR_BUFFER when the answer does not fit. */
lm_status lm_answer(lm_context* context, const char* question, const char* context_text, char* answer,
                    size_t capacity, size_t* length, float* score);

/* ---- Training a decoder one step at a time --------------------------------------------- */
typedef struct lm_trainer lm_trainer;

typedef struct lm_train_params {
    int32_t batch;   /* sequences per step */
    int32_t seq_len; /* tokens per sequence (at most the model's context length) */
    float weight_decay, beta1, beta2, clip; /* AdamW, and the gradient-norm clip (0: off) */
    uint64_t seed;
    int32_t n_threads; /* 0: the machine's physical cores */
    /* 0 to fine-tune `model`'s weights; else fresh weights of this shape (llama) with the
     * model's vocabulary, N(0, 0.02). */
    int32_t dim, n_layers, n_heads, hidden;
} lm_train_params;

lm_train_params lm_train_default_params(void); /* 8 x 64, 0.1, 0.9, 0.99, 1.0, seed 1 */
/* Starts from a llama or gpt2 model: its weights (or fresh ones, see lm_train_params) and
 * its vocabulary. */
lm_status lm_trainer_new(const lm_model* model, const lm_train_params* params, lm_trainer** trainer);
void lm_trainer_free(lm_trainer* trainer);
/* One AdamW step at learning rate `lr` on batch x (seq_len + 1) tokens: sequence b is
 * tokens[b (seq_len + 1) ...], predicting each next token. *loss (may be NULL) gets the
 * batch's mean cross-entropy before the step. */
lm_status lm_train_step(lm_trainer* trainer, const int32_t* tokens, float lr, float* loss);
/* The mean loss over consecutive windows of seq_len + 1 tokens of tokens[0..n). */
lm_status lm_train_evaluate(lm_trainer* trainer, const int32_t* tokens, size_t n, float* loss);
/* Writes the model as GGUF (atomically): lm_model_load and llama.cpp load it. */
lm_status lm_train_save(lm_trainer* trainer, const char* path);

#ifdef __cplusplus
}
#endif

#endif /* LM_H */
