// The packed F32 GEMM (simd/gemm.h) for AVX2 + FMA: 6 rows x 16 tokens (12 ymm accumulators).
#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

void gemm_f32_avx2(float* y, const float* w, const float* x, int64_t m, int64_t k, int n, int threads) {
    Gemm<xsimd::fma3<xsimd::avx2>, 6, 2>::run(y, w, x, m, k, n, threads);
}

}  // namespace lm::simd
