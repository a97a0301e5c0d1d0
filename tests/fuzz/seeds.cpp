// Writes the seed corpus of every harness: small valid inputs built here, so the fuzzers
// start from well-formed files instead of discovering each format's magic by chance.
// usage: seeds DIR   (writes DIR/fuzz_NAME/seed-*; existing corpus files are kept)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "weights/error.h"
#include "weights/gguf.h"
#include "weights/llama2c.h"
#include "weights/quant.h"

namespace fs = std::filesystem;
using namespace lm;

namespace {

fs::path g_root;

void save(const std::string& harness, const std::string& name, const std::string& bytes) {
    const fs::path dir = g_root / harness;
    fs::create_directories(dir);
    std::ofstream((dir / ("seed-" + name)).string(), std::ios::binary) << bytes;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

template <typename T>
void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Deterministic small weights.
std::vector<float> weights(int64_t n, uint32_t seed) {
    std::vector<float> w(n);
    for (int64_t i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u;
        w[i] = static_cast<float>(static_cast<int32_t>(seed >> 8) % 2000 - 1000) / 4000.0f;
    }
    return w;
}

// A SentencePiece vocabulary: specials, the 256 byte tokens and a few pieces.
void spm_vocab(Metadata& m, int n_pieces) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int64_t> types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        tokens.push_back(name);
        types.push_back(6);
    }
    const char* pieces[] = {"\xE2\x96\x81", "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "\xE2\x96\x81\x61", "in", "on", "ce"};
    for (int i = 0; i < n_pieces && i < 8; ++i) {
        tokens.push_back(pieces[i]);
        types.push_back(1);
    }
    std::vector<double> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<double>(i);
    m.set("tokenizer.ggml.model", Value::of_string("llama"));
    m.set("tokenizer.ggml.tokens", Value::of_strings(tokens));
    m.set("tokenizer.ggml.scores", Value::of_floats(ValueType::F32, scores));
    m.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, types));
    m.set("tokenizer.ggml.bos_token_id", Value::of_int(ValueType::U32, 1));
    m.set("tokenizer.ggml.eos_token_id", Value::of_int(ValueType::U32, 2));
}

// A one-layer Llama GGUF: matrices in `type`, norms in f32.
std::string llama_gguf(const std::string& name, int dim, int hidden, int heads, int kv_heads, int vocab, DType type,
                       bool with_tokenizer, bool tied) {
    Metadata m;
    m.set("general.architecture", Value::of_string("llama"));
    m.set("general.alignment", Value::of_int(ValueType::U32, 32));
    m.set("llama.context_length", Value::of_int(ValueType::U32, 16));
    m.set("llama.embedding_length", Value::of_int(ValueType::U32, dim));
    m.set("llama.feed_forward_length", Value::of_int(ValueType::U32, hidden));
    m.set("llama.block_count", Value::of_int(ValueType::U32, 1));
    m.set("llama.attention.head_count", Value::of_int(ValueType::U32, heads));
    m.set("llama.attention.head_count_kv", Value::of_int(ValueType::U32, kv_heads));
    m.set("llama.attention.layer_norm_rms_epsilon", Value::of_float(ValueType::F32, 1e-5));
    m.set("llama.rope.freq_base", Value::of_float(ValueType::F32, 10000.0));
    if (with_tokenizer) spm_vocab(m, vocab - 259);
    const int kv_dim = dim / heads * kv_heads;
    std::vector<std::vector<uint8_t>> storage;
    std::vector<Tensor> tensors;
    auto add = [&](const std::string& tname, int64_t ne0, int64_t ne1, DType t) {
        const std::vector<float> w = weights(ne0 * ne1, static_cast<uint32_t>(tensors.size() + 7));
        Tensor x;
        x.name = tname;
        x.type = t;
        x.n_dims = ne1 > 1 ? 2 : 1;
        x.ne[0] = ne0;
        x.ne[1] = ne1;
        x.nbytes = row_bytes(t, ne0) * ne1;
        storage.emplace_back(x.nbytes);
        for (int64_t r = 0; r < ne1; ++r) quantize_row(t, &w[r * ne0], storage.back().data() + r * row_bytes(t, ne0), ne0);
        x.data = storage.back().data();
        tensors.push_back(x);
    };
    add("token_embd.weight", dim, vocab, type);
    add("blk.0.attn_norm.weight", dim, 1, DType::F32);
    add("blk.0.attn_q.weight", dim, dim, type);
    add("blk.0.attn_k.weight", dim, kv_dim, type);
    add("blk.0.attn_v.weight", dim, kv_dim, type);
    add("blk.0.attn_output.weight", dim, dim, type);
    add("blk.0.ffn_norm.weight", dim, 1, DType::F32);
    add("blk.0.ffn_gate.weight", dim, hidden, type);
    add("blk.0.ffn_up.weight", dim, hidden, type);
    add("blk.0.ffn_down.weight", hidden, dim, type);
    add("output_norm.weight", dim, 1, DType::F32);
    if (!tied) add("output.weight", dim, vocab, type);
    const std::string path = (g_root / ("tmp-" + name)).string();
    write_gguf(path, m, tensors);
    std::string bytes = slurp(path);
    fs::remove(path);
    return bytes;
}

// Metadata of every value type, nested arrays included, and no tensors.
std::string metadata_gguf() {
    Metadata m;
    m.set("u8", Value::of_int(ValueType::U8, 200));
    m.set("i16", Value::of_int(ValueType::I16, -3));
    m.set("u64", Value::of_int(ValueType::U64, 1ll << 40));
    m.set("f64", Value::of_float(ValueType::F64, 0.25));
    m.set("b", Value::of_bool(true));
    m.set("s", Value::of_string("text"));
    m.set("ints", Value::of_ints(ValueType::I32, {1, -2, 3}));
    m.set("floats", Value::of_floats(ValueType::F32, {0.5, 1.5}));
    m.set("strs", Value::of_strings({"a", "bc", ""}));
    Value nested;
    nested.type = ValueType::ARRAY;
    nested.elem = ValueType::ARRAY;
    nested.arrays = {Value::of_ints(ValueType::U8, {1, 2}), Value::of_ints(ValueType::U8, {3})};
    m.set("nested", nested);
    const std::string path = (g_root / "tmp-meta.gguf").string();
    write_gguf(path, m, {});
    std::string bytes = slurp(path);
    fs::remove(path);
    return bytes;
}

// llama.c checkpoint: legacy 7-int header or version 1 ("ak42", 256-byte header).
std::string llama2c_file(bool v1, bool shared) {
    const int32_t dim = 8, hidden = 16, layers = 1, heads = 2, kv_heads = 1, vocab = 8, seq_len = 8;
    const int32_t kv_dim = dim / heads * kv_heads;
    std::string out;
    if (v1) {
        put<uint32_t>(out, kLlama2cMagic);
        put<int32_t>(out, 1);
    }
    for (int32_t v : {dim, hidden, layers, heads, kv_heads, shared || v1 ? vocab : -vocab, seq_len}) put(out, v);
    if (v1) {
        out += static_cast<char>(shared ? 1 : 0);
        out.resize(256, '\0');
    }
    int64_t n = int64_t{vocab} * dim + layers * (2 * dim + 2 * dim * dim + 2 * dim * kv_dim + 3 * dim * hidden) + dim;
    if (!v1) n += seq_len * (dim / heads);
    if (!shared) n += int64_t{vocab} * dim;
    for (float w : weights(n, 3)) put(out, w);
    return out;
}

std::string llama2c_tokenizer(int n) {
    std::string out;
    put<int32_t>(out, 8);
    const char* pieces[] = {"<unk>", "\n<s>\n", "\n</s>\n", "<0x0A>", " t", "he", " the", "Once"};
    for (int i = 0; i < n; ++i) {
        const std::string p = pieces[i % 8];
        put<float>(out, -static_cast<float>(i));
        put<int32_t>(out, static_cast<int32_t>(p.size()));
        out += p;
    }
    return out;
}

std::string safetensors_file() {
    const std::string header =
        R"({"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
        R"("b.bias":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},"c":{"dtype":"I64","shape":[],"data_offsets":[32,40]}})";
    std::string out;
    put<uint64_t>(out, header.size());
    out += header;
    for (float w : weights(6, 5)) put(out, w);
    for (int i = 0; i < 4; ++i) put<uint16_t>(out, f32_to_f16(0.5f * i));
    put<int64_t>(out, 42);
    return out;
}

// Protobuf wire format, for a SentencePiece tokenizer.model.
std::string varint(uint64_t v) {
    std::string out;
    do {
        out += static_cast<char>((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return out;
}
std::string field_bytes(int field, const std::string& bytes) {
    return varint(field << 3 | 2) + varint(bytes.size()) + bytes;
}
std::string field_varint(int field, uint64_t v) { return varint(field << 3) + varint(v); }
std::string field_float(int field, float f) {
    std::string out = varint(field << 3 | 5);
    put(out, f);
    return out;
}

std::string sentencepiece_model() {
    std::string out;
    const char* pieces[] = {"<unk>", "<s>", "</s>", "<0x0A>", "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "\xE2\x96\x81"};
    const int types[] = {2, 3, 3, 6, 1, 1, 1, 1};
    for (int i = 0; i < 8; ++i)
        out += field_bytes(1, field_bytes(1, pieces[i]) + field_float(2, -static_cast<float>(i)) +
                                  field_varint(3, types[i]));
    out += field_bytes(2, field_varint(3, 2) + field_varint(40, 0) + field_varint(41, 1) + field_varint(42, 2));
    out += field_bytes(3, field_varint(3, 1));
    return out;
}

// An F32 safetensors file of the named tensors (row-major shapes), small weights.
std::string safetensors_of(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors) {
    std::string header = "{", data;
    for (const auto& [name, shape] : tensors) {
        int64_t n = 1;
        std::string dims;
        for (int64_t d : shape) {
            n *= d;
            dims += (dims.empty() ? "" : ",") + std::to_string(d);
        }
        const size_t begin = data.size();
        for (float w : weights(n, static_cast<uint32_t>(begin + 1))) put(data, w);
        if (header.size() > 1) header += ",";
        header += "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + dims + "],\"data_offsets\":[" +
                  std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
    }
    header += "}";
    std::string out;
    put<uint64_t>(out, header.size());
    return out + header + data;
}

// fuzz_hf's separator between the files of one input.
const std::string kNextFile = "\n--next-file--\n";

// fuzz_hf layout 3: config.json, model.safetensors, vocab.txt.
std::string hf_directory(const std::string& model_type) {
    const int64_t dim = 4, hidden = 8, vocab = 6, ctx = 8;
    std::vector<std::pair<std::string, std::vector<int64_t>>> t;
    std::string config;
    if (model_type == "llama") {
        config = R"({"model_type":"llama","hidden_size":4,"intermediate_size":8,"num_hidden_layers":1,)"
                 R"("num_attention_heads":2,"num_key_value_heads":1,"max_position_embeddings":8,"rms_norm_eps":1e-5})";
        t = {{"model.embed_tokens.weight", {vocab, dim}}, {"model.norm.weight", {dim}},
             {"model.layers.0.input_layernorm.weight", {dim}}, {"model.layers.0.post_attention_layernorm.weight", {dim}},
             {"model.layers.0.self_attn.q_proj.weight", {dim, dim}}, {"model.layers.0.self_attn.k_proj.weight", {2, dim}},
             {"model.layers.0.self_attn.v_proj.weight", {2, dim}}, {"model.layers.0.self_attn.o_proj.weight", {dim, dim}},
             {"model.layers.0.mlp.gate_proj.weight", {hidden, dim}}, {"model.layers.0.mlp.up_proj.weight", {hidden, dim}},
             {"model.layers.0.mlp.down_proj.weight", {dim, hidden}}};
    } else if (model_type == "gpt2") {
        config = R"({"model_type":"gpt2","n_embd":4,"n_inner":8,"n_layer":1,"n_head":2,"n_positions":8})";
        t = {{"wte.weight", {vocab, dim}}, {"wpe.weight", {ctx, dim}}, {"ln_f.weight", {dim}}, {"ln_f.bias", {dim}},
             {"h.0.ln_1.weight", {dim}}, {"h.0.ln_1.bias", {dim}}, {"h.0.ln_2.weight", {dim}}, {"h.0.ln_2.bias", {dim}},
             {"h.0.attn.c_attn.weight", {dim, 3 * dim}}, {"h.0.attn.c_attn.bias", {3 * dim}},
             {"h.0.attn.c_proj.weight", {dim, dim}}, {"h.0.attn.c_proj.bias", {dim}},
             {"h.0.mlp.c_fc.weight", {dim, hidden}}, {"h.0.mlp.c_fc.bias", {hidden}},
             {"h.0.mlp.c_proj.weight", {hidden, dim}}, {"h.0.mlp.c_proj.bias", {dim}}};
    } else {
        config = R"({"model_type":"bert","hidden_size":4,"intermediate_size":8,"num_hidden_layers":1,)"
                 R"("num_attention_heads":2,"max_position_embeddings":8,"id2label":{"0":"no","1":"yes"}})";
        const std::string L = "bert.encoder.layer.0.";
        t = {{"bert.embeddings.word_embeddings.weight", {vocab, dim}},
             {"bert.embeddings.position_embeddings.weight", {ctx, dim}},
             {"bert.embeddings.token_type_embeddings.weight", {2, dim}}, {"bert.embeddings.LayerNorm.weight", {dim}},
             {"bert.embeddings.LayerNorm.bias", {dim}}};
        for (const char* n :
             {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
            t.push_back({L + n + ".weight", {dim, dim}});
            t.push_back({L + n + ".bias", {dim}});
        }
        for (const char* n : {"attention.output.LayerNorm", "output.LayerNorm"}) {
            t.push_back({L + n + ".weight", {dim}});
            t.push_back({L + n + ".bias", {dim}});
        }
        t.insert(t.end(), {{L + "intermediate.dense.weight", {hidden, dim}}, {L + "intermediate.dense.bias", {hidden}},
                           {L + "output.dense.weight", {dim, hidden}}, {L + "output.dense.bias", {dim}},
                           {"bert.pooler.dense.weight", {dim, dim}}, {"bert.pooler.dense.bias", {dim}},
                           {"classifier.weight", {2, dim}}, {"classifier.bias", {2}}});
    }
    return config + kNextFile + safetensors_of(t) + kNextFile +
           "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##lo\n";
}

std::string args(std::initializer_list<const char*> words) {
    std::string out;
    for (const char* w : words) {
        if (!out.empty()) out += '\0';
        out += w;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: seeds DIR\n");
        return 1;
    }
    g_root = argv[1];
    try {
        fs::create_directories(g_root);
        save("fuzz_gguf", "f32-tokenizer.gguf", llama_gguf("a.gguf", 4, 8, 2, 1, 262, DType::F32, true, true));
        save("fuzz_gguf", "q8_0.gguf", llama_gguf("b.gguf", 32, 32, 4, 2, 4, DType::Q8_0, false, false));
        save("fuzz_gguf", "q4_0.gguf", llama_gguf("c.gguf", 32, 32, 4, 4, 4, DType::Q4_0, false, true));
        save("fuzz_gguf", "f16.gguf", llama_gguf("d.gguf", 4, 4, 2, 2, 4, DType::F16, false, false));
        save("fuzz_gguf", "metadata.gguf", metadata_gguf());
        save("fuzz_api", "f32-tokenizer.gguf", llama_gguf("e.gguf", 4, 8, 2, 1, 262, DType::F32, true, true));
        save("fuzz_api", "q4_0.gguf", llama_gguf("f.gguf", 32, 32, 4, 4, 4, DType::Q4_0, false, true));
        save("fuzz_llama2c", "legacy.bin", llama2c_file(false, true));
        save("fuzz_llama2c", "legacy-unshared.bin", llama2c_file(false, false));
        save("fuzz_llama2c", "v1.bin", llama2c_file(true, true));
        save("fuzz_llama2c", "v1-unshared.bin", llama2c_file(true, false));
        for (int n : {3, 8}) {
            const uint16_t claim = static_cast<uint16_t>(n + 8);  // the harness subtracts 8
            std::string seed(reinterpret_cast<const char*>(&claim), 2);
            save("fuzz_llama2c_tokenizer", "n" + std::to_string(n) + ".bin", seed + llama2c_tokenizer(n));
        }
        save("fuzz_json", "config.json",
             R"({"model_type": "llama", "hidden_size": 64, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,)"
             R"( "tie": true, "none": null, "ids": [1, -2, 3.5e2], "nested": {"a": [[], {}]}})");
        save("fuzz_json", "strings.json", R"(["\u00e9\ud83d\ude00", "tab\tnew\\n", "\u2581x", "ünï", ""])");
        save("fuzz_json", "tokenizer.json",
             R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", ["a", "b"]]},)"
             R"( "added_tokens": [{"id": 3, "content": "<|endoftext|>", "special": true}]})");
        save("fuzz_safetensors", "small.safetensors", safetensors_file());
        save("fuzz_tokenizer", "spm", std::string("\x00\x01", 2) + "Once upon a time \xE2\x96\x81 <s> caf\xC3\xA9");
        save("fuzz_tokenizer", "gpt2", std::string("\x01\x03\x02", 3) + "he said: 'll go, we're 123 <|endoftext|>");
        save("fuzz_tokenizer", "bert", std::string("\x02\x02\x00", 3) + "Hello, WORLD! unaffable \xE4\xB8\xAD\xE6\x96\x87");
        save("fuzz_sentencepiece", "bpe.model", sentencepiece_model());
        save("fuzz_hf", "vocab.txt", std::string(1, '\0') + "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##lo\n,\nworld\n");
        save("fuzz_hf", "vocab.json", std::string(1, '\1') + R"({"h": 0, "e": 1, "he": 2, "\u0120": 3, "<|endoftext|>": 4})" +
                                          kNextFile + "#version: 0.2\nh e\n");
        save("fuzz_hf", "tokenizer.json",
             std::string(1, '\2') + R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},)"
                                    R"( "pre_tokenizer": {"type": "ByteLevel"},)"
                                    R"( "added_tokens": [{"id": 3, "content": "<|endoftext|>", "special": true}]})");
        for (const char* type : {"llama", "gpt2", "bert"})
            save("fuzz_hf", std::string("dir-") + type, std::string(1, '\3') + hf_directory(type));
        // fuzz_tensor_bytes: each model untouched, and each with a NaN scale (or weight) in
        // tensor 1, an Inf one in tensor 5, a filled block and a raw edit in the last tensors.
        for (uint8_t model = 0; model < 9; ++model) {
            save("fuzz_tensor_bytes", "model" + std::to_string(model), std::string(1, static_cast<char>(model)));
            std::string edits(1, static_cast<char>(model));
            const uint8_t records[][8] = {{1, 0, 3, 0, 0, 0, 2, 0},   {5, 1, 0, 1, 0, 0, 0, 0},
                                          {9, 4, 7, 0, 0, 0, 0xFF, 0}, {14, 3, 0, 2, 1, 0, 0x80, 0x7F},
                                          {20, 2, 2, 0, 0, 0, 0x3F, 0x05}};
            for (const auto& r : records) edits.append(reinterpret_cast<const char*>(r), 8);
            save("fuzz_tensor_bytes", "edits" + std::to_string(model), edits);
        }
        save("fuzz_args", "run", args({"model.gguf", "Once upon", "-n", "5", "--temp=0.5", "--seed", "7"}));
        save("fuzz_args", "options", args({"-c", "64", "--top-p", "0.9", "--tokenizer", "t.bin", "--", "-x"}));
    } catch (const Error& e) {
        std::fprintf(stderr, "seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
