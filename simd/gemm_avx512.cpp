// The packed F32 GEMM (simd/gemm.h) for AVX-512: 14 x 32 register tiles (28 zmm accumulators),
// f16 / bf16 B widened and W^T transposed in 16 x 16 register blocks while packing.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

struct Ops {
    static void f16(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
        for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    }
    static void bf16(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
            _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
        }
        for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    }
    template <int LD>
    static void transpose(const float* src, int64_t stride, int cols, int kc, float* dst) {
        transpose_blocks<LD, 16>(transpose16, src, stride, cols, kc, dst);
    }
};

using Kernel = Gemm<xsimd::avx512bw, 14, 2, Ops>;

}  // namespace

void gemm_avx512(const GemmArgs& g, int part, int parts) { Kernel::run(g, part, parts); }

}  // namespace lm::simd
