// The packed F32 GEMM (simd/gemm.h) for AVX-512: 12 rows x 32 tokens (24 zmm accumulators).
#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

void gemm_f32_avx512(float* y, const float* w, const float* x, int64_t m, int64_t k, int n, int threads) {
    Gemm<xsimd::avx512bw, 12, 2>::run(y, w, x, m, k, n, threads);
}

}  // namespace lm::simd
