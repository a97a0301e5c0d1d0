// AVX2 activation quantizers for q8_0 / q8_1 / q8_K, bit-identical to the reference
// quantize_row (weights/quant.cpp, quant_k_sym.cpp) as the AVX-512 ones (quantize_avx512.cpp):
// the same scale arithmetic, and roundf's ties-away-from-zero rebuilt from truncation. Prompts quantize every token's
// activations before each matmul; the reference took ~15 % of a q8_0 prompt on AVX2.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cmath>

#include "simd/kernels.h"
#include "simd/quantize_rows.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.f), v); }

// roundf: ties away from zero. v - trunc(v) is exact, so the tie test is exact too.
inline __m256i round_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 up = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.f), _mm256_and_ps(v, _mm256_set1_ps(-0.f)));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
}

// One 32-element block to q8 codes, with the unrounded scale d and the code sum. False, and
// nothing written, for a block holding NaN or +-Inf or so small that 1 / d overflows: such
// blocks take the reference quantizer, which defines them (weights/quant.h, all_finite).
inline bool q8_block(const float* x, int8_t* qs, float* d_out, int* sum) {
    __m256 v[4], vmax = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(abs_ps(v[i]), _mm256_set1_ps(INFINITY), _CMP_NLT_UQ));
        vmax = _mm256_max_ps(vmax, abs_ps(v[i]));
    }
    if (_mm256_movemask_ps(bad)) return false;
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    const float amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
    const float d = amax / 127.f, id = d ? 1.f / d : 0.f;
    if (!std::isfinite(id)) return false;
    __m256i q[4];
    for (int i = 0; i < 4; ++i) q[i] = round_away(_mm256_mul_ps(v[i], _mm256_set1_ps(id)));
    // packs interleave 128-bit lanes: bytes come out as dwords 0 4 1 5 2 6 3 7 of the order wanted
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs),
                        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
    *sum = _mm_cvtsi128_si32(_mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1)));
    *d_out = d;
    return true;
}

// q8_K: codes rounded to nearest even (as nearest_int), clamped at 127; 16-element sums; the
// scale, and the blocks the reference takes, from q8_K_iscale (simd/quantize_rows.h).
void quantize_q8_K(const float* x, void* dst, int64_t n) {
    block_q8_K* y = static_cast<block_q8_K*>(dst);
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        __m256 vmax = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8) {
            const __m256 v = abs_ps(_mm256_loadu_ps(x + j));
            bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, _mm256_set1_ps(INFINITY), _CMP_NLT_UQ));
            vmax = _mm256_max_ps(vmax, v);
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        const float amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
        const float iscale = q8_K_iscale(x, amax, _mm256_movemask_ps(bad) != 0);
        if (iscale == 0) {
            quantize_row(DType::Q8_K, x, &y[i], QK_K);
            continue;
        }
        for (int j = 0; j < QK_K; j += 16) {
            __m256i q[2];
            for (int h = 0; h < 2; ++h) {
                const __m256 v = _mm256_mul_ps(_mm256_set1_ps(iscale), _mm256_loadu_ps(x + j + 8 * h));
                const __m256 rounded = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q[h] = _mm256_min_epi32(_mm256_cvtps_epi32(rounded), _mm256_set1_epi32(127));
            }
            const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(q[0]), _mm256_extracti128_si256(q[0], 1));
            const __m128i words2 = _mm_packs_epi32(_mm256_castsi256_si128(q[1]), _mm256_extracti128_si256(q[1], 1));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + j), _mm_packs_epi16(words, words2));
            const __m256i s = _mm256_add_epi32(q[0], q[1]);
            __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
            y[i].bsums[j / 16] = static_cast<int16_t>(_mm_cvtsi128_si32(_mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1))));
        }
        y[i].d = 1 / iscale;
    }
}

}  // namespace

QuantizeFn avx2_quantizer(DType act) {
    switch (act) {
        case DType::Q8_0: return quantize_q8_0_rows<q8_block>;
        case DType::Q8_1: return quantize_q8_1_rows<q8_block>;
        case DType::Q8_K: return quantize_q8_K;
        default: return nullptr;
    }
}

}  // namespace lm::simd
