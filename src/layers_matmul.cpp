// F32 matmul forward and backward for training: out[N, OC] = inp[N, C] . weight[OC, C]^T + bias.
// All three products go through one packed strided GEMM (layers_gemm.h), built for the
// baseline ISA here and for AVX2 / AVX-512 in layers_gemm_avx2.cpp / layers_gemm_avx512.cpp,
// chosen once from what the CPU reports. Each call is one OpenMP parallel region at most.
#include <omp.h>

#include <cstring>

#include "src/layers.h"
#include "src/layers_gemm.h"
#include "src/layers_gemm_isa.h"

namespace lm {

void gemm_strided_baseline(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                           long b_cs, int M, int N, int K, bool overwrite, int part, int parts) {
    gemm_strided_share(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, N, K, overwrite, part, parts);
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

namespace {

// Below this many multiply-adds a call runs on one thread.
constexpr long GEMM_PARALLEL_WORK = 1L << 18;

GemmFn best_gemm() {
    static const GemmFn fn = [] {
        GemmBuild builds[3];
        gemm_builds(builds);
        return builds[0].fn;
    }();
    return fn;
}

bool run_parallel(long work) { return work > GEMM_PARALLEL_WORK && !omp_in_parallel(); }

}  // namespace

void strided_gemm(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, long b_cs,
                  int M, int N, int K, bool overwrite) {
    const GemmFn fn = best_gemm();
#pragma omp parallel if (run_parallel((long)M * N * K))
    fn(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, N, K, overwrite, omp_get_thread_num(), omp_get_num_threads());
}

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
    if (bias)
        for (int n = 0; n < N; ++n) std::memcpy(out + (long)n * OC, bias, sizeof(float) * OC);
    // out[N, OC] (+)= inp[N, C] . W^T, where W^T(c, o) = weight[o * C + c]
    strided_gemm(out, OC, inp, C, 1, weight, 1, C, N, OC, C, !bias);
}

// Both products and the bias sum in one parallel region: each thread takes its share of
// dinp's columns, then of dweight's, then of dbias (no barrier between, nothing shared).
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC) {
    const GemmFn fn = best_gemm();
#pragma omp parallel if (run_parallel(2L * N * C * OC))
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        // dinp[N, C] += dout[N, OC] . weight[OC, C]
        if (dinp) fn(dinp, C, dout, OC, 1, weight, C, 1, N, C, OC, false, t, nt);
        // dweight[OC, C] += dout^T[OC, N] . inp[N, C], where dout^T(o, n) = dout[n * OC + o]
        fn(dweight, C, dout, 1, OC, inp, C, 1, OC, C, N, false, t, nt);
        if (dbias)
            for (int o = (int)((long)OC * t / nt); o < (int)((long)OC * (t + 1) / nt); ++o)
                for (int n = 0; n < N; ++n) dbias[o] += dout[(long)n * OC + o];
    }
}

}  // namespace lm
