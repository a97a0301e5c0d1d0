// F32 matmul forward and backward for training: out[N, OC] = inp[N, C] . weight[OC, C]^T + bias.
// All three products go through one packed strided GEMM (layers_gemm.h), built for the
// baseline ISA here and for AVX2 / AVX-512 in layers_gemm_avx2.cpp / layers_gemm_avx512.cpp,
// chosen once from what the CPU reports.
#include <cstring>

#include "src/layers.h"
#include "src/layers_gemm.h"
#include "src/layers_gemm_isa.h"

namespace lm {

void gemm_strided_baseline(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                           long b_cs, int M, int N, int K) {
    gemm_strided(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, N, K);
}

int gemm_builds(GemmBuild* out) {
    int n = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        out[n++] = {"avx512", gemm_strided_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out[n++] = {"avx2", gemm_strided_avx2};
#endif
    out[n++] = {"baseline", gemm_strided_baseline};
    return n;
}

static GemmFn pick_gemm() {
    GemmBuild builds[3];
    gemm_builds(builds);
    return builds[0].fn;
}

void strided_gemm(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, long b_cs,
                  int M, int N, int K) {
    static const GemmFn fn = pick_gemm();
    fn(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, N, K);
}

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
    for (int n = 0; n < N; ++n) {
        float* o = out + (long)n * OC;
        if (bias) std::memcpy(o, bias, sizeof(float) * OC);
        else std::memset(o, 0, sizeof(float) * OC);
    }
    // out[N, OC] += inp[N, C] . W^T, where W^T(c, o) = weight[o * C + c]
    strided_gemm(out, OC, inp, C, 1, weight, 1, C, N, OC, C);
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC) {
    // dinp[N, C] += dout[N, OC] . weight[OC, C]
    if (dinp) strided_gemm(dinp, C, dout, OC, 1, weight, C, 1, N, C, OC);
    // dweight[OC, C] += dout^T[OC, N] . inp[N, C], where dout^T(o, n) = dout[n * OC + o]
    strided_gemm(dweight, C, dout, 1, OC, inp, C, 1, OC, C, N);
    if (dbias)
        for (int n = 0; n < N; ++n)
            for (int o = 0; o < OC; ++o) dbias[o] += dout[(long)n * OC + o];
}

}  // namespace lm
