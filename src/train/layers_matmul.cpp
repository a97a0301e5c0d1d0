// F32 matmul forward and backward for training: out[N, OC] = inp[N, C] . weight[OC, C]^T + bias.
// All three products are the strided GEMM of simd/matmul.h, so they run the CPU's best kernel
// and give the same bits for any thread count. Each call is one OpenMP parallel region at most.
#include <omp.h>

#include "simd/matmul.h"
#include "src/train/layers.h"

namespace lm {

namespace {

GemmArgs strided(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, long b_cs,
                 int M, int N, int K, bool overwrite) {
    return GemmArgs{c, ldc, a, a_rs, a_cs, b, DType::F32, b_rs, b_cs, M, N, K, overwrite};
}

// Below this many multiply-adds matmul_backward runs on one thread (gemm's own bound).
constexpr long kParallelWork = 1L << 18;

}  // namespace

// gemm() itself keeps small products on the calling thread.
void strided_gemm(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, long b_cs,
                  int M, int N, int K, bool overwrite) {
    gemm(strided(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, N, K, overwrite), 0);
}

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
    // out[N, OC] = inp[N, C] . W^T + bias, where W^T(c, o) = weight[o * C + c]
    GemmArgs g = strided(out, OC, inp, C, 1, weight, 1, C, N, OC, C, true);
    g.bias = bias;
    gemm(g, 0);
}

// Both products and the bias sum in one parallel region: each thread takes its share of
// dinp, then of dweight, then of dbias's columns (no barrier between, nothing shared).
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC, Dinp mode) {
    // dinp[N, C] (+)= dout[N, OC] . weight[OC, C]
    const GemmArgs dx = strided(dinp, C, dout, OC, 1, weight, C, 1, N, C, OC, mode == Dinp::Overwrite);
    // dweight[OC, C] += dout^T[OC, N] . inp[N, C], where dout^T(o, n) = dout[n * OC + o]
    const GemmArgs dw = strided(dweight, C, dout, 1, OC, inp, C, 1, OC, C, N, false);
#pragma omp parallel if (2L * N * C * OC > kParallelWork && !omp_in_parallel())
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (dinp) gemm_share(dx, t, nt);
        gemm_share(dw, t, nt);
        if (dbias) {
            const int o0 = (int)((long)OC * t / nt), o1 = (int)((long)OC * (t + 1) / nt);
            for (int n = 0; n < N; ++n) {
                const float* row = dout + (long)n * OC;
                for (int o = o0; o < o1; ++o) dbias[o] += row[o];
            }
        }
    }
}

}  // namespace lm
