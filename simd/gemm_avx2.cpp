// The packed F32 GEMM (simd/gemm.h) for AVX2 + FMA: 6 x 16 register tiles (12 ymm accumulators),
// f16 / bf16 B widened while packing.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

struct Ops {
    static void f16(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
        for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    }
    static void bf16(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
            _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
        }
        for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    }
    template <int NR>
    static void transpose(const float* src, int64_t stride, int cols, int kc, float* dst) {
        transpose_columns<NR>(src, stride, cols, kc, dst);
    }
};

using Kernel = Gemm<xsimd::fma3<xsimd::avx2>, 6, 2, Ops>;

}  // namespace

void gemm_avx2(const GemmArgs& g, int part, int parts) { Kernel::run(g, part, parts); }

}  // namespace lm::simd
