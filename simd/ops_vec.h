// The vector twins of the row kernels of simd/ops.cpp, written once with xsimd and built per
// ISA level (ops_avx2.cpp: 8 lanes, ops_avx512.cpp: 16), each level's table of them in
// VecRows<Arch>::kTable. Included only by those files; internal linkage keeps them apart.
#pragma once
#include <xsimd/xsimd.hpp>

#include <cmath>
#include <type_traits>

#include "simd/ops.h"

namespace lm::simd {
namespace {

template <class Arch>
struct VecRows {
    using Batch = xsimd::batch<float, Arch>;
    static constexpr int W = static_cast<int>(Batch::size);

    // a b + c rounded once. Debian's xsimd has no AVX-512 fma and computes a * b + c, fused
    // only when the compiler contracts it (not at -O1): the instruction itself there.
    static Batch fused(Batch a, Batch b, Batch c) {
#if defined(__AVX512F__)
        if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) return Batch(_mm512_fmadd_ps(a, b, c));
#endif
        return xsimd::fma(a, b, c);
    }

    static void softmax(float* x, int n) {
        Batch vmax(-INFINITY);
        int i = 0;
        for (; i + W <= n; i += W) vmax = xsimd::max(vmax, Batch::load_unaligned(x + i));
        alignas(64) float lanes[W];
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

    static void swiglu(float* out, const float* gate, const float* up, int n) {
        int i = 0;
        const Batch one(1.0f);
        for (; i + W <= n; i += W) {
            const Batch g = Batch::load_unaligned(gate + i);
            (g / (one + xsimd::exp(-g)) * Batch::load_unaligned(up + i)).store_unaligned(out + i);
        }
        for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    }

    static void gelu_tanh(float* out, const float* x, int n) {
        const Batch half(0.5f), one(1.0f), k(0.7978845608028654f), c(0.044715f);
        int i = 0;
        for (; i + W <= n; i += W) {
            const Batch v = Batch::load_unaligned(x + i);
            (half * v * (one + xsimd::tanh(k * (v + c * v * v * v)))).store_unaligned(out + i);
        }
        gelu_tanh_scalar(out + i, x + i, n - i);
    }

    static void gelu_tanh_backward(float* dx, const float* dy, const float* x, int n, bool overwrite) {
        int i = 0;
        for (; i + W <= n; i += W) {
            const Batch d = gelu_tanh_grad(Batch::load_unaligned(x + i)) * Batch::load_unaligned(dy + i);
            (overwrite ? d : Batch::load_unaligned(dx + i) + d).store_unaligned(dx + i);
        }
        gelu_tanh_backward_scalar(dx + i, dy + i, x + i, n - i, overwrite);
    }

    static void gelu_erf(float* out, const float* x, int n) {
        int i = 0;
        for (; i + W <= n; i += W) gelu_erf_value(Batch::load_unaligned(x + i)).store_unaligned(out + i);
        gelu_erf_scalar(out + i, x + i, n - i);
    }

    static void gelu_erf_backward(float* dx, const float* dy, const float* x, int n, bool overwrite) {
        int i = 0;
        for (; i + W <= n; i += W) {
            const Batch d = gelu_erf_grad(Batch::load_unaligned(x + i)) * Batch::load_unaligned(dy + i);
            (overwrite ? d : Batch::load_unaligned(dx + i) + d).store_unaligned(dx + i);
        }
        gelu_erf_backward_scalar(dx + i, dy + i, x + i, n - i, overwrite);
    }

    static void dropout(float* x, int n, uint32_t seed, uint32_t first, uint32_t threshold, float scale) {
        using Index = xsimd::batch<uint32_t, Arch>;
        alignas(64) uint32_t lanes[W];
        for (int j = 0; j < W; ++j) lanes[j] = static_cast<uint32_t>(j);
        Index at = Index::load_aligned(lanes) + Index(first);
        const Index vthreshold(threshold);
        const Batch vscale(scale);
        int i = 0;
        for (; i + W <= n; i += W, at += Index(static_cast<uint32_t>(W))) {
            const Index keep = xsimd::bitwise_cast(dropout_hash(Index(seed) + at * Index(kDropoutGolden)) >= vthreshold);
            const Index kept = xsimd::bitwise_cast<Index>(Batch::load_unaligned(x + i) * vscale) & keep;
            xsimd::bitwise_cast<Batch>(kept).store_unaligned(x + i);
        }
        dropout_scalar(x + i, n - i, seed, first + static_cast<uint32_t>(i), threshold, scale);
    }

    // Sums in W float lanes (the scalar reference sums in double): a few ulp apart on a row.
    static void layernorm_backward(float* dx, const float* dy, const float* x, const float* w, float mean, float rstd,
                                 int n) {
        const Batch vm(mean), vr(rstd);
        Batch sg(0.0f), sgx(0.0f);
        int i = 0;
        for (; i + W <= n; i += W) {
            const Batch g = Batch::load_unaligned(dy + i) * Batch::load_unaligned(w + i);
            sg += g;
            sgx = fused(g, (Batch::load_unaligned(x + i) - vm) * vr, sgx);
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

    static void layernorm_param_grads(float* dw, float* db, const float* dy, const float* x, float mean, float rstd, int n) {
        const Batch vm(mean), vr(rstd);
        int i = 0;
        for (; i + W <= n; i += W) {
            const Batch d = Batch::load_unaligned(dy + i);
            fused(d, (Batch::load_unaligned(x + i) - vm) * vr, Batch::load_unaligned(dw + i)).store_unaligned(dw + i);
            if (db) (Batch::load_unaligned(db + i) + d).store_unaligned(db + i);
        }
        layernorm_param_grads_scalar(dw + i, db ? db + i : nullptr, dy + i, x + i, mean, rstd, n - i);
    }

    static constexpr RowKernels kTable{softmax,   swiglu,           gelu_tanh,          gelu_tanh_backward,
                                       gelu_erf,  gelu_erf_backward, dropout,            layernorm_backward,
                                       layernorm_param_grads};
};

}  // namespace
}  // namespace lm::simd
