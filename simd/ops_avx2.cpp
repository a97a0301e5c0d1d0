// AVX2 versions of the row kernels in simd/ops.cpp (xsimd batches of 8 floats).
#include <xsimd/xsimd.hpp>

#include "simd/ops.h"
#include "simd/x86.h"

namespace lm::simd {

using Batch = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
constexpr int W = Batch::size;

void softmax_avx2(float* x, int n) {
    Batch vmax(-INFINITY);
    int i = 0;
    for (; i + W <= n; i += W) vmax = xsimd::max(vmax, Batch::load_unaligned(x + i));
    alignas(32) float lanes[W];
    vmax.store_aligned(lanes);
    float max = lanes[0];
    for (int j = 1; j < W; ++j) max = lanes[j] > max ? lanes[j] : max;
    for (; i < n; ++i) max = x[i] > max ? x[i] : max;

    Batch vsum(0.0f);
    const Batch vm(max);
    for (i = 0; i + W <= n; i += W) {
        const Batch e = xsimd::exp(Batch::load_unaligned(x + i) - vm);
        e.store_unaligned(x + i);
        vsum += e;
    }
    float sum = xsimd::hadd(vsum);
    for (; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const Batch inv(1.0f / sum);
    for (i = 0; i + W <= n; i += W) (Batch::load_unaligned(x + i) * inv).store_unaligned(x + i);
    for (; i < n; ++i) x[i] *= 1.0f / sum;
}

void swiglu_avx2(float* out, const float* gate, const float* up, int n) {
    int i = 0;
    const Batch one(1.0f);
    for (; i + W <= n; i += W) {
        const Batch g = Batch::load_unaligned(gate + i);
        (g / (one + xsimd::exp(-g)) * Batch::load_unaligned(up + i)).store_unaligned(out + i);
    }
    for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_tanh_avx2(float* out, const float* x, int n) {
    const Batch half(0.5f), one(1.0f), k(0.7978845608028654f), c(0.044715f);
    int i = 0;
    for (; i + W <= n; i += W) {
        const Batch v = Batch::load_unaligned(x + i);
        (half * v * (one + xsimd::tanh(k * (v + c * v * v * v)))).store_unaligned(out + i);
    }
    gelu_tanh_scalar(out + i, x + i, n - i);
}

void gelu_tanh_backward_avx2(float* dx, const float* dy, const float* x, int n, bool overwrite) {
    int i = 0;
    for (; i + W <= n; i += W) {
        const Batch d = gelu_tanh_grad(Batch::load_unaligned(x + i)) * Batch::load_unaligned(dy + i);
        (overwrite ? d : Batch::load_unaligned(dx + i) + d).store_unaligned(dx + i);
    }
    gelu_tanh_backward_scalar(dx + i, dy + i, x + i, n - i, overwrite);
}

// Sums in 8 float lanes (the scalar reference sums in double): a few ulp apart on a row.
void layernorm_backward_avx2(float* dx, const float* dy, const float* x, const float* w, float mean, float rstd,
                             int n) {
    const Batch vm(mean), vr(rstd);
    Batch sg(0.0f), sgx(0.0f);
    int i = 0;
    for (; i + W <= n; i += W) {
        const Batch g = Batch::load_unaligned(dy + i) * Batch::load_unaligned(w + i);
        sg += g;
        sgx = xsimd::fma(g, (Batch::load_unaligned(x + i) - vm) * vr, sgx);
    }
    float sum_g = xsimd::hadd(sg), sum_gx = xsimd::hadd(sgx);
    for (int j = i; j < n; ++j) {
        const float g = dy[j] * w[j];
        sum_g += g;
        sum_gx += g * (x[j] - mean) * rstd;
    }
    const float mean_g = sum_g / n, mean_gx = sum_gx / n;
    const Batch vg(mean_g), vgx(mean_gx);
    for (i = 0; i + W <= n; i += W) {
        const Batch xhat = (Batch::load_unaligned(x + i) - vm) * vr;
        const Batch g = Batch::load_unaligned(dy + i) * Batch::load_unaligned(w + i);
        (Batch::load_unaligned(dx + i) + vr * (g - vg - xhat * vgx)).store_unaligned(dx + i);
    }
    for (; i < n; ++i) dx[i] += rstd * (dy[i] * w[i] - mean_g - (x[i] - mean) * rstd * mean_gx);
}

void layernorm_param_grads_avx2(float* dw, float* db, const float* dy, const float* x, float mean, float rstd, int n) {
    const Batch vm(mean), vr(rstd);
    int i = 0;
    for (; i + W <= n; i += W) {
        const Batch d = Batch::load_unaligned(dy + i);
        xsimd::fma(d, (Batch::load_unaligned(x + i) - vm) * vr, Batch::load_unaligned(dw + i)).store_unaligned(dw + i);
        if (db) (Batch::load_unaligned(db + i) + d).store_unaligned(db + i);
    }
    layernorm_param_grads_scalar(dw + i, db ? db + i : nullptr, dy + i, x + i, mean, rstd, n - i);
}

}  // namespace lm::simd
