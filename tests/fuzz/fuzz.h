// Shared by the libFuzzer harnesses: every input must either parse or throw lm::Error.
// Any other exception, a sanitizer report, a timeout or an out-of-memory is a finding.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "src/models/config.h"
#include "src/models/bert.h"
#include "src/models/model.h"
#include "simd/kernels.h"
#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/mmap.h"
#include "weights/model_file.h"

namespace lm::fuzz {

inline std::string_view bytes(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

inline std::shared_ptr<const MappedFile> mapping(const char* name, const uint8_t* data, size_t size) {
    return std::make_shared<const MappedFile>(name, bytes(data, size));
}

// Kernels differ per ISA level (scalar reference, AVX2, AVX-512, AMX, NEON): `make fuzz` runs
// every harness once per level with LM_ISA=NAME, which the dispatcher honours (a crash replays
// with the same LM_ISA). A level this CPU lacks ends the run at start-up, as skipped.
inline const bool isa_checked = [] {
    const char* name = std::getenv("LM_ISA");
    if (name && std::strcmp(name, simd::isa_name(simd::default_isa()))) {
        std::fprintf(stderr, "LM_ISA=%s: not an ISA level this CPU runs; skipped\n", name);
        std::exit(0);
    }
    return true;
}();

// Runs `body`, swallowing lm::Error (the parser refused the input, as it should).
template <typename Body>
void expect_clean(Body body) {
    try {
        body();
    } catch (const Error&) {
    }
}

// BERT sizes its activations for a whole context (checked only against the machine's
// memory): stay within this harness's budget, then encode a few tokens and run each head.
inline void exercise_bert(const ModelFile& file, const Config& c) {
    const int64_t activations = int64_t{c.context_length} * (6 * int64_t{c.dim} + c.hidden_dim) * 4;
    const int64_t work = int64_t{c.n_layers} * c.dim * (4 * c.dim + 2 * c.hidden_dim);
    if (activations > (256 << 20) || work > (1 << 22)) return;
    Bert model(file);
    const int len = std::min(3, model.max_tokens());
    const int vocab = static_cast<int>(file.get("token_embd.weight").ne[1]);
    const int tokens[3] = {0, vocab - 1, vocab / 2};
    model.encode(tokens, nullptr, nullptr, len, 1);
    if (model.has_span_head()) {
        float start[3], end[3];
        model.span_logits(start, end, len);
    }
    if (model.has_classifier()) model.classify();
    model.embed(Pooling::mean);
    model.embed(Pooling::cls);
}

// What the CLI does with a loaded model: `lm info` (config, metadata lines), the tokenizer
// when the file carries one, the decoder its architecture names on a small context and,
// when the model is small enough to stay fast, forward passes over a few tokens.
inline void exercise_model(const ModelFile& file) {
    for (const auto& [key, value] : file.meta.entries) format_value(value);
    for (const Tensor& t : file.tensors) shape_string(t);
    if (file.meta.has("tokenizer.ggml.model")) {
        expect_clean([&] {
            Tokenizer tok(file.meta);
            const std::vector<int32_t> ids = tok.encode("Once upon a time <s> 12 'll", true, true);
            tok.decode(ids);
        });
    }
    expect_clean([&] {
        const Config c = read_config(file);
        if (c.arch == "bert") return exercise_bert(file, c);
        std::unique_ptr<Decoder> model = load_decoder(file, 8, 4);
        const int64_t work = int64_t{c.n_layers} * c.dim * (2 * c.dim + 3 * c.hidden_dim) + int64_t{c.dim} * c.vocab_size;
        if (work > (1 << 22)) return;
        const int vocab = model->vocab_size();
        const int tokens[5] = {0, vocab - 1, vocab / 2, 1 % vocab, 0};
        std::vector<float> all_logits(5 * static_cast<size_t>(vocab));
        model->forward(tokens, 5, 0, 1, all_logits.data());
        model->forward(tokens, 1, 5, 1);
    });
}

}  // namespace lm::fuzz
