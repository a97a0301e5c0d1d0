// The per-ISA builds of the training GEMM (layers_gemm.h), declared for layers_matmul.cpp's
// dispatch and for tests that run every build this CPU can execute.
//   C[M, N] += A[M, K] . B[K, N],  A(m, k) = a[m * a_rs + k * a_cs],  B(k, n) = b[k * b_rs + n * b_cs]
#pragma once

namespace lm {

using GemmFn = void (*)(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                        long b_cs, int M, int N, int K);

void gemm_strided_baseline(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                           long b_cs, int M, int N, int K);
#if defined(__x86_64__)
void gemm_strided_avx2(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                       long b_cs, int M, int N, int K);
void gemm_strided_avx512(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                         long b_cs, int M, int N, int K);
#endif

struct GemmBuild {
    const char* isa;
    GemmFn fn;
};
// The builds this CPU can run, best first; matmul uses the first.
int gemm_builds(GemmBuild* out);

// The best build, chosen once. Inside an OpenMP parallel region it runs on the calling thread.
void strided_gemm(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, long b_cs,
                  int M, int N, int K);

}  // namespace lm
