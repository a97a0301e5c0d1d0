// GPT-2 against PyTorch: a tiny random model built from torch.nn blocks by
// tests/ref/make_gpt2_bert.py, read from its Hugging Face directory and after `lm convert`.
#include <cmath>
#include <cstring>

#include "src/models/model.h"
#include "tests/lm_process.h"
#include "tokenizer/tokenizer.h"

using namespace lm;

namespace {

const char* kDir = "tests/ref/gpt2";
const char* kRef = "tests/ref/gpt2_bert_ref.safetensors";
const char* kPrompt = "once upon a time there was a little girl named lily. she saw a big red ball";

std::vector<float> ref_values(const std::string& name) {
    static const ModelFile ref = load_model(kRef);
    const Tensor& t = ref.get(name);
    return std::vector<float>(t.f32(), t.f32() + t.count());
}

std::vector<int> ref_tokens() {
    std::vector<int> ids;
    for (float v : ref_values("gpt2.prompt_tokens")) ids.push_back(static_cast<int>(v));
    return ids;
}

float max_diff(const float* a, const float* b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

// All positions' logits of the reference prompt, run in batches of max_batch.
std::vector<float> prompt_logits(const ModelFile& file, int max_batch) {
    const std::vector<int> ids = ref_tokens();
    auto model = load_decoder(file, 0, max_batch);
    std::vector<float> logits(ids.size() * model->vocab_size());
    model->forward(ids.data(), static_cast<int>(ids.size()), 0, 2, logits.data());
    return logits;
}

}  // namespace

TEST_SUITE("gpt2") {

TEST_CASE("vocab.json + merges.txt tokenize the prompt as the reference BPE did") {
    ModelFile file = open_model(kDir);
    Tokenizer tok(file.meta);
    const std::vector<int32_t> ids = tok.encode(kPrompt, true);  // GPT-2 adds no BOS
    const std::vector<int> want = ref_tokens();
    CHECK(std::vector<int>(ids.begin(), ids.end()) == want);
    CHECK(tok.decode(ids) == kPrompt);
}

TEST_CASE("logits match PyTorch from safetensors: one batch, chunks, token by token") {
    ModelFile file = load_model(kDir);
    const std::vector<float> ref = ref_values("gpt2.logits");
    const std::vector<float> batch = prompt_logits(file, 512);
    REQUIRE(batch.size() == ref.size());
    const float d_batch = max_diff(batch.data(), ref.data(), ref.size());
    const float d_chunks = max_diff(prompt_logits(file, 5).data(), ref.data(), ref.size());
    MESSAGE("gpt2 safetensors: max |logit - torch| ", d_batch, " (batch), ", d_chunks, " (chunks of 5)");
    CHECK(d_batch < 1e-4f);
    CHECK(d_chunks < 1e-4f);

    // Decoding one token at a time through the KV cache gives each position's logits.
    const std::vector<int> ids = ref_tokens();
    auto model = load_decoder(file, 0, 1);
    const int vocab = model->vocab_size();
    float d_step = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
        model->forward(&ids[i], 1, static_cast<int>(i), 1);
        d_step = std::max(d_step, max_diff(model->logits(), &ref[i * vocab], vocab));
    }
    MESSAGE("gpt2 token by token: max diff ", d_step);
    CHECK(d_step < 1e-4f);
}

TEST_CASE("after lm convert to GGUF: f32 matches PyTorch, f16 is close") {
    const std::string f32 = testing::temp_path("gpt2-f32.gguf"), f16 = testing::temp_path("gpt2-f16.gguf");
    REQUIRE(testing::run_lm(std::string("convert ") + kDir + " " + f32).status == 0);
    REQUIRE(testing::run_lm(std::string("convert ") + kDir + " " + f16 + " --type f16").status == 0);
    const std::vector<float> ref = ref_values("gpt2.logits");
    ModelFile a = load_model(f32);
    CHECK(a.format == "gguf");
    CHECK(a.meta.get_string("tokenizer.ggml.model") == "gpt2");
    CHECK(a.get("blk.0.attn_qkv.weight").ne[1] == 96);
    const float d32 = max_diff(prompt_logits(a, 512).data(), ref.data(), ref.size());
    const float d16 = max_diff(prompt_logits(load_model(f16), 512).data(), ref.data(), ref.size());
    MESSAGE("gpt2 GGUF: max diff f32 ", d32, ", f16 ", d16);
    CHECK(d32 < 1e-4f);
    CHECK(d16 < 2e-2f);
}

TEST_CASE("lm run, logits, tokenize and info work on GPT-2") {
    const std::string gguf = testing::temp_path("gpt2-cli.gguf");
    REQUIRE(testing::run_lm(std::string("convert ") + kDir + " " + gguf).status == 0);
    const testing::LmResult a = testing::run_lm(std::string("run ") + kDir + " 'once upon a time' --temp 0 -n 12 -t 1");
    const testing::LmResult b = testing::run_lm("run " + gguf + " 'once upon a time' --temp 0 -n 12 -t 1");
    CHECK(a.status == 0);
    CHECK(!a.out.empty());
    CHECK(a.out == b.out);

    const std::vector<int> want = ref_tokens();
    std::string ids;
    for (int id : want) {
        if (!ids.empty()) ids += ' ';
        ids += std::to_string(id);
    }
    CHECK(testing::run_lm(std::string("tokenize ") + kDir + " '" + kPrompt + "'").out == ids + "\n");

    const std::string out = testing::temp_path("gpt2.logits");
    REQUIRE(testing::run_lm(std::string("logits ") + kDir + " '" + kPrompt + "' -o " + out).status == 0);
    const std::string bytes = testing::read_file_bytes(out);
    const std::vector<float> ref = ref_values("gpt2.logits");
    const size_t header = 8 + 4 * want.size();
    REQUIRE(bytes.size() == header + 4 * ref.size());
    std::vector<float> logits(ref.size());
    std::memcpy(logits.data(), bytes.data() + header, 4 * ref.size());
    CHECK(max_diff(logits.data(), ref.data(), ref.size()) < 1e-4f);

    const testing::LmResult info = testing::run_lm(std::string("info ") + kDir);
    CHECK(info.out.find("architecture: gpt2") != std::string::npos);
    CHECK(info.out.find("dim 32, hidden 128, layers 2, heads 4") != std::string::npos);
    CHECK(info.out.find("tokenizer: gpt2, 317 tokens") != std::string::npos);
}

}  // TEST_SUITE
