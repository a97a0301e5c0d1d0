#include "src/models/config.h"

#include "weights/error.h"
#include "weights/limits.h"

namespace lm {

namespace {
int positive(const ModelFile& f, const std::string& key, int64_t v, int64_t max) {
    if (v <= 0 || v > max) fail(f.path, ": metadata ", key, " = ", v, " is out of range (1..", max, ")");
    return static_cast<int>(v);
}
}  // namespace

const Tensor* checked_tensor(const ModelFile& file, const std::string& name, int64_t ne0, int64_t ne1) {
    const Tensor& t = file.get(name);
    if (t.ne[0] != ne0 || t.rows() != ne1)
        fail(file.path, ": tensor ", name, " has shape ", shape_string(t), ", expected [", ne0, ", ", ne1, "]");
    if (!info(t.type).supported) fail(file.path, ": tensor ", name, " has type ", dtype_name(t.type), ", which lm cannot compute with");
    if (ne1 == 1 && t.type != DType::F32) fail(file.path, ": vector tensor ", name, " must be f32, not ", dtype_name(t.type));
    return &t;
}

Config read_config(const ModelFile& file) {
    const Metadata& m = file.meta;
    Config c;
    c.arch = m.get_string("general.architecture");
    const std::string a = c.arch + ".";
    auto get = [&](const std::string& key, int64_t max) { return positive(file, a + key, m.get_int(a + key), max); };
    c.dim = get("embedding_length", limits::kMaxEmbedding);
    c.hidden_dim = get("feed_forward_length", limits::kMaxFeedForward);
    c.n_layers = get("block_count", limits::kMaxLayers);
    c.n_heads = get("attention.head_count", limits::kMaxHeads);
    c.n_kv_heads = positive(file, a + "attention.head_count_kv", m.get_int(a + "attention.head_count_kv", c.n_heads),
                            limits::kMaxHeads);
    c.context_length = get("context_length", limits::kMaxContext);
    if (c.dim % c.n_heads || c.n_heads % c.n_kv_heads)
        fail(file.path, ": embedding_length ", c.dim, ", head_count ", c.n_heads, " and head_count_kv ", c.n_kv_heads,
             " do not divide evenly");
    c.head_dim = c.dim / c.n_heads;
    if (m.has(a + "attention.key_length")) {  // heads need not split the embedding (Gemma 2)
        const int key_length = positive(file, a + "attention.key_length", m.get_int(a + "attention.key_length"),
                                        limits::kMaxEmbedding);
        if (key_length != c.head_dim && c.arch != "gemma2")
            fail(file.path, ": ", a, "attention.key_length ", key_length, " is not embedding_length / head_count ",
                 c.head_dim, " (only gemma2 may differ)");
        if (m.get_int(a + "attention.value_length", key_length) != key_length)
            fail(file.path, ": ", a, "attention.value_length differs from attention.key_length");
        c.head_dim = key_length;
    }
    const bool rope = c.arch == "llama" || c.arch == "qwen2" || c.arch == "phi3" || c.arch == "gemma2";
    if (rope && c.head_dim % 2) fail(file.path, ": head dimension ", c.head_dim, " is odd; RoPE needs pairs");
    if (rope && m.get_int(a + "rope.dimension_count", c.head_dim) != c.head_dim)
        fail(file.path, ": ", a, "rope.dimension_count ", m.get_int(a + "rope.dimension_count"),
             " is not the head dimension ", c.head_dim, " (lm rotates whole heads)");
    // llama.cpp's rope type per architecture: Qwen2 and Phi-3 rotate halves (NeoX), Llama adjacent pairs.
    c.rope_neox = c.arch == "qwen2" || c.arch == "phi3" || c.arch == "gemma2";
    // RMSNorm models state layer_norm_rms_epsilon, LayerNorm models (gpt2, bert) layer_norm_epsilon.
    const double eps = m.get_float(a + "attention.layer_norm_epsilon", 1e-5);
    c.norm_eps = static_cast<float>(m.get_float(a + "attention.layer_norm_rms_epsilon", eps));
    c.rope_freq_base = static_cast<float>(m.get_float(a + "rope.freq_base", 10000.0));
    if (!(c.norm_eps > 0 && c.norm_eps < 1)) fail(file.path, ": ", a, "attention.layer_norm_rms_epsilon is out of range");
    if (!(c.rope_freq_base > 1)) fail(file.path, ": ", a, "rope.freq_base is out of range");
    // Phi-3 attends to the last sliding_window positions only (llama.cpp and Hugging Face mask
    // the rest); lm does not mask, so its context stops there, where both agree.
    if (c.arch == "phi3" || c.arch == "gemma2") {  // Gemma 2: every other layer
        const int64_t window = m.get_int(a + "attention.sliding_window", 0);
        if (window > 0 && window < c.context_length) c.context_length = static_cast<int>(window);
    }
    auto softcap = [&](const char* key) {
        const double cap = m.get_float(a + key, 0.0);
        if (!(cap >= 0 && cap < 1e6)) fail(file.path, ": ", a, key, " is out of range");
        return static_cast<float>(cap);
    };
    c.attn_softcap = softcap("attn_logit_softcapping");
    c.final_softcap = softcap("final_logit_softcapping");
    // Llama 3's scaling travels as the rope_freqs.weight tensor (type none); linear divides positions.
    const std::string scaling = m.get_string(a + "rope.scaling.type", "none");
    if (scaling == "linear") {
        const double factor = m.get_float(a + "rope.scaling.factor", 1.0);
        if (!(factor >= 1 && factor <= 1024)) fail(file.path, ": ", a, "rope.scaling.factor is out of range");
        c.rope_freq_scale = static_cast<float>(1 / factor);
    } else if (scaling != "none") {
        fail(file.path, ": rope scaling type '", scaling, "' (", a,
             "rope.scaling.type) is not supported; lm supports none, linear and llama3 (rope_freqs.weight)");
    }

    // The vocabulary size is the embedding's row count; metadata may state it too.
    const Tensor* embd = file.find("token_embd.weight");
    if (!embd) fail(file.path, ": missing tensor token_embd.weight");
    c.vocab_size = positive(file, "token_embd rows", embd->ne[1], limits::kMaxVocab);
    if (m.has(a + "vocab_size") && m.get_int(a + "vocab_size") != c.vocab_size)
        fail(file.path, ": ", a, "vocab_size ", m.get_int(a + "vocab_size"), " does not match token_embd.weight (",
             c.vocab_size, " rows)");
    return c;
}

}  // namespace lm
