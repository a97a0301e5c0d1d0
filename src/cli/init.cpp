// lm init --shape NAME|dim,hidden,layers,heads,kv_heads,vocab,ctx --type T OUT.gguf:
// a random-weight Llama GGUF of a real shape, so benchmarks need no download.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <strings.h>

#include "src/cli/cli.h"
#include "weights/error.h"
#include "weights/files.h"
#include "weights/gguf.h"
#include "weights/quant.h"

namespace lm {

namespace {

struct Shape {
    const char* name;
    int dim, hidden, layers, heads, kv_heads, vocab, ctx;
    bool tied;  // classifier shared with the embedding (llama2.c's models)
};
// Published shapes: llama2.c's stories models and TinyLlama-1.1B.
constexpr Shape kShapes[] = {
    {"stories260K", 64, 172, 5, 8, 4, 512, 512, true},
    {"stories15M", 288, 768, 6, 6, 6, 32000, 256, true},
    {"stories42M", 512, 1376, 8, 8, 8, 32000, 1024, true},
    {"stories110M", 768, 2048, 12, 12, 12, 32000, 1024, true},
    {"tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, false},
};

Shape parse_shape(const std::string& s) {
    for (const Shape& shape : kShapes)
        if (s == shape.name) return shape;
    Shape c{"custom", 0, 0, 0, 0, 0, 0, 0, false};
    const std::vector<std::string> fields = files::split(s, ',');
    int* values[] = {&c.dim, &c.hidden, &c.layers, &c.heads, &c.kv_heads, &c.vocab, &c.ctx};
    bool numbers = fields.size() == 7;
    for (size_t i = 0; numbers && i < 7; ++i) {
        const char *first = fields[i].data(), *last = first + fields[i].size();
        numbers = std::from_chars(first, last, *values[i]).ptr == last && last != first;
    }
    if (!numbers)
        fail("--shape: '", s, "' is neither a preset (stories260K, stories15M, stories42M, stories110M, "
             "tinyllama-1.1b) nor dim,hidden,layers,heads,kv_heads,vocab,ctx");
    if (c.dim <= 0 || c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 || c.kv_heads <= 0 || c.vocab <= 0 || c.ctx <= 0 ||
        c.dim % c.heads || c.heads % c.kv_heads || (c.dim / c.heads) % 2)
        fail("--shape: '", s, "' is not a valid Llama shape");
    return c;
}

// llama.cpp's Q4_K_M recipe: q6_K for the classifier (the embedding when tied) and for
// attn_v/ffn_down in the first and last eighth of the layers and every third layer between;
// q4_K elsewhere.
DType q4_k_m_type(const std::string& name, int layer, int n_layers, bool tied) {
    if (name == "output.weight" || (tied && name == "token_embd.weight")) return DType::Q6_K;
    const bool more_bits = layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
    if (more_bits && (name.find("attn_v") != std::string::npos || name.find("ffn_down") != std::string::npos))
        return DType::Q6_K;
    return DType::Q4_K;
}

// Gaussian noise from splitmix64 + Box-Muller: fast and reproducible from the seed.
struct Normal {
    uint64_t state;
    float next() {
        auto u = [this] {
            uint64_t z = (state += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            return ((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
        };
        const double r = std::sqrt(-2.0 * std::log(u() + 1e-300)), t = 6.283185307179586 * u();
        return static_cast<float>(r * std::cos(t));
    }
};

// A placeholder SentencePiece vocabulary of n tokens, so that llama.cpp (which needs a
// vocabulary to size the classifier) and lm run load the file: <unk>, <s>, </s>, the 256 byte
// tokens when there is room, then pieces named for their id. Text through it is noise, as
// the weights are.
void set_placeholder_vocabulary(Metadata& m, int n) {
    std::vector<std::string> tokens;
    std::vector<double> scores;
    std::vector<int64_t> types;  // llama.cpp's token types: 1 normal, 2 unknown, 3 control, 6 byte
    auto add = [&](std::string piece, int64_t type) {
        scores.push_back(tokens.empty() ? 0.0 : -static_cast<double>(tokens.size()));
        tokens.push_back(std::move(piece));
        types.push_back(type);
    };
    add("<unk>", 2);
    add("<s>", 3);
    add("</s>", 3);
    for (int b = 0; b < 256 && n >= 3 + 256; ++b) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", b);
        add(piece, 6);
    }
    while (static_cast<int>(tokens.size()) < n) add("\xE2\x96\x81t" + std::to_string(tokens.size()), 1);
    tokens.resize(static_cast<size_t>(n)), scores.resize(tokens.size()), types.resize(tokens.size());
    m.set("tokenizer.ggml.model", Value::of_string("llama"));
    m.set("tokenizer.ggml.tokens", Value::of_strings(std::move(tokens)));
    m.set("tokenizer.ggml.scores", Value::of_floats(ValueType::F32, std::move(scores)));
    m.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, std::move(types)));
    m.set("tokenizer.ggml.unknown_token_id", Value::of_int(ValueType::U32, 0));
    if (n > 2) {
        m.set("tokenizer.ggml.bos_token_id", Value::of_int(ValueType::U32, 1));
        m.set("tokenizer.ggml.eos_token_id", Value::of_int(ValueType::U32, 2));
    }
}

}  // namespace

const char* const kInitHelp =
    "usage: lm init [--shape S] [--type T] [--seed N] OUT.gguf\n"
    "Writes a Llama GGUF of a real shape with random weights and a placeholder vocabulary (so\n"
    "llama.cpp loads it too), for benchmarks.\n"
    "  --shape S              a preset: stories260K, stories15M (default), stories42M, stories110M,\n"
    "                         tinyllama-1.1b; or dim,hidden,layers,heads,kv_heads,vocab,ctx\n"
    "  --type T               f32 (default), f16, bf16, q8_0, q4_0, q4_1, q5_0, q4_K, q6_K, or\n"
    "                         q4_K_M (llama.cpp's mix)\n"
    "  --seed N               of the weights (1)\n"
    "example:\n"
    "  lm init --shape stories110M --type q4_0 s110.gguf\n";

int cmd_init(Args& args) {
    const std::string shape_name = args.text({"--shape"}, "stories15M");
    const std::string type_name = args.text({"--type"}, "f32");
    const uint64_t seed = static_cast<uint64_t>(args.integer({"--seed"}, 1, 0, INT64_MAX));
    const auto pos = args.positional(1, 1, "lm init --shape NAME|dim,hidden,layers,heads,kv_heads,vocab,ctx --type T OUT.gguf");
    const Shape s = parse_shape(shape_name);
    const bool q4_k_m = strcasecmp(type_name.c_str(), "q4_k_m") == 0;
    DType type = DType::Q4_K;
    if (!q4_k_m && (!parse_dtype(type_name.c_str(), &type) || !can_quantize(type) || type == DType::Q8_1 || type == DType::Q8_K))
        fail("--type: '", type_name, "' is not one of f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q4_K, q6_K, q4_K_M");

    Metadata m;
    set_hyperparameters(m, {.arch = "llama", .context = s.ctx, .dim = s.dim, .hidden = s.hidden, .layers = s.layers,
                            .heads = s.heads, .kv_heads = s.kv_heads, .norm_eps = 1e-5,
                            .rope_dimensions = s.dim / s.heads});
    m.set("general.name", Value::of_string(std::string("random ") + s.name));
    set_placeholder_vocabulary(m, s.vocab);

    struct Spec {
        std::string name;
        int64_t cols, rows;
        int layer;
    };
    std::vector<Spec> specs = {{"token_embd.weight", s.dim, s.vocab, -1}, {"output_norm.weight", s.dim, 1, -1}};
    if (!s.tied) specs.push_back({"output.weight", s.dim, s.vocab, -1});
    const int64_t kv_dim = static_cast<int64_t>(s.dim) / s.heads * s.kv_heads;
    for (int l = 0; l < s.layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        for (const Spec& t : std::vector<Spec>{{"attn_norm.weight", s.dim, 1, l}, {"attn_q.weight", s.dim, s.dim, l},
                                               {"attn_k.weight", s.dim, kv_dim, l}, {"attn_v.weight", s.dim, kv_dim, l},
                                               {"attn_output.weight", s.dim, s.dim, l}, {"ffn_norm.weight", s.dim, 1, l},
                                               {"ffn_gate.weight", s.dim, s.hidden, l}, {"ffn_up.weight", s.dim, s.hidden, l},
                                               {"ffn_down.weight", s.hidden, s.dim, l}})
            specs.push_back({p + t.name, t.cols, t.rows, l});
    }

    std::vector<Tensor> tensors;
    std::vector<std::vector<uint8_t>> storage(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
        const Spec& sp = specs[i];
        const bool norm = sp.rows == 1;
        DType t = norm ? DType::F32 : q4_k_m ? q4_k_m_type(sp.name, sp.layer, s.layers, s.tied) : type;
        if (sp.cols % info(t).block_size) t = DType::F16;  // rows too short for the block (stories260K's 172)
        Tensor out;
        out.name = sp.name;
        out.type = t;
        out.n_dims = norm ? 1 : 2;
        out.ne[0] = sp.cols;
        out.ne[1] = sp.rows;
        out.nbytes = row_bytes(t, sp.cols) * sp.rows;
        storage[i].resize(out.nbytes);
        const size_t rb = row_bytes(t, sp.cols);
#pragma omp parallel
        {
            std::vector<float> row(sp.cols);
#pragma omp for schedule(static)
            for (int64_t r = 0; r < sp.rows; ++r) {
                Normal rng{seed * 0x100000001B3ull + i * 0x9E3779B1ull + static_cast<uint64_t>(r) * 0x85EBCA6Bull};
                for (int64_t c = 0; c < sp.cols; ++c) row[c] = norm ? 1.0f : 0.02f * rng.next();
                quantize_row(t, row.data(), storage[i].data() + r * rb, sp.cols);
            }
        }
        out.data = storage[i].data();
        tensors.push_back(out);
    }
    write_gguf(pos[0], m, tensors);
    size_t bytes = 0;
    for (const Tensor& t : tensors) bytes += t.nbytes;
    std::fprintf(stderr, "lm: wrote %s: %s shape, %s, %.1f MiB of weights\n", pos[0].c_str(), s.name, type_name.c_str(),
                 bytes / 1048576.0);
    return 0;
}

}  // namespace lm
