// The lm binary end to end: byte-exact generation, conversion round trip, and the table of
// bad inputs (each one line on stderr, exit code 1).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <fstream>

#include "src/models/model.h"
#include "tests/lm_process.h"
#include "tokenizer/tokenizer.h"
#include "weights/gguf.h"
#include "weights/quant.h"

using namespace lm;

namespace {

std::string write_bytes(const std::string& name, const std::string& bytes) {
    const std::string path = testing::temp_path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

// A copy of a GGUF with one metadata change (value empty: key removed).
std::string edited_gguf(const std::string& src, const std::string& name, const std::string& key, const Value* value) {
    ModelFile f = load_model(src);
    Metadata m;
    for (auto& [k, v] : f.meta.entries)
        if (k != key) m.entries.emplace_back(k, v);
    if (value) m.set(key, *value);
    const std::string path = testing::temp_path(name);
    write_gguf(path, m, f.tensors);
    return path;
}

const char* kStories = "models/stories260K/";

// A copy of a model file with `bytes` written at byte `offset` of tensor `name`'s data.
std::string corrupted_copy(const std::string& src, const std::string& name, const std::string& tensor, size_t offset,
                           const std::string& bytes) {
    std::string data = testing::read_file_bytes(src);
    {
        const ModelFile file = load_model(src);
        const Tensor& t = file.get(tensor);
        const size_t at = static_cast<size_t>(static_cast<const uint8_t*>(t.data) - file.mapping->data()) + offset;
        REQUIRE(at + bytes.size() <= data.size());
        data.replace(at, bytes.size(), bytes);
    }
    return write_bytes(name, data);
}

// What lm says when a forward pass gives NaN or Inf (the position depends on the command).
void expect_non_finite(const std::string& args, const std::string& model) {
    const testing::LmResult r = testing::run_lm(args);
    INFO("lm ", args, "\nstderr: ", r.err);
    CHECK(r.status == 1);
    CHECK(r.err.rfind("lm: error: " + model + ": non-finite logits at position ", 0) == 0);
    CHECK(r.err.find(" (corrupt or overflowing weights; see lm info --check)\n") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("greedy generation is byte-identical to llama2.c's run.c") {
    const std::string expected_path = testing::shared_file(std::string(kStories) + "greedy-200.txt");
    const std::string tok = testing::shared_file(std::string(kStories) + "tok512.bin");
    if (expected_path.empty() || tok.empty()) return;
    const std::string expected = testing::read_file_bytes(expected_path);
    // run.c's 200 steps print 200 sampled tokens (the last is sampled at position 199 and
    // printed without being fed back), which is -n 200 in llama.cpp's counting.
    for (const char* model : {"stories260K.bin", "stories260K_v1.bin", "stories260K-F32.gguf"}) {
        const std::string path = testing::shared_file(std::string(kStories) + model);
        if (path.empty()) return;
        const std::string tok_flag = std::string(model).find(".bin") != std::string::npos ? " --tokenizer " + tok : "";
        const testing::LmResult r = testing::run_lm("run " + path + tok_flag + " --temp 0 -n 200 -t 1");
        INFO(model, " stderr: ", r.err);
        CHECK(r.status == 0);
        CHECK(r.out == expected);
    }
}

TEST_CASE("a prompt is echoed, then continued: greedy from 'Once upon a time' follows the reference story") {
    const std::string expected = testing::read_file_bytes(testing::shared_file(std::string(kStories) + "greedy-200.txt"));
    const std::string gguf = testing::shared_file(std::string(kStories) + "stories260K-F32.gguf");
    if (expected.empty() || gguf.empty()) return;
    const testing::LmResult r = testing::run_lm("run " + gguf + " 'Once upon a time' --temp 0 -n 30 -t 1");
    CHECK(r.status == 0);
    CHECK(r.out.size() > 60);
    CHECK(expected.rfind(r.out, 0) == 0);  // a prefix of the story llama2.c wrote from BOS
}

TEST_CASE("convert llama2.c -> GGUF -> run gives the same text; q8_0 and f16 load") {
    const std::string bin = testing::shared_file(std::string(kStories) + "stories260K.bin");
    const std::string tok = testing::shared_file(std::string(kStories) + "tok512.bin");
    if (bin.empty() || tok.empty()) return;
    const std::string out = testing::temp_path("converted.gguf");
    testing::LmResult c = testing::run_lm("convert " + bin + " " + out + " --tokenizer " + tok);
    REQUIRE(c.status == 0);
    const testing::LmResult a = testing::run_lm("run " + bin + " --tokenizer " + tok + " --temp 0 -n 100 -t 1");
    const testing::LmResult b = testing::run_lm("run " + out + " --temp 0 -n 100 -t 1");
    CHECK(a.status == 0);
    CHECK(a.out.size() > 100);
    CHECK(a.out == b.out);
    ModelFile f = load_model(out);
    CHECK(f.meta.get_string("tokenizer.ggml.model") == "llama");
    CHECK(f.find("blk.4.ffn_down.weight"));
    for (const char* type : {"q8_0", "f16"}) {
        const std::string q = testing::temp_path(std::string("converted-") + type + ".gguf");
        REQUIRE(testing::run_lm("convert " + bin + " " + q + " --tokenizer " + tok + " --type " + type).status == 0);
        const testing::LmResult r = testing::run_lm("run " + q + " --temp 0 -n 30 -t 1");
        CHECK(r.status == 0);
        CHECK(r.out.substr(0, 20) == a.out.substr(0, 20));  // same opening words
    }
}

TEST_CASE("tokenize, info and logits") {
    const std::string gguf = testing::shared_file(std::string(kStories) + "stories260K-F32.gguf");
    const std::string vocab = testing::shared_file("models/gguf-vocab/ggml-vocab-llama-spm.gguf");
    if (gguf.empty() || vocab.empty()) return;
    testing::LmResult r = testing::run_lm("tokenize " + gguf + " 'Once upon a time, there was a little girl named Lily.'");
    CHECK(r.out == "1 403 407 261 378 432 383 286 261 376 298 315 421 395 317 426\n");
    r = testing::run_lm("tokenize " + vocab + " 'Hello world' --no-bos");
    CHECK(r.out == "15043 3186\n");
    r = testing::run_lm("info " + gguf);
    CHECK(r.status == 0);
    CHECK(r.out.find("dim 64, hidden 172, layers 5, heads 8, kv_heads 4") != std::string::npos);
    CHECK(r.out.find("blk.0.attn_k.weight") != std::string::npos);
    const std::string out = testing::temp_path("prompt.logits");
    r = testing::run_lm("logits " + gguf + " 'Once upon a time, there was a little girl named Lily.' -o " + out);
    CHECK(r.status == 0);
    const std::string bytes = testing::read_file_bytes(out), ref = testing::read_file_bytes(testing::shared_file(std::string(kStories) + "stories260K-F32.logits"));
    REQUIRE(bytes.size() == ref.size());
    CHECK(bytes.substr(0, 8 + 16 * 4) == ref.substr(0, 8 + 16 * 4));  // header and token ids
}

TEST_CASE("init writes a loadable random model with llama.cpp's Q4_K_M mix; bench prints its table") {
    const std::string q8 = testing::temp_path("init-q8_0.gguf"), mix = testing::temp_path("init-q4km.gguf");
    REQUIRE(testing::run_lm("init --shape 64,172,2,8,4,512,64 --type q8_0 " + q8).status == 0);
    ModelFile a = load_model(q8);
    CHECK(a.get("blk.0.attn_q.weight").type == DType::Q8_0);
    CHECK(a.get("blk.0.ffn_down.weight").type == DType::F16);  // 172 is not a multiple of 32
    CHECK(a.get("blk.1.ffn_norm.weight").type == DType::F32);
    CHECK(a.find("output.weight"));  // custom shapes keep a separate classifier
    REQUIRE(testing::run_lm("init --shape 256,512,2,4,2,512,64 --type q4_K_M " + mix).status == 0);
    ModelFile b = load_model(mix);
    CHECK(b.get("output.weight").type == DType::Q6_K);
    CHECK(b.get("token_embd.weight").type == DType::Q4_K);
    CHECK(b.get("blk.0.attn_v.weight").type == DType::Q4_K);
    CHECK(b.get("blk.1.attn_v.weight").type == DType::Q6_K);  // last eighth of the layers
    CHECK(b.get("blk.1.ffn_down.weight").type == DType::Q6_K);
    CHECK(b.get("blk.1.ffn_up.weight").type == DType::Q4_K);
    const testing::LmResult r = testing::run_lm("bench " + q8 + " " + mix + " -p 8 -n 4 -t 1 -r 1");
    CHECK(r.status == 0);
    CHECK(r.out.find("| init-q8_0.gguf | f16+q8_0 |") != std::string::npos);
    CHECK(r.out.find("| 1 | pp8 |") != std::string::npos);
    CHECK(r.out.find("| 1 | tg4 |") != std::string::npos);
    // --load: a row per model before the speed table, its times and peak memory positive.
    const testing::LmResult load = testing::run_lm("bench " + q8 + " --load -p 0 -n 2 -t 1 -r 1");
    CHECK(load.status == 0);
    const size_t row = load.out.find("| init-q8_0.gguf | ");
    REQUIRE(row < load.out.find("| types |"));
    double mib = 0, cold = 0, warm = 0, rss = 0;
    int threads = 0;
    REQUIRE(std::sscanf(load.out.c_str() + row, "| init-q8_0.gguf | %lf | %d | %lf | %lf | %lf |", &mib, &threads, &cold,
                        &warm, &rss) == 5);
    CHECK(threads == 1);
    CHECK(mib > 0);
    CHECK(cold > 0);
    CHECK(warm > 0);
    CHECK(rss > mib);  // the process holds at least the model
    testing::expect_lm_error("bench --load " + q8 + ".missing -t 1", "init-q8_0.gguf.missing: cannot open: No such file");
    testing::expect_lm_error("init --shape 65,172,2,8,4,512,64 " + q8, "not a valid Llama shape");
    testing::expect_lm_error("bench " + q8 + " -t 0", "-t: '0' is not a list");
    // --isa: any level the CPU runs (scalar always), one clear error for the rest.
    const testing::LmResult scalar = testing::run_lm("bench " + q8 + " -p 0 -n 2 -t 1 -r 1 --isa scalar");
    CHECK(scalar.status == 0);
    CHECK(scalar.out.find("matmul kernels: scalar (--isa)") != std::string::npos);
    CHECK(scalar.out.find("| 1 | tg2 |") != std::string::npos);
    testing::expect_lm_error("bench " + q8 + " --isa avx9", "--isa: 'avx9' is not an ISA level this CPU runs");
    // LM_ISA: the same for every command, through the dispatcher.
    setenv("LM_ISA", "scalar", 1);
    const testing::LmResult env = testing::run_lm("bench " + q8 + " -p 0 -n 2 -t 1 -r 1");
    unsetenv("LM_ISA");
    CHECK(env.status == 0);
    CHECK(env.out.find("matmul kernels: scalar (LM_ISA)") != std::string::npos);
}

TEST_CASE("bench -p 128 -n 0 and -p 0 -n 128 run on a model whose context is 128") {
    const std::string model = testing::temp_path("bench-ctx128.gguf");
    REQUIRE(testing::run_lm("init --shape 64,172,2,8,4,512,128 --type q8_0 " + model).status == 0);
    const testing::LmResult pp = testing::run_lm("bench " + model + " -p 128 -n 0 -t 1 -r 1");
    CHECK(pp.status == 0);
    CHECK(pp.out.find("| 1 | pp128 |") != std::string::npos);
    CHECK(pp.out.find("| tg") == std::string::npos);
    const testing::LmResult tg = testing::run_lm("bench " + model + " -p 0 -n 128 -t 1 -r 1");
    CHECK(tg.status == 0);
    CHECK(tg.out.find("| 1 | tg128 |") != std::string::npos);
    CHECK(tg.out.find("| pp") == std::string::npos);
    testing::expect_lm_error("bench " + model + " -p 16 -n 129",
                             model + ": -n 129 needs 129 positions, more than the model's context of 128");
}

TEST_CASE("eval: perplexity equals exp(mean NLL) computed from the model's own logits") {
    const std::string gguf = testing::shared_file(std::string(kStories) + "stories260K-F32.gguf");
    if (gguf.empty()) return;
    const std::string text = "Once upon a time, there was a little girl named Lily. She loved to play outside. "
                             "One day, she saw a big red ball in the park and ran to get it.";
    const std::string path = write_bytes("eval.txt", text);
    ModelFile file = open_model(gguf);
    Tokenizer tok(file.meta);
    std::vector<int> ids;
    for (int32_t id : tok.encode(text, true)) ids.push_back(id);
    auto model = load_decoder(file, 0, 512);
    const int n = static_cast<int>(ids.size()), V = model->vocab_size();
    std::vector<float> logits(static_cast<size_t>(n) * V);
    model->forward(ids.data(), n, 0, 1, logits.data());
    const double nll = testing::mean_next_token_nll(logits, ids, n, V);
    char expected[128];
    std::snprintf(expected, sizeof expected, "tokens %d, bytes %zu, ctx 512, stride 256\nnll per token %.4f, perplexity %.4f",
                  n - 1, text.size(), nll, std::exp(nll));
    const testing::LmResult r = testing::run_lm("eval " + gguf + " " + path + " -t 1");
    CHECK(r.status == 0);
    CHECK(r.out.rfind(expected, 0) == 0);
    // Short windows: every token but the first of each window is still scored once.
    const testing::LmResult w = testing::run_lm("eval " + gguf + " " + path + " --ctx 16 --stride 8 -t 1");
    CHECK(w.out.rfind("tokens " + std::to_string(n - 1) + ",", 0) == 0);
    testing::expect_lm_error("eval " + gguf + " " + write_bytes("empty.txt", ""), "the text is empty");
    testing::expect_lm_error("eval " + gguf + " " + path + " --ctx 9999", "--ctx: 9999 is larger");
}

TEST_CASE("bad input: one line, exit code 1") {
    const std::string gguf = testing::shared_file(std::string(kStories) + "stories260K-F32.gguf");
    if (gguf.empty()) return;
    const std::string good = testing::read_file_bytes(gguf);
    testing::expect_lm_error("run build/tmp/no-such-model.gguf", "cannot open");
    testing::expect_lm_error("run " + write_bytes("empty.gguf", ""), "file is empty");
    testing::expect_lm_error("run " + write_bytes("magic.gguf", "GGUX" + good.substr(4)), "not a GGUF file");
    testing::expect_lm_error("run " + write_bytes("header.gguf", good.substr(0, 30)), "truncated");
    testing::expect_lm_error("run " + write_bytes("data.gguf", good.substr(0, good.size() - 1000)), "runs past the end");
    std::string big_count = good;
    big_count[8 + 7] = 0x10;  // tensor count's high byte
    testing::expect_lm_error("run " + write_bytes("count.gguf", big_count), "tensor count");
    std::string big_kv = good;
    big_kv[16 + 7] = 0x10;  // metadata count's high byte
    testing::expect_lm_error("run " + write_bytes("kv.gguf", big_kv), "metadata count");
    std::string big_string = good;
    big_string[24 + 6] = 0x10;  // first key's length
    testing::expect_lm_error("run " + write_bytes("string.gguf", big_string), "exceeds");
    const Value mamba = Value::of_string("mamba9");
    testing::expect_lm_error("run " + edited_gguf(gguf, "arch.gguf", "general.architecture", &mamba), "unknown architecture 'mamba9'");
    testing::expect_lm_error("run " + edited_gguf(gguf, "hparam.gguf", "llama.block_count", nullptr), "missing metadata key llama.block_count");
    testing::expect_lm_error("run " + gguf + " 'Once upon a time there was a little girl' -c 4", "longer than the context");
    testing::expect_lm_error("run " + gguf + " -n -5", "-n: -5 is out of range");
    testing::expect_lm_error("run " + gguf + " -t 0", "-t: 0 is out of range");
    testing::expect_lm_error("run " + gguf + " -t many", "is not an integer");
    testing::expect_lm_error("run " + gguf + " --bogus 3", "unknown option --bogus");
    testing::expect_lm_error("frobnicate", "unknown command");
}

TEST_CASE("bad input: unknown tensor type, offset past the end, llama2.c without tokenizer") {
    const std::string gguf = testing::shared_file(std::string(kStories) + "stories260K-F32.gguf");
    const std::string bin = testing::shared_file(std::string(kStories) + "stories260K.bin");
    if (gguf.empty() || bin.empty()) return;
    ModelFile f = load_model(gguf);
    // Find the first tensor info's type field: it follows the name and dims in the header.
    const std::string good = testing::read_file_bytes(gguf);
    const std::string& name = f.tensors[0].name;
    const size_t at = good.find(name) + name.size() + 4 + 8 * f.tensors[0].n_dims;
    std::string bad_type = good;
    bad_type[at] = 77;
    testing::expect_lm_error("run " + write_bytes("type.gguf", bad_type), "unknown type 77");
    std::string bad_offset = good;
    bad_offset[at + 4 + 5] = 0x7f;  // offset high byte
    testing::expect_lm_error("run " + write_bytes("offset.gguf", bad_offset), "runs past the end");
    testing::expect_lm_error("run " + bin, "pass --tokenizer");
    testing::expect_lm_error("run " + write_bytes("short.bin", testing::read_file_bytes(bin).substr(0, 5000)), "truncated llama2.c checkpoint");
}

// issue 15: four bytes of 0xFF (a NaN) in a weight, or an f16 Inf in a block scale, give one
// line and exit code 1 from every command that runs the model, and lm info --check names the
// tensor and row; the intact file checks out.
TEST_CASE("corrupt weights: run, logits and eval stop with one line; info --check names the tensor") {
    const std::string src = testing::shared_file("models/tiny-random/rq-Q4_K_M.gguf");
    if (src.empty()) return;
    const testing::LmResult ok = testing::run_lm("info --check " + src);
    CHECK(ok.status == 0);
    CHECK(ok.out == src + ": ok, the values and block scales of all " + std::to_string(load_model(src).tensors.size()) +
                        " tensors are finite\n");
    std::string q4_K;  // a q4_K matrix of the second layer, for the scale
    for (const Tensor& t : load_model(src).tensors)
        if (t.type == DType::Q4_K && t.name.rfind("blk.1.", 0) == 0 && q4_K.empty()) q4_K = t.name;
    REQUIRE(!q4_K.empty());
    const size_t row_size = load_model(src).get(q4_K).row_size();
    const uint16_t inf = 0x7c00;
    const std::string nan_bytes = corrupted_copy(src, "nan-bytes.gguf", "blk.0.attn_q.weight", 0, std::string(4, '\xff'));
    const std::string inf_scale = corrupted_copy(src, "inf-scale.gguf", q4_K, 3 * row_size + offsetof(block_q4_K, d),
                                                 std::string(reinterpret_cast<const char*>(&inf), 2));
    const std::string text = write_bytes("corrupt-eval.txt", "Once upon a time there was a cat.");
    for (const std::string& bad : {nan_bytes, inf_scale}) {
        expect_non_finite("run " + bad + " 'Once upon a time' --temp 0 -n 4 -t 1", bad);
        expect_non_finite("run " + bad + " 'Once' --temp 0 -n 4 -t 2", bad);
        expect_non_finite("logits " + bad + " 'Once upon a time' -o " + testing::temp_path("corrupt.logits"), bad);
        expect_non_finite("eval " + bad + " " + text + " -t 1", bad);
    }
    testing::expect_lm_error("info --check " + nan_bytes,
                             nan_bytes + ": tensor blk.0.attn_q.weight row 0 holds NaN or Inf (in its values or block scales)");
    testing::expect_lm_error("info --check " + inf_scale,
                             inf_scale + ": tensor " + q4_K + " row 3 holds NaN or Inf (in its values or block scales)");
}

// The encoder commands share BERT's check: a NaN in a converted BERT's weights.
TEST_CASE("corrupt weights: classify, embed and qa stop with one line") {
    const std::string bert = testing::temp_path("corrupt-bert.gguf"), qa = testing::temp_path("corrupt-bert-qa.gguf");
    REQUIRE(testing::run_lm("convert tests/ref/bert " + bert).status == 0);
    REQUIRE(testing::run_lm("convert tests/ref/bert-qa " + qa).status == 0);
    const std::string nan(4, '\xff');
    const std::string bad = corrupted_copy(bert, "nan-bert.gguf", "blk.0.attn_q.weight", 0, nan);
    const std::string bad_qa = corrupted_copy(qa, "nan-bert-qa.gguf", "blk.0.attn_q.weight", 0, nan);
    expect_non_finite("classify " + bad + " 'The movie was great'", bad);
    expect_non_finite("embed " + bad + " 'The movie was great'", bad);
    expect_non_finite("qa " + bad_qa + " --question 'where ?' --context 'the eiffel tower is in paris'", bad_qa);
    testing::expect_lm_error("info --check " + bad, "tensor blk.0.attn_q.weight row 0 holds NaN or Inf");
}

}
