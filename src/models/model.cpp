#include "src/models/model.h"

#include <algorithm>
#include <deque>
#include <mutex>

#include "simd/repack.h"
#include "src/models/gemma2.h"
#include "src/models/gpt2.h"
#include "src/models/llama.h"
#include "src/models/phi3.h"
#include "src/models/qwen2.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/files.h"
#include "weights/quant.h"

namespace lm {

struct PackedWeights::Copies {
    std::vector<const void*> sources;  // the packed tensors' data in the file, in pack() order
    std::vector<int> index;            // per source: its copy in `tensors`, or -1 (not packed)
    std::deque<Tensor> tensors;        // a deque: pointers handed out stay valid
    StreamedBuffer storage;
};

namespace {
// Every live set of copies, found again by the tensors they came from.
std::mutex g_copies_mutex;
std::vector<std::weak_ptr<const PackedWeights::Copies>> g_copies;
}  // namespace

void PackedWeights::pack(const std::vector<const Tensor**>& weights, const MappedFile* file) {
    std::vector<const void*> sources;
    for (const Tensor** w : weights) sources.push_back((*w)->data);
    std::lock_guard<std::mutex> lock(g_copies_mutex);
    std::erase_if(g_copies, [](const auto& c) { return c.expired(); });
    for (const auto& weak : g_copies)
        if (auto c = weak.lock(); c && c->sources == sources) copies_ = std::move(c);
    if (!copies_) {
        auto c = std::make_shared<Copies>();
        c->sources = sources;
        size_t total = 0;
        for (const Tensor** w : weights) total += packed_size(**w);
        uint8_t* out = nullptr;
        if (total > 0) {
            // Not zeroed first: repack writes (or clears) every byte of its matrix's share.
            c->storage.reset(static_cast<uint8_t*>(alloc_streamed(total + 64)));
            out = c->storage.get() + (64 - reinterpret_cast<uintptr_t>(c->storage.get()) % 64) % 64;
        }
        std::vector<Tensor*> packed;
        std::vector<uint8_t*> outs;
        for (const Tensor** w : weights) {
            const size_t bytes = packed_size(**w);
            c->index.push_back(bytes ? static_cast<int>(c->tensors.size()) : -1);
            if (bytes == 0) continue;
            packed.push_back(&c->tensors.emplace_back(**w));
            outs.push_back(out);
            out += bytes;
        }
        // Each matrix's file pages go as soon as it is packed, so the model is not resident
        // twice while it loads.
        repack(packed, outs, [&](size_t i) {
            if (file) file->release(packed[i]->data, packed[i]->nbytes);
        });
        // Again, now that all are read: a page fault maps the pages around it too (the kernel's
        // fault-around), so reading one matrix maps back the last pages of those released
        // before it.
        if (file)
            for (const Tensor* w : packed) file->release(w->data, w->nbytes);
        g_copies.push_back(c);
        copies_ = std::move(c);
    }
    for (size_t i = 0; i < weights.size(); ++i)
        if (copies_->index[i] >= 0) *weights[i] = &copies_->tensors[copies_->index[i]];
}

namespace {
struct Architecture {
    const char* name;
    std::unique_ptr<Decoder> (*load)(const ModelFile&, const DecoderOptions&);
};

template <typename Model>
std::unique_ptr<Decoder> make(const ModelFile& file, const DecoderOptions& options) {
    return std::make_unique<Model>(file, options);
}

// A new architecture adds one row here and its own file in src/models/.
constexpr Architecture kArchitectures[] = {
    {"llama", make<Llama>},
    {"gpt2", make<Gpt2>},
    {"qwen2", make<Qwen2>},
    {"phi3", make<Phi3>},
    {"gemma2", make<Gemma2>},
};
}  // namespace

void Decoder::set_limits(const DecoderOptions& options, int model_context) {
    context_ = options.context > 0 ? std::min(options.context, model_context) : model_context;
    max_batch_ = std::max(1, std::min(options.max_batch, context_));
}

void check_finite_rows(const std::string& model, const float* rows, int n, size_t width, int first_position) {
    for (int i = 0; i < n; ++i)
        if (!all_finite(rows + i * width, static_cast<int64_t>(width)))
            fail(model, ": non-finite logits at position ", first_position + i,
                 " (corrupt or overflowing weights; see lm info --check)");
}

void Decoder::forward(const int* tokens, int n, int pos, int threads, float* all_logits) {
    if (pos < 0 || n < 1 || n > context_ - pos)
        fail("forward: positions ", pos, "..", pos + n, " exceed the context of ", context_);
    const size_t vocab = static_cast<size_t>(vocab_size());
    for (int i = 0; i < n; i += max_batch_) {
        const int chunk = std::min(max_batch_, n - i);
        float* rows = all_logits ? all_logits + i * vocab : nullptr;
        forward_chunk(tokens + i, chunk, pos + i, threads, rows);
        if (rows) check_finite_rows(source_, rows, chunk, vocab, pos + i);
        else check_finite_rows(source_, logits(), 1, vocab, pos + i + chunk - 1);
    }
}

ModelFile open_model(const std::string& path, const std::string& tokenizer_path) {
    if (path.empty()) {
        if (!tokenizer_path.empty()) fail("--tokenizer: the built-in model has its own vocabulary");
        return load_default_model();
    }
    ModelFile file = load_model(path);
    if (file.format == "llama2c") {
        std::string tok = tokenizer_path;
        if (tok.empty()) {
            const std::string beside = files::join(files::parent(path), "tokenizer.bin");
            if (!files::exists(beside))
                fail(path, ": a llama2.c checkpoint has no vocabulary: pass --tokenizer PATH (a llama2.c tokenizer.bin)");
            tok = beside;
        }
        read_llama2c_tokenizer(tok, static_cast<int32_t>(file.meta.get_int("llama.vocab_size")), file.meta);
        return file;
    }
    if (!tokenizer_path.empty())
        fail("--tokenizer: only llama2.c checkpoints take a separate tokenizer; ", path, " is a ", file.format, " file");
    // A Hugging Face directory: the vocabulary files sit beside the weights; without them
    // the model still loads (lm info, lm logits on ids).
    if (file.format == "safetensors" && files::is_directory(path))
        for (const char* f : {"vocab.txt", "vocab.json", "encoder.json", "tokenizer.json"})
            if (files::exists(files::join(path, f))) {
                read_hf_tokenizer(path, file.meta);
                break;
            }
    return file;
}

std::unique_ptr<Decoder> load_decoder(const ModelFile& file, const DecoderOptions& options) {
    const std::string arch = file.meta.get_string("general.architecture");
    std::string names;
    for (const Architecture& a : kArchitectures) {
        if (arch == a.name) {
            std::unique_ptr<Decoder> decoder = a.load(file, options);
            decoder->set_source(file.path);
            return decoder;
        }
        names += names.empty() ? a.name : std::string(", ") + a.name;
    }
    fail(file.path, ": unknown architecture '", arch, "' (lm runs: ", names, ")");
}

}  // namespace lm
