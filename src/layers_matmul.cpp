// F32 matmul forward and backward for training: out[N, OC] = inp[N, C] . weight[OC, C]^T + bias.
// Register-tiled with xsimd at the build's baseline width; a packed GEMM from simd/ may later
// replace the tile functions without changing the callers.
#include <xsimd/xsimd.hpp>

#include "src/layers.h"

namespace lm {
namespace {

using vec = xsimd::batch<float>;
constexpr int VL = static_cast<int>(vec::size);
constexpr int STRIP = 2 * VL;  // columns one outer-product tile owns

// Below this many multiply-adds a call runs on one thread (DESIGN: tiny work stays serial).
constexpr long PARALLEL_WORK = 1L << 16;

// out[r, o] = dot(inp[n0 + r, :], weight[o0 + o, :]) + bias for an R x O tile; acc[r][o] holds
// VL partial sums each, reduced once at the end (the C tail is added in scalar).
template <int R, int O>
void dot_tile(float* out, const float* inp, const float* weight, const float* bias, int n0, int o0, int C, int OC) {
    vec acc[R][O];
    for (int r = 0; r < R; ++r)
        for (int o = 0; o < O; ++o) acc[r][o] = vec(0.0f);
    int c = 0;
    for (; c + VL <= C; c += VL) {
        vec w[O];
        for (int o = 0; o < O; ++o) w[o] = xsimd::load_unaligned(weight + (long)(o0 + o) * C + c);
        for (int r = 0; r < R; ++r) {
            const vec x = xsimd::load_unaligned(inp + (long)(n0 + r) * C + c);
            for (int o = 0; o < O; ++o) acc[r][o] = xsimd::fma(x, w[o], acc[r][o]);
        }
    }
    for (int r = 0; r < R; ++r) {
        const float* x = inp + (long)(n0 + r) * C;
        for (int o = 0; o < O; ++o) {
            const float* w = weight + (long)(o0 + o) * C;
            float sum = xsimd::hadd(acc[r][o]);
            for (int k = c; k < C; ++k) sum += x[k] * w[k];
            out[(long)(n0 + r) * OC + o0 + o] = sum + (bias ? bias[o0 + o] : 0.0f);
        }
    }
}

// Outer-product accumulation shared by both backward products:
// out[r, c0 : c0 + STRIP] += sum_k a[r * ar + k * ak] * b[k, c0 : c0 + STRIP]  for r < R.
template <int R>
void outer_tile(float* out, int out_stride, const float* a, long ar, long ak, const float* b, int b_stride, int K,
                int c0) {
    vec acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = vec(0.0f);
    for (int k = 0; k < K; ++k) {
        const float* brow = b + (long)k * b_stride + c0;
        const vec b0 = xsimd::load_unaligned(brow), b1 = xsimd::load_unaligned(brow + VL);
        for (int r = 0; r < R; ++r) {
            const vec s(a[r * ar + k * ak]);
            acc[r][0] = xsimd::fma(s, b0, acc[r][0]);
            acc[r][1] = xsimd::fma(s, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; ++r) {
        float* o = out + (long)r * out_stride + c0;
        xsimd::store_unaligned(o, xsimd::load_unaligned(o) + acc[r][0]);
        xsimd::store_unaligned(o + VL, xsimd::load_unaligned(o + VL) + acc[r][1]);
    }
}

// The same product for columns [c0, c1) narrower than a strip, in scalar.
void outer_tail(float* out, int out_stride, const float* a, long ar, long ak, const float* b, int b_stride, int K,
                int R, int c0, int c1) {
    for (int r = 0; r < R; ++r)
        for (int c = c0; c < c1; ++c) {
            float sum = 0.0f;
            for (int k = 0; k < K; ++k) sum += a[r * ar + k * ak] * b[(long)k * b_stride + c];
            out[(long)r * out_stride + c] += sum;
        }
}

// out[M, C] += A[M, K] . b[K, C] where A[m, k] = a[m * ar + k * ak]; parallel over column strips.
void outer_product(float* out, const float* a, long ar, long ak, const float* b, int M, int K, int C) {
    constexpr int RB = 4;
    const int strips = C / STRIP;
    const bool parallel = (long)M * K * C > PARALLEL_WORK;
#pragma omp parallel for schedule(static) if (parallel)
    for (int s = 0; s < strips; ++s) {
        int m = 0;
        for (; m + RB <= M; m += RB) outer_tile<RB>(out + (long)m * C, C, a + m * ar, ar, ak, b, C, K, s * STRIP);
        for (; m < M; ++m) outer_tile<1>(out + (long)m * C, C, a + m * ar, ar, ak, b, C, K, s * STRIP);
    }
    if (strips * STRIP < C) outer_tail(out, C, a, ar, ak, b, C, K, M, strips * STRIP, C);
}

}  // namespace

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
    constexpr int RB = 2, OB = 4;  // 8 accumulators + 4 weight vectors fit 16 SSE/AVX registers
    const bool parallel = (long)N * C * OC > PARALLEL_WORK;
#pragma omp parallel for schedule(static) if (parallel)
    for (int o0 = 0; o0 < OC; o0 += OB) {
        // Weight rows o0..o0+OB stay in L1 while every input row streams past them.
        for (int n0 = 0; n0 < N; n0 += RB) {
            if (n0 + RB <= N && o0 + OB <= OC) {
                dot_tile<RB, OB>(out, inp, weight, bias, n0, o0, C, OC);
                continue;
            }
            for (int n = n0; n < N && n < n0 + RB; ++n)
                for (int o = o0; o < OC && o < o0 + OB; ++o) dot_tile<1, 1>(out, inp, weight, bias, n, o, C, OC);
        }
    }
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC) {
    // dinp[N, C] += dout[N, OC] . weight[OC, C]
    if (dinp) outer_product(dinp, dout, OC, 1, weight, N, OC, C);
    // dweight[OC, C] += dout^T[OC, N] . inp[N, C]
    outer_product(dweight, dout, 1, OC, inp, OC, N, C);
    if (dbias)
        for (int n = 0; n < N; ++n)
            for (int o = 0; o < OC; ++o) dbias[o] += dout[(long)n * OC + o];
}

}  // namespace lm
