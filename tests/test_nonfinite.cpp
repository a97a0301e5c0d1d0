// Every kernel is total on non-finite input: NaN (the quiet one, and 0xFF bytes as a corrupt
// file gives them), +-Inf and denormals at the first, a middle and the last position of a row,
// in activations, in float weights and in the f16 scale fields of every block type, at every
// ISA level this CPU reaches. A call must return (ASan in `make test-asan` catches reads out of
// bounds, -fsanitize=float-cast-overflow a NaN cast to int); a NaN or Inf must reach the
// outputs it touches, and only those; denormals must leave every output finite.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "simd/attention.h"
#include "simd/kernels.h"
#include "simd/matmul.h"
#include "simd/ops.h"
#include "simd/repack.h"
#include "tests/testing.h"
#include "weights/mmap.h"
#include "weights/quant.h"

using namespace lm;

namespace {

// A bad value as the three widths store it.
struct Bad {
    const char* name;
    uint32_t f32;
    uint16_t f16, bf16;
    bool finite;  // denormals
};

const Bad kBad[] = {
    {"NaN", 0x7fc00000u, 0x7e00, 0x7fc0, false},
    {"0xFF bytes", 0xffffffffu, 0xffff, 0xffff, false},
    {"+Inf", 0x7f800000u, 0x7c00, 0x7f80, false},
    {"-Inf", 0xff800000u, 0xfc00, 0xff80, false},
    {"denormal", 0x00000001u, 0x0001, 0x0001, true},
};

float as_float(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                        DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Byte offsets of the f16 scale fields in one block of `type` (none for the float types).
std::vector<size_t> scale_fields(DType type) {
    switch (type) {
        case DType::Q8_0: return {offsetof(block_q8_0, d)};
        case DType::Q4_0: return {offsetof(block_q4_0, d)};
        case DType::Q4_1: return {offsetof(block_q4_1, d), offsetof(block_q4_1, m)};
        case DType::Q5_0: return {offsetof(block_q5_0, d)};
        case DType::Q5_1: return {offsetof(block_q5_1, d), offsetof(block_q5_1, m)};
        case DType::Q2_K: return {offsetof(block_q2_K, d), offsetof(block_q2_K, dmin)};
        case DType::Q3_K: return {offsetof(block_q3_K, d)};
        case DType::Q4_K: return {offsetof(block_q4_K, d), offsetof(block_q4_K, dmin)};
        case DType::Q5_K: return {offsetof(block_q5_K, d), offsetof(block_q5_K, dmin)};
        case DType::Q6_K: return {offsetof(block_q6_K, d)};
        default: return {};
    }
}

// Writes `bad` over element `at` of a float row of `type`.
void poke_element(DType type, uint8_t* row, int64_t at, const Bad& bad) {
    if (type == DType::F32) std::memcpy(row + 4 * at, &bad.f32, 4);
    if (type == DType::F16) std::memcpy(row + 2 * at, &bad.f16, 2);
    if (type == DType::BF16) std::memcpy(row + 2 * at, &bad.bf16, 2);
}

// Positions in a row of `count`: first, middle, last.
int64_t position(int which, int64_t count) { return which == 0 ? 0 : which == 1 ? count / 2 : count - 1; }

constexpr int kRows = 20;  // one whole group of 16 rows and a partial one
constexpr int64_t kCols = 512;

// Where y (n rows of kRows) is not as it should be: non-finite exactly in `bad_token`'s row or
// `bad_row`'s column (-1: none), finite elsewhere. Empty when all is well.
std::string check_outputs(const std::vector<float>& y, int n, int bad_token, int bad_row) {
    for (int t = 0; t < n; ++t)
        for (int r = 0; r < kRows; ++r) {
            const bool want_bad = t == bad_token || r == bad_row;
            if (std::isfinite(y[t * kRows + r]) == want_bad)
                return "token " + std::to_string(t) + " row " + std::to_string(r) + " is " +
                       std::to_string(y[t * kRows + r]);
        }
    return "";
}

struct Weights {
    std::vector<uint8_t> bytes;
    Tensor w;
    StreamedVector<uint8_t> storage;
    Weights(DType type, const std::vector<uint8_t>& data, bool pack) : bytes(data) {
        w.name = "w";
        w.type = type;
        w.n_dims = 2;
        w.ne[0] = kCols;
        w.ne[1] = kRows;
        w.data = bytes.data();
        w.nbytes = bytes.size();
        if (pack) repack(w, storage);
    }
};

// One matmul at the active level, unpacked and packed, against the expectation.
void run_matmul(DType type, const std::vector<uint8_t>& w, const std::vector<float>& x, int n, int bad_token,
                int bad_row, const std::string& what) {
    for (bool pack : {false, true}) {
        Weights weights(type, w, pack);
        std::vector<float> y(static_cast<size_t>(n) * kRows);
        matmul(y.data(), weights.w, x.data(), n, 2);
        const std::string wrong = check_outputs(y, n, bad_token, bad_row);
        INFO(what, pack ? " packed" : "", ": ", wrong);
        CHECK(wrong.empty());
    }
}

}  // namespace

TEST_SUITE("nonfinite") {

TEST_CASE("matmul of every weight type is total on NaN, Inf and denormals at every level") {
    for (simd::Isa isa : simd::reachable_isas()) {
        simd::force_isa(isa);
        for (DType type : kTypes) {
            const size_t row_size = row_bytes(type, kCols);
            const std::vector<float> wf = testing::normal_floats(kRows * kCols, 11);
            std::vector<uint8_t> w(row_size * kRows);
            quantize_row(type, wf.data(), w.data(), kRows * kCols);
            const int block = info(type).block_size;
            for (int n : {1, 3, 9, 17}) {
                const std::vector<float> x = testing::normal_floats(static_cast<size_t>(n) * kCols, 12 + n);
                for (const Bad& bad : kBad)
                    for (int which = 0; which < 3; ++which) {
                        const std::string at = std::string(simd::isa_name(isa)) + " " + dtype_name(type) + " n " +
                                               std::to_string(n) + " " + bad.name + " at position " + std::to_string(which);
                        // In the activations of a token.
                        const int token = static_cast<int>(position(which, n));
                        std::vector<float> xb = x;
                        xb[token * kCols + position(which, kCols)] = as_float(bad.f32);
                        run_matmul(type, w, xb, n, bad.finite ? -1 : token, -1, at + " in activations");
                        // In a weight row: an element, or each f16 scale field of a block.
                        const int row = static_cast<int>(position(which, kRows));
                        uint8_t* wrow = nullptr;
                        std::vector<uint8_t> wb = w;
                        wrow = wb.data() + row * row_size;
                        if (block == 1) {
                            poke_element(type, wrow, position(which, kCols), bad);
                            run_matmul(type, wb, x, n, -1, bad.finite ? -1 : row, at + " in weights");
                        }
                        for (size_t field : scale_fields(type)) {
                            std::vector<uint8_t> ws = w;
                            const int64_t b = position(which, kCols / block);
                            std::memcpy(ws.data() + row * row_size + b * info(type).block_bytes + field, &bad.f16, 2);
                            run_matmul(type, ws, x, n, -1, bad.finite ? -1 : row,
                                       at + " in scale field at byte " + std::to_string(field));
                        }
                    }
            }
        }
    }
    simd::force_isa(simd::best_isa());
}

TEST_CASE("activation quantizers give the reference's bytes for non-finite rows, and a NaN scale") {
    for (simd::Isa isa : simd::reachable_isas())
        for (DType act : {DType::Q8_0, DType::Q8_1, DType::Q8_K, DType::F16, DType::BF16}) {
            const simd::QuantizeFn quantize = simd::activation_quantizer(act, isa);
            for (const Bad& bad : kBad)
                for (int which = 0; which < 3; ++which) {
                    std::vector<float> x = testing::normal_floats(kCols, 5);
                    x[position(which, kCols)] = as_float(bad.f32);
                    std::vector<uint8_t> got(row_bytes(act, kCols)), want(got.size());
                    quantize(x.data(), got.data(), kCols);
                    quantize_row(act, x.data(), want.data(), kCols);
                    INFO(std::string(simd::isa_name(isa)), " ", std::string(dtype_name(act)), " ", std::string(bad.name), " at position ", which);
                    CHECK(got == want);
                    std::vector<float> back(kCols);
                    dequantize_row(act, got.data(), back.data(), kCols);
                    CHECK(all_finite(back.data(), kCols) == bad.finite);
                }
            // A row of tiny values whose scale would overflow, and one of zeros.
            for (float tiny : {1e-40f, 0.f}) {
                std::vector<float> x(kCols, tiny);
                std::vector<uint8_t> got(row_bytes(act, kCols)), want(got.size());
                quantize(x.data(), got.data(), kCols);
                quantize_row(act, x.data(), want.data(), kCols);
                INFO(std::string(simd::isa_name(isa)), " ", std::string(dtype_name(act)), " all ", tiny);
                CHECK(got == want);
            }
        }
}

TEST_CASE("the float GEMM is total on non-finite inputs at every level") {
    const int M = 9, N = 21, K = 70;
    for (simd::Isa isa : simd::reachable_isas())
        for (DType type : {DType::F32, DType::F16, DType::BF16})
            for (const Bad& bad : kBad)
                for (int which = 0; which < 3; ++which) {
                    const std::vector<float> wf = testing::normal_floats(M * K, 3);
                    std::vector<float> a = testing::normal_floats(N * K, 4);
                    std::vector<uint8_t> b(row_bytes(type, M * K));
                    quantize_row(type, wf.data(), b.data(), M * K);
                    a[position(which, N) * K + position(which, K)] = as_float(bad.f32);
                    std::vector<float> c(M * N);
                    const GemmArgs g{c.data(), M, a.data(), K, 1, b.data(), type, 1, K, N, M, K, true};
                    simd::gemm_kernel(isa)(g, 0, 1);
                    int non_finite = 0;
                    for (int i = 0; i < N; ++i)
                        for (int m = 0; m < M; ++m)
                            non_finite += !std::isfinite(c[i * M + m]) && i == position(which, N);
                    INFO(std::string(simd::isa_name(isa)), " ", std::string(dtype_name(type)), " ", std::string(bad.name), " at position ", which);
                    CHECK(non_finite == (bad.finite ? 0 : M));
                }
}

TEST_CASE("attention, softmax, norms and activations are total on non-finite inputs") {
    const int head_dim = 64, len = 9;
    const size_t stride = head_dim;
    for (const Bad& bad : kBad)
        for (int which = 0; which < 3; ++which)
            for (int where = 0; where < 3; ++where) {  // q, a key, a value
                INFO(std::string(bad.name), " at position ", which, " in ", where == 0 ? "q" : where == 1 ? "a key" : "a value");
                std::vector<float> q = testing::normal_floats(head_dim, 1);
                std::vector<uint16_t> keys(len * stride), values(len * stride);
                const std::vector<float> kf = testing::normal_floats(keys.size(), 2), vf = testing::normal_floats(keys.size(), 3);
                for (size_t i = 0; i < keys.size(); ++i) keys[i] = f32_to_f16(kf[i]), values[i] = f32_to_f16(vf[i]);
                const int64_t at = position(which, head_dim), t = position(which, len);
                if (where == 0) q[at] = as_float(bad.f32);
                if (where == 1) keys[t * stride + at] = bad.f16;
                if (where == 2) values[t * stride + at] = bad.f16;
                std::vector<float> out(head_dim), scratch(len + head_dim);
                // A NaN reaches the output; an Inf may (or may give a score of -Inf: a weight of 0).
                const bool nan = bad.f32 == 0x7fc00000u || bad.f32 == 0xffffffffu;
                simd::attend_scalar(out.data(), q.data(), keys.data(), values.data(), stride, len, head_dim, 0.125f,
                                    scratch.data());
                if (nan || bad.finite) CHECK(all_finite(out.data(), head_dim) == bad.finite);
                attend(out.data(), q.data(), keys.data(), values.data(), stride, len, head_dim, 0.125f, scratch.data());
                if (nan || bad.finite) CHECK(all_finite(out.data(), head_dim) == bad.finite);
                // Three queries, the keys shared: the bad one is seen by every query from its position on.
                const int n = 3;
                std::vector<float> qs(n * head_dim), outs(n * head_dim);
                for (int i = 0; i < n; ++i) std::memcpy(&qs[i * head_dim], q.data(), head_dim * 4);
                std::vector<float> block_scratch(attend_block_scratch(n, len, head_dim));
                std::vector<uint16_t> keys3(static_cast<size_t>(len + n) * stride), values3(keys3.size());
                std::memcpy(keys3.data(), keys.data(), keys.size() * 2);
                std::memcpy(values3.data(), values.data(), values.size() * 2);
                attend_block(outs.data(), head_dim, qs.data(), head_dim, n, keys3.data(), values3.data(), stride, len,
                             head_dim, 0.125f, block_scratch.data());
                if (nan || bad.finite) CHECK(all_finite(outs.data(), n * head_dim) == bad.finite);
            }
    for (const simd::RowKernels* k : {&simd::row_kernels_scalar(), &simd::row_kernels()})
        for (const Bad& bad : kBad)
            for (int which = 0; which < 3; ++which)
                for (int n : {1, 7, 33, 100}) {
                    INFO(std::string(bad.name), " at position ", which, " of ", n);
                    std::vector<float> x = testing::normal_floats(n, 9), out(n), w(n, 1.f), dx(n);
                    x[position(which, n)] = as_float(bad.f32);
                    std::vector<float> s = x;
                    k->softmax(s.data(), n);
                    CHECK(all_finite(s.data(), n) == (bad.finite || (bad.f32 == 0xff800000u && n > 1)));  // -Inf: weight 0
                    k->swiglu(out.data(), x.data(), x.data(), n);
                    k->gelu_tanh(out.data(), x.data(), n);
                    k->gelu_tanh_backward(dx.data(), x.data(), x.data(), n, true);
                    k->gelu_erf(out.data(), x.data(), n);
                    k->gelu_erf_backward(dx.data(), x.data(), x.data(), n, true);
                    float mean = 0, rstd = 0;
                    layernorm(out.data(), x.data(), w.data(), nullptr, n, 1e-5f, &mean, &rstd);
                    CHECK(all_finite(out.data(), n) == bad.finite);
                    k->layernorm_backward(dx.data(), x.data(), x.data(), w.data(), mean, rstd, n);
                    k->layernorm_param_grads(dx.data(), out.data(), x.data(), x.data(), mean, rstd, n);
                    rmsnorm(out.data(), x.data(), w.data(), n, 1e-5f);
                    CHECK(all_finite(out.data(), n) == bad.finite);
                    const int best = argmax(x.data(), n);
                    CHECK((best >= 0 && best < n));
                    rope(x.data(), n % 2 ? n - 1 : n, 1, 3, 10000.f, false);
                }
}

}  // TEST_SUITE("nonfinite")
