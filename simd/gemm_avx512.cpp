// The packed F32 GEMM (simd/gemm.h) for AVX-512: 12 rows x 32 tokens (24 zmm accumulators),
// with f16 / bf16 weights widened per block of rows.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

struct F16ToF32 {
    static void convert(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
        for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    }
};

struct BF16ToF32 {
    static void convert(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
            _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
        }
        for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    }
};

using Kernel = Gemm<xsimd::avx512bw, 12, 2>;

}  // namespace

void gemm_avx512(float* y, const void* w, DType type, const float* x, int64_t m, int64_t k, int n, int threads) {
    run_gemm<Kernel, F16ToF32, BF16ToF32>(y, w, type, x, m, k, n, threads);
}

}  // namespace lm::simd
