// What the CLI runs: a decoder chosen by general.architecture from one table (model.cpp).
#pragma once
#include <memory>

#include "weights/mmap.h"
#include <string>
#include <vector>

#include "weights/model_file.h"

namespace lm {

// Activation rows for up to max_batch tokens, of which a forward pass writes only the rows
// of its batch before reading them: untouched until then, so a short prompt maps a few pages
// instead of the whole batch's (tinyllama at max_batch 512: 41 MB).
using Rows = UntouchedVector<float>;

// Throws "MODEL: non-finite logits at position N (...)" for the first of n rows of `width`
// values (positions first_position, first_position + 1, ...) that holds a NaN or an Inf: the
// one check every command's forward pass shares (Decoder::forward, Bert::encode).
void check_finite_rows(const std::string& model, const float* rows, int n, size_t width, int first_position);

// How a decoder is set up for a run: its context, the most tokens one forward pass takes, and
// the KV cache's element types (f16, or llama.cpp's q8_0 / q4_0 blocks: -ctk / -ctv).
struct DecoderOptions {
    int context = 0;  // <= 0: the model's own context length
    int max_batch = 512;
    DType k_type = DType::F16, v_type = DType::F16;
};

class Decoder {
public:
    virtual ~Decoder() = default;
    // The file the weights came from, for messages (load_decoder sets it).
    void set_source(const std::string& path) { source_ = path; }
    // Runs tokens[0..n) at positions pos..pos+n (in chunks of at most max_batch); the last
    // position's logits are then in logits(), and with all_logits (n x vocab) every
    // position's are written there.
    void forward(const int* tokens, int n, int pos, int threads, float* all_logits = nullptr);
    virtual const float* logits() const = 0;
    virtual int vocab_size() const = 0;
    int context() const { return context_; }  // positions the KV cache holds
    int max_batch() const { return max_batch_; }

protected:
    // The context is the one asked for (<= 0: the model's own), never more than the model's.
    void set_limits(const DecoderOptions& options, int model_context);
    virtual void forward_chunk(const int* tokens, int n, int pos, int threads, float* all_logits) = 0;

private:
    int context_ = 0, max_batch_ = 1;
    std::string source_;
};

// Runs fn(i) for the rows i of a batch, on `threads` threads when the batch is a prompt (the
// per-token steps between matmuls are otherwise serial work that idles the other threads)
// and on the calling thread for decode. Rows are independent, so results do not change.
template <class Fn>
void for_rows(int n, int threads, Fn fn) {
#pragma omp parallel for schedule(static) num_threads(threads) if (n >= 8 && threads > 1)
    for (int i = 0; i < n; ++i) fn(i);
}

// Repacked copies of a model's weight matrices (simd/repack.h), made once per model: every
// decoder of one mapped file (the C API's contexts of one model) shares them.
class PackedWeights {
public:
    // Points each *w at a copy of the tensor with its packed layout where this CPU has packed
    // kernels for its type (and repacking is enabled); the others stay. The copies share one
    // buffer (huge pages rounded up once, not per matrix). Each packed matrix's pages in
    // `file` are then released (MappedFile::release): decode and prompts read the packed
    // copy alone, so the model is resident once, not twice. When another live PackedWeights
    // packed the same tensors, its copies are reused and nothing is packed again.
    void pack(const std::vector<const Tensor**>& weights, const MappedFile* file);

    struct Copies;

private:
    std::shared_ptr<const Copies> copies_;  // the model's tensor pointers point in here
};

// Opens a model with its vocabulary: load_model, plus the tokenizer files that travel beside
// the weights — a llama2.c checkpoint's tokenizer.bin (`tokenizer_path`, or one beside it),
// a Hugging Face directory's vocab.json/merges.txt, vocab.txt or tokenizer.json.
// An empty path opens the story model linked into the binary (src/models/default_model.cpp).
ModelFile open_model(const std::string& path, const std::string& tokenizer_path = "");
ModelFile load_default_model();

// Throws "unknown architecture 'X' (lm runs: ...)" for names not in the table.
std::unique_ptr<Decoder> load_decoder(const ModelFile& file, const DecoderOptions& options);
// With an f16 cache; context <= 0 means the model's own context length.
inline std::unique_ptr<Decoder> load_decoder(const ModelFile& file, int context, int max_batch) {
    return load_decoder(file, DecoderOptions{context, max_batch});
}

}  // namespace lm
