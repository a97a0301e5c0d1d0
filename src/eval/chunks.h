// Perplexity as llama.cpp's llama-perplexity computes it, and the KL divergence from a base
// model's saved log-probabilities (lm eval --chunks, --save-logits, --kl-divergence).
#pragma once
#include <string>

#include "src/models/model.h"
#include "tokenizer/tokenizer.h"

namespace lm {

struct ChunkOptions {
    int ctx = 0;             // tokens per chunk (the model's context unless --ctx)
    bool ctx_given = false;  // --ctx was given (it must then agree with a base file's)
    int threads = 1;
    std::string text_path;   // for messages
    std::string save_path;   // --save-logits: write this model's log-probabilities
    std::string kl_base;     // --kl-divergence: compare with these
    bool progress = true;    // the running perplexity per chunk on stderr
};

// The chunk length a --save-logits file was written with (its header), to load the model with.
int saved_logits_context(const std::string& path);

// Prints the perplexity (and with a base file, the KL divergence and top-token agreement).
void eval_chunks(Decoder& model, const Tokenizer& tok, const std::string& text, const ChunkOptions& options);

}  // namespace lm
