// lm quantize against llama.cpp's llama-quantize (issue 16): the shared tiny-random files were
// made by `llama-quantize rq-F32.gguf OUT TYPE` without an importance matrix, so quantizing
// rq-F32.gguf to the same TYPE must give the same tensors, in the same order and types, with
// the same bytes, and the same general.file_type.
#include <cstring>
#include <filesystem>

#include "tests/lm_process.h"
#include "weights/model_file.h"

using namespace lm;

TEST_SUITE("quantize") {

TEST_CASE("lm quantize reproduces llama-quantize's tensors byte for byte for every type") {
    const std::string f32 = testing::shared_file("models/tiny-random/rq-F32.gguf");
    if (f32.empty()) return;
    for (const char* type : {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M", "Q5_K_S",
                             "Q5_K_M", "Q6_K", "F16", "BF16"}) {
        const std::string ref_path = testing::shared_file(std::string("models/tiny-random/rq-") + type + ".gguf");
        if (ref_path.empty()) continue;
        const std::string out = testing::temp_path(std::string("rq-") + type + ".gguf");
        const testing::LmResult r = testing::run_lm("quantize " + f32 + " " + out + " " + type + " -t 2");
        INFO(std::string(type), ": ", r.err);
        REQUIRE(r.status == 0);
        const ModelFile mine = load_model(out), ref = load_model(ref_path);
        REQUIRE(mine.tensors.size() == ref.tensors.size());
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == static_cast<long>(ref.tensors.size()) + 1);  // + summary
        CHECK(mine.meta.get_int("general.file_type", -1) == ref.meta.get_int("general.file_type", -2));
        size_t identical = 0;
        for (size_t i = 0; i < ref.tensors.size(); ++i) {
            const Tensor &a = mine.tensors[i], &b = ref.tensors[i];
            INFO(b.name, " ", std::string(dtype_name(b.type)));
            CHECK(a.name == b.name);
            CHECK(a.type == b.type);
            CHECK(shape_string(a) == shape_string(b));
            const bool same = a.nbytes == b.nbytes && std::memcmp(a.data, b.data, a.nbytes) == 0;
            CHECK(same);
            identical += same;
        }
        MESSAGE(std::string(type), ": ", identical, "/", ref.tensors.size(), " tensors byte-identical to llama-quantize");
        std::filesystem::remove(out);
    }
}

TEST_CASE("lm quantize: lower-case ggml names put every weight matrix in one type, norms stay f32") {
    const std::string f32 = testing::shared_file("models/tiny-random/rq-F32.gguf");
    if (f32.empty()) return;
    const std::string out = testing::temp_path("rq-pure-q5_K.gguf");
    REQUIRE(testing::run_lm("quantize " + f32 + " " + out + " q5_K").status == 0);
    const ModelFile m = load_model(out);
    for (const Tensor& t : m.tensors) {
        INFO(t.name);
        CHECK(t.type == (t.n_dims == 1 ? DType::F32 : DType::Q5_K));
    }
    CHECK(m.meta.get_int("general.file_type", -1) == 17);
    // llama-quantize's --output-tensor-type and --token-embedding-type override the mix
    const std::string mixed = testing::temp_path("rq-Q4_K_M-overrides.gguf");
    REQUIRE(testing::run_lm("quantize " + f32 + " " + mixed +
                            " Q4_K_M --output-tensor-type q8_0 --token-embedding-type q5_1").status == 0);
    const ModelFile mm = load_model(mixed);
    CHECK(mm.get("output.weight").type == DType::Q8_0);
    CHECK(mm.get("token_embd.weight").type == DType::Q5_1);
    CHECK(mm.get("blk.1.attn_v.weight").type == DType::Q6_K);
    CHECK(mm.get("blk.0.attn_v.weight").type == DType::Q4_K);
}

TEST_CASE("lm quantize: a type it cannot write or a row that is not whole blocks stops with one line, no output") {
    const std::string f32 = testing::shared_file("models/stories260K/stories260K-F32.gguf");
    if (f32.empty()) return;
    const std::string out = testing::temp_path("quantize-bad.gguf");
    testing::expect_lm_error("quantize " + f32 + " " + out + " IQ4_XS", "TYPE 'IQ4_XS' is not a type lm quantizes to");
    testing::expect_lm_error("quantize " + f32 + " " + out + " q8_1", "TYPE 'q8_1' is not a type lm quantizes to");
    // stories260K's ffn_down rows are 172 long: no 32-element type fits them
    testing::expect_lm_error("quantize " + f32 + " " + out + " q4_0",
                             f32 + ": tensor blk.0.ffn_down.weight: row length 172 is not a multiple of the q4_0 block "
                                   "size 32");
    CHECK(!std::filesystem::exists(out));
    CHECK(!std::filesystem::exists(out + ".tmp"));
    // The mixes fall back as llama.cpp does: q4_K rows of 64 become q5_0, of 172 f16.
    const testing::LmResult r = testing::run_lm("quantize " + f32 + " " + out + " Q4_K_M");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const ModelFile m = load_model(out);
    CHECK(m.get("blk.0.ffn_down.weight").type == DType::F16);
    CHECK(m.get("blk.0.ffn_gate.weight").type == DType::Q5_0);  // rows of 64
    CHECK(m.get("output.weight").type == DType::Q8_0);  // the classifier: 64 is not whole q6_K blocks
    CHECK(m.get("token_embd.weight").type == DType::Q5_0);
}

}  // TEST_SUITE("quantize")
