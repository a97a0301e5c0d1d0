// Quant formats: fp16/bf16 conversions, quantize -> dequantize error bounds, ggml bit layout
// on hand-computed blocks, and matmul against a double-precision reference for every type.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "simd/kernels.h"
#include "simd/matmul.h"
#include "tests/testing.h"
#include "weights/error.h"
#include "weights/model_file.h"
#include "weights/quant.h"

using namespace lm;

namespace {

std::vector<uint8_t> quantize(DType t, const std::vector<float>& x, int64_t rows, int64_t cols) {
    std::vector<uint8_t> q(row_bytes(t, cols) * rows);
    for (int64_t r = 0; r < rows; ++r) quantize_row(t, x.data() + r * cols, q.data() + r * row_bytes(t, cols), cols);
    return q;
}

std::vector<float> dequantize(DType t, const std::vector<uint8_t>& q, int64_t rows, int64_t cols) {
    std::vector<float> x(rows * cols);
    for (int64_t r = 0; r < rows; ++r) dequantize_row(t, q.data() + r * row_bytes(t, cols), x.data() + r * cols, cols);
    return x;
}

float f32_bits(uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

// Root-mean-square error of a round trip, relative to the data's rms.
double roundtrip_rel_rms(DType t, const std::vector<float>& x) {
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<float> y = dequantize(t, quantize(t, x, 1, n), 1, n);
    double err = 0, ref = 0;
    for (int64_t i = 0; i < n; ++i) err += (x[i] - y[i]) * (x[i] - y[i]), ref += x[i] * x[i];
    return std::sqrt(err / ref);
}

}  // namespace

TEST_SUITE("quant") {

TEST_CASE("block sizes agree with dtype.h") {
    CHECK(info(DType::Q4_0).block_bytes == sizeof(block_q4_0));
    CHECK(info(DType::Q4_1).block_bytes == sizeof(block_q4_1));
    CHECK(info(DType::Q5_0).block_bytes == sizeof(block_q5_0));
    CHECK(info(DType::Q8_0).block_bytes == sizeof(block_q8_0));
    CHECK(info(DType::Q8_1).block_bytes == sizeof(block_q8_1));
    CHECK(info(DType::Q4_K).block_bytes == sizeof(block_q4_K));
    CHECK(info(DType::Q5_1).block_bytes == sizeof(block_q5_1));
    CHECK(info(DType::Q2_K).block_bytes == sizeof(block_q2_K));
    CHECK(info(DType::Q3_K).block_bytes == sizeof(block_q3_K));
    CHECK(info(DType::Q5_K).block_bytes == sizeof(block_q5_K));
    CHECK(info(DType::Q6_K).block_bytes == sizeof(block_q6_K));
    CHECK(info(DType::Q8_K).block_bytes == sizeof(block_q8_K));
}

TEST_CASE("f16 conversion edge cases") {
    CHECK(f32_to_f16(1.0f) == 0x3c00);
    CHECK(f32_to_f16(-2.0f) == 0xc000);
    CHECK(f32_to_f16(-0.0f) == 0x8000);
    CHECK(f32_to_f16(65504.f) == 0x7bff);                       // largest finite
    CHECK(f32_to_f16(65519.f) == 0x7bff);                       // below the halfway point
    CHECK(f32_to_f16(65520.f) == 0x7c00);                       // tie rounds to even: inf
    CHECK(f32_to_f16(1e6f) == 0x7c00);
    CHECK(f32_to_f16(std::numeric_limits<float>::infinity()) == 0x7c00);
    CHECK(f32_to_f16(-std::numeric_limits<float>::infinity()) == 0xfc00);
    CHECK(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(f32_to_f16(1.f + 0x1p-11f) == 0x3c00);                // tie to even (down)
    CHECK(f32_to_f16(1.f + 3 * 0x1p-11f) == 0x3c02);            // tie to even (up)
    CHECK(f32_to_f16(0x1p-14f) == 0x0400);                      // smallest normal
    CHECK(f32_to_f16(0x1p-24f) == 0x0001);                      // smallest subnormal
    CHECK(f32_to_f16(0x1p-25f) == 0x0000);                      // tie between 0 and 2^-24: even
    CHECK(f32_to_f16(1.5f * 0x1p-25f) == 0x0001);
    CHECK(f32_to_f16(3 * 0x1p-25f) == 0x0002);                  // tie between 1 and 2 ulps: even
    CHECK(f32_to_f16(-0x1p-26f) == 0x8000);                     // underflows to -0
    CHECK(f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(f16_to_f32(0x03ff) == 1023 * 0x1p-24f);
    CHECK(f16_to_f32(0x7bff) == 65504.f);
    CHECK(std::isinf(f16_to_f32(0x7c00)));
    CHECK(std::isnan(f16_to_f32(0x7e00)));
    int mismatches = 0;  // every non-NaN half survives a round trip through float
    for (uint32_t h = 0; h < 65536; ++h) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;
        mismatches += f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))) != h;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("bf16 conversion edge cases") {
    CHECK(f32_to_bf16(1.0f) == 0x3f80);
    CHECK(f32_to_bf16(1.f + 0x1p-8f) == 0x3f80);                // tie to even (down)
    CHECK(f32_to_bf16(1.f + 3 * 0x1p-8f) == 0x3f82);            // tie to even (up)
    CHECK(f32_to_bf16(1.f + 0x1p-8f + 0x1p-20f) == 0x3f81);     // above the tie
    CHECK(f32_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds to inf
    CHECK(f32_to_bf16(-std::numeric_limits<float>::infinity()) == 0xff80);
    CHECK(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(std::isnan(bf16_to_f32(f32_to_bf16(f32_bits(0x7f800001)))));  // signaling NaN stays NaN
    CHECK(f32_to_bf16(f32_bits(0x00010000)) == 0x0001);          // subnormals kept
    CHECK(f32_to_bf16(f32_bits(0x00018000)) == 0x0002);          // subnormal tie to even
    CHECK(bf16_to_f32(0xc040) == -3.0f);
    int mismatches = 0;
    for (uint32_t b = 0; b < 65536; ++b) {
        if ((b & 0x7f80) == 0x7f80 && (b & 0x7f)) continue;
        mismatches += f32_to_bf16(bf16_to_f32(static_cast<uint16_t>(b))) != b;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("q4_0 / q8_0 / q5_0 / q4_1 on a hand-computed block") {
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);  // -16 .. 15
    // q4_0: max = -16, d = 2, q = trunc(x/2 + 8.5) clamped to 15.
    std::vector<uint8_t> q = quantize(DType::Q4_0, x, 1, 32);
    const block_q4_0* b4 = reinterpret_cast<const block_q4_0*>(q.data());
    CHECK(b4->d == f32_to_f16(2.f));
    CHECK(b4->qs[0] == 0x80);   // x[0] = -16 -> 0, x[16] = 0 -> 8
    CHECK(b4->qs[15] == 0xf8);  // x[15] = -1 -> 8, x[31] = 15 -> 16, clamped to 15
    // q8_0: d = 16/127, q = round(x * 127/16).
    q = quantize(DType::Q8_0, x, 1, 32);
    const block_q8_0* b8 = reinterpret_cast<const block_q8_0*>(q.data());
    CHECK(b8->d == f32_to_f16(16.f / 127.f));
    CHECK(b8->qs[0] == -127);
    CHECK(b8->qs[31] == static_cast<int8_t>(std::roundf(15 * 127.f / 16.f)));
    // q5_0: d = -16/-16 = 1, q = trunc(x + 16.5) -> x + 16, so element j is j, bit 4 in qh.
    q = quantize(DType::Q5_0, x, 1, 32);
    const block_q5_0* b5 = reinterpret_cast<const block_q5_0*>(q.data());
    uint32_t qh;
    std::memcpy(&qh, b5->qh, 4);
    CHECK(b5->d == f32_to_f16(1.f));
    CHECK(qh == 0xffff0000u);
    CHECK(b5->qs[3] == (3 | (19 & 0xf) << 4));
    std::vector<float> y = dequantize(DType::Q5_0, q, 1, 32);
    CHECK(y == x);  // integers in range are exact
    // q4_1: min -16, d = 31/15, m = -16.
    q = quantize(DType::Q4_1, x, 1, 32);
    const block_q4_1* b41 = reinterpret_cast<const block_q4_1*>(q.data());
    CHECK(b41->m == f32_to_f16(-16.f));
    CHECK((b41->qs[0] & 0xf) == 0);
    CHECK((b41->qs[15] >> 4) == 15);
}

TEST_CASE("quantize -> dequantize error per type") {
    const std::vector<float> x = testing::normal_floats(4096, 1);
    // Relative rms error bounds: measured values are about 0.8x these.
    struct Case {
        DType type;
        double bound;
    };
    const Case cases[] = {{DType::F16, 3e-4}, {DType::BF16, 2.5e-3}, {DType::Q8_0, 6e-3}, {DType::Q8_1, 6e-3},
                          {DType::Q8_K, 8e-3}, {DType::Q6_K, 2.5e-2}, {DType::Q5_0, 5e-2}, {DType::Q4_K, 0.1},
                          {DType::Q4_1, 0.11}, {DType::Q4_0, 0.12}, {DType::Q5_1, 5e-2}, {DType::Q5_K, 5e-2},
                          {DType::Q3_K, 0.2}, {DType::Q2_K, 0.4}};
    for (const Case& c : cases) {
        const double err = roundtrip_rel_rms(c.type, x);
        INFO(std::string(dtype_name(c.type)), " relative rms error ", err);
        CHECK(err < c.bound);
        CHECK(err > c.bound / 20);  // a real quantizer, not a copy
    }
    CHECK(roundtrip_rel_rms(DType::F32, x) == 0);
}

TEST_CASE("8-bit blocks: every element within half a step of the block scale") {
    const std::vector<float> x = testing::normal_floats(32 * 64, 2, 3.f);
    std::vector<float> y = dequantize(DType::Q8_0, quantize(DType::Q8_0, x, 1, 32 * 64), 1, 32 * 64);
    float worst = 0;  // max error in units of the block step d = amax / 127
    for (int b = 0; b < 64; ++b) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
        const float step = amax / 127;
        for (int j = 0; j < 32; ++j) worst = std::max(worst, std::fabs(x[32 * b + j] - y[32 * b + j]) / step);
    }
    CHECK(worst < 0.57);  // 0.5 rounding + 127 * fp16 rounding of d
    CHECK(worst > 0.4);
}

TEST_CASE("q8_K bsums and all-zero blocks") {
    std::vector<float> x = testing::normal_floats(512, 3);
    for (int j = 256; j < 512; ++j) x[j] = 0;
    std::vector<block_q8_K> q(2);
    quantize_row(DType::Q8_K, x.data(), q.data(), 512);
    for (int j = 0; j < 16; ++j) {
        int sum = 0;
        for (int l = 0; l < 16; ++l) sum += q[0].qs[16 * j + l];
        CHECK(q[0].bsums[j] == sum);
    }
    CHECK(q[1].d == 0);
    CHECK(q[1].qs[7] == 0);
}

TEST_CASE("row length must be a multiple of the block size") {
    std::vector<float> x(48);
    std::vector<uint8_t> q(1024);
    CHECK_THROWS_AS(quantize_row(DType::Q4_0, x.data(), q.data(), 48), Error);
    CHECK_THROWS_AS(dequantize_row(DType::Q6_K, q.data(), x.data(), 48), Error);
    CHECK_THROWS_AS(quantize_row(DType::Q5_K, x.data(), q.data(), 48), Error);
}

// A weight matrix of `type` quantized from random floats, with its dequantized values.
struct Weights {
    std::vector<uint8_t> bytes;
    std::vector<float> values;  // dequantized
    Tensor tensor;
};

Weights random_weights(DType type, int64_t rows, int64_t cols, uint32_t seed) {
    Weights w;
    w.bytes = quantize(type, testing::normal_floats(rows * cols, seed), rows, cols);
    w.values = dequantize(type, w.bytes, rows, cols);
    w.tensor.name = std::string(1, 'w');  // (from a literal, GCC 12 reports a false -Wrestrict)
    w.tensor.type = type, w.tensor.n_dims = 2, w.tensor.ne[0] = cols, w.tensor.ne[1] = rows;
    w.tensor.data = w.bytes.data(), w.tensor.nbytes = w.bytes.size();
    return w;
}

// |got - exact| / sum |w x| for output (t, r), exact in double over the dequantized weights and
// activations xd. q4_1 and q5_1 add m * s per block with s = d * sum(q) stored as fp16 (ggml's
// q8_1): that rounding is allowed for (with a factor 2 margin).
double matmul_error(const Weights& w, const std::vector<float>& xd, int t, int64_t r, float got) {
    const int64_t cols = w.tensor.cols();
    const float* wr = w.values.data() + r * cols;
    const float* xt = xd.data() + t * cols;
    double exact = 0, mag = 0, allowance = 0;
    for (int64_t c = 0; c < cols; ++c) {
        exact += static_cast<double>(wr[c]) * xt[c];
        mag += std::fabs(static_cast<double>(wr[c]) * xt[c]);
    }
    const bool with_min = w.tensor.type == DType::Q4_1 || w.tensor.type == DType::Q5_1;
    for (int64_t b = 0; with_min && b < cols / 32; ++b) {
        double s = 0;
        for (int j = 0; j < 32; ++j) s += xt[32 * b + j];
        uint16_t m;  // after d in both block_q4_1 and block_q5_1
        std::memcpy(&m, w.tensor.row(r) + b * info(w.tensor.type).block_bytes + 2, 2);
        allowance += std::fabs(f16_to_f32(m) * s) * 0x1p-10;
    }
    return std::max(0.0, std::fabs(got - exact) - allowance) / mag;
}

// Every supported weight type, every ISA this CPU reaches: matmul against a double-precision
// dot of the dequantized weights with the activations as the kernel sees them (converted to
// the weight's activation type and back).
TEST_CASE("matmul matches a double-precision reference for every type") {
    const DType types[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                           DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};
    const int ns[] = {1, 3, 6, 9, 40};  // 9 and 40 take the packed GEMMs
    for (simd::Isa isa : simd::reachable_isas()) {
        simd::force_isa(isa);
        double worst = 0;
        for (DType type : types) {
            const int64_t cols = info(type).block_size == 256 ? 512 : 96;
            DType act;
            REQUIRE(simd::activation_type(type, &act));
            for (int64_t rows : {1, 7, 33, 67}) {
                const Weights w = random_weights(type, rows, cols, 10 + static_cast<uint32_t>(rows));
                for (int n : ns) {
                    const std::vector<float> x = testing::normal_floats(n * cols, 99 + n);
                    const std::vector<float> xd = dequantize(act, quantize(act, x, n, cols), n, cols);
                    std::vector<float> y(n * rows, NAN);
                    matmul(y.data(), w.tensor, x.data(), n, 1);
                    for (int t = 0; t < n; ++t) {
                        for (int64_t r = 0; r < rows; ++r) {
                            const double err = matmul_error(w, xd, t, r, y[t * rows + r]);
                            worst = std::fmax(worst, err);
                            INFO(std::string(simd::isa_name(isa)), " ", std::string(dtype_name(type)), " rows ", rows,
                                 " n ", n, " t ", t, " r ", r, ": ", y[t * rows + r]);
                            REQUIRE(err < 2e-6);
                        }
                    }
                }
            }
        }
        INFO(std::string(simd::isa_name(isa)), ": worst matmul error relative to sum|w x| ", worst);
        CHECK(worst < 2e-6);
    }
    simd::force_isa(simd::best_isa());
}

TEST_CASE("matmul is bit-identical for any thread count") {
    for (DType type : {DType::F32, DType::Q4_0, DType::Q4_K}) {
        const int64_t rows = 301, cols = 512;
        const std::vector<uint8_t> wq = quantize(type, testing::normal_floats(rows * cols, 5), rows, cols);
        Tensor w;
        w.name = "w", w.type = type, w.n_dims = 2, w.ne[0] = cols, w.ne[1] = rows;
        w.data = wq.data(), w.nbytes = wq.size();
        for (int n : {1, 5, 37}) {
            const std::vector<float> x = testing::normal_floats(n * cols, 6);
            std::vector<float> y1(n * rows), y2(n * rows), y3(n * rows);
            matmul(y1.data(), w, x.data(), n, 1);
            matmul(y2.data(), w, x.data(), n, 2);
            matmul(y3.data(), w, x.data(), n, 3);
            INFO(std::string(dtype_name(type)), " n ", n);
            CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * 4) == 0);
            CHECK(std::memcmp(y1.data(), y3.data(), y1.size() * 4) == 0);
        }
    }
}

TEST_CASE("matmul rejects types lm cannot compute with") {
    std::vector<uint8_t> bytes(36 * 16);
    Tensor w;
    w.name = "blk.0.ffn_down.weight", w.type = DType::Q8_1, w.n_dims = 2, w.ne[0] = 256, w.ne[1] = 2;
    w.data = bytes.data(), w.nbytes = bytes.size();
    std::vector<float> x(256), y(2);
    CHECK_THROWS_WITH_AS(matmul(y.data(), w, x.data(), 1, 1),
                         "matmul: weight blk.0.ffn_down.weight has type q8_1, which lm cannot compute with", Error);
    w.type = DType::Q4_0, w.ne[0] = 48;
    CHECK_THROWS_AS(matmul(y.data(), w, x.data(), 1, 1), Error);
}

}  // TEST_SUITE("quant")

TEST_SUITE("quant") {

// llama.cpp quantized the same random weights we have in F32 (llama-quantize, no importance
// matrix): dequantizing its blocks must give back the F32 weights within each type's error,
// and our reference quantizers (ggml's *_ref algorithms) must reproduce its bytes.
TEST_CASE("llama.cpp-quantized tensors dequantize to the F32 originals and requantize byte for byte") {
    const std::string f32_path = lm::testing::shared_file("models/tiny-random/rq-F32.gguf");
    if (f32_path.empty()) return;
    const ModelFile f32 = load_model(f32_path);
    struct Case {
        const char* file;
        double bound;  // relative rms error of the dequantized weights
    };
    for (Case c : {Case{"Q8_0", 0.01}, Case{"Q6_K", 0.03}, Case{"Q5_0", 0.06}, Case{"Q5_1", 0.06},
                   Case{"Q4_1", 0.12}, Case{"Q4_0", 0.12}, Case{"Q4_K_S", 0.12}, Case{"Q4_K_M", 0.12},
                   Case{"Q5_K_S", 0.06}, Case{"Q5_K_M", 0.06}, Case{"Q3_K_M", 0.25}, Case{"Q2_K", 0.5}}) {
        const std::string path = lm::testing::shared_file(std::string("models/tiny-random/rq-") + c.file + ".gguf");
        if (path.empty()) continue;
        const ModelFile q = load_model(path);
        int checked = 0, identical = 0;
        for (const Tensor& t : q.tensors) {
            if (info(t.type).block_size == 1) continue;
            const Tensor& ref = f32.get(t.name);
            std::vector<float> x(t.count());
            for (int64_t r = 0; r < t.rows(); ++r) dequantize_row(t.type, t.row(r), x.data() + r * t.cols(), t.cols());
            double err = 0, norm = 0;
            for (int64_t i = 0; i < t.count(); ++i) {
                err += (x[i] - ref.f32()[i]) * (x[i] - ref.f32()[i]);
                norm += ref.f32()[i] * ref.f32()[i];
            }
            INFO(std::string(c.file), " ", t.name, " ", std::string(dtype_name(t.type)), " relative rms ",
                 std::sqrt(err / norm));
            CHECK(std::sqrt(err / norm) < c.bound);
            ++checked;
            std::vector<uint8_t> mine(t.nbytes);
            for (int64_t r = 0; r < t.rows(); ++r)
                quantize_row(t.type, ref.f32() + r * t.cols(), mine.data() + r * t.row_size(), t.cols());
            const bool same = std::memcmp(mine.data(), t.data, t.nbytes) == 0;
            CHECK(same);
            identical += same;
        }
        CHECK(checked > 0);
        MESSAGE(std::string(c.file), ": ", identical, "/", checked, " quantized tensors byte-identical to llama-quantize");
    }
}

}  // TEST_SUITE("quant")
