#include "weights/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "weights/error.h"
#include "weights/files.h"
#include "weights/json.h"
#include "weights/limits.h"

namespace lm {

namespace {



// Every dtype the safetensors format defines, with its element size.
struct SafetensorsType {
    const char* name;
    size_t size;
};
constexpr SafetensorsType kTypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
    {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

const SafetensorsType* find_type(const std::string& name) {
    for (const SafetensorsType& t : kTypes)
        if (name == t.name) return &t;
    return nullptr;
}

bool float_type(const std::string& dtype, DType* out) {
    if (dtype == "F32") *out = DType::F32;
    else if (dtype == "F16") *out = DType::F16;
    else if (dtype == "BF16") *out = DType::BF16;
    else return false;
    return true;
}

uint64_t read_offset(const Json& j, const std::string& path, const std::string& name) {
    if (!j.is_number() || !j.integral || j.integer < 0)
        fail(path, ": tensor ", name, ": data_offsets must be two non-negative integers");
    return static_cast<uint64_t>(j.integer);
}

SafetensorsEntry read_entry(const std::string& path, const std::string& name, const Json& j,
                            const uint8_t* data, uint64_t data_size) {
    if (!j.is_object()) fail(path, ": tensor ", name, " is not an object");
    const Json* dtype = j.find("dtype");
    const Json* shape = j.find("shape");
    const Json* offsets = j.find("data_offsets");
    if (!dtype || !dtype->is_string()) fail(path, ": tensor ", name, " has no dtype string");
    if (!shape || !shape->is_array()) fail(path, ": tensor ", name, " has no shape array");
    if (!offsets || !offsets->is_array() || offsets->items.size() != 2)
        fail(path, ": tensor ", name, ": data_offsets must be two non-negative integers");
    const SafetensorsType* type = find_type(dtype->str);
    if (!type) fail(path, ": tensor ", name, " has unknown dtype '", dtype->str, "'");
    SafetensorsEntry e;
    e.name = name;
    e.dtype = dtype->str;
    uint64_t count = 1;
    for (const Json& d : shape->items) {
        if (!d.is_number() || !d.integral || d.integer < 0)
            fail(path, ": tensor ", name, ": shape entries must be non-negative integers");
        if (d.integer > (1ll << 40)) fail(path, ": tensor ", name, " has invalid dimension ", d.integer);
        e.shape.push_back(d.integer);
        count = checked_mul(count, static_cast<uint64_t>(d.integer), "tensor element count");
    }
    const uint64_t begin = read_offset(offsets->items[0], path, name);
    const uint64_t end = read_offset(offsets->items[1], path, name);
    const uint64_t expected = checked_mul(count, type->size, "tensor byte size");
    if (end < begin || end > data_size)
        fail(path, ": tensor ", name, ": data_offsets [", begin, ", ", end, "] run past the end of the data (",
             data_size, " bytes)");
    if (end - begin != expected)
        fail(path, ": tensor ", name, ": data_offsets give ", end - begin, " bytes but dtype ", e.dtype, " and shape need ",
             expected);
    e.data = data + begin;
    e.nbytes = static_cast<size_t>(expected);
    return e;
}

// A float tensor as a ggml-order view (the HF shape reversed). Data that is not aligned
// to its element size is copied so kernels may load it directly.
Tensor to_tensor(ModelFile& file, const SafetensorsEntry& e, const std::string& name) {
    Tensor t;
    t.name = name;
    if (!float_type(e.dtype, &t.type))
        fail(file.path, ": tensor ", e.name, " has dtype ", e.dtype, "; lm reads F32, F16 and BF16");
    if (e.shape.size() > 4) fail(file.path, ": tensor ", e.name, " has ", e.shape.size(), " dimensions (at most 4)");
    t.n_dims = std::max<int>(1, static_cast<int>(e.shape.size()));
    for (size_t d = 0; d < e.shape.size(); ++d) t.ne[d] = e.shape[e.shape.size() - 1 - d];
    t.nbytes = e.nbytes;
    t.data = e.data;
    if (t.n_dims == 1 && t.type != DType::F32) {  // vectors (norms, biases) in f32, as llama.cpp stores them
        std::vector<uint8_t> out(t.ne[0] * 4);
        for (int64_t i = 0; i < t.ne[0]; ++i) {
            uint16_t h;
            std::memcpy(&h, e.data + 2 * i, 2);
            const float f = t.type == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
            std::memcpy(&out[4 * i], &f, 4);
        }
        file.owned.push_back(std::move(out));
        t.type = DType::F32;
        t.nbytes = file.owned.back().size();
        t.data = file.owned.back().data();
    } else if (reinterpret_cast<uintptr_t>(e.data) % info(t.type).block_bytes) {
        file.owned.emplace_back(e.data, e.data + e.nbytes);
        t.data = file.owned.back().data();
    }
    return t;
}

}  // namespace

std::vector<SafetensorsEntry> parse_safetensors(const MappedFile& file) {
    const std::string& path = file.path();
    if (file.size() < 8) fail(path, ": truncated safetensors file: no header length");
    uint64_t header_size;
    std::memcpy(&header_size, file.data(), 8);
    if (header_size > limits::kMaxSafetensorsHeader) fail(path, ": safetensors header length ", header_size, " exceeds the limit");
    if (header_size > file.size() - 8)
        fail(path, ": truncated safetensors file: header of ", header_size, " bytes runs past the end");
    const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8, header_size);
    const Json header = parse_json(text, path);
    if (!header.is_object()) fail(path, ": safetensors header is not a JSON object");
    const uint8_t* data = file.data() + 8 + header_size;
    const uint64_t data_size = file.size() - 8 - header_size;
    std::vector<SafetensorsEntry> entries;
    for (const auto& [name, value] : header.members)
        if (name != "__metadata__") entries.push_back(read_entry(path, name, value, data, data_size));
    // Tensors may not share bytes: sort by start and compare neighbours.
    std::vector<const SafetensorsEntry*> order;
    for (const SafetensorsEntry& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->data < b->data; });
    for (size_t i = 1; i < order.size(); ++i)
        if (order[i - 1]->data + order[i - 1]->nbytes > order[i]->data)
            fail(path, ": tensors ", order[i - 1]->name, " and ", order[i]->name, " overlap");
    return entries;
}

ModelFile read_safetensors(std::shared_ptr<const MappedFile> mapping) {
    ModelFile file;
    file.path = mapping->path();
    file.format = "safetensors";
    file.meta.source = file.path;
    file.mapping = mapping;
    for (const SafetensorsEntry& e : parse_safetensors(*mapping)) file.tensors.push_back(to_tensor(file, e, e.name));
    return file;
}

// ---------------------------------------------------------------------------------------
// Hugging Face directories: config.json -> ARCH.* keys, HF tensor names -> llama.cpp's.

namespace {

// plus_one: Gemma's norms scale by 1 + w; llama.cpp's converter stores 1 + w.
enum class Layout { as_is, transpose, permute_q, permute_k, plus_one };

struct NameRule {
    const char* hf;    // HF name without prefix, layer number or .weight/.bias
    const char* gguf;  // llama.cpp's name without blk.N. or .weight/.bias
    Layout layout;     // applied to weights only, never to biases
};

struct ArchNames {
    const char* arch;
    const char* prefix;        // stripped when present ("transformer.", "bert.", "model.")
    const char* layer_prefix;  // "h." -> blk.N.
    std::vector<NameRule> globals, layer;
};

const ArchNames kGpt2 = {
    "gpt2", "transformer.", "h.",
    {{"wte", "token_embd", Layout::as_is}, {"wpe", "position_embd", Layout::as_is},
     {"ln_f", "output_norm", Layout::as_is}, {"lm_head", "output", Layout::as_is}},
    // GPT-2's Conv1D stores [in, out]; llama.cpp's converter transposes to [out, in].
    {{"ln_1", "attn_norm", Layout::as_is}, {"attn.c_attn", "attn_qkv", Layout::transpose},
     {"attn.c_proj", "attn_output", Layout::transpose}, {"ln_2", "ffn_norm", Layout::as_is},
     {"mlp.c_fc", "ffn_up", Layout::transpose}, {"mlp.c_proj", "ffn_down", Layout::transpose}},
};

const ArchNames kBert = {
    "bert", "bert.", "encoder.layer.",
    {{"embeddings.word_embeddings", "token_embd", Layout::as_is},
     {"embeddings.token_type_embeddings", "token_types", Layout::as_is},
     {"embeddings.position_embeddings", "position_embd", Layout::as_is},
     {"embeddings.LayerNorm", "token_embd_norm", Layout::as_is},
     {"pooler.dense", "cls", Layout::as_is},  // llama.cpp: pooler dense + tanh is "cls"
     {"classifier", "cls.output", Layout::as_is},
     {"qa_outputs", "qa", Layout::as_is}},  // span head; llama.cpp has no name for it
    {{"attention.self.query", "attn_q", Layout::as_is}, {"attention.self.key", "attn_k", Layout::as_is},
     {"attention.self.value", "attn_v", Layout::as_is}, {"attention.output.dense", "attn_output", Layout::as_is},
     {"attention.output.LayerNorm", "attn_output_norm", Layout::as_is}, {"intermediate.dense", "ffn_up", Layout::as_is},
     {"output.dense", "ffn_down", Layout::as_is}, {"output.LayerNorm", "layer_output_norm", Layout::as_is}},
};

const ArchNames kLlama = {
    "llama", "model.", "layers.",
    {{"embed_tokens", "token_embd", Layout::as_is}, {"norm", "output_norm", Layout::as_is},
     {"lm_head", "output", Layout::as_is}},
    // HF rotates halves; llama.cpp's llama rotates adjacent pairs, so q/k rows are permuted.
    {{"self_attn.q_proj", "attn_q", Layout::permute_q}, {"self_attn.k_proj", "attn_k", Layout::permute_k},
     {"self_attn.v_proj", "attn_v", Layout::as_is}, {"self_attn.o_proj", "attn_output", Layout::as_is},
     {"input_layernorm", "attn_norm", Layout::as_is}, {"post_attention_layernorm", "ffn_norm", Layout::as_is},
     {"mlp.gate_proj", "ffn_gate", Layout::as_is}, {"mlp.up_proj", "ffn_up", Layout::as_is},
     {"mlp.down_proj", "ffn_down", Layout::as_is}},
};

// Qwen2 rotates halves as HF does (NeoX RoPE in llama.cpp), so q/k stay as they are; the
// q/k/v biases map by the same names (.bias).
const ArchNames kQwen2 = {
    "qwen2", "model.", "layers.",
    {{"embed_tokens", "token_embd", Layout::as_is}, {"norm", "output_norm", Layout::as_is},
     {"lm_head", "output", Layout::as_is}},
    {{"self_attn.q_proj", "attn_q", Layout::as_is}, {"self_attn.k_proj", "attn_k", Layout::as_is},
     {"self_attn.v_proj", "attn_v", Layout::as_is}, {"self_attn.o_proj", "attn_output", Layout::as_is},
     {"input_layernorm", "attn_norm", Layout::as_is}, {"post_attention_layernorm", "ffn_norm", Layout::as_is},
     {"mlp.gate_proj", "ffn_gate", Layout::as_is}, {"mlp.up_proj", "ffn_up", Layout::as_is},
     {"mlp.down_proj", "ffn_down", Layout::as_is}},
};

// Phi-3 keeps its fused matrices (rotate-half RoPE, NeoX in llama.cpp, so nothing permuted).
const ArchNames kPhi3 = {
    "phi3", "model.", "layers.",
    {{"embed_tokens", "token_embd", Layout::as_is}, {"norm", "output_norm", Layout::as_is},
     {"lm_head", "output", Layout::as_is}},
    {{"self_attn.qkv_proj", "attn_qkv", Layout::as_is}, {"self_attn.o_proj", "attn_output", Layout::as_is},
     {"input_layernorm", "attn_norm", Layout::as_is}, {"post_attention_layernorm", "ffn_norm", Layout::as_is},
     {"mlp.gate_up_proj", "ffn_up", Layout::as_is}, {"mlp.down_proj", "ffn_down", Layout::as_is}},
};

// Gemma 2: NeoX RoPE (nothing permuted), norms stored as 1 + w, the classifier tied.
const ArchNames kGemma2 = {
    "gemma2", "model.", "layers.",
    {{"embed_tokens", "token_embd", Layout::as_is}, {"norm", "output_norm", Layout::plus_one}},
    {{"self_attn.q_proj", "attn_q", Layout::as_is}, {"self_attn.k_proj", "attn_k", Layout::as_is},
     {"self_attn.v_proj", "attn_v", Layout::as_is}, {"self_attn.o_proj", "attn_output", Layout::as_is},
     {"input_layernorm", "attn_norm", Layout::plus_one},
     {"post_attention_layernorm", "post_attention_norm", Layout::plus_one},
     {"pre_feedforward_layernorm", "ffn_norm", Layout::plus_one},
     {"post_feedforward_layernorm", "post_ffw_norm", Layout::plus_one}, {"mlp.gate_proj", "ffn_gate", Layout::as_is},
     {"mlp.up_proj", "ffn_up", Layout::as_is}, {"mlp.down_proj", "ffn_down", Layout::as_is}},
};

// The GGUF name and layout of an HF tensor; false for tensors lm does not use (causal mask
// buffers, position_ids, pre-training heads).
bool map_name(const ArchNames& a, std::string name, std::string* out, Layout* layout) {
    if (name.rfind(a.prefix, 0) == 0) name = name.substr(std::strlen(a.prefix));
    std::string suffix;
    for (const char* s : {".weight", ".bias", ".gamma", ".beta"}) {
        if (name.size() > std::strlen(s) && name.ends_with(s)) {
            suffix = s;
            break;
        }
    }
    if (suffix.empty()) return false;
    name.erase(name.size() - suffix.size());
    const bool bias = suffix == ".bias" || suffix == ".beta";
    const std::string tail = bias ? ".bias" : ".weight";
    std::string block;
    const std::vector<NameRule>* rules = &a.globals;
    const size_t lp = std::strlen(a.layer_prefix);
    if (name.rfind(a.layer_prefix, 0) == 0) {
        size_t i = lp;
        while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
        if (i == lp || i - lp > 6 || i >= name.size() || name[i] != '.') return false;
        block = "blk." + name.substr(lp, i - lp) + ".";
        name = name.substr(i + 1);
        rules = &a.layer;
    }
    for (const NameRule& r : *rules) {
        if (name == r.hf) {
            *out = block + r.gguf + tail;
            *layout = bias ? Layout::as_is : r.layout;
            return true;
        }
    }
    return false;
}

// Reorders a 2-D tensor's bytes into an owned buffer: transposed, or q/k rows permuted.
Tensor relayout(ModelFile& file, Tensor t, Layout layout, int n_heads) {
    if (layout == Layout::as_is) return t;
    if (layout == Layout::plus_one) {
        if (t.n_dims != 1 || t.type != DType::F32) fail(file.path, ": tensor ", t.name, " should be an f32 vector");
        std::vector<uint8_t> out(t.nbytes);
        for (int64_t i = 0; i < t.ne[0]; ++i) {
            float f;
            std::memcpy(&f, static_cast<const uint8_t*>(t.data) + 4 * i, 4);
            f += 1.0f;
            std::memcpy(&out[4 * i], &f, 4);
        }
        file.owned.push_back(std::move(out));
        t.data = file.owned.back().data();
        return t;
    }
    if (t.n_dims != 2) fail(file.path, ": tensor ", t.name, " should be a matrix, not ", shape_string(t));
    const size_t es = info(t.type).block_bytes;
    const int64_t cols = t.ne[0], rows = t.ne[1];
    const uint8_t* src = static_cast<const uint8_t*>(t.data);
    std::vector<uint8_t> out(t.nbytes);
    if (layout == Layout::transpose) {
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) std::memcpy(&out[(c * rows + r) * es], &src[(r * cols + c) * es], es);
        std::swap(t.ne[0], t.ne[1]);
    } else {
        if (n_heads <= 0 || rows % (2 * n_heads))
            fail(file.path, ": tensor ", t.name, " rows ", rows, " do not split into ", n_heads, " heads of pairs");
        const int64_t hd = rows / n_heads, half = hd / 2;
        for (int64_t h = 0; h < n_heads; ++h)
            for (int64_t j = 0; j < half; ++j)
                for (int s = 0; s < 2; ++s)
                    std::memcpy(&out[((h * hd + 2 * j + s) * cols) * es], &src[((h * hd + s * half + j) * cols) * es],
                                cols * es);
    }
    file.owned.push_back(std::move(out));
    t.data = file.owned.back().data();
    return t;
}

// config.json readers: a missing or mistyped key names the file and the key.
struct HfConfig {
    const Json& json;
    std::string path;

    const Json* find(const char* key) const {
        const Json* v = json.find(key);
        return v && !v->is_null() ? v : nullptr;
    }
    int64_t integer(const char* key) const {
        const Json* v = find(key);
        if (!v) fail(path, ": missing key \"", key, "\"");
        if (!v->is_number() || !v->integral || v->integer <= 0 || v->integer > (1ll << 31))
            fail(path, ": \"", key, "\" must be a positive integer");
        return v->integer;
    }
    int64_t integer(const char* key, int64_t fallback) const { return find(key) ? integer(key) : fallback; }
    int64_t first_integer(const char* key, const char* other) const {  // GPT-2 spells some keys two ways
        if (!find(key) && !find(other)) fail(path, ": missing key \"", key, "\"");
        return find(key) ? integer(key) : integer(other);
    }
    double number(const char* key, double fallback) const {
        const Json* v = find(key);
        if (!v) return fallback;
        if (!v->is_number()) fail(path, ": \"", key, "\" must be a number");
        return v->number;
    }
    std::string string(const char* key, const std::string& fallback) const {
        const Json* v = find(key);
        if (!v) return fallback;
        if (!v->is_string()) fail(path, ": \"", key, "\" must be a string");
        return v->str;
    }
};

Value u32(int64_t v) { return Value::of_int(ValueType::U32, v); }

void gpt2_config(const HfConfig& c, Metadata& m) {
    const std::string act = c.string("activation_function", "gelu_new");
    if (act != "gelu_new" && act != "gelu_pytorch_tanh" && act != "gelu_fast")
        fail(c.path, ": activation_function \"", act, "\" is not supported (GPT-2 uses gelu_new)");
    const int64_t dim = c.first_integer("n_embd", "hidden_size");
    set_hyperparameters(m, {.arch = "gpt2", .context = c.first_integer("n_positions", "n_ctx"), .dim = dim,
                            .hidden = c.integer("n_inner", 4 * dim),
                            .layers = c.first_integer("n_layer", "num_hidden_layers"),
                            .heads = c.first_integer("n_head", "num_attention_heads"),
                            .norm_eps = c.number("layer_norm_epsilon", 1e-5)});
}

// The directory's last name as std::filesystem's absolute(dir).lexically_normal().filename()
// gives it: empty for a path ending in '/', "." or "..".
std::string directory_name(const std::string& dir) {
    const std::string name = files::filename(dir);
    return name == "." || name == ".." ? "" : name;
}

// llama.cpp's pooling types (LLAMA_POOLING_TYPE_*): 1 mean, 2 cls. Sentence-transformers
// directories state theirs in 1_Pooling/config.json; plain BERT checkpoints pool by mean.
int64_t bert_pooling(const std::string& dir) {
    const std::string p = files::join(files::join(dir, "1_Pooling"), "config.json");
    if (!files::exists(p)) return 1;
    const Json j = read_json_file(p);
    const Json* cls = j.is_object() ? j.find("pooling_mode_cls_token") : nullptr;
    return cls && cls->is_bool() && cls->boolean ? 2 : 1;
}

void bert_config(const HfConfig& c, Metadata& m, const std::string& dir) {
    const std::string act = c.string("hidden_act", "gelu");
    if (act != "gelu") fail(c.path, ": hidden_act \"", act, "\" is not supported (BERT uses gelu)");
    const std::string positions = c.string("position_embedding_type", "absolute");
    if (positions != "absolute") fail(c.path, ": position_embedding_type \"", positions, "\" is not supported (absolute)");
    set_hyperparameters(m, {.arch = "bert", .context = c.integer("max_position_embeddings"),
                            .dim = c.integer("hidden_size"), .hidden = c.integer("intermediate_size"),
                            .layers = c.integer("num_hidden_layers"), .heads = c.integer("num_attention_heads"),
                            .norm_eps = c.number("layer_norm_eps", 1e-12)});
    m.set("bert.attention.causal", Value::of_bool(false));
    m.set("bert.pooling_type", u32(bert_pooling(dir)));
    // id2label {"0": "negative", "1": "positive"} -> labels in id order.
    if (const Json* labels = c.find("id2label"); labels && labels->is_object() && !labels->members.empty()) {
        std::vector<std::string> names(labels->members.size());
        for (const auto& [id, label] : labels->members) {
            char* end = nullptr;
            const long i = std::strtol(id.c_str(), &end, 10);
            if (id.empty() || *end || i < 0 || i >= static_cast<long>(names.size()) || !label.is_string())
                fail(c.path, ": id2label must map the ids 0..", names.size() - 1, " to strings");
            names[i] = label.str;
        }
        m.set("bert.classifier.output_labels", Value::of_strings(std::move(names)));
    }
}

void llama_config(const HfConfig& c, Metadata& m, const std::string& arch) {
    const int64_t dim = c.integer("hidden_size"), heads = c.integer("num_attention_heads");
    set_hyperparameters(m, {.arch = arch, .context = c.integer("max_position_embeddings"), .dim = dim,
                            .hidden = c.integer("intermediate_size"), .layers = c.integer("num_hidden_layers"),
                            .heads = heads, .kv_heads = c.integer("num_key_value_heads", heads),
                            .norm_eps = c.number("rms_norm_eps", 1e-6), .rope_base = c.number("rope_theta", 10000.0),
                            .rope_dimensions = dim / heads});
}

// config.json's rope_scaling: none, or Llama 3's, which llama.cpp's converter turns into a
// rope_freqs.weight tensor of per-pair divisors: 1 for short wavelengths, `factor` for long
// ones, and a blend between (Llama 3.1's published formula).
void rope_scaling(const HfConfig& c, ModelFile& file, int64_t head_dim, double base) {
    const Json* scaling = c.find("rope_scaling");
    if (!scaling) return;
    const HfConfig s{*scaling, c.path};
    if (!scaling->is_object()) fail(c.path, ": \"rope_scaling\" must be an object or null");
    const std::string type = s.string("rope_type", s.string("type", "default"));
    if (type == "default") return;
    if (type == "linear") {
        const std::string arch = file.meta.get_string("general.architecture");
        file.meta.set(arch + ".rope.scaling.type", Value::of_string("linear"));
        file.meta.set(arch + ".rope.scaling.factor", Value::of_float(ValueType::F32, s.number("factor", 1)));
        return;
    }
    if (type != "llama3")
        fail(c.path, ": rope scaling type '", type, "' is not supported (lm supports llama3 and linear)");
    const double factor = s.number("factor", 8), low = s.number("low_freq_factor", 1), high = s.number("high_freq_factor", 4);
    const double old_context = static_cast<double>(s.integer("original_max_position_embeddings", 8192));
    if (!(factor >= 1 && low > 0 && high > low)) fail(c.path, ": rope_scaling's factors are out of range");
    std::vector<uint8_t> bytes(static_cast<size_t>(head_dim / 2) * 4);
    for (int64_t i = 0; i < head_dim / 2; ++i) {
        const double wavelength = 2 * M_PI * std::pow(base, 2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
        double divisor = 1;
        if (wavelength > old_context / low) {
            divisor = factor;
        } else if (wavelength >= old_context / high) {
            const double smooth = (old_context / wavelength - low) / (high - low);
            divisor = 1 / ((1 - smooth) / factor + smooth);
        }
        const float f = static_cast<float>(divisor);
        std::memcpy(&bytes[4 * i], &f, 4);
    }
    file.owned.push_back(std::move(bytes));
    Tensor t;
    t.name = "rope_freqs.weight";
    t.n_dims = 1;
    t.ne[0] = head_dim / 2;
    t.data = file.owned.back().data();
    t.nbytes = file.owned.back().size();
    file.tensors.push_back(t);
}

}  // namespace

ModelFile read_hf_directory(const std::string& dir) {
    const std::string config_path = files::join(dir, "config.json");
    const std::string weights_path = files::join(dir, "model.safetensors");
    if (!files::exists(config_path)) fail(dir, ": a model directory needs config.json");
    if (!files::exists(weights_path)) {
        if (files::exists(files::join(dir, "model.safetensors.index.json")))
            fail(dir, ": sharded safetensors (model.safetensors.index.json) are not supported; merge the shards");
        fail(dir, ": a model directory needs model.safetensors");
    }
    const Json json = read_json_file(config_path);
    if (!json.is_object()) fail(config_path, ": expected a JSON object");
    const HfConfig config{json, config_path};
    const std::string type = config.string("model_type", "");
    const ArchNames* names = type == "gpt2"    ? &kGpt2
                             : type == "bert"  ? &kBert
                             : type == "llama" ? &kLlama
                             : type == "qwen2" ? &kQwen2
                             : type == "phi3"  ? &kPhi3
                             : type == "gemma2" ? &kGemma2
                                               : nullptr;
    if (!names)
        fail(config_path, ": model_type \"", type,
             "\" is not supported (lm reads gpt2, bert, llama, qwen2, phi3, gemma2)");

    ModelFile file;
    file.path = dir;
    file.format = "safetensors";
    file.meta.source = dir;
    file.mapping = std::make_shared<const MappedFile>(weights_path);
    Metadata& m = file.meta;
    m.set("general.architecture", Value::of_string(names->arch));
    m.set("general.name", Value::of_string(directory_name(dir)));
    if (type == "gpt2") gpt2_config(config, m);
    else if (type == "bert") bert_config(config, m, dir);
    else llama_config(config, m, names->arch);
    if ((type == "phi3" || type == "gemma2") && config.find("sliding_window"))  // llama.cpp requires it
        m.set(type + ".attention.sliding_window", u32(config.integer("sliding_window")));
    if (type == "gemma2") {
        const int64_t head_dim = config.integer("head_dim");
        m.set("gemma2.attention.key_length", u32(head_dim));
        m.set("gemma2.attention.value_length", u32(head_dim));
        m.set("gemma2.rope.dimension_count", u32(head_dim));
        for (const char* key : {"attn_logit_softcapping", "final_logit_softcapping"})
            if (config.find(key)) m.set(std::string("gemma2.") + key, Value::of_float(ValueType::F32, config.number(key, 0)));
        const std::string act = config.string("hidden_activation", "gelu_pytorch_tanh");
        if (act != "gelu_pytorch_tanh") fail(config_path, ": hidden_activation \"", act, "\" is not supported (gelu_pytorch_tanh)");
    }

    const int64_t heads = m.get_int(std::string(names->arch) + ".attention.head_count");
    const int64_t kv_heads = m.get_int(std::string(names->arch) + ".attention.head_count_kv", heads);
    for (const SafetensorsEntry& e : parse_safetensors(*file.mapping)) {
        std::string name;
        Layout layout = Layout::as_is;
        if (!map_name(*names, e.name, &name, &layout)) continue;
        if (file.find(name)) fail(weights_path, ": tensors ", e.name, " and another both map to ", name);
        Tensor t = to_tensor(file, e, name);
        file.tensors.push_back(relayout(file, t, layout, layout == Layout::permute_k ? kv_heads : heads));
    }
    if (file.tensors.empty()) fail(weights_path, ": no tensor has a name lm knows for ", names->arch);
    if (type == "llama" || type == "qwen2" || type == "phi3" || type == "gemma2")
        rope_scaling(config, file, m.get_int(std::string(names->arch) + ".embedding_length") / heads,
                     m.get_float(std::string(names->arch) + ".rope.freq_base", 10000.0));
    return file;
}

}  // namespace lm
