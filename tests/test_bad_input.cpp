// The bad-input table of docs/errors.md, row by row: each hostile file or command line is
// built here, run through ./lm, and must give exit code 1 and exactly the documented line.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "tests/gguf_bytes.h"
#include "tests/lm_process.h"
#include "weights/gguf.h"
#include "weights/limits.h"
#include "weights/quant.h"

using namespace lm;
using testing::GgufBytes;

namespace {

// A valid tiny Llama (dim 8, 2 heads, 1 layer, vocab 4, context 16) with a 4-token
// SentencePiece vocabulary, written with write_gguf; `edit` changes metadata or tensors.
std::string tiny_llama(const std::string& path, const std::function<void(Metadata&, std::vector<Tensor>&)>& edit = {}) {
    static std::vector<float> zeros(1 << 12, 0.01f);
    Metadata m;
    m.set("general.architecture", Value::of_string("llama"));
    m.set("llama.context_length", Value::of_int(ValueType::U32, 16));
    m.set("llama.embedding_length", Value::of_int(ValueType::U32, 8));
    m.set("llama.feed_forward_length", Value::of_int(ValueType::U32, 16));
    m.set("llama.block_count", Value::of_int(ValueType::U32, 1));
    m.set("llama.attention.head_count", Value::of_int(ValueType::U32, 2));
    m.set("tokenizer.ggml.model", Value::of_string("llama"));
    m.set("tokenizer.ggml.tokens", Value::of_strings({"<unk>", "<s>", "</s>", "\xE2\x96\x81"}));
    std::vector<Tensor> tensors;
    auto add = [&](const std::string& name, int64_t ne0, int64_t ne1) {
        Tensor t;
        t.name = name;
        t.n_dims = ne1 > 1 ? 2 : 1;
        t.ne[0] = ne0;
        t.ne[1] = ne1;
        t.nbytes = static_cast<size_t>(ne0 * ne1) * 4;
        t.data = zeros.data();
        tensors.push_back(t);
    };
    add("token_embd.weight", 8, 4);
    add("output_norm.weight", 8, 1);
    for (const char* n : {"attn_norm", "ffn_norm"}) add(std::string("blk.0.") + n + ".weight", 8, 1);
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output"}) add(std::string("blk.0.") + n + ".weight", 8, 8);
    for (const char* n : {"ffn_gate", "ffn_up"}) add(std::string("blk.0.") + n + ".weight", 8, 16);
    add("blk.0.ffn_down.weight", 16, 8);
    if (edit) edit(m, tensors);
    write_gguf(path, m, tensors);
    return path;
}

// Row makers: the tiny Llama without the metadata keys starting with `prefix`, or with `key` set.
auto llama_without(std::string prefix) {
    return [prefix](const std::string& p) {
        return tiny_llama(p, [&](Metadata& m, auto&) {
            std::erase_if(m.entries, [&](const auto& e) { return e.first.rfind(prefix, 0) == 0; });
        });
    };
}

auto llama_with(std::string key, Value value) {
    return [key, value](const std::string& p) { return tiny_llama(p, [&](Metadata& m, auto&) { m.set(key, value); }); };
}

void remove_tensor(std::vector<Tensor>& tensors, const std::string& name) {
    std::erase_if(tensors, [&](const Tensor& t) { return t.name == name; });
}

std::string put32(std::vector<int32_t> v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

// The tiny Llama with NaN and infinities at the start of every tensor.
std::string nan_llama(const std::string& path) {
    static std::vector<float> x = [] {
        std::vector<float> v(256, 0.5f);
        v[1] = NAN, v[2] = INFINITY, v[40] = -INFINITY, v[77] = NAN;
        return v;
    }();
    return tiny_llama(path, [&](auto&, std::vector<Tensor>& t) {
        for (Tensor& w : t) w.data = x.data();
    });
}

// One row: how to make the input, the arguments (FILE = the input's path) and the exact
// stderr line (FILE substituted; a trailing "..." matches any rest of the line).
struct Row {
    const char* name;
    std::function<std::string(const std::string& path)> make;  // writes the input, returns FILE
    const char* args;
    const char* message;
    const char* lm_isa = nullptr;  // LM_ISA for this run
};

// u64 header length, the header, no data.
std::string safetensors(const std::string& header) {
    const uint64_t n = header.size();
    return std::string(reinterpret_cast<const char*>(&n), 8) + header;
}

std::string write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

auto bytes(std::string b) {
    return [b](const std::string& path) { return write(path, b); };
}

// A row whose output `path + suffix` lands on a full disk: writes to /dev/full fail with ENOSPC.
auto disk_full_at(std::string suffix, std::string input = "") {
    return [suffix, input](const std::string& path) {
        std::filesystem::create_symlink("/dev/full", path + suffix);
        return input.empty() ? path : write(path, input);
    };
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
    return s;
}

const std::vector<Row>& rows() {
    static const std::vector<Row> table = {
        // --- files that are not model files at all
        {"missing file", [](const std::string& p) { return p; }, "info FILE",
         "FILE: cannot open: No such file or directory"},
        {"empty file", bytes(""), "info FILE", "FILE: file is empty"},
        {"unknown format", bytes("hello"), "info FILE",
         "FILE: not a model file (unknown format: neither GGUF nor llama2.c)"},
        {"directory without config.json", [](const std::string& p) { std::filesystem::create_directories(p); return p; },
         "info FILE", "FILE: a model directory needs config.json"},
        // --- GGUF header
        {"GGUF version", bytes(GgufBytes().put<uint32_t>(kGgufMagic).put<uint32_t>(1).put<uint64_t>(0).put<uint64_t>(0).b),
         "info FILE", "FILE: unsupported GGUF version 1 (2 and 3 are supported)"},
        {"GGUF truncated header", bytes(GgufBytes().put<uint32_t>(kGgufMagic).put<uint32_t>(3).b), "info FILE",
         "FILE: truncated file: header runs past the end (offset 8)"},
        {"GGUF tensor count over the limit", bytes(GgufBytes().header(limits::kMaxTensors + 1, 0).b), "info FILE",
         "FILE: tensor count 1048577 exceeds the limit of 1048576"},
        {"GGUF tensor count beyond the file", bytes(GgufBytes().header(1000, 0).b), "info FILE",
         "FILE: truncated or corrupt file: tensor count 1000 exceeds the file size"},
        {"GGUF metadata count over the limit", bytes(GgufBytes().header(0, limits::kMaxMetadataEntries + 1).b), "info FILE",
         "FILE: metadata count 1048577 exceeds the limit of 1048576"},
        {"GGUF metadata count beyond the file", bytes(GgufBytes().header(0, 1000).b), "info FILE",
         "FILE: truncated or corrupt file: metadata count 1000 exceeds the file size"},
        // --- GGUF metadata
        {"GGUF key length over the limit", bytes(GgufBytes().header(0, 1).put<uint64_t>(1 << 30).data(64).b), "info FILE",
         "FILE: metadata key length 1073741824 exceeds the limit of 1024"},
        {"GGUF string length over the limit",
         bytes(GgufBytes().header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1 << 25).data(64).b), "info FILE",
         "FILE: string length 33554432 exceeds the limit of 16777216"},
        {"GGUF string beyond the file", bytes(GgufBytes().header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(100).b),
         "info FILE", "FILE: truncated file: string runs past the end (offset 45)"},
        {"GGUF unknown value type", bytes(GgufBytes().header(0, 1).str("k").put<uint32_t>(13).data(64).b), "info FILE",
         "FILE: metadata key k has unknown value type 13"},
        {"GGUF array length over the limit",
         bytes(GgufBytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(0).put<uint64_t>(1 << 27).data(64).b),
         "info FILE", "FILE: metadata k: array length 134217728 exceeds the limit of 67108864"},
        {"GGUF array length beyond the file",
         bytes(GgufBytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1000).data(64).b),
         "info FILE", "FILE: metadata k: array length 1000 exceeds the file size"},
        {"GGUF arrays nested too deeply", [](const std::string& p) {
             GgufBytes g;
             g.header(0, 1).str("k").put<uint32_t>(9);
             for (int i = 0; i < 5; ++i) g.put<uint32_t>(9).put<uint64_t>(1);
             return write(p, g.data(64).b);
         }, "info FILE", "FILE: metadata k: arrays nested too deeply"},
        {"GGUF duplicate key", bytes(GgufBytes().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).b), "info FILE",
         "FILE: duplicate metadata key k"},
        {"GGUF invalid bool", bytes(GgufBytes().header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).b), "info FILE",
         "FILE: invalid bool value 2"},
        {"GGUF alignment", bytes(GgufBytes().header(0, 1).kv_u32("general.alignment", 4).b), "info FILE",
         "FILE: general.alignment 4 is not a power of two from 8 to 2^20"},
        // --- GGUF tensor infos
        {"GGUF tensor dimensions", bytes(GgufBytes().header(1, 0).tensor("w", {1, 1, 1, 1, 1}).data(64).b), "info FILE",
         "FILE: tensor w has 5 dimensions (1 to 4 allowed)"},
        {"GGUF zero dimension", bytes(GgufBytes().header(1, 0).tensor("w", {0}).data(64).b), "info FILE",
         "FILE: tensor w has invalid dimension 0"},
        {"GGUF element count over the limit", bytes(GgufBytes().header(1, 0).tensor("w", {1 << 30, 1 << 30}).data(64).b),
         "info FILE", "FILE: tensor w has too many elements"},
        {"GGUF unknown tensor type", bytes(GgufBytes().header(1, 0).tensor("w", {4}, 77).data(64).b), "info FILE",
         "FILE: tensor w has unknown type 77"},
        {"GGUF row not whole blocks", bytes(GgufBytes().header(1, 0).tensor("w", {10}, 8).data(64).b), "info FILE",
         "FILE: tensor w row length 10 is not a multiple of the q8_0 block size 32"},
        {"GGUF duplicate tensor", bytes(GgufBytes().header(2, 0).tensor("w", {4}).tensor("w", {4}).data(64).b), "info FILE",
         "FILE: duplicate tensor name w"},
        {"GGUF misaligned tensor offset", bytes(GgufBytes().header(1, 0).tensor("w", {4}, 0, 4).data(64).b), "info FILE",
         "FILE: tensor w offset 4 is not aligned to 32"},
        {"GGUF tensor data beyond the file", bytes(GgufBytes().header(1, 0).tensor("w", {64}).data(64).b), "info FILE",
         "FILE: tensor w data (offset 0, 256 bytes) runs past the end of the file (truncated?)"},
        // --- a well-formed GGUF that does not describe a model lm can run
        {"no architecture", llama_without("general.architecture"), "run FILE",
         "FILE: missing metadata key general.architecture"},
        {"unknown architecture", llama_with("general.architecture", Value::of_string("mamba9")), "run FILE",
         "FILE: unknown architecture 'mamba9' (lm runs: llama, ..."},
        {"missing hyperparameter", llama_without("llama.block_count"), "run FILE",
         "FILE: missing metadata key llama.block_count"},
        {"hyperparameter of the wrong type", llama_with("llama.block_count", Value::of_string("one")), "run FILE",
         "FILE: metadata key llama.block_count has type string, expected an integer"},
        {"hyperparameter out of range", llama_with("llama.context_length", Value::of_int(ValueType::U32, 1 << 23)),
         "run FILE", "FILE: metadata llama.context_length = 8388608 is out of range (1..4194304)"},
        {"heads do not divide", llama_with("llama.attention.head_count", Value::of_int(ValueType::U32, 3)), "run FILE",
         "FILE: embedding_length 8, head_count 3 and head_count_kv 3 do not divide evenly"},
        {"missing tensor", [](const std::string& p) {
             return tiny_llama(p, [](auto&, std::vector<Tensor>& t) { remove_tensor(t, "blk.0.attn_q.weight"); });
         }, "run FILE", "FILE: missing tensor blk.0.attn_q.weight"},
        {"tensor of the wrong shape", [](const std::string& p) {
             return tiny_llama(p, [](auto&, std::vector<Tensor>& t) { t[4].ne[1] = 4, t[4].nbytes = 8 * 4 * 4; });
         }, "run FILE", "FILE: tensor blk.0.attn_q.weight has shape [8, 4], expected [8, 8]"},
        {"KV cache larger than memory", [](const std::string& p) {  // 1024 layers x 4M positions: 128 GiB
             return tiny_llama(p, [](Metadata& m, std::vector<Tensor>& t) {
                 m.set("llama.context_length", Value::of_int(ValueType::U32, 1 << 22));
                 m.set("llama.block_count", Value::of_int(ValueType::U32, 1024));
                 const std::vector<Tensor> layer0(t.begin() + 2, t.end());
                 for (int l = 1; l < 1024; ++l)
                     for (Tensor x : layer0) {
                         x.name = "blk." + std::to_string(l) + x.name.substr(5);
                         t.push_back(x);
                     }
             });
         }, "run FILE", "a KV cache for a context of 4194304 needs 131072 MiB, more than this machine's ..."},
        {"partial RoPE", llama_with("llama.rope.dimension_count", Value::of_int(ValueType::U32, 2)), "run FILE",
         "FILE: llama.rope.dimension_count 2 is not the head dimension 4 (lm rotates whole heads)"},
        {"heads apart from the embedding width", llama_with("llama.attention.key_length", Value::of_int(ValueType::U32, 8)),
         "run FILE", "FILE: llama.attention.key_length 8 is not embedding_length / head_count 4 (only gemma2 may differ)"},
        {"Phi-3 long-context RoPE factors",
         [](const std::string& p) {
             return tiny_llama(p, [](Metadata& m, std::vector<Tensor>& tensors) {
                 // The tiny Llama as a Phi-3: phi3.* keys, fused q/k/v and gate/up, then the factors.
                 Metadata phi3;
                 for (const auto& [key, value] : m.entries)
                     phi3.set(key.rfind("llama.", 0) == 0 ? "phi3." + key.substr(6) : key, value);
                 phi3.set("general.architecture", Value::of_string("phi3"));
                 m = phi3;
                 for (Tensor& t : tensors) {
                     if (t.name == "blk.0.attn_q.weight") t.name = "blk.0.attn_qkv.weight", t.ne[1] = 24, t.nbytes *= 3;
                     if (t.name == "blk.0.ffn_up.weight") t.ne[1] = 32, t.nbytes *= 2;
                 }
                 std::erase_if(tensors, [](const Tensor& t) {
                     return t.name == "blk.0.attn_k.weight" || t.name == "blk.0.attn_v.weight" ||
                            t.name == "blk.0.ffn_gate.weight";
                 });
                 Tensor factors = tensors.front();
                 factors.name = "rope_factors_long.weight", factors.n_dims = 1, factors.ne[0] = 2, factors.ne[1] = 1;
                 factors.nbytes = 8;
                 tensors.push_back(factors);
             });
         },
         "run FILE", "FILE: Phi-3's long-context RoPE factors (rope_factors_long.weight) are not supported"},
        {"unsupported rope_scaling in config.json",
         [](const std::string& p) {
             std::filesystem::create_directories(p);
             std::filesystem::copy_file("tests/ref/llama3/model.safetensors", p + "/model.safetensors",
                                        std::filesystem::copy_options::overwrite_existing);
             std::ofstream(p + "/config.json")
                 << R"({"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,)"
                 << R"( "num_attention_heads": 4, "max_position_embeddings": 64, "rope_scaling": {"rope_type": "yarn"}})";
             return p;
         },
         "info FILE", "FILE/config.json: rope scaling type 'yarn' is not supported (lm supports llama3 and linear)"},
        {"unsupported rope scaling", llama_with("llama.rope.scaling.type", Value::of_string("yarn")), "run FILE",
         "FILE: rope scaling type 'yarn' (llama.rope.scaling.type) is not supported; lm supports none, linear and "
         "llama3 (rope_freqs.weight)"},
        {"no tokenizer", llama_without("tokenizer."), "run FILE", "FILE: missing metadata key tokenizer.ggml.model"},
        {"unknown chat template", [](const std::string& p) { return tiny_llama(p); }, "chat FILE --chat-template vicuna -p hi",
         "unknown chat template 'vicuna' (lm knows: chatml, ..."},
        {"chat template lm does not know", llama_with("tokenizer.chat_template", Value::of_string("{{ messages }}")),
         "chat FILE -p hi",
         "FILE: tokenizer.chat_template is not a format lm knows; pass --chat-template NAME (chatml, ..."},
        {"unknown pre-tokenizer",
         [](const std::string& p) {
             return tiny_llama(p, [](Metadata& m, auto&) {
                 m.set("tokenizer.ggml.model", Value::of_string("gpt2"));
                 m.set("tokenizer.ggml.tokens", Value::of_strings({"a", "b", "ab", "c"}));
                 m.set("tokenizer.ggml.merges", Value::of_strings({"a b"}));
                 m.set("tokenizer.ggml.pre", Value::of_string("klingon"));
             });
         },
         "tokenize FILE hi", "FILE: pre-tokenizer 'klingon' (tokenizer.ggml.pre) is not supported; lm knows default, gpt-2, ..."},
        {"prompt longer than the context", [](const std::string& p) { return tiny_llama(p); },
         "run FILE 'a a a a a a a a a a a a a a a a a a a a' -c 4",
         "prompt is 41 tokens, longer than the context of 4 (see -c)"},
        // --- non-finite weights (issue 15): every tensor starts with NaN and infinities
        {"non-finite weights", nan_llama, "run FILE hello -n 3 --temp 0 -t 1",
         "FILE: non-finite logits at position 6 (corrupt or overflowing weights; see lm info --check)"},
        {"non-finite weights, all positions", nan_llama, "logits FILE hello -o FILE.logits",
         "FILE: non-finite logits at position 0 (corrupt or overflowing weights; see lm info --check)"},
        {"non-finite weights, checked", nan_llama, "info FILE --check",
         "FILE: tensor token_embd.weight row 0 holds NaN or Inf (in its values or block scales)"},
        // --- llama.c checkpoints
        {"llama2.c header out of range", bytes(put32({100000, 16, 1, 2, 2, 4, 16})), "info FILE",
         "FILE: not a GGUF file or a valid llama2.c checkpoint (header dim = 100000 is out of range 1..65536)"},
        {"llama2.c truncated", bytes(put32({8, 16, 1, 2, 2, 4, 16}) + std::string(40, '\0')), "info FILE",
         "FILE: truncated llama2.c checkpoint: token_embd runs past the end of the file"},
        {"llama2.c tokenizer.bin too small", [](const std::string& p) {
             write(p + ".tok", put32({8, 0}) + "ab");
             return write(p, put32({8, 16, 1, 2, 2, 4, 16}) + std::string(760 * 4, '\0'));
         }, "info FILE --tokenizer FILE.tok", "FILE.tok: too small for 4 tokens (10 bytes)"},
        {"llama2.c export version", bytes(put32({0x616b3432, 2}) + std::string(300, '\0')), "info FILE",
         "FILE: unsupported llama2.c export version 2 (1 is supported)"},
        // --- safetensors
        {"safetensors header over the limit", bytes(std::string("\xff\xff\xff\x7f\0\0\0\0{}", 10)), "info FILE",
         "FILE: safetensors header length 2147483647 exceeds the limit"},
        {"safetensors bad JSON", bytes(std::string("\x03\0\0\0\0\0\0\0{x}", 11)), "info FILE",
         "FILE: JSON error at line 1, column 2: expected a string key"},
        {"safetensors offsets beyond the data",
         bytes(safetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})")),
         "info FILE", "FILE: tensor w: data_offsets [0, 8] run past the end of the data (0 bytes)"},
        // --- task data and metrics (lm eval --task; the readers lm train --task shares)
        {"table: empty file", bytes(""), "eval tests/ref/bert FILE --task classify",
         "FILE: the file is empty (a header row is needed)"},
        {"table: no rows", bytes("sentence\tlabel\n"), "eval tests/ref/bert FILE --task classify",
         "FILE: no rows after the header"},
        {"table: no text column", bytes("text\tlabel\na\t1\n"), "eval tests/ref/bert FILE --task classify",
         "FILE:1: no column 'sentence' (or 'sentence1' and 'sentence2') in the header (text, label): name the text column (--text-column)"},
        {"table: named text column missing", bytes("sentence\tlabel\na\t1\n"), "eval tests/ref/bert FILE --task classify --text-column review",
         "FILE:1: no text column 'review' in the header (sentence, label)"},
        {"table: no label column", bytes("sentence\tgold\na\t1\n"), "eval tests/ref/bert FILE --task classify",
         "FILE:1: no label column 'label' in the header (sentence, gold)"},
        {"table: ragged row", bytes("sentence\tlabel\na\t1\nb\t0\textra\n"), "eval tests/ref/bert FILE --task classify",
         "FILE:3: 3 fields, but the header has 2"},
        {"table: not UTF-8", bytes("sentence\tlabel\nok\t1\ncr\xE8me\t1\n"), "eval tests/ref/bert FILE --task classify",
         "FILE:3: not UTF-8 text (byte 0xE8)"},
        {"CSV: unclosed quote", bytes("sentence,label\n\"open,1\n"), "eval tests/ref/bert FILE --task classify",
         "FILE:2: a quoted field is not closed"},
        {"CSV: text after a closing quote", bytes("sentence,label\n\"a\"b,1\n"), "eval tests/ref/bert FILE --task classify",
         "FILE:2: text after the closing quote of a field"},
        {"table: empty label", bytes("sentence\tlabel\na\t \n"), "eval tests/ref/bert FILE --task classify",
         "FILE:2: the label ('label') is empty"},
        {"table: label the model does not know", bytes("sentence\tlabel\ngood\tpositive\nbad\tawful\n"),
         "eval tests/ref/bert FILE --task classify",
         "FILE:3: label 'awful' is not one of the model's labels (negative, neutral, positive)"},
        {"table: text longer than the model", [](const std::string& p) {
             std::string text;
             for (int i = 0; i < 60; ++i) text += "good ";
             return write(p, "sentence\tlabel\n" + text + "\tpositive\n");
         },
         "eval tests/ref/bert FILE --task classify", "FILE:2: the text is 62 tokens, longer than the model's 48 positions"},
        {"SQuAD: answer not at answer_start",
         bytes(R"({"data": [{"paragraphs": [{"context": "the capital is paris", "qas": [{"id": "q7", "question": "?", "answers": [{"text": "paris", "answer_start": 14}]}]}]}]})"),
         "eval --task qa FILE --score FILE",
         "FILE: question q7: answer \"paris\" is not the context's text at answer_start 14 (there: \" pari\")"},
        {"SQuAD: answer_start past the context",
         bytes(R"({"data": [{"paragraphs": [{"context": "paris", "qas": [{"id": "q1", "question": "?", "answers": [{"text": "paris", "answer_start": 9}]}]}]}]})"),
         "eval --task qa FILE --score FILE", "FILE: question q1: answer_start 9 is not a character offset in its 5-character context"},
        {"SQuAD: duplicate id",
         bytes(R"({"data": [{"paragraphs": [{"context": "a b", "qas": [{"id": "x", "question": "?", "answers": []}, {"id": "x", "question": "?", "answers": []}]}]}]})"),
         "eval --task qa FILE --score FILE", "FILE: duplicate question id x"},
        {"SQuAD: missing field",
         bytes(R"({"data": [{"paragraphs": [{"context": "a", "qas": [{"id": "q1", "question": "?", "answers": [{"text": "a"}]}]}]}]})"),
         "eval --task qa FILE --score FILE", "FILE: question q1: missing \"answer_start\""},
        {"predictions: missing id", [](const std::string& p) {
             write(p + ".pred.json", R"({"q1": "a"})");
             return write(p, R"({"data": [{"paragraphs": [{"context": "a b", "qas": [)"
                             R"({"id": "q1", "question": "?", "answers": [{"text": "a", "answer_start": 0}]},)"
                             R"({"id": "q2", "question": "?", "answers": [{"text": "b", "answer_start": 2}]}]}]}]})");
         }, "eval --task qa FILE --score FILE.pred.json", "FILE.pred.json: no prediction for question q2 of FILE"},
        {"predictions: not an object", [](const std::string& p) {
             write(p + ".pred.json", R"(["a"])");
             return write(p, R"({"data": [{"paragraphs": [{"context": "a", "qas": [{"id": "q1", "question": "?", "answers": []}]}]}]})");
         }, "eval --task qa FILE --score FILE.pred.json",
         "FILE.pred.json: a predictions file is one JSON object mapping question ids to answers"},
        {"SQuAD: question longer than --max-seq",
         bytes(R"({"data": [{"paragraphs": [{"context": "paris", "qas": [{"id": "q1", "question": "what is the big city that has a river and a tower ?", "answers": []}]}]}]})"),
         "eval tests/ref/bert-qa FILE --task qa --max-seq 8",
         "FILE: question q1: the question is 13 tokens and leaves no room for the context in 8 positions (see --max-seq, --stride)"},
        {"--max-seq beyond the model", bytes(R"({"data": [{"paragraphs": [{"context": "a", "qas": [{"id": "q1", "question": "?", "answers": []}]}]}]})"),
         "eval tests/ref/bert-qa FILE --task qa --max-seq 100", "--max-seq: 100 is more than the model's 24 positions"},
        {"BLEU: line counts differ", [](const std::string& p) {
             write(p + ".hyp", "a b\n");
             return write(p, "a b\nc d\n");
         }, "eval --task bleu --ref FILE --hyp FILE.hyp", "FILE.hyp: 1 hypothesis lines, but FILE has 2 reference lines"},
        {"BLEU: empty reference file", bytes(""), "eval --task rouge --ref FILE --hyp FILE", "FILE: the file is empty"},
        {"unknown task", bytes(""), "eval FILE FILE --task summarize", "--task: 'summarize' is not one of classify, qa, bleu, rouge"},
        // --- lm train --task, --separator
        {"train: unknown task", bytes("some text\n"), "train FILE --task summarize",
         "--task: 'summarize' is not one of mlm, classify, qa"},
        {"train: fine-tuning without --dev", bytes("sentence\tlabel\na\tpos\n"), "train FILE --task classify",
         "--task classify: needs a --dev file to evaluate on"},
        {"train: dev label never seen in training", [](const std::string& p) {
             write(p + ".dev", "sentence\tlabel\nfine film\tpos\nodd film\tneutral\n");
             return write(p, "sentence\tlabel\ngood film\tpos\nbad film\tneg\n");
         }, "train FILE --task classify --dev FILE.dev",
         "FILE.dev:3: label 'neutral' is not one of the training labels (neg, pos)"},
        {"train: question longer than --max-seq",
         bytes(R"({"data": [{"paragraphs": [{"context": "paris is big", "qas": [{"id": "q1", "question": "what is the big city that has a river ?", "answers": [{"text": "paris", "answer_start": 0}]}]}]}]})"),
         "train FILE --task qa --dev FILE --max-seq 8", "FILE: question q1: 23 tokens leave no room for the context in --max-seq 8"},
        {"train: SQuAD answer not at answer_start",
         bytes(R"({"data": [{"paragraphs": [{"context": "the capital is paris", "qas": [{"id": "q7", "question": "?", "answers": [{"text": "paris", "answer_start": 14}]}]}]}]})"),
         "train FILE --task qa --dev FILE",
         "FILE: question q7: answer \"paris\" is not the context's text at answer_start 14 (there: \" pari\")"},
        {"train: --separator with a fine-tuning task", bytes("sentence\tlabel\na\tpos\n"),
         "train FILE --task classify --dev FILE --separator x",
         "--separator: only for a text corpus, not --task classify"},
        {"train: --separator without an end-of-text token", [](const std::string& p) {  // GPT-2 files, no <|endoftext|>
             std::filesystem::create_directories(p);
             write(p + "/vocab.json", R"({"a": 0, "b": 1, "\u0120": 2})");
             write(p + "/merges.txt", "#version: 0.2\n");
             write(p + "/corpus.txt", "ab ba\n\nba ab\n");
             return p;
         }, "train FILE/corpus.txt --tokenizer FILE --separator x -o FILE/out.gguf",
         "--separator: the vocabulary has no end-of-text (EOS) token to end documents with"},
        {"train: corpus not a file", [](const std::string& p) {
             std::filesystem::create_directories(p);
             return p;
         }, "train FILE -o FILE.gguf", "FILE: not a regular file"},
        // --- lm quantize
        {"quantize: a type lm does not write", [](const std::string& p) { return tiny_llama(p); },
         "quantize FILE FILE.out IQ4_XS", "TYPE 'IQ4_XS' is not a type lm quantizes to (Q2_K, Q3_K_M, ..."},
        {"quantize: rows not whole blocks", [](const std::string& p) { return tiny_llama(p); },
         "quantize FILE FILE.out q4_0",
         "FILE: tensor token_embd.weight: row length 8 is not a multiple of the q4_0 block size 32"},
        // --- lm eval --chunks, --kl-divergence
        {"eval: logits of another model", [](const std::string& p) {
             write(p + ".txt", "hello hello hello hello hello hello hello hello hello hello hello hello");
             GgufBytes g;
             g.b = "_logits_";
             write(p + ".kld", g.put<int32_t>(16).put<int32_t>(7).put<int32_t>(1).b);
             return tiny_llama(p);
         }, "eval FILE FILE.txt --kl-divergence FILE.kld",
         "FILE.kld: logits of a model with a vocabulary of 7 tokens; this model has 4"},
        {"eval: not a logits file", [](const std::string& p) {
             write(p + ".txt", "hello hello hello hello hello hello hello hello hello hello hello hello");
             write(p + ".kld", "hello world");
             return tiny_llama(p);
         }, "eval FILE FILE.txt --kl-divergence FILE.kld",
         "FILE.kld: not a logits file (lm eval --save-logits or llama-perplexity --kl-divergence-base)"},
        {"eval: text shorter than two chunks", [](const std::string& p) {
             write(p + ".txt", "hello");
             return tiny_llama(p);
         }, "eval FILE FILE.txt --chunks", "FILE.txt: 7 tokens; --chunks needs at least 2 x ctx = 32"},
        // --- a full disk (lm writes every output through a temporary file renamed into place)
        {"train: checkpoint on a full disk",
         disk_full_at(".ckpt.tmp", "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
                                  "The slings and arrows of outrageous fortune,\n"),
         "train FILE -o FILE.gguf --size tiny --tokenizer char --ctx 8 --batch 1 --iters 2 --save-every 1 -q",
         "step 1: FILE.ckpt: write failed: No space left on device; no checkpoint was written"},
        {"train: token ids on a full disk", disk_full_at(".tokens", "To be, or not to be, that is the question:\n"),
         "train FILE -o FILE.gguf --tokenizer char --ctx 8",
         "FILE.tokens: cannot write the corpus's token ids: No space left on device"},
        {"model output on a full disk", disk_full_at(".tmp"), "init --shape 8,16,1,2,2,4,16 FILE",
         "FILE: write failed: No space left on device"},
        // --- command lines
        {"unknown command", bytes(""), "frobnicate", "unknown command 'frobnicate' (try lm --help)"},
        {"LM_ISA not a level of this CPU", bytes(""), "info FILE", "LM_ISA: 'avx513' is not an ISA level this CPU runs (scalar, ...",
         "avx513"},
        {"unknown option", bytes(""), "info FILE --bogus", "info: unknown option --bogus (usage: lm info MODEL ..."},
        {"wrong number of arguments", bytes(""), "tokenize FILE",
         "tokenize: wrong arguments (usage: lm tokenize MODEL TEXT ..."},
        {"flag without its value", bytes(""), "run FILE -n", "-n: missing value"},
        {"flag value not a number", bytes(""), "run FILE -t many", "-t: 'many' is not an integer"},
        {"flag value out of range", bytes(""), "run FILE -n -5", "-n: -5 is out of range (-1..1073741824)"},
        {"text file missing (-f)", bytes(""), "run FILE -f FILE.missing", "FILE.missing: cannot open"},
        {"tokenize: --show-pieces with --count", bytes(""), "tokenize FILE hello --show-pieces --count",
         "tokenize: --show-pieces and --count: give one of them"},
        {"bench: a test longer than the context", [](const std::string& p) { return tiny_llama(p); },
         "bench FILE -p 8 -n 20 -r 1", "FILE: -n 20 needs 20 positions, more than the model's context of 16"},
        {"KV cache type unknown", [](const std::string& p) { return tiny_llama(p); }, "run FILE hi -ctk q5_1",
         "-ctk: 'q5_1' is not a cache type (f16, q8_0, q4_0)"},
        {"KV cache blocks longer than a head", [](const std::string& p) { return tiny_llama(p); }, "run FILE hi -ctv q8_0",
         "-ctv: q8_0 needs heads of whole 32-element blocks; this model's heads have 4 elements (use f16)"},
    };
    return table;
}

std::string expected_line(const char* message, const std::string& file) {
    return "lm: error: " + replace_all(message, "FILE", file);
}

}  // namespace

TEST_SUITE("bad input") {

TEST_CASE("every row of docs/errors.md: exit code 1, exactly the documented line") {
    const std::string dir = testing::temp_path("bad-input");
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    int n = 0;
    for (const Row& row : rows()) {
        const std::string file = row.make(dir + "/row" + std::to_string(n++));
        const std::string args = replace_all(row.args, "FILE", file);
        if (row.lm_isa) setenv("LM_ISA", row.lm_isa, 1);
        const testing::LmResult r = testing::run_lm(args);
        if (row.lm_isa) unsetenv("LM_ISA");
        std::string want = expected_line(row.message, file);
        INFO(row.name, ": lm ", args, "\nstderr: ", r.err);
        CHECK(r.status == 1);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        if (want.size() > 3 && want.compare(want.size() - 3, 3, "...") == 0) {
            want.resize(want.size() - 3);
            CHECK(r.err.rfind(want, 0) == 0);
        } else {
            CHECK(r.err == want + "\n");
        }
    }
}

// Found by fuzz_gguf: NaN or infinite weights make NaN activations, and the scalar 8-bit
// quantizers cast them to int8 (undefined behaviour). Under make test-asan this traps. lm
// run on such a model stops with the row "non-finite weights" above.
TEST_CASE("non-finite values quantize without undefined behaviour") {
    std::vector<float> x(256, 0.5f);
    x[1] = NAN, x[2] = INFINITY, x[40] = -INFINITY, x[77] = NAN;
    for (DType type : {DType::Q8_0, DType::Q8_1, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_K,
                       DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        if (!can_quantize(type)) continue;
        std::vector<uint8_t> out(row_bytes(type, 256));
        quantize_row(type, x.data(), out.data(), 256);
    }
}

TEST_CASE("docs/errors.md lists every row with its message") {
    const std::string doc = testing::read_file_bytes("docs/errors.md");
    REQUIRE(!doc.empty());
    for (const Row& row : rows()) {
        INFO(row.name);
        CHECK(doc.find(std::string("| ") + row.name + " |") != std::string::npos);
        CHECK(doc.find(std::string("`lm: error: ") + row.message + "`") != std::string::npos);
    }
}

}
