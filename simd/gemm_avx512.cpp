// The packed F32 GEMM (simd/gemm.h) for AVX-512: 14 x 32 register tiles (28 zmm accumulators),
// f16 / bf16 B widened and W^T transposed in 16 x 16 register blocks while packing.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

// dst[k * ld + j] = src[j * stride + k] for j < rows <= 16, k < 16: rows of src become columns
// (lanes past `rows` are neither read nor written).
inline void transpose16(const float* src, int64_t stride, int rows, float* dst, int ld) {
    __m512 r[16], t[16];
    for (int j = 0; j < 16; ++j) r[j] = j < rows ? _mm512_loadu_ps(src + j * stride) : _mm512_setzero_ps();
    for (int j = 0; j < 16; j += 2) {  // lane L: r_j[4L], r_j+1[4L], r_j[4L+1], r_j+1[4L+1] | [4L+2], [4L+3]
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 16; j += 4) {  // r[j + i] lane L: column 4L + i of rows j..j+3
        r[j] = _mm512_shuffle_ps(t[j], t[j + 2], 0x44);
        r[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], 0xEE);
        r[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        r[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
    }
    for (int h = 0; h < 16; h += 8)  // t[h + c], c < 8: columns c (lanes 0, 1) and 8 + c (lanes 2, 3) of rows h..h+7
        for (int i = 0; i < 4; ++i) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0x88);
            t[h + 4 + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0xDD);
        }
    const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1);
    for (int c = 0; c < 8; ++c) {  // whole columns c and 8 + c
        _mm512_mask_storeu_ps(dst + c * ld, keep, _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88));
        _mm512_mask_storeu_ps(dst + (c + 8) * ld, keep, _mm512_shuffle_f32x4(t[c], t[8 + c], 0xDD));
    }
}

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
        const int kfull = kc / 16 * 16;
        for (int j = 0; j < cols; j += 16)
            for (int k = 0; k < kfull; k += 16)
                transpose16(src + j * stride + k, stride, std::min(16, cols - j), dst + k * LD + j, LD);
        if (kfull < kc) transpose_columns<LD>(src + kfull, stride, cols, kc - kfull, dst + kfull * LD);
    }
};

using Kernel = Gemm<xsimd::avx512bw, 14, 2, Ops>;

}  // namespace

void gemm_avx512(const GemmArgs& g, int part, int parts) { Kernel::run(g, part, parts); }

}  // namespace lm::simd
