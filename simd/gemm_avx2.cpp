// The packed F32 GEMM (simd/gemm.h) for AVX2 + FMA: 6 x 16 register tiles (12 ymm accumulators),
// f16 / bf16 B widened and A rows / W^T columns transposed in 8 x 8 register blocks while packing.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

// dst[k * ld + j] = src[j * stride + k] for j < rows <= 8, k < 8: rows of src become columns
// (lanes past `rows` are neither read nor written).
inline void transpose8(const float* src, int64_t stride, int rows, float* dst, int ld) {
    __m256 r[8], t[8];
    for (int j = 0; j < 8; ++j) r[j] = j < rows ? _mm256_loadu_ps(src + j * stride) : _mm256_setzero_ps();
    for (int j = 0; j < 8; j += 2) {  // per 128-bit half: r_j[0], r_j+1[0], r_j[1], r_j+1[1] | [2], [3]
        t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 8; j += 4) {  // r[j + i]: column i (low half) and 4 + i (high half) of rows j..j+3
        r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
        r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
        r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
    }
    const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(rows), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int c = 0; c < 4; ++c) {
        const __m256 lo = _mm256_permute2f128_ps(r[c], r[4 + c], 0x20), hi = _mm256_permute2f128_ps(r[c], r[4 + c], 0x31);
        if (rows == 8) {
            _mm256_storeu_ps(dst + c * ld, lo);
            _mm256_storeu_ps(dst + (c + 4) * ld, hi);
        } else {
            _mm256_maskstore_ps(dst + c * ld, keep, lo);
            _mm256_maskstore_ps(dst + (c + 4) * ld, keep, hi);
        }
    }
}

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
    template <int LD>
    static void transpose(const float* src, int64_t stride, int cols, int kc, float* dst) {
        transpose_blocks<LD, 8>(transpose8, src, stride, cols, kc, dst);
    }
};

using Kernel = Gemm<xsimd::fma3<xsimd::avx2>, 6, 2, Ops>;

}  // namespace

void gemm_avx2(const GemmArgs& g, int part, int parts) { Kernel::run(g, part, parts); }

}  // namespace lm::simd
