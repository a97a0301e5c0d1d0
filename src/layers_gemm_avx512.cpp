// The training GEMM (layers_gemm.h) instantiated for AVX512; the Makefile compiles *_avx512.cpp
// with that ISA and layers_matmul.cpp calls it only when the CPU reports it.
// GCC 12's AVX-512 intrinsic headers pass deliberately undefined registers that its own
// -Wuninitialized reports (a false positive inside the compiler's headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "src/layers_gemm.h"
#include "src/layers_gemm_isa.h"

namespace lm {

void gemm_strided_avx512(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                         long b_cs, int M, int N, int K, bool overwrite, int part, int parts) {
    gemm_strided_share(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, N, K, overwrite, part, parts);
}

}  // namespace lm
