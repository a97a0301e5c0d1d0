#include "weights/llama2c.h"

#include <cstring>

#include "weights/error.h"
#include "weights/limits.h"

namespace lm {

namespace {

struct Header {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

void validate(const Header& h, const std::string& path) {
    auto check = [&](int64_t v, const char* name, int64_t max) {
        if (v <= 0 || v > max) fail(path, ": not a GGUF file or a valid llama2.c checkpoint (header ", name, " = ", v,
                                           " is out of range 1..", max, ")");
    };
    check(h.dim, "dim", limits::kMaxEmbedding);
    check(h.hidden_dim, "hidden_dim", limits::kMaxFeedForward);
    check(h.n_layers, "n_layers", limits::kMaxLayers);
    check(h.n_heads, "n_heads", limits::kMaxHeads);
    check(h.n_kv_heads, "n_kv_heads", limits::kMaxHeads);
    check(std::abs(int64_t{h.vocab_size}), "vocab_size", limits::kMaxVocab);  // int64: |INT32_MIN| fits
    check(h.seq_len, "seq_len", limits::kMaxContext);
    if (h.dim % h.n_heads || h.n_heads % h.n_kv_heads || (h.dim / h.n_heads) % 2)
        fail(path, ": llama2.c header: dim ", h.dim, ", n_heads ", h.n_heads, ", n_kv_heads ", h.n_kv_heads,
             " do not divide evenly");
}

// Hands out consecutive fp32 tensors from the weight area, checking each against the file end.
struct Slicer {
    ModelFile& file;
    size_t pos;

    const float* take(uint64_t count, const char* what) {
        uint64_t bytes = checked_mul(count, 4, what);
        if (bytes > file.mapping->size() - pos)
            fail(file.path, ": truncated llama2.c checkpoint: ", what, " runs past the end of the file");
        const float* p = reinterpret_cast<const float*>(file.mapping->data() + pos);
        pos += bytes;
        return p;
    }
    void add(const std::string& name, const float* data, int64_t ne0, int64_t ne1) {
        Tensor t;
        t.name = name;
        t.type = DType::F32;
        t.n_dims = ne1 > 1 ? 2 : 1;
        t.ne[0] = ne0;
        t.ne[1] = ne1;
        t.data = data;
        t.nbytes = static_cast<size_t>(ne0 * ne1) * 4;
        file.tensors.push_back(std::move(t));
    }
    // Per-layer weights stored back to back for all layers: one view per layer.
    void layers(const char* suffix, int n_layers, int64_t ne0, int64_t ne1) {
        const float* p = take(checked_mul(checked_mul(n_layers, ne0, suffix), ne1, suffix), suffix);
        for (int l = 0; l < n_layers; ++l) add("blk." + std::to_string(l) + "." + suffix, p + l * ne0 * ne1, ne0, ne1);
    }
};

void describe(Metadata& m, const Header& h) {
    set_hyperparameters(m, {.arch = "llama", .context = h.seq_len, .dim = h.dim, .hidden = h.hidden_dim,
                            .layers = h.n_layers, .heads = h.n_heads, .kv_heads = h.n_kv_heads,
                            .vocab = std::abs(h.vocab_size), .norm_eps = 1e-5, .rope_base = 10000.0,
                            .rope_dimensions = h.dim / h.n_heads});
    m.set("general.name", Value::of_string("llama2.c checkpoint"));
}

}  // namespace

ModelFile read_llama2c(std::shared_ptr<const MappedFile> mapping) {
    ModelFile file;
    file.path = mapping->path();
    file.format = "llama2c";
    file.meta.source = file.path;
    file.mapping = mapping;
    const uint8_t* data = mapping->data();
    const size_t size = mapping->size();

    Header h;
    bool v1 = size >= 4 && std::memcmp(data, &kLlama2cMagic, 4) == 0;
    bool shared_classifier;
    size_t weights_at;
    if (v1) {
        if (size < 256) fail(file.path, ": truncated llama2.c header");
        int32_t version;
        std::memcpy(&version, data + 4, 4);
        if (version != 1) fail(file.path, ": unsupported llama2.c export version ", version, " (1 is supported)");
        std::memcpy(&h, data + 8, sizeof h);
        shared_classifier = data[8 + sizeof h] != 0;
        weights_at = 256;
    } else {
        if (size < sizeof h) fail(file.path, ": truncated llama2.c header");
        std::memcpy(&h, data, sizeof h);
        shared_classifier = h.vocab_size > 0;
        weights_at = sizeof h;
    }
    validate(h, file.path);
    const int L = h.n_layers;
    const int64_t dim = h.dim, hidden = h.hidden_dim, vocab = std::abs(h.vocab_size);
    const int64_t kv_dim = dim / h.n_heads * h.n_kv_heads;
    describe(file.meta, h);

    Slicer s{file, weights_at};
    if (v1) {  // export.py version1_export order: norms first, then matrices by kind
        s.layers("attn_norm.weight", L, dim, 1);
        s.layers("ffn_norm.weight", L, dim, 1);
        s.add("output_norm.weight", s.take(dim, "output_norm"), dim, 1);
        s.add("token_embd.weight", s.take(vocab * dim, "token_embd"), dim, vocab);
        s.layers("attn_q.weight", L, dim, dim);
        s.layers("attn_k.weight", L, dim, kv_dim);
        s.layers("attn_v.weight", L, dim, kv_dim);
        s.layers("attn_output.weight", L, dim, dim);
        s.layers("ffn_gate.weight", L, dim, hidden);
        s.layers("ffn_down.weight", L, hidden, dim);
        s.layers("ffn_up.weight", L, dim, hidden);
    } else {  // run.c memory_map_weights order
        s.add("token_embd.weight", s.take(vocab * dim, "token_embd"), dim, vocab);
        s.layers("attn_norm.weight", L, dim, 1);
        s.layers("attn_q.weight", L, dim, dim);
        s.layers("attn_k.weight", L, dim, kv_dim);
        s.layers("attn_v.weight", L, dim, kv_dim);
        s.layers("attn_output.weight", L, dim, dim);
        s.layers("ffn_norm.weight", L, dim, 1);
        s.layers("ffn_gate.weight", L, dim, hidden);
        s.layers("ffn_down.weight", L, hidden, dim);
        s.layers("ffn_up.weight", L, dim, hidden);
        s.add("output_norm.weight", s.take(dim, "output_norm"), dim, 1);
        s.take(checked_mul(h.seq_len, dim / h.n_heads, "rope tables"), "rope tables");  // legacy freq_cis, unused
    }
    if (!shared_classifier) s.add("output.weight", s.take(vocab * dim, "output"), dim, vocab);
    return file;
}

}  // namespace lm
