// TrainModel <-> GGUF tensor names, shapes and metadata (see export.h).
#include "src/train/export.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "weights/error.h"
#include "weights/gguf.h"
#include "weights/quant.h"

namespace lm {
namespace {

bool is_gpt2(const TrainModel& m) { return m.config.arch == TrainArch::gpt2; }

// A view of `rows` x `cols` floats (ggml ne = {cols, rows}; rows = 1 for a vector).
Tensor view(const std::string& name, const float* data, int64_t cols, int64_t rows) {
    Tensor t;
    t.name = name;
    t.type = DType::F32;
    t.n_dims = rows == 1 ? 1 : 2;
    t.ne[0] = cols;
    t.ne[1] = rows;
    t.data = data;
    t.nbytes = sizeof(float) * cols * rows;
    return t;
}

// BERT under llama.cpp's names (src/models/bert reads the same): q, k, v are consecutive row blocks
// of qkvw. The masked-LM head has no llama.cpp tensors and stays in the checkpoint.
std::vector<Tensor> bert_tensor_views(const TrainModel& m) {
    const TrainConfig& c = m.config;
    const int64_t V = c.vocab_size, C = c.dim, H = c.hidden_dim;
    const TrainParams& p = m.p;
    std::vector<Tensor> out{view("token_embd.weight", p.wte, C, V), view("token_types.weight", p.wtt, C, c.n_types),
                            view("position_embd.weight", p.wpe, C, c.max_seq_len),
                            view("token_embd_norm.weight", p.lnew, C, 1), view("token_embd_norm.bias", p.lneb, C, 1)};
    for (int l = 0; l < c.n_layers; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        const float *qkvw = p.qkvw + l * 3 * C * C, *qkvb = p.qkvb + l * 3 * C;
        const char* qkv[] = {"attn_q", "attn_k", "attn_v"};
        for (int i = 0; i < 3; ++i) {
            out.push_back(view(b + qkv[i] + ".weight", qkvw + i * C * C, C, C));
            out.push_back(view(b + qkv[i] + ".bias", qkvb + i * C, C, 1));
        }
        out.push_back(view(b + "attn_output.weight", p.attprojw + l * C * C, C, C));
        out.push_back(view(b + "attn_output.bias", p.attprojb + l * C, C, 1));
        out.push_back(view(b + "attn_output_norm.weight", p.ln1w + l * C, C, 1));
        out.push_back(view(b + "attn_output_norm.bias", p.ln1b + l * C, C, 1));
        out.push_back(view(b + "ffn_up.weight", p.fcw + l * H * C, C, H));
        out.push_back(view(b + "ffn_up.bias", p.fcb + l * H, H, 1));
        out.push_back(view(b + "ffn_down.weight", p.fcprojw + l * C * H, H, C));
        out.push_back(view(b + "ffn_down.bias", p.fcprojb + l * C, C, 1));
        out.push_back(view(b + "layer_output_norm.weight", p.ln2w + l * C, C, 1));
        out.push_back(view(b + "layer_output_norm.bias", p.ln2b + l * C, C, 1));
    }
    if (c.head == BertHead::classify) {
        out.push_back(view("cls.weight", p.poolw, C, C));
        out.push_back(view("cls.bias", p.poolb, C, 1));
        out.push_back(view("cls.output.weight", p.clsw, C, c.n_labels));
        out.push_back(view("cls.output.bias", p.clsb, c.n_labels, 1));
    } else if (c.head == BertHead::qa) {
        out.push_back(view("qa.weight", p.qaw, C, 2));
        out.push_back(view("qa.bias", p.qab, 2, 1));
    }
    return out;
}

// output.weight present and not a copy of token_embd.weight.
bool has_own_output(const ModelFile& file) {
    const Tensor* output = file.find("output.weight");
    const Tensor* embd = file.find("token_embd.weight");
    if (!output || !embd) return output != nullptr;
    return output->type != embd->type || output->ne[0] != embd->ne[0] || output->rows() != embd->rows() ||
           output->nbytes != embd->nbytes || std::memcmp(output->data, embd->data, embd->nbytes) != 0;
}

bool is_bert_head(const std::string& name) { return name.rfind("cls.", 0) == 0 || name.rfind("qa.", 0) == 0; }

}  // namespace

std::vector<Tensor> train_tensor_views(const TrainModel& m) {
    const TrainConfig& c = m.config;
    if (c.arch == TrainArch::rnn) fail("export: the rnn architecture has no GGUF tensor layout");
    if (c.arch == TrainArch::bert) return bert_tensor_views(m);
    const int64_t V = c.vocab_size, C = c.dim, H = c.hidden_dim, HS = c.dim / c.n_heads;
    const int64_t Q = c.n_heads * HS, KV = c.n_kv_heads * HS, C3 = Q + 2 * KV, FC = is_gpt2(m) ? H : 2 * H;
    const TrainParams& p = m.p;
    std::vector<Tensor> out;
    out.push_back(view("token_embd.weight", p.wte, C, V));
    if (p.wpe) out.push_back(view("position_embd.weight", p.wpe, C, c.max_seq_len));
    for (int l = 0; l < c.n_layers; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        const float *qkvw = p.qkvw + l * C3 * C, *fcw = p.fcw + l * FC * C;
        out.push_back(view(b + "attn_norm.weight", p.ln1w + l * C, C, 1));
        if (is_gpt2(m)) {
            out.push_back(view(b + "attn_norm.bias", p.ln1b + l * C, C, 1));
            out.push_back(view(b + "attn_qkv.weight", qkvw, C, C3));
            out.push_back(view(b + "attn_qkv.bias", p.qkvb + l * C3, C3, 1));
        } else {
            out.push_back(view(b + "attn_q.weight", qkvw, C, Q));
            out.push_back(view(b + "attn_k.weight", qkvw + Q * C, C, KV));
            out.push_back(view(b + "attn_v.weight", qkvw + (Q + KV) * C, C, KV));
        }
        out.push_back(view(b + "attn_output.weight", p.attprojw + l * C * C, C, C));
        if (is_gpt2(m)) out.push_back(view(b + "attn_output.bias", p.attprojb + l * C, C, 1));
        out.push_back(view(b + "ffn_norm.weight", p.ln2w + l * C, C, 1));
        if (is_gpt2(m)) {
            out.push_back(view(b + "ffn_norm.bias", p.ln2b + l * C, C, 1));
            out.push_back(view(b + "ffn_up.weight", fcw, C, H));
            out.push_back(view(b + "ffn_up.bias", p.fcb + l * H, H, 1));
        } else {
            out.push_back(view(b + "ffn_gate.weight", fcw, C, H));
            out.push_back(view(b + "ffn_up.weight", fcw + H * C, C, H));
        }
        out.push_back(view(b + "ffn_down.weight", p.fcprojw + l * C * H, H, C));
        if (is_gpt2(m)) out.push_back(view(b + "ffn_down.bias", p.fcprojb + l * C, C, 1));
    }
    out.push_back(view("output_norm.weight", p.lnfw, C, 1));
    if (p.lnfb) out.push_back(view("output_norm.bias", p.lnfb, C, 1));
    if (!c.tied_head) out.push_back(view("output.weight", p.head, C, V));
    return out;
}

void train_architecture_metadata(const TrainModel& m, Metadata& meta) {
    const TrainConfig& c = m.config;
    if (c.arch == TrainArch::rnn) fail("export: the rnn architecture has no GGUF metadata");
    if (c.arch == TrainArch::bert) {
        set_hyperparameters(meta, {.arch = "bert", .context = c.max_seq_len, .dim = c.dim, .hidden = c.hidden_dim,
                                   .layers = c.n_layers, .heads = c.n_heads, .vocab = c.vocab_size,
                                   .norm_eps = c.norm_eps});
        meta.set("bert.attention.causal", Value::of_bool(false));
        // llama.cpp's pooling types: 1 mean (sentence embeddings), 2 [CLS] (what the classifier reads)
        meta.set("bert.pooling_type", Value::of_int(ValueType::U32, c.head == BertHead::classify ? 2 : 1));
        meta.set("tokenizer.ggml.token_type_count", Value::of_int(ValueType::U32, c.n_types));
        return;
    }
    const bool llama = !is_gpt2(m);
    set_hyperparameters(meta, {.arch = llama ? "llama" : "gpt2", .context = c.max_seq_len, .dim = c.dim,
                               .hidden = c.hidden_dim, .layers = c.n_layers, .heads = c.n_heads,
                               .kv_heads = c.n_kv_heads, .vocab = c.vocab_size, .norm_eps = c.norm_eps,
                               .rope_base = llama ? std::optional<double>(c.rope_base) : std::nullopt,
                               .rope_dimensions = llama ? std::optional<int64_t>(c.dim / c.n_heads) : std::nullopt});
}

void train_tokenizer_metadata(const Metadata& tokenizer, Metadata& meta) {
    for (const auto& [key, value] : tokenizer.entries)
        if (key.rfind("tokenizer.", 0) == 0) meta.set(key, value);
}

void train_write_gguf(const std::string& path, const TrainModel& m, const Metadata& tokenizer, const std::string& name,
                      DType type, const std::vector<std::string>& labels) {
    if (type != DType::F32 && type != DType::F16) fail("export: type ", dtype_name(type), " (lm train writes f32 or f16)");
    Metadata meta;
    train_architecture_metadata(m, meta);
    meta.set("general.name", Value::of_string(name));
    meta.set("general.file_type", Value::of_int(ValueType::U32, type == DType::F16 ? 1 : 0));  // llama_ftype
    train_tokenizer_metadata(tokenizer, meta);
    if (!labels.empty()) meta.set("bert.classifier.output_labels", Value::of_strings(labels));
    std::vector<Tensor> tensors = train_tensor_views(m);
    add_llama_cpp_requirements(meta, tensors);  // a tied GPT-2's head as output.weight
    std::vector<std::vector<uint16_t>> halves;  // F16 copies, alive until written
    halves.reserve(tensors.size());
    for (Tensor& t : tensors) {
        if (type == DType::F32 || t.n_dims == 1) continue;
        const int64_t n = t.ne[0] * t.ne[1];
        halves.emplace_back(n);
        quantize_row(DType::F16, static_cast<const float*>(t.data), halves.back().data(), n);
        t.type = DType::F16;
        t.data = halves.back().data();
        t.nbytes = sizeof(uint16_t) * n;
    }
    write_gguf(path, meta, tensors);
}

TrainConfig train_config_from(const ModelFile& file) {
    const Config config = read_config(file);
    TrainConfig c;
    if (config.arch == "llama") c.arch = TrainArch::llama;
    else if (config.arch == "gpt2") c.arch = TrainArch::gpt2;
    else if (config.arch == "bert") c.arch = TrainArch::bert;
    else fail(file.path, ": cannot train architecture '", config.arch, "' (lm trains llama, gpt2 and bert)");
    if (config.rope_neox) fail(file.path, ": cannot train NeoX-style RoPE (lm trains adjacent-pair RoPE)");
    c.vocab_size = config.vocab_size;
    c.dim = config.dim;
    c.n_layers = config.n_layers;
    c.n_heads = config.n_heads;
    c.n_kv_heads = config.n_kv_heads;
    c.hidden_dim = config.hidden_dim;
    c.max_seq_len = config.context_length;
    c.norm_eps = config.norm_eps;
    c.rope_base = config.rope_freq_base;
    // A classifier equal to the embedding (llama.cpp's GPT-2 files, and lm's, carry both) is
    // tied; one of its own is trained as a separate matrix.
    c.tied_head = !has_own_output(file);
    if (c.arch == TrainArch::bert) {
        c.tied_head = true;  // the masked-LM decoder (not in the file) is tied to token_embd
        c.n_types = static_cast<int>(std::max<int64_t>(1, file.get("token_types.weight").rows()));
        if (const Tensor* cls = file.find("cls.output.weight")) {
            c.head = BertHead::classify;
            c.n_labels = static_cast<int>(cls->rows());
        } else if (file.find("qa.weight")) {
            c.head = BertHead::qa;
        }
    }
    return c;
}

void train_load_weights(TrainModel& m, const ModelFile& file) {
    if (m.config.tied_head && has_own_output(file))
        fail(file.path, ": has its own output.weight but the model being trained ties it to token_embd");
    for (const Tensor& want : train_tensor_views(m)) {
        const Tensor* have = file.find(want.name);
        // Fine-tuning a BERT puts a new head on its encoder: the head starts from the model's init.
        if (!have && m.config.arch == TrainArch::bert && is_bert_head(want.name)) continue;
        if (!have) fail(file.path, ": missing tensor ", want.name);
        // A context longer than the file's keeps the init of the positions past the file's.
        const bool longer = want.name == "position_embd.weight" && have->rows() < want.rows();
        if (have->ne[0] != want.ne[0] || (have->rows() != want.rows() && !longer))
            fail(file.path, ": tensor ", want.name, " has shape ", shape_string(*have), ", the model needs ",
                 shape_string(want));
        float* dst = const_cast<float*>(static_cast<const float*>(want.data));  // views point into m.params
        for (int64_t r = 0; r < have->rows(); ++r) {
            if (have->type == DType::F32) std::memcpy(dst + r * want.ne[0], have->row(r), sizeof(float) * want.ne[0]);
            else dequantize_row(have->type, have->row(r), dst + r * want.ne[0], want.ne[0]);
        }
    }
}

}  // namespace lm
