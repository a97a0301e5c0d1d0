// Repacked weights (simd/repack.h) give the unpacked matmul's results bit for bit: random
// matrices of every packed type, row counts that leave a partial group, 1..9 tokens, one and
// two threads; and whole models agree with and without repacking.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "simd/kernels.h"
#include "simd/matmul.h"
#include "simd/repack.h"
#include "src/llama.h"
#include "tests/testing.h"
#include "weights/quant.h"

using namespace lm;

namespace {

// Restores repacking when a test ends, whatever it checked.
struct RepackSwitch {
    explicit RepackSwitch(bool on) { set_repack_enabled(on); }
    ~RepackSwitch() { set_repack_enabled(true); }
};

const DType kPackedTypes[] = {DType::Q4_0, DType::Q5_0, DType::Q8_0, DType::Q4_K, DType::Q6_K};

}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("packed matmul equals the unpacked one bit for bit") {
    if (!simd::packed_tile_kernel(DType::Q4_0, simd::best_isa())) {
        MESSAGE("skipping: no packed kernels at ", simd::isa_name(simd::best_isa()));
        return;
    }
    for (DType type : kPackedTypes) {
        const int bs = info(type).block_size;
        for (int64_t cols : {static_cast<int64_t>(bs), 3 * static_cast<int64_t>(bs), 9 * static_cast<int64_t>(bs)}) {
            for (int rows : {1, 15, 16, 17, 37, 64}) {
                const std::vector<float> wf = testing::normal_floats(static_cast<size_t>(rows * cols), 7 + rows);
                std::vector<uint8_t> wq(row_bytes(type, cols) * rows);
                for (int r = 0; r < rows; ++r)
                    quantize_row(type, wf.data() + r * cols, wq.data() + r * row_bytes(type, cols), cols);
                Tensor w;
                w.name = "w";
                w.type = type;
                w.n_dims = 2;
                w.ne[0] = cols;
                w.ne[1] = rows;
                w.data = wq.data();
                w.nbytes = wq.size();
                Tensor packed = w;
                std::vector<uint8_t> storage;
                REQUIRE(repack(packed, storage));
                for (int n = 1; n <= 9; ++n) {
                    const std::vector<float> x = testing::normal_floats(static_cast<size_t>(n * cols), 100 + n);
                    std::vector<float> expect(static_cast<size_t>(n * rows)), got(expect.size()), got2(expect.size());
                    matmul(expect.data(), w, x.data(), n, 1);
                    matmul(got.data(), packed, x.data(), n, 1);
                    matmul(got2.data(), packed, x.data(), n, 2);
                    INFO(dtype_name(type), " rows ", rows, " cols ", cols, " n ", n);
                    CHECK(got == expect);
                    CHECK(got2 == expect);
                }
            }
        }
    }
}

// Weights sharing one input in one call (q, k, v with mixed types, packed and not) give what
// one call per weight gives, bit for bit, for decode and prompt sizes and 1 or 2 threads.
TEST_CASE("matmul over several weights equals one matmul per weight") {
    const int64_t cols = 256;
    const DType types[] = {DType::Q4_K, DType::Q6_K, DType::F32, DType::Q8_0};
    const int rows[] = {48, 17, 33, 64};
    std::vector<std::vector<uint8_t>> data(4), storage(4);
    Tensor w[4];
    for (int i = 0; i < 4; ++i) {
        const std::vector<float> wf = testing::normal_floats(static_cast<size_t>(rows[i] * cols), 50 + i);
        data[i].resize(row_bytes(types[i], cols) * rows[i]);
        for (int r = 0; r < rows[i]; ++r)
            quantize_row(types[i], wf.data() + r * cols, data[i].data() + r * row_bytes(types[i], cols), cols);
        w[i].type = types[i];
        w[i].n_dims = 2;
        w[i].ne[0] = cols;
        w[i].ne[1] = rows[i];
        w[i].data = data[i].data();
        w[i].nbytes = data[i].size();
        if (i % 2 == 0) repack(w[i], storage[i]);  // where this CPU has packed kernels
    }
    for (int n : {1, 3, 12})
        for (int threads : {1, 2}) {
            const std::vector<float> x = testing::normal_floats(static_cast<size_t>(n * cols), 200 + n);
            std::vector<std::vector<float>> expect(4), got(4);
            MatmulPart parts[4];
            for (int i = 0; i < 4; ++i) {
                expect[i].resize(static_cast<size_t>(n * rows[i]));
                got[i].resize(expect[i].size());
                matmul(expect[i].data(), w[i], x.data(), n, threads);
                parts[i] = {got[i].data(), &w[i]};
            }
            matmul(parts, 4, x.data(), n, threads);
            for (int i = 0; i < 4; ++i) {
                INFO("n ", n, " threads ", threads, " part ", i);
                CHECK(got[i] == expect[i]);
            }
        }
}

TEST_CASE("repacking is refused for types without a packed layout") {
    std::vector<uint8_t> bytes(row_bytes(DType::F32, 32) * 4), storage;
    Tensor w;
    w.type = DType::F32;
    w.ne[0] = 32;
    w.ne[1] = 4;
    w.data = bytes.data();
    CHECK_FALSE(repack(w, storage));
    CHECK(w.packed == nullptr);
}

}  // TEST_SUITE("kernels")

TEST_SUITE("model") {

TEST_CASE("repacked models compute the unpacked models' logits bit for bit") {
    for (const char* type : {"Q4_0", "Q5_0", "Q8_0", "Q4_K_M", "Q6_K"}) {
        const std::string path = testing::shared_file(std::string("models/tiny-random/rq-") + type + ".gguf");
        if (path.empty()) return;
        ModelFile file = load_model(path);
        const std::vector<int> tokens = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
        const int n = static_cast<int>(tokens.size());
        std::vector<float> logits[2];
        for (int packed = 0; packed < 2; ++packed) {
            RepackSwitch on(packed == 1);
            Llama model(file, 64, 4);  // batches of 4: the small-n path, not the GEMM
            logits[packed].resize(static_cast<size_t>(n) * model.config().vocab_size);
            model.forward(tokens.data(), n, 0, 2, logits[packed].data());
        }
        INFO(type);
        CHECK(logits[0] == logits[1]);
    }
}

}  // TEST_SUITE("model")
