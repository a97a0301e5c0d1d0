// The safetensors reader and Hugging Face directories: zero-copy views in ggml order, f16/bf16,
// name and config mapping, and every kind of lying header rejected with one line.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "src/models/config.h"
#include "src/models/model.h"
#include "tests/lm_process.h"
#include "weights/error.h"
#include "weights/safetensors.h"

using namespace lm;
namespace fs = std::filesystem;

namespace {

// A PyTorch reference from tests/ref (NAME.tokens and NAME.logits in a safetensors file): the
// token ids and PyTorch's logits for them; and lm's logits for a model file over the same ids,
// in one batch.
struct TorchReference {
    TorchReference(const std::string& path, const std::string& name) {
        const ModelFile ref = load_model(path);
        const Tensor& tokens = ref.get(name + ".tokens");
        const Tensor& logits = ref.get(name + ".logits");
        for (int64_t i = 0; i < tokens.count(); ++i) ids.push_back(static_cast<int>(tokens.f32()[i]));
        want.assign(logits.f32(), logits.f32() + logits.count());
    }
    std::vector<float> logits_of(const ModelFile& file) const {
        auto model = load_decoder(file, 0, 64);
        std::vector<float> logits(want.size());
        model->forward(ids.data(), static_cast<int>(ids.size()), 0, 2, logits.data());
        return logits;
    }
    float max_diff(const std::vector<float>& logits) const {
        float diff = 0;
        for (size_t i = 0; i < logits.size(); ++i) diff = std::max(diff, std::fabs(logits[i] - want[i]));
        return diff;
    }
    std::vector<int> ids;
    std::vector<float> want;
};

// u64 header length + header + data, as the format lays it out.
// The header is padded with spaces so the data starts 8-byte aligned, as writers do.
std::string safetensors_bytes(std::string header, const std::string& data) {
    header.append((8 - header.size() % 8) % 8, ' ');
    const uint64_t n = header.size();
    std::string out(reinterpret_cast<const char*>(&n), 8);
    return out + header + data;
}

template <typename T>
std::string raw(std::initializer_list<T> values) {
    std::string s;
    for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
    return s;
}

std::string write_file(const std::string& name, const std::string& bytes) {
    const std::string path = testing::temp_path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

std::string error_of(const std::string& path) {
    try {
        load_model(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// A copy of tests/ref/gpt2 whose config.json is `config` (weights and vocabulary linked).
std::string gpt2_dir_with_config(const std::string& name, const std::string& config) {
    const fs::path dir = testing::temp_path(name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const char* f : {"model.safetensors", "vocab.json", "merges.txt"}) fs::copy_file(fs::path("tests/ref/gpt2") / f, dir / f);
    std::ofstream(dir / "config.json") << config;
    return dir.string();
}

const char* kGpt2Config = R"({"model_type": "gpt2", "n_embd": 32, "n_head": 4, "n_layer": 2, "n_positions": 64, "n_inner": 128})";

}  // namespace

TEST_SUITE("safetensors") {

TEST_CASE("f32, f16 and bf16 tensors: shapes reversed into ggml order, data mapped") {
    // a: F32 [2, 3] (rows, cols); b: F16 [3] (a vector: widened to f32); c: BF16 [2, 2].
    const std::string data = raw<float>({1, 2, 3, 4, 5, 6}) +
                             raw<uint16_t>({f32_to_f16(0.5f), f32_to_f16(-2.0f), f32_to_f16(8.0f)}) +
                             raw<uint16_t>({f32_to_bf16(1.5f), f32_to_bf16(-1.0f), f32_to_bf16(3.0f), f32_to_bf16(0.25f)});
    const std::string header = R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                               R"("b":{"dtype":"F16","shape":[3],"data_offsets":[24,30]},)"
                               R"("c":{"dtype":"BF16","shape":[2,2],"data_offsets":[30,38]},)"
                               R"("__metadata__":{"format":"pt"}})";
    ModelFile f = load_model(write_file("types.safetensors", safetensors_bytes(header, data)));
    CHECK(f.format == "safetensors");
    REQUIRE(f.tensors.size() == 3);
    const Tensor& a = f.get("a");
    CHECK(a.type == DType::F32);
    CHECK(a.n_dims == 2);
    CHECK(a.ne[0] == 3);
    CHECK(a.ne[1] == 2);
    CHECK(a.f32()[4] == 5.0f);  // row 1, column 1
    const uint8_t* start = f.mapping->data() + f.mapping->size() - data.size();
    CHECK(static_cast<const void*>(a.data) == start);  // zero-copy
    const Tensor& b = f.get("b");
    CHECK(b.type == DType::F32);
    CHECK(b.f32()[1] == -2.0f);
    const Tensor& c = f.get("c");
    CHECK(c.type == DType::BF16);
    uint16_t v;
    std::memcpy(&v, c.row(1), 2);
    CHECK(bf16_to_f32(v) == 3.0f);
    // c starts at an even but not 4-aligned offset: 2-byte elements need no copy.
    CHECK(static_cast<const uint8_t*>(c.data) == start + 30);
}

TEST_CASE("misaligned f32 data is copied, not read unaligned") {
    const std::string data = raw<uint16_t>({0}) + raw<float>({7, 8});
    const std::string header = R"({"h":{"dtype":"F16","shape":[1,1],"data_offsets":[0,2]},)"
                               R"("x":{"dtype":"F32","shape":[1,2],"data_offsets":[2,10]}})";
    ModelFile f = load_model(write_file("misaligned.safetensors", safetensors_bytes(header, data)));
    const Tensor& x = f.get("x");
    CHECK(reinterpret_cast<uintptr_t>(x.data) % 4 == 0);
    CHECK(x.f32()[1] == 8.0f);
}

TEST_CASE("a GPT-2 directory reads as llama.cpp would convert it") {
    ModelFile f = open_model("tests/ref/gpt2");
    CHECK(f.architecture() == "gpt2");
    CHECK(f.meta.get_int("gpt2.embedding_length") == 32);
    CHECK(f.meta.get_int("gpt2.feed_forward_length") == 128);
    CHECK(f.meta.get_float("gpt2.attention.layer_norm_epsilon") == doctest::Approx(1e-5));
    CHECK(f.meta.get_string("tokenizer.ggml.model") == "gpt2");
    CHECK_FALSE(f.find("blk.0.attn.bias"));  // the causal-mask buffer is dropped
    // Conv1D [in, out] transposed to [out, in]: ne = {in, out}.
    const Tensor& qkv = f.get("blk.1.attn_qkv.weight");
    CHECK(qkv.ne[0] == 32);
    CHECK(qkv.ne[1] == 96);
    CHECK(f.get("blk.0.ffn_down.weight").ne[0] == 128);
    CHECK(f.tensors.size() == 4 + 2 * 12);
}

TEST_CASE("a BERT directory: names, heads, labels; int64 buffers skipped") {
    ModelFile f = open_model("tests/ref/bert");
    CHECK(f.architecture() == "bert");
    CHECK(f.meta.get_int("bert.pooling_type") == 1);
    const auto* labels = f.meta.get_strings("bert.classifier.output_labels");
    REQUIRE(labels);
    CHECK(*labels == std::vector<std::string>{"negative", "neutral", "positive"});
    for (const char* name : {"token_embd.weight", "token_types.weight", "position_embd.weight", "token_embd_norm.bias",
                             "blk.1.attn_q.weight", "blk.1.attn_output_norm.weight", "blk.0.layer_output_norm.bias",
                             "cls.weight", "cls.output.weight", "qa.weight"})
        CHECK_MESSAGE(f.find(name), name);
    CHECK(f.get("cls.output.weight").ne[1] == 3);
    CHECK(f.meta.get_string("tokenizer.ggml.model") == "bert");
}

TEST_CASE("a Llama directory: q/k rows permuted for adjacent-pair RoPE, logits match PyTorch") {
    ModelFile f = load_model("tests/ref/llama");
    CHECK(f.meta.get_int("llama.attention.head_count_kv") == 2);
    CHECK(f.get("blk.0.attn_k.weight").ne[1] == 16);
    const TorchReference ref("tests/ref/gpt2_bert_ref.safetensors", "llama");
    const std::vector<float> logits = ref.logits_of(f);
    const float diff = ref.max_diff(logits);
    MESSAGE("llama safetensors: max |logit - torch| ", diff);
    // Llama's attention rounds q and the weights to f16 as ggml does, on top of the f16 cache.
    CHECK(diff < 2e-3f);

    // lm convert writes the permuted layout: the GGUF gives the same logits bit for bit.
    const std::string gguf = testing::temp_path("llama-hf.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/llama " + gguf).status == 0);
    CHECK(ref.logits_of(load_model(gguf)) == logits);
}

// tests/ref/make_qwen2.py: q/k/v biases, rotate-half RoPE with base 1e6, tied classifier.
TEST_CASE("a Qwen2 directory and its GGUF: logits match PyTorch") {
    ModelFile f = load_model("tests/ref/qwen2");
    CHECK(f.meta.get_string("general.architecture") == "qwen2");
    CHECK(f.meta.get_float("qwen2.rope.freq_base") == 1e6);
    CHECK(f.find("blk.1.attn_k.bias"));
    CHECK_FALSE(f.find("output.weight"));
    const TorchReference ref("tests/ref/qwen2_ref.safetensors", "qwen2");
    const std::vector<float> logits = ref.logits_of(f);
    MESSAGE("qwen2 safetensors: max |logit - torch| ", ref.max_diff(logits));
    CHECK(ref.max_diff(logits) < 2e-3f);

    // lm convert keeps llama.cpp's layout for qwen2 (no q/k permutation, biases as blk.N.attn_q.bias).
    const std::string gguf = testing::temp_path("qwen2-hf.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/qwen2 " + gguf).status == 0);
    const ModelFile g = load_model(gguf);
    CHECK(g.get("blk.0.attn_q.bias").type == DType::F32);
    CHECK(ref.logits_of(g) == logits);
    // Quantized: the biases stay f32, the matrices become q8_0.
    const std::string q8 = testing::temp_path("qwen2-q8.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/qwen2 " + q8 + " --type q8_0").status == 0);
    const ModelFile g8 = load_model(q8);
    CHECK(g8.get("blk.0.attn_q.weight").type == DType::Q8_0);
    const float q8_diff = ref.max_diff(ref.logits_of(g8));
    MESSAGE("qwen2 q8_0: max |logit - torch| ", q8_diff);
    CHECK(q8_diff < 0.08f);
}

// tests/ref/make_llama3.py: base 500000 and rope_scaling "llama3" (one pair kept, one blended,
// two divided by 8), which the converter turns into rope_freqs.weight as llama.cpp's does.
TEST_CASE("a Llama 3 directory with llama3 RoPE scaling: logits match PyTorch") {
    ModelFile f = load_model("tests/ref/llama3");
    CHECK(f.meta.get_float("llama.rope.freq_base") == 500000);
    const Tensor& factors = f.get("rope_freqs.weight");
    REQUIRE(factors.count() == 4);
    CHECK(factors.f32()[0] == 1.0f);
    CHECK(factors.f32()[1] == doctest::Approx(1.3751).epsilon(1e-4));
    CHECK(factors.f32()[2] == 8.0f);
    const TorchReference ref("tests/ref/llama3_ref.safetensors", "llama3");
    const std::vector<float> logits = ref.logits_of(f);
    MESSAGE("llama3 safetensors: max |logit - torch| ", ref.max_diff(logits));
    // Logits reach 6.5; llama.cpp's own difference on the converted GGUF is 0.0153 (f16 cache).
    CHECK(ref.max_diff(logits) < 0.025f);
    ModelFile unscaled = load_model("tests/ref/llama3");
    std::erase_if(unscaled.tensors, [](const Tensor& t) { return t.name == "rope_freqs.weight"; });
    const float unscaled_diff = ref.max_diff(ref.logits_of(unscaled));
    MESSAGE("llama3 without the scaling: max |logit - torch| ", unscaled_diff);
    CHECK(unscaled_diff > 0.25f);
    const std::string gguf = testing::temp_path("llama3-hf.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/llama3 " + gguf).status == 0);
    const ModelFile g = load_model(gguf);
    CHECK(g.get("rope_freqs.weight").type == DType::F32);
    CHECK(ref.logits_of(g) == logits);
}

// tests/ref/make_phi3.py: fused qkv and gate_up matrices, rotate-half RoPE, GQA.
TEST_CASE("a Phi-3 directory and its GGUF: fused matrices split into views, logits match PyTorch") {
    ModelFile f = load_model("tests/ref/phi3");
    CHECK(f.get("blk.0.attn_qkv.weight").ne[1] == 32 + 2 * 16);
    CHECK(f.get("blk.0.ffn_up.weight").ne[1] == 2 * 64);
    CHECK(f.meta.get_int("phi3.attention.sliding_window") == 48);
    CHECK(read_config(f).context_length == 48);  // the window, below max_position_embeddings 64
    const TorchReference ref("tests/ref/phi3_ref.safetensors", "phi3");
    const std::vector<float> logits = ref.logits_of(f);
    MESSAGE("phi3 safetensors: max |logit - torch| ", ref.max_diff(logits));
    CHECK(ref.max_diff(logits) < 2e-3f);
    const std::string gguf = testing::temp_path("phi3-hf.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/phi3 " + gguf).status == 0);
    CHECK(ref.logits_of(load_model(gguf)) == logits);
    // q8_0 blocks split at row boundaries like any other matrix.
    const std::string q8 = testing::temp_path("phi3-q8.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/phi3 " + q8 + " --type q8_0").status == 0);
    const float q8_diff = ref.max_diff(ref.logits_of(load_model(q8)));
    MESSAGE("phi3 q8_0: max |logit - torch| ", q8_diff);
    CHECK(q8_diff < 0.08f);
}

// tests/ref/make_gemma2.py: scaled embeddings, (1 + w) norms, post-norms, heads of 16 against
// a width of 32, GELU gating, score and logit caps that bite (2 and 5), tied classifier.
TEST_CASE("a Gemma 2 directory and its GGUF: logits match PyTorch") {
    ModelFile f = load_model("tests/ref/gemma2");
    CHECK(f.meta.get_int("gemma2.attention.key_length") == 16);
    CHECK(f.meta.get_float("gemma2.attn_logit_softcapping") == 2.0);
    CHECK(f.get("blk.0.attn_q.weight").ne[1] == 64);
    CHECK(read_config(f).context_length == 48);  // the sliding window
    const TorchReference ref("tests/ref/gemma2_ref.safetensors", "gemma2");
    const std::vector<float> logits = ref.logits_of(f);
    MESSAGE("gemma2 safetensors: max |logit - torch| ", ref.max_diff(logits));
    CHECK(ref.max_diff(logits) < 5e-3f);
    const std::string gguf = testing::temp_path("gemma2-hf.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/gemma2 " + gguf).status == 0);
    const ModelFile g = load_model(gguf);
    CHECK(ref.logits_of(g) == logits);
    // Decoding one token at a time over the cache gives the batch's last logits (up to the
    // summation orders of the prompt GEMM and the decode kernels: 1.9e-4 measured on NEON).
    auto model = load_decoder(g, 0, 64);
    const std::vector<int>& ids = ref.ids;
    for (size_t i = 0; i < ids.size(); ++i) model->forward(&ids[i], 1, static_cast<int>(i), 1);
    float step_diff = 0;
    const size_t vocab = ref.want.size() / ids.size();
    for (size_t v = 0; v < vocab; ++v)
        step_diff = std::max(step_diff, std::fabs(model->logits()[v] - logits[(ids.size() - 1) * vocab + v]));
    CHECK(step_diff < 1e-3f);
    const std::string q8 = testing::temp_path("gemma2-q8.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/gemma2 " + q8 + " --type q8_0").status == 0);
    const float q8_diff = ref.max_diff(ref.logits_of(load_model(q8)));
    MESSAGE("gemma2 q8_0: max |logit - torch| ", q8_diff);
    CHECK(q8_diff < 0.3f);  // weights of std 0.3, logits to 4.8: q8_0 moves them by about 0.2
}

TEST_CASE("a GPT-2 directory stored in f16 and bf16: transposed 2-byte weights, widened vectors") {
    const MappedFile source("tests/ref/gpt2/model.safetensors");  // entries point into it
    const std::vector<SafetensorsEntry> entries = parse_safetensors(source);
    const ModelFile f32 = load_model("tests/ref/gpt2");
    auto reference = load_decoder(f32, 0, 64);
    const std::vector<int> ids = {269, 99, 101, 32, 117, 112, 269, 259, 292, 289};
    std::vector<float> want(ids.size() * reference->vocab_size());
    reference->forward(ids.data(), static_cast<int>(ids.size()), 0, 1, want.data());
    for (const char* dtype : {"F16", "BF16"}) {
        // Rewrite every F32 tensor in `dtype`; the int64/f32 mask buffers go as they are.
        std::string header = "{", data;
        for (const SafetensorsEntry& e : entries) {
            std::string bytes(reinterpret_cast<const char*>(e.data), e.nbytes), type = e.dtype;
            if (e.dtype == "F32" && e.name.find("attn.bias") == std::string::npos) {
                type = dtype;
                bytes.clear();
                for (size_t i = 0; i < e.nbytes / 4; ++i) {
                    float v;
                    std::memcpy(&v, e.data + 4 * i, 4);
                    const uint16_t h = type == "F16" ? f32_to_f16(v) : f32_to_bf16(v);
                    bytes.append(reinterpret_cast<const char*>(&h), 2);
                }
            }
            std::string shape;
            for (int64_t d : e.shape) shape += concat(shape.empty() ? "" : ",", d);
            header += concat(header.size() > 1 ? "," : "", "\"", e.name, "\":{\"dtype\":\"", type, "\",\"shape\":[", shape,
                                                          "],\"data_offsets\":[", data.size(), ",", data.size() + bytes.size(), "]}");
            data += bytes;
        }
        const std::string dir = gpt2_dir_with_config(std::string("gpt2-") + dtype, kGpt2Config);
        fs::remove(fs::path(dir) / "model.safetensors");
        std::ofstream(fs::path(dir) / "model.safetensors", std::ios::binary) << safetensors_bytes(header + "}", data);
        const ModelFile half = load_model(dir);
        CHECK(half.get("blk.0.attn_qkv.weight").type == (std::string(dtype) == "F16" ? DType::F16 : DType::BF16));
        CHECK(half.get("blk.0.attn_qkv.bias").type == DType::F32);
        auto model = load_decoder(half, 0, 64);
        std::vector<float> got(want.size());
        model->forward(ids.data(), static_cast<int>(ids.size()), 0, 1, got.data());
        float diff = 0;
        for (size_t i = 0; i < got.size(); ++i) diff = std::max(diff, std::fabs(got[i] - want[i]));
        MESSAGE(std::string(dtype), " GPT-2 directory: max |logit - f32| ", diff);
        CHECK(diff < (std::string(dtype) == "F16" ? 5e-3f : 5e-2f));
    }
}

TEST_CASE("lying headers and bad directories are errors naming the problem") {
    const std::string data = raw<float>({1, 2, 3, 4});
    auto bad = [&](const std::string& name, const std::string& header, const std::string& needle) {
        const std::string msg = error_of(write_file(name, safetensors_bytes(header, data)));
        INFO(name, ": ", msg);
        CHECK(msg.find(needle) != std::string::npos);
    };
    bad("size.safetensors", R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", "need 24");
    bad("offset.safetensors", R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}})", "past the end");
    bad("reversed.safetensors", R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", "past the end");
    bad("overlap.safetensors",
        R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
        "overlap");
    bad("dtype.safetensors", R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", "unknown dtype 'Q4'");
    bad("int.safetensors", R"({"a":{"dtype":"I32","shape":[4],"data_offsets":[0,16]}})", "lm reads F32, F16 and BF16");
    bad("shape.safetensors", R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", "non-negative");
    bad("huge.safetensors", R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}})", "overflows");
    bad("dim.safetensors", R"({"a":{"dtype":"F32","shape":[0,1099511627777],"data_offsets":[0,0]}})", "invalid dimension");
    bad("json.safetensors", R"({"a":{"dtype":"F32",,}})", "JSON error");
    bad("entry.safetensors", R"({"a":[1, 2]})", "tensor a is not an object");
    std::string long_header = safetensors_bytes("{}", "");
    long_header[0] = 100;  // header length past the end of the file
    CHECK(error_of(write_file("long.safetensors", long_header)).find("runs past the end") != std::string::npos);

    CHECK(error_of("tests/ref").find("needs config.json") != std::string::npos);
    CHECK(error_of(gpt2_dir_with_config("st-missing", R"({"model_type": "gpt2", "n_embd": 32, "n_head": 4, "n_layer": 2})"))
              .find("missing key \"n_positions\"") != std::string::npos);
    CHECK(error_of(gpt2_dir_with_config("st-type", R"({"model_type": "mamba"})")).find("model_type \"mamba\"") !=
          std::string::npos);
    CHECK(error_of(gpt2_dir_with_config("st-bad", R"({"model_type": "gpt2", "n_embd": "32"})"))
              .find("\"n_embd\" must be a positive integer") != std::string::npos);
    CHECK(error_of(gpt2_dir_with_config("st-ok", kGpt2Config)).empty());
}

TEST_CASE("mutated headers never crash: each load succeeds or throws lm::Error") {
    const std::string good = testing::read_file_bytes("tests/ref/bert-qa/model.safetensors");
    uint64_t header_size;
    std::memcpy(&header_size, good.data(), 8);
    uint64_t state = 12345;
    auto next = [&] { return state = state * 6364136223846793005ull + 1442695040888963407ull, state >> 33; };
    int errors = 0;
    for (int i = 0; i < 300; ++i) {
        std::string bad = good;
        for (int k = 0; k < 1 + i % 3; ++k) {
            const char digits[] = "0123456789,:[]{}\"-e.";
            const size_t at = 8 + next() % header_size;  // into the JSON text
            bad[at] = next() % 2 ? digits[next() % (sizeof digits - 1)] : static_cast<char>(next());
        }
        try {
            load_model(write_file("mutated.safetensors", bad));
        } catch (const Error&) {
            ++errors;
        }
    }
    MESSAGE(errors, " of 300 mutated headers rejected with lm::Error, none crashed");
    CHECK(errors > 0);
}

TEST_CASE("sentence-transformers pooling config picks CLS pooling") {
    const fs::path dir = testing::temp_path("bert-cls");
    fs::remove_all(dir);
    fs::create_directories(dir / "1_Pooling");
    for (const char* f : {"model.safetensors", "vocab.txt", "config.json"}) fs::copy_file(fs::path("tests/ref/bert") / f, dir / f);
    std::ofstream(dir / "1_Pooling" / "config.json") << R"({"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false})";
    CHECK(load_model(dir.string()).meta.get_int("bert.pooling_type") == 2);
    const std::string text = " 'the movie was great'";
    const testing::LmResult by_model = testing::run_lm("embed " + dir.string() + text);
    const testing::LmResult by_flag = testing::run_lm("embed tests/ref/bert" + text + " --pooling cls");
    CHECK(by_model.status == 0);
    CHECK(by_model.out == by_flag.out);
    CHECK(by_model.out != testing::run_lm("embed tests/ref/bert" + text).out);  // mean by default
}

TEST_CASE("bad input through the CLI: one line, exit code 1") {
    const std::string data = raw<float>({1, 2, 3, 4});
    auto file = [&](const std::string& name, const std::string& header) {
        return write_file(name, safetensors_bytes(header, data));
    };
    testing::expect_lm_error("info " + file("cli-size.safetensors", R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,16]}})"),
                             "data_offsets give 16 bytes");
    testing::expect_lm_error("info " + file("cli-off.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}})"),
                             "run past the end");
    testing::expect_lm_error("info " + file("cli-json.safetensors", "{\"a\":\n{\"dtype\" \"F32\"}}"), "JSON error at line 2");
    testing::expect_lm_error("info " + file("cli-dtype.safetensors", R"({"a":{"dtype":"F12","shape":[4],"data_offsets":[0,16]}})"),
                             "unknown dtype 'F12'");
    testing::expect_lm_error("run " + gpt2_dir_with_config("cli-missing", R"({"model_type": "gpt2", "n_head": 4})"),
                             "missing key \"n_embd\"");
    // Every key present but the weights do not fit the stated shape.
    testing::expect_lm_error(
        "run " + gpt2_dir_with_config("cli-shape", R"({"model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 2, "n_positions": 64})"),
        "expected [64, 317]");
}

}  // TEST_SUITE
