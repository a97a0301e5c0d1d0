// What the CLI runs: a decoder chosen by general.architecture from one table (model.cpp).
#pragma once
#include <memory>
#include <string>

#include "weights/model_file.h"

namespace lm {

class Decoder {
public:
    virtual ~Decoder() = default;
    // Runs tokens[0..n) at positions pos..pos+n; the last position's logits are then in
    // logits(), and with all_logits (n x vocab) every position's are written there.
    virtual void forward(const int* tokens, int n, int pos, int threads, float* all_logits = nullptr) = 0;
    virtual const float* logits() const = 0;
    virtual int vocab_size() const = 0;
    virtual int context() const = 0;  // positions the KV cache holds
};

// Opens a model with its vocabulary: load_model, plus the tokenizer files that travel beside
// the weights — a llama2.c checkpoint's tokenizer.bin (`tokenizer_path`, or one beside it),
// a Hugging Face directory's vocab.json/merges.txt, vocab.txt or tokenizer.json.
ModelFile open_model(const std::string& path, const std::string& tokenizer_path = "");

// Throws "unknown architecture 'X' (lm runs: ...)" for names not in the table.
// context <= 0 means the model's own context length.
std::unique_ptr<Decoder> load_decoder(const ModelFile& file, int context, int max_batch);

}  // namespace lm
