// The per-ISA builds of the training GEMM (layers_gemm.h), declared for layers_matmul.cpp's
// dispatch and for tests that run every build this CPU can execute.
//   C[M, N] += A[M, K] . B[K, N],  A(m, k) = a[m * a_rs + k * a_cs],  B(k, n) = b[k * b_rs + n * b_cs]
// Each computes share `part` of `parts` on the calling thread (see gemm_strided_share); with
// overwrite, C = A . B instead.
#pragma once

namespace lm {

using GemmFn = void (*)(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                        long b_cs, int M, int N, int K, bool overwrite, int part, int parts);

void gemm_strided_baseline(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                           long b_cs, int M, int N, int K, bool overwrite, int part, int parts);
#if defined(__x86_64__)
void gemm_strided_avx2(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                       long b_cs, int M, int N, int K, bool overwrite, int part, int parts);
void gemm_strided_avx512(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                         long b_cs, int M, int N, int K, bool overwrite, int part, int parts);
#endif

struct GemmBuild {
    const char* isa;
    GemmFn fn;
};
// The builds this CPU can run, best first; matmul uses the first.
int gemm_builds(GemmBuild* out);

// The whole product C (+)= A . B with the best build: one OpenMP parallel region when the
// work is large, on the calling thread when small or already inside a parallel region.
void strided_gemm(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, long b_cs,
                  int M, int N, int K, bool overwrite = false);

}  // namespace lm
