// Row kernels: each vectorized variant against its scalar reference, odd sizes and tails.
#include <cmath>
#include <cstring>

#include "simd/attention.h"
#include "simd/kernels.h"
#include "simd/ops.h"
#include "tests/testing.h"
#include "weights/dtype.h"
#include "weights/quant.h"

using namespace lm;

namespace {
[[maybe_unused]] bool has_avx2() { return simd::isa_reachable(simd::Isa::Avx2); }
// The vector row-kernel levels this CPU runs, with their names.
std::vector<std::pair<const char*, const simd::RowKernels*>> vector_rows() {
    std::vector<std::pair<const char*, const simd::RowKernels*>> levels;
#if defined(__x86_64__)
    if (simd::isa_reachable(simd::Isa::Avx2)) levels.emplace_back("avx2", &simd::row_kernels_avx2());
    if (simd::isa_reachable(simd::Isa::Avx512)) levels.emplace_back("avx512", &simd::row_kernels_avx512());
#endif
    return levels;
}
[[maybe_unused]] double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]) / (std::fabs(b[i]) + 1e-6));
    return m;
}
}  // namespace

TEST_SUITE("ops") {

TEST_CASE("softmax, swiglu and gelu: the vector twins match the scalar reference") {
    for (const auto& [name, rows] : vector_rows())
        for (int n : {1, 7, 8, 9, 15, 16, 17, 31, 64, 173, 1000}) {
            INFO(std::string(name), " n ", n);
            std::vector<float> a = testing::normal_floats(n, n, 4.0f), b = a;
            simd::softmax_scalar(a.data(), n);
            rows->softmax(b.data(), n);
            CHECK(max_rel(b, a) < 1e-5);
            double sum = 0;
            for (float x : b) sum += x;
            CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
            const std::vector<float> g = testing::normal_floats(n, 100 + n, 3.0f);
            const std::vector<float> u = testing::normal_floats(n, 200 + n);
            std::vector<float> s1(n), s2(n);
            simd::swiglu_scalar(s1.data(), g.data(), u.data(), n);
            rows->swiglu(s2.data(), g.data(), u.data(), n);
            CHECK(max_rel(s2, s1) < 1e-5);
            simd::gelu_tanh_scalar(s1.data(), g.data(), n);
            rows->gelu_tanh(s2.data(), g.data(), n);
            double worst = 0;  // absolute near zero crossings, where gelu is tiny
            for (int i = 0; i < n; ++i) worst = std::max(worst, static_cast<double>(std::fabs(s1[i] - s2[i])));
            CHECK(worst < 2e-6);
            simd::gelu_erf_scalar(s1.data(), g.data(), n);
            rows->gelu_erf(s2.data(), g.data(), n);
            worst = 0;
            for (int i = 0; i < n; ++i) worst = std::max(worst, static_cast<double>(std::fabs(s1[i] - s2[i])));
            CHECK(worst < 2e-6);
        }
}

TEST_CASE("dropout: the vector twins drop the scalar reference's elements, about p of them, and scale the rest") {
    const uint32_t threshold = static_cast<uint32_t>(0.1 * 4294967296.0);
    for (const auto& [name, rows] : vector_rows())
        for (int n : {1, 7, 16, 17, 173, 10000})
            for (uint32_t first : {0u, 5u, 4294967290u}) {  // the last wraps around within the row
                INFO(std::string(name), " n ", n, " first ", first);
                const std::vector<float> x = testing::normal_floats(n, n);
                std::vector<float> a = x, b = x;
                simd::dropout_scalar(a.data(), n, 12345u, first, threshold, 1.0f / 0.9f);
                rows->dropout(b.data(), n, 12345u, first, threshold, 1.0f / 0.9f);
                CHECK(std::memcmp(a.data(), b.data(), sizeof(float) * n) == 0);
                int dropped = 0;
                for (int i = 0; i < n; ++i) {
                    dropped += a[i] == 0.0f;
                    if (a[i] != 0.0f) CHECK(a[i] == x[i] * (1.0f / 0.9f));
                }
                if (n == 10000) CHECK(std::abs(dropped - 1000) < 100);  // binomial sd 30
            }
}

TEST_CASE("GELU and LayerNorm backward: the vector twins match the scalar reference") {
    for (const auto& [name, rows] : vector_rows())
        for (int n : {1, 7, 8, 9, 15, 16, 17, 31, 64, 173, 1000}) {
            INFO(std::string(name), " n ", n);
            const std::vector<float> x = testing::normal_floats(n, n, 3.0f), dy = testing::normal_floats(n, 300 + n),
                                     w = testing::normal_floats(n, 400 + n);
            const std::vector<float> start = testing::normal_floats(n, 500 + n);
            for (bool overwrite : {false, true}) {
                std::vector<float> d1 = start, d2 = start;
                simd::gelu_tanh_backward_scalar(d1.data(), dy.data(), x.data(), n, overwrite);
                rows->gelu_tanh_backward(d2.data(), dy.data(), x.data(), n, overwrite);
                double worst = 0;
                for (int i = 0; i < n; ++i) worst = std::max(worst, static_cast<double>(std::fabs(d1[i] - d2[i])));
                CHECK(worst < 2e-6);
                std::vector<float> e1 = start, e2 = start;
                simd::gelu_erf_backward_scalar(e1.data(), dy.data(), x.data(), n, overwrite);
                rows->gelu_erf_backward(e2.data(), dy.data(), x.data(), n, overwrite);
                worst = 0;
                for (int i = 0; i < n; ++i) worst = std::max(worst, static_cast<double>(std::fabs(e1[i] - e2[i])));
                CHECK(worst < 2e-6);
            }
            const float mean = 0.3f, rstd = 1.7f;
            std::vector<float> dx1 = start, dx2 = start;
            simd::layernorm_backward_scalar(dx1.data(), dy.data(), x.data(), w.data(), mean, rstd, n);
            rows->layernorm_backward(dx2.data(), dy.data(), x.data(), w.data(), mean, rstd, n);
            double worst = 0, scale = 0;  // float vs double sums: relative to the row's largest gradient
            for (int i = 0; i < n; ++i) {
                worst = std::max(worst, static_cast<double>(std::fabs(dx1[i] - dx2[i])));
                scale = std::max(scale, static_cast<double>(std::fabs(dx1[i])));
            }
            CHECK(worst < 2e-6 * scale);
            // The parameter gradients are the same arithmetic in both (fused multiply-add): equal bits.
            std::vector<float> dw1 = start, dw2 = start, db1 = w, db2 = w;
            simd::layernorm_param_grads_scalar(dw1.data(), db1.data(), dy.data(), x.data(), mean, rstd, n);
            rows->layernorm_param_grads(dw2.data(), db2.data(), dy.data(), x.data(), mean, rstd, n);
            CHECK(dw1 == dw2);
            CHECK(db1 == db2);
        }
}

TEST_CASE("softmax scalar reference is exact on a hand-checked case") {
    std::vector<float> x = {0.0f, std::log(3.0f), 1000.0f};
    simd::softmax_scalar(x.data(), 3);
    CHECK(x[2] == doctest::Approx(1.0f));
    std::vector<float> y = {0.0f, std::log(3.0f)};
    simd::softmax_scalar(y.data(), 2);
    CHECK(y[0] == doctest::Approx(0.25f));
    CHECK(y[1] == doctest::Approx(0.75f));
}

// A block of causal queries (prompts) gives each query's single-query result bit for bit: the
// AVX-512 kernel (queries sharing each value row), and the dispatching entry point on any
// machine. Query counts below, at and above the kernel's group of 4.
TEST_CASE("attention: a block of queries equals one query at a time") {
    for (int hd : {64, 128, 80})
        for (int len : {1, 17, 40})
            for (int n : {2, 5, 16}) {
                const size_t stride = 3 * hd;
                const int rows = len + n - 1;
                const std::vector<float> q = testing::normal_floats(n * 2 * hd, 3 * len + n);
                const std::vector<float> kf = testing::normal_floats(rows * stride, 5 + len), vf = testing::normal_floats(rows * stride, 6 + n);
                std::vector<uint16_t> k(kf.size()), v(vf.size());
                for (size_t i = 0; i < kf.size(); ++i) k[i] = f32_to_f16(kf[i]), v[i] = f32_to_f16(vf[i]);
                const float scale = 0.125f;
                std::vector<float> expect(n * hd), got(n * 2 * hd, -1.f), scratch(attend_block_scratch(n, len, hd));
                for (int i = 0; i < n; ++i) attend(&expect[i * hd], &q[i * 2 * hd], k.data(), v.data(), stride, len + i, hd, scale, scratch.data());
                const auto check = [&](const char* what) {
                    for (int i = 0; i < n; ++i) {
                        INFO(std::string(what), " head_dim ", hd, " len ", len, " n ", n, " query ", i);
                        CHECK(std::memcmp(&got[i * 2 * hd], &expect[i * hd], hd * sizeof(float)) == 0);
                        CHECK(got[i * 2 * hd + hd] == -1.f);  // rows out_stride apart: the gaps untouched
                    }
                };
                attend_block(got.data(), 2 * hd, q.data(), 2 * hd, n, k.data(), v.data(), stride, len, hd, scale, scratch.data());
                check("attend_block");
#if defined(__x86_64__)
                if (simd::isa_reachable(simd::Isa::Avx512)) {
                    std::fill(got.begin(), got.end(), -1.f);
                    for (int i = 0; i < n; ++i)
                        simd::attend_avx512(&expect[i * hd], &q[i * 2 * hd], k.data(), v.data(), stride, len + i, hd, scale, scratch.data());
                    simd::attend_block_avx512(got.data(), 2 * hd, q.data(), 2 * hd, n, k.data(), v.data(), stride, len, hd, scale, scratch.data());
                    check("avx512");
                }
#endif
            }
}

// Quantized caches (-ctk/-ctv q8_0, q4_0, mixed with f16) against a double computation over
// the same numbers: keys and values as the cache holds them (dequantized), q as the keys'
// activation type holds it (q8_0 for block keys, f16 for f16 keys), f16 values' softmax
// weights rounded to f16; with and without Gemma 2's soft-capping. Every ISA level.
TEST_CASE("attention over q8_0 / q4_0 caches matches a double computation at every ISA level") {
    const DType types[] = {DType::F16, DType::Q8_0, DType::Q4_0};
    for (simd::Isa isa : simd::reachable_isas()) {
        simd::force_isa(isa);
        for (DType kt : types)
            for (DType vt : types)
                for (int hd : {32, 64, 128})
                    for (int len : {1, 19, 70})
                    for (float cap : {0.0f, 2.0f}) {  // Gemma 2's score soft-capping
                        const int kv_dim = 2 * hd, n = 3;  // two kv heads; the second one is read
                        const size_t k_row = row_bytes(kt, kv_dim), v_row = row_bytes(vt, kv_dim);
                        const int rows = len + n - 1;
                        const std::vector<float> kf = testing::normal_floats(rows * kv_dim, 7 + len);
                        const std::vector<float> vf = testing::normal_floats(rows * kv_dim, 8 + hd);
                        const std::vector<float> q = testing::normal_floats(n * hd, 9);
                        std::vector<uint8_t> keys(rows * k_row), values(rows * v_row);
                        for (int t = 0; t < rows; ++t) {
                            store_kv_row(&kf[t * kv_dim], kt, &keys[t * k_row], kv_dim);
                            store_kv_row(&vf[t * kv_dim], vt, &values[t * v_row], kv_dim);
                        }
                        const KvView view{keys.data() + row_bytes(kt, hd), kt, k_row, values.data() + row_bytes(vt, hd), vt,
                                          v_row, cap};
                        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
                        std::vector<float> got(n * hd), scratch(attend_block_scratch(n, len, hd));
                        attend_block(got.data(), hd, q.data(), hd, n, view, len, hd, scale, scratch.data());
                        DType act;
                        REQUIRE(simd::activation_type(kt, &act));
                        for (int i = 0; i < n; ++i) {
                            std::vector<float> qd(hd), kd(hd), vd(hd), qbuf(hd);
                            std::vector<uint8_t> qx(row_bytes(act, hd));
                            quantize_row(act, &q[i * hd], qx.data(), hd);
                            dequantize_row(act, qx.data(), qd.data(), hd);
                            const int L = len + i;
                            std::vector<double> sc(L), out(hd, 0.0);
                            double mx = -1e300, sum = 0;
                            for (int t = 0; t < L; ++t) {
                                dequantize_row(kt, &keys[t * k_row] + row_bytes(kt, hd), kd.data(), hd);
                                double d = 0;
                                for (int j = 0; j < hd; ++j) d += double(qd[j]) * kd[j];
                                sc[t] = d * scale;
                                if (cap > 0) sc[t] = cap * std::tanh(sc[t] / cap);
                                mx = std::max(mx, sc[t]);
                            }
                            for (double& x : sc) sum += (x = std::exp(x - mx));
                            for (int t = 0; t < L; ++t) {
                                float a = static_cast<float>(sc[t] / sum);
                                if (vt == DType::F16) a = f16_to_f32(f32_to_f16(a));
                                dequantize_row(vt, &values[t * v_row] + row_bytes(vt, hd), vd.data(), hd);
                                for (int j = 0; j < hd; ++j) out[j] += double(a) * vd[j];
                            }
                            double err = 0;
                            for (int j = 0; j < hd; ++j) err = std::max(err, std::fabs(out[j] - got[i * hd + j]));
                            INFO(simd::isa_name(isa), " k ", dtype_name(kt), " v ", dtype_name(vt), " head_dim ", hd, " len ", len,
                                 " softcap ", cap, " query ", i);
                            CHECK(err < 2e-5);
                        }
                    }
    }
    simd::force_isa(simd::default_isa());
}

TEST_CASE("attention: AVX2 and AVX-512 match the scalar reference, and the reference matches a double computation") {
    for (int hd : {8, 16, 64, 128, 256}) {
        for (int len : {1, 5, 16, 33, 70}) {
            const size_t stride = 3 * hd;  // keys of other heads interleaved, as in the cache
            const std::vector<float> q = testing::normal_floats(hd, hd + len);
            const std::vector<float> kf = testing::normal_floats(len * stride, 7 * hd + len);
            const std::vector<float> vf = testing::normal_floats(len * stride, 9 * hd);
            std::vector<uint16_t> k(kf.size()), v(vf.size());
            for (size_t i = 0; i < kf.size(); ++i) k[i] = f32_to_f16(kf[i]), v[i] = f32_to_f16(vf[i]);
            const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
            std::vector<float> ref(hd), out(hd), scratch(len + hd);
            simd::attend_scalar(ref.data(), q.data(), k.data(), v.data(), stride, len, hd, scale, scratch.data());
            // Independent check in double (with q and weights rounded through f16 as documented).
            std::vector<double> w(len), expect(hd, 0.0);
            double max = -1e300, sum = 0;
            for (int t = 0; t < len; ++t) {
                double d = 0;
                for (int j = 0; j < hd; ++j) d += f16_to_f32(f32_to_f16(q[j])) * f16_to_f32(k[t * stride + j]);
                w[t] = d * scale;
                max = std::max(max, w[t]);
            }
            for (double& x : w) sum += (x = std::exp(x - max));
            for (int t = 0; t < len; ++t)
                for (int j = 0; j < hd; ++j) expect[j] += w[t] / sum * f16_to_f32(v[t * stride + j]);
            for (int j = 0; j < hd; ++j) CHECK(ref[j] == doctest::Approx(expect[j]).epsilon(2e-3));
#if defined(__x86_64__)
            if (has_avx2()) {
                simd::attend_avx2(out.data(), q.data(), k.data(), v.data(), stride, len, hd, scale, scratch.data());
                for (int j = 0; j < hd; ++j) CHECK(out[j] == doctest::Approx(ref[j]).epsilon(1e-4));
            }
            if (simd::isa_reachable(simd::Isa::Avx512) && hd % 16 == 0) {
                simd::attend_avx512(out.data(), q.data(), k.data(), v.data(), stride, len, hd, scale, scratch.data());
                for (int j = 0; j < hd; ++j) CHECK(out[j] == doctest::Approx(ref[j]).epsilon(1e-4));
            }
#endif
            // The dispatching entry point gives the reference's numbers on any machine.
            attend(out.data(), q.data(), k.data(), v.data(), stride, len, hd, scale, scratch.data());
            for (int j = 0; j < hd; ++j) CHECK(out[j] == doctest::Approx(ref[j]).epsilon(1e-4));
        }
    }
}

}
