// The packed F32 GEMM (simd/gemm.h) for AVX2 + FMA: 6 rows x 16 tokens (12 ymm accumulators),
// with f16 / bf16 weights widened per block of rows.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

struct F16ToF32 {
    static void convert(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
        for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    }
};

struct BF16ToF32 {
    static void convert(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
            _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
        }
        for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    }
};

using Kernel = Gemm<xsimd::fma3<xsimd::avx2>, 6, 2>;

}  // namespace

void gemm_avx2(float* y, const void* w, DType type, const float* x, int64_t m, int64_t k, int n, int threads) {
    run_gemm<Kernel, F16ToF32, BF16ToF32>(y, w, type, x, m, k, n, threads);
}

}  // namespace lm::simd
