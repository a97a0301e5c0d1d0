// Every SIMD kernel against its scalar reference, for every ISA this CPU reaches: random
// inputs, odd block counts and float tails, all register-block shapes, and the promise that
// an output does not depend on the shape of the tile it was computed in.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "simd/kernels.h"
#include "simd/matmul.h"
#include "simd/repack.h"
#include "tests/testing.h"
#include "weights/quant.h"

using namespace lm;
using namespace lm::simd;

namespace {

// Rows of `type` (weights) or of its activation type, quantized from random floats.
std::vector<uint8_t> random_rows(DType type, int rows, int64_t k, uint32_t seed) {
    const std::vector<float> f = testing::normal_floats(static_cast<size_t>(rows * k), seed);
    std::vector<uint8_t> q(row_bytes(type, k) * rows);
    for (int r = 0; r < rows; ++r) quantize_row(type, f.data() + r * k, q.data() + r * row_bytes(type, k), k);
    return q;
}

// sum |w x| of one output, the scale errors are measured against.
double magnitude(DType wt, DType xt, const uint8_t* w, const uint8_t* x, int64_t k) {
    std::vector<float> wf(k), xf(k);
    dequantize_row(wt, w, wf.data(), k);
    dequantize_row(xt, x, xf.data(), k);
    double m = 0;
    for (int64_t i = 0; i < k; ++i) m += std::fabs(static_cast<double>(wf[i]) * xf[i]);
    return m;
}

const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                        DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Lengths that exercise single blocks, odd block counts and (for floats) tails.
std::vector<int64_t> lengths(DType type) {
    const int bs = info(type).block_size;
    if (bs == 1) return {1, 7, 16, 31, 32, 33, 100, 257, 1024};
    if (bs == 32) return {32, 64, 96, 224, 2048};
    return {256, 512, 768, 2304};
}

// A bf16 dot in vdpbf16ps's order, spelled out: per 32 elements, lane j of 16 adds the product
// of element 2j + 1, then of 2j (each exact in f32, so one rounding per add); the lanes summed
// as hsum512 sums them (halves, halves, then (0 + 2) + (1 + 3)); then the tail in order.
float bf16_dot_vdpbf16ps_order(int64_t k, const uint16_t* w, const uint16_t* x) {
    float lane[16] = {};
    int64_t i = 0;
    for (; i + 32 <= k; i += 32)
        for (int j = 0; j < 16; ++j) {
            lane[j] += bf16_to_f32(w[i + 2 * j + 1]) * bf16_to_f32(x[i + 2 * j + 1]);
            lane[j] += bf16_to_f32(w[i + 2 * j]) * bf16_to_f32(x[i + 2 * j]);
        }
    float h[8], g[4];
    for (int j = 0; j < 8; ++j) h[j] = lane[j] + lane[j + 8];
    for (int j = 0; j < 4; ++j) g[j] = h[j] + h[j + 4];
    float sum = (g[0] + g[2]) + (g[1] + g[3]);
    for (; i < k; ++i) sum += bf16_to_f32(w[i]) * bf16_to_f32(x[i]);
    return sum;
}

// A GEMM as matmul calls it: m rows of W, depth k, n tokens.
struct GemmShape {
    int64_t m, k;
    int n;
};

}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("every SIMD kernel matches its scalar reference") {
    for (Isa isa : reachable_isas()) {
        if (isa == Isa::Scalar) continue;
        for (DType type : kTypes) {
            DType act;
            REQUIRE(activation_type(type, &act));
            TileFn simd = tile_kernel(type, isa), ref = scalar_tile(type);
            const bool found = simd && ref;
            REQUIRE(found);
            double worst = 0;
            for (int64_t k : lengths(type)) {
                const int nr = 9, nc = 6;
                const std::vector<uint8_t> w = random_rows(type, nr, k, static_cast<uint32_t>(k));
                const std::vector<uint8_t> x = random_rows(act, nc, k, static_cast<uint32_t>(k + 1));
                const size_t ws = row_bytes(type, k), xs = row_bytes(act, k);
                std::vector<float> y(nr * nc), y_ref(nr * nc);
                simd(k, w.data(), ws, nr, x.data(), xs, nc, y.data(), nr);
                ref(k, w.data(), ws, nr, x.data(), xs, nc, y_ref.data(), nr);
                for (int c = 0; c < nc; ++c) {
                    for (int r = 0; r < nr; ++r) {
                        const double mag = magnitude(type, act, w.data() + r * ws, x.data() + c * xs, k);
                        const double err = std::fabs(y[c * nr + r] - y_ref[c * nr + r]) / (mag + 1e-30);
                        worst = std::fmax(worst, err);
                        INFO(std::string(isa_name(isa)), " ", std::string(dtype_name(type)), " k ", k, " r ", r,
                             " c ", c, ": ",
                             y[c * nr + r], " vs ", y_ref[c * nr + r]);
                        REQUIRE(err < 2e-6);
                    }
                }
                // The same outputs one at a time: bit-identical.
                for (int c = 0; c < nc; ++c) {
                    for (int r = 0; r < nr; ++r) {
                        float one;
                        simd(k, w.data() + r * ws, ws, 1, x.data() + c * xs, xs, 1, &one, 1);
                        INFO(std::string(isa_name(isa)), " ", std::string(dtype_name(type)), " k ", k, " r ", r,
                             " c ", c);
                        REQUIRE(std::memcmp(&one, &y[c * nr + r], 4) == 0);
                    }
                }
            }
            INFO(std::string(isa_name(isa)), " ", std::string(dtype_name(type)), " worst relative error ", worst);
            CHECK(worst < 2e-6);
        }
    }
}

// bf16 activations are rounded again at every layer, so an ulp of a different summation order
// flips roundings and moves the logits (stories260K-BF16: 0.052 from llama.cpp's with two
// 8-lane accumulators). The AVX2 and NEON bf16 kernels therefore sum exactly as vdpbf16ps
// does at AVX-512, whose order reproduces llama.cpp: bit for bit with the order spelled out.
TEST_CASE("bf16 dots at AVX2 and NEON sum in vdpbf16ps's order, bit for bit") {
    for (Isa isa : reachable_isas()) {
        if (isa != Isa::Avx2 && isa != Isa::Neon && isa != Isa::NeonDot) continue;
        const TileFn simd = tile_kernel(DType::BF16, isa);
        for (int64_t k : {1, 31, 32, 33, 64, 100, 172, 1024}) {
            const int nr = 6, nc = 3;
            const std::vector<uint8_t> w = random_rows(DType::BF16, nr, k, static_cast<uint32_t>(k + 7));
            const std::vector<uint8_t> x = random_rows(DType::BF16, nc, k, static_cast<uint32_t>(k + 8));
            const size_t stride = row_bytes(DType::BF16, k);
            std::vector<float> y(nr * nc);
            simd(k, w.data(), stride, nr, x.data(), stride, nc, y.data(), nr);
            for (int c = 0; c < nc; ++c)
                for (int r = 0; r < nr; ++r) {
                    const float want = bf16_dot_vdpbf16ps_order(k, reinterpret_cast<const uint16_t*>(w.data() + r * stride),
                                                                reinterpret_cast<const uint16_t*>(x.data() + c * stride));
                    INFO(isa_name(isa), " k ", k, " r ", r, " c ", c, ": ", y[c * nr + r], " vs ", want);
                    CHECK(std::memcmp(&y[c * nr + r], &want, 4) == 0);
                }
        }
    }
}

// The float GEMMs as matmul calls them (y = x W^T) against a double reference, at every level:
// the FMA GEMM, and on AMX the bf16 tile products of split operands (simd/gemm_amx.cpp). Shapes
// with row, token, register-tile, depth-block and depth-chunk tails (and one where a thread of
// two has no rows); activations as they come (three bf16 parts) and as matmul passes them for
// f16 weights (f16 values: two parts); one share, two, and a team of two threads (which share
// the conversion of x between them) agree bit for bit. The bound is 1e-6 of sum |w x|: f32 sums over these depths stay
// well inside it, and so do AMX's f32 products (left-out parts under 2^-21 of each), while any
// partial product left out of the split would cost about 2^-16, 15 times the bound. Then, for
// f16, a product whose every partial sum is exact in f32: the results must be too.
TEST_CASE("float GEMMs against a double reference at every level") {
    for (Isa isa : reachable_isas()) {
        GemmFn gemm = gemm_kernel(isa);
        for (DType type : {DType::F32, DType::F16, DType::BF16})
            for (bool rounded : {false, true})
                for (GemmShape s : {GemmShape{1, 1, 1}, GemmShape{13, 7, 33}, GemmShape{25, 64, 17}, GemmShape{50, 57, 21},
                                    GemmShape{100, 129, 65}, GemmShape{7, 300, 2}, GemmShape{70, 520, 31},
                                    GemmShape{40, 1100, 9}, GemmShape{33, 16, 20}, GemmShape{32, 2048, 20}}) {
                    const std::vector<float> wf = testing::normal_floats(s.m * s.k, 3);
                    std::vector<float> x = testing::normal_floats(s.n * s.k, 4);
                    if (rounded) round_to_f16(x.data(), x.data(), static_cast<int64_t>(x.size()), Isa::Scalar);
                    std::vector<uint8_t> w(row_bytes(type, s.m * s.k));
                    quantize_row(type, wf.data(), w.data(), s.m * s.k);
                    std::vector<float> wv(wf.size());
                    dequantize_row(type, w.data(), wv.data(), s.m * s.k);
                    std::vector<float> y(s.m * s.n), y2(s.m * s.n);
                    const auto args = [&](float* out) {
                        return lm::GemmArgs{out, s.m, x.data(), s.k, 1, w.data(), type, 1, s.k,
                                            s.n, static_cast<int>(s.m), static_cast<int>(s.k), true};
                    };
                    gemm(args(y.data()), 0, 1);
                    gemm(args(y2.data()), 0, 2);
                    gemm(args(y2.data()), 1, 2);
                    // And as lm::gemm runs it: one OpenMP team, whose threads may share work.
                    std::vector<float> y3(y.size());
                    force_isa(isa);
                    lm::gemm(args(y3.data()), 2);
                    force_isa(best_isa());
                    CHECK(std::memcmp(y.data(), y3.data(), y.size() * 4) == 0);
                    double worst = 0;
                    for (int t = 0; t < s.n; ++t)
                        for (int64_t r = 0; r < s.m; ++r) {
                            double ref = 0, mag = 0;
                            for (int64_t c = 0; c < s.k; ++c) {
                                const double p = static_cast<double>(wv[r * s.k + c]) * x[t * s.k + c];
                                ref += p, mag += std::fabs(p);
                            }
                            worst = std::fmax(worst, std::fabs(y[t * s.m + r] - ref) / mag);
                        }
                    INFO(std::string(isa_name(isa)), " ", std::string(dtype_name(type)), rounded ? " f16 x" : " f32 x", " m ", s.m, " k ", s.k,
                         " n ", s.n, " worst ", worst);
                    CHECK(worst < 1e-6);
                    CHECK(std::memcmp(y.data(), y2.data(), y.size() * 4) == 0);
                }
        // w = i / 2^11 (11 significant bits: two bf16 parts), x = j / 2^10 (two parts as well),
        // k = 8: each product and every partial sum fits f32's 24 bits, in any order.
        const int64_t m = 100, k = 8;
        const int n = 40;
        std::vector<float> wf(m * k), x(n * k);
        for (size_t i = 0; i < wf.size(); ++i) wf[i] = static_cast<float>(static_cast<int>(i * 7919 % 4095) - 2047) / 2048;
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i * 104729 % 2047) - 1023) / 1024;
        std::vector<uint16_t> w(wf.size());
        quantize_row(DType::F16, wf.data(), w.data(), static_cast<int64_t>(w.size()));
        std::vector<float> y(m * n);
        gemm(lm::GemmArgs{y.data(), m, x.data(), k, 1, w.data(), DType::F16, 1, k, n, static_cast<int>(m),
                          static_cast<int>(k), true},
             0, 1);
        for (int t = 0; t < n; ++t)
            for (int64_t r = 0; r < m; ++r) {
                double ref = 0;
                for (int64_t c = 0; c < k; ++c) ref += static_cast<double>(wf[r * k + c]) * x[t * k + c];
                INFO(std::string(isa_name(isa)), " t ", t, " r ", r);
                REQUIRE(y[t * m + r] == ref);
            }
    }
}

// The integer GEMM against the scalar block dots, for every level that has one. Row lengths:
// one to four blocks (AVX2 spreads a short last group over 8, 4, 2 lanes), 9 (8 + 1), and 37
// and 40 (AVX-512: 2 groups of 16 + 5, + 8 = half a group, folded; AVX2: 4 + 5 and 5 whole
// groups of 8); the k-quants 1, 4 and 5 super-blocks. Rows: a partial micro-kernel tile, and
// 37 = two 16-row panels + 5; tokens 1, 2 and 11 (partial tiles of tokens); any thread count.
// Reading the load-time packed copy (partial 16-row groups) gives the same bits.
TEST_CASE("integer GEMM matches the scalar reference") {
    for (Isa isa : reachable_isas()) {
        if (isa == Isa::Scalar) continue;
        for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_1, DType::Q4_K, DType::Q6_K}) {
            QGemmFn qgemm = qgemm_kernel(type, isa);
            if (!qgemm) continue;
            DType act;
            REQUIRE(activation_type(type, &act));
            const bool k_quant = info(type).block_size == QK_K;
            const std::vector<int64_t> ks = k_quant ? std::vector<int64_t>{256, 4 * 256, 5 * 256}
                                                    : std::vector<int64_t>{32, 64, 96, 128, 9 * 32, 37 * 32, 40 * 32};
            for (int64_t k : ks)
            for (int64_t m : {13, 37})
            for (int n : {1, 2, 11}) {
                const std::vector<uint8_t> w = random_rows(type, m, k, 7), x = random_rows(act, n, k, 8);
                const size_t ws = row_bytes(type, k), xs = row_bytes(act, k);
                std::vector<float> y(m * n), y2(m * n), y_ref(m * n);
                qgemm(y.data(), w.data(), false, x.data(), m, k, n, 1);
                qgemm(y2.data(), w.data(), false, x.data(), m, k, n, 2);
                scalar_tile(type)(k, w.data(), ws, static_cast<int>(m), x.data(), xs, n, y_ref.data(), m);
                double worst = 0;
                for (int t = 0; t < n; ++t)
                    for (int64_t r = 0; r < m; ++r) {
                        const double mag = magnitude(type, act, w.data() + r * ws, x.data() + t * xs, k);
                        worst = std::fmax(worst, std::fabs(y[t * m + r] - y_ref[t * m + r]) / mag);
                    }
                INFO(std::string(isa_name(isa)), " ", std::string(dtype_name(type)), " m ", m, " k ", k, " n ", n,
                     " worst ", worst);
                CHECK(worst < 2e-6);
                CHECK(std::memcmp(y.data(), y2.data(), y.size() * 4) == 0);
                Tensor t;
                t.type = type, t.n_dims = 2, t.ne[0] = k, t.ne[1] = m, t.data = w.data(), t.nbytes = w.size();
                StreamedVector<uint8_t> storage;
                REQUIRE(repack(t, storage));  // every type with an integer GEMM has a packed layout
                std::vector<float> y3(m * n);
                qgemm(y3.data(), t.packed, true, x.data(), m, k, n, 2);
                CHECK(std::memcmp(y.data(), y3.data(), y.size() * 4) == 0);
            }
        }
    }
}

// Vector activation quantizers give the reference's bytes, ties included: blocks whose
// largest value is 127 have scale 1, so x.5 values are exact ties.
TEST_CASE("activation quantizers are bit-identical to quantize_row") {
    std::vector<float> x = testing::normal_floats(2048, 3);
    for (int j = 0; j < 256; ++j) x[j] = j % 32 == 0 ? 127.f : static_cast<float>(j % 7) - 3.5f;
    x[300] = -1e-3f, x[301] = 0.f;
    for (int j = 512; j < 768; ++j) x[j] = 0.f;  // an all-zero q8_K block
    for (Isa isa : reachable_isas()) {
        for (DType act : {DType::Q8_0, DType::Q8_1, DType::Q8_K, DType::F16, DType::BF16}) {
            std::vector<uint8_t> ref(row_bytes(act, 2048)), got(row_bytes(act, 2048), 0xAA);
            quantize_row(act, x.data(), ref.data(), 2048);
            activation_quantizer(act, isa)(x.data(), got.data(), 2048);
            INFO(std::string(isa_name(isa)), " ", std::string(dtype_name(act)));
            CHECK(ref == got);
        }
        std::vector<float> rounded(2048);
        round_to_f16(x.data(), rounded.data(), 2048, isa);
        int mismatches = 0;
        for (int i = 0; i < 2048; ++i) mismatches += rounded[i] != f16_to_f32(f32_to_f16(x[i]));
        CHECK(mismatches == 0);
    }
}

TEST_CASE("forcing an unreachable ISA gives the best one") {
    for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Amx, Isa::Neon, Isa::NeonDot}) {
        force_isa(isa);
        CHECK(active_isa() == (isa_reachable(isa) ? isa : best_isa()));
    }
    CHECK(reachable_isas().front() == Isa::Scalar);
    CHECK(reachable_isas().back() == best_isa());
    force_isa(Isa::Scalar);
    CHECK(active_isa() == Isa::Scalar);
    force_isa(best_isa());
}

}  // TEST_SUITE("kernels")
