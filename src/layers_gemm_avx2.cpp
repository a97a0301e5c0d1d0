// The training GEMM (layers_gemm.h) instantiated for AVX2; the Makefile compiles *_avx2.cpp
// with that ISA and layers_matmul.cpp calls it only when the CPU reports it.
#include "src/layers_gemm.h"
#include "src/layers_gemm_isa.h"

namespace lm {

void gemm_strided_avx2(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                       long b_cs, int M, int N, int K, bool overwrite, int part, int parts) {
    gemm_strided_share(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, N, K, overwrite, part, parts);
}

}  // namespace lm
