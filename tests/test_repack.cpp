// Repacked weights (simd/repack.h) give the scalar reference's results bit for bit: random
// matrices of every packed type, row counts that leave a partial group, 1..7 tokens (and
// prompt sizes for the types whose prompts use the packed kernels; on AVX2 prompts of the
// types its integer GEMM has read the packed copy with that GEMM, equal to rounding), one and
// two threads; and whole models agree with and without repacking to float rounding.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "simd/kernels.h"
#include "simd/matmul.h"
#include "simd/packed_blocks.h"
#include "simd/repack.h"
#include "src/models/llama.h"
#include "tests/testing.h"
#include "weights/quant.h"

using namespace lm;

namespace {

// Restores repacking when a test ends, whatever it checked.
struct RepackSwitch {
    explicit RepackSwitch(bool on) { set_repack_enabled(on); }
    ~RepackSwitch() { set_repack_enabled(true); }
};

const DType kPackedTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q8_0, DType::Q4_K, DType::Q6_K};

}  // namespace

TEST_SUITE("kernels") {

// Packed<Block>::unpack inverts pack for any bytes (q4_K's 12 scale bytes too): 16 random
// blocks packed into one group come back unchanged, whatever order the rows were packed in
// and whatever the group's memory held before (the model's packed copies are not zeroed).
template <class Block>
void check_block_round_trip() {
    std::mt19937 rng(5);
    Block in[kPackedRows];
    auto* bytes = reinterpret_cast<uint8_t*>(in);
    for (size_t i = 0; i < sizeof(in); ++i) bytes[i] = static_cast<uint8_t>(rng());
    for (uint8_t before : {0x00, 0xFF}) {
        std::vector<uint8_t> group(Packed<Block>::kBytes, before);
        for (int r = kPackedRows - 1; r >= 0; --r) Packed<Block>::pack(in[r], r, group.data());
        for (int r = 0; r < kPackedRows; ++r) {
            Block out;
            Packed<Block>::unpack(group.data(), r, &out);
            INFO("row ", r, ", group bytes before ", int{before});
            CHECK(std::memcmp(&out, &in[r], sizeof(Block)) == 0);
        }
    }
}

TEST_CASE("packed blocks unpack to the bytes they were packed from") {
    check_block_round_trip<block_q4_0>();
    check_block_round_trip<block_q4_1>();
    check_block_round_trip<block_q5_0>();
    check_block_round_trip<block_q8_0>();
    check_block_round_trip<block_q4_K>();
    check_block_round_trip<block_q6_K>();
}

// Every reachable ISA level with a packed kernel for the type (AVX-512: all six, AVX2: all
// but q5_0), against the scalar reference.
TEST_CASE("packed matmul equals the scalar reference bit for bit") {
    if (!simd::packed_tile_kernel(DType::Q4_0, simd::best_isa())) {
        MESSAGE("skipping: no packed kernels at ", std::string(simd::isa_name(simd::best_isa())));
        return;
    }
    for (DType type : kPackedTypes)
    for (simd::Isa isa : simd::reachable_isas()) {
        if (!simd::packed_tile_kernel(type, isa)) continue;
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
                StreamedVector<uint8_t> storage;
                REQUIRE(repack(packed, storage));
                // Decode sizes, and for the 32-element types prompt sizes too: passes of 8 tokens
                // with 4- and 1-token tails, and on AMX one and two 16s of tokens on the tile unit
                // with the rest on the AVX-512 kernels (the k-quants' prompts take the integer GEMM).
                std::vector<int> sizes = {1, 2, 3, 4, 5, 6, 7};
                if (bs == QK) sizes.insert(sizes.end(), {8, 13, 19, 35});
                for (int n : sizes) {
                    const std::vector<float> x = testing::normal_floats(static_cast<size_t>(n * cols), 100 + n);
                    std::vector<float> expect(static_cast<size_t>(n * rows)), got(expect.size()), got2(expect.size());
                    simd::force_isa(simd::Isa::Scalar);
                    matmul(expect.data(), w, x.data(), n, 1);
                    simd::force_isa(isa);
                    matmul(got.data(), packed, x.data(), n, 1);
                    matmul(got2.data(), packed, x.data(), n, 2);
                    simd::force_isa(simd::best_isa());
                    INFO(std::string(dtype_name(type)), " at ", std::string(simd::isa_name(isa)), " rows ", rows, " cols ", cols, " n ", n);
                    CHECK(got2 == got);
                    if (n >= 8 && isa == simd::Isa::Avx2 && simd::qgemm_kernel(type, isa)) {
                        // AVX2 prompts take the integer GEMM (simd/matmul.cpp), with its own float
                        // order: equal to rounding, relative to sum |w x| as in test_kernels.
                        std::vector<float> row(cols);
                        double worst = 0;
                        for (int r = 0; r < rows; ++r) {
                            dequantize_row(type, wq.data() + r * row_bytes(type, cols), row.data(), cols);
                            for (int t = 0; t < n; ++t) {
                                double mag = 0;
                                for (int64_t i = 0; i < cols; ++i)
                                    mag += std::fabs(static_cast<double>(row[i]) * x[t * cols + i]);
                                worst = std::fmax(worst, std::fabs(got[t * rows + r] - expect[t * rows + r]) / mag);
                            }
                        }
                        CHECK(worst < 2e-6);
                        continue;
                    }
                    CHECK(got == expect);
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
    std::vector<std::vector<uint8_t>> data(4);
    std::vector<StreamedVector<uint8_t>> storage(4);
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
    std::vector<uint8_t> bytes(row_bytes(DType::F32, 32) * 4);
    StreamedVector<uint8_t> storage;
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

// The packed kernels sum like the scalar reference, the unpacked AVX-512 ones in their own
// lane order. A last-bit difference that moves an activation across a q8 rounding boundary
// changes its code, so the models differ by more than float rounding (Q4_0 measured 1.2e-2,
// the other types <= 2e-3; tolerance vs llama.cpp in test_model.cpp: 8e-2), but every
// position predicts the same token.
TEST_CASE("repacked models compute the unpacked models' logits") {
    for (const char* type : {"Q4_0", "Q4_1", "Q5_0", "Q8_0", "Q4_K_M", "Q6_K"}) {
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
        const int vocab = static_cast<int>(logits[0].size()) / n;
        float diff = 0;
        for (size_t i = 0; i < logits[0].size(); ++i) diff = std::max(diff, std::fabs(logits[0][i] - logits[1][i]));
        INFO(std::string(type), ": max difference ", diff);
        CHECK(diff <= 2.5e-2f);
        for (int t = 0; t < n; ++t) {
            const float* a = logits[0].data() + t * vocab;
            const float* b = logits[1].data() + t * vocab;
            CHECK(std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b);
        }
    }
}

// Bytes of the mapping holding `p` resident in this process (/proc/self/smaps "Rss:").
size_t resident_bytes(const void* p) {
    std::ifstream smaps("/proc/self/smaps");
    const auto at = reinterpret_cast<uintptr_t>(p);
    bool inside = false;
    for (std::string line; std::getline(smaps, line);) {
        unsigned long begin, end;
        if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2) inside = begin <= at && at < end;
        size_t kb;
        if (inside && std::sscanf(line.c_str(), "Rss: %zu kB", &kb) == 1) return kb * 1024;
    }
    return 0;
}

// Decode and prompts read only the packed copies, so the model gives the file's pages of the
// packed matrices back: what stays resident is the metadata, the norms and the embedding rows
// looked up (a seventh of this file, measured; without the release it is all of it).
TEST_CASE("a repacked model keeps only the packed copy resident") {
    if (!simd::packed_tile_kernel(DType::Q4_0, simd::best_isa())) {
        MESSAGE("skipping: no packed kernels at ", std::string(simd::isa_name(simd::best_isa())));
        return;
    }
    const std::string path = testing::shared_file("models/tiny-random/rq-Q4_0.gguf");
    if (path.empty()) return;
    ModelFile file = load_model(path);
    Llama model(file, 64, 16);
    const std::vector<int> tokens = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
    std::vector<float> logits(tokens.size() * model.config().vocab_size);
    model.forward(tokens.data(), static_cast<int>(tokens.size()), 0, 2, logits.data());  // the integer GEMM
    model.forward(tokens.data(), 1, static_cast<int>(tokens.size()), 2);                   // decode
    const size_t resident = resident_bytes(file.mapping->data()), size = file.mapping->size();
    INFO("resident ", resident, " of ", size, " bytes");
    CHECK(resident > 0);
    CHECK(resident < size / 4);
}

}  // TEST_SUITE("model")
