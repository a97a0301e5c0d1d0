// AVX-512 activation quantizers, bit-identical to the reference quantize_row (weights/quant.cpp
// and quant_k.cpp): same scale arithmetic, and roundf's ties-away-from-zero rebuilt from
// truncation for q8_0 / q8_1 (q8_K rounds to nearest even, as vrndscaleps does).
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "simd/kernels.h"
#include "simd/quantize_rows.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

inline __m512 abs_ps(__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}

// roundf: ties away from zero. v - trunc(v) is exact, so the tie test is exact too.
inline __m512i round_away(__m512 v) {
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 one =
        _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(_mm512_set1_ps(1.f)),
                                            _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN))));
    return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, one));
}

// Lanes holding NaN or +-Inf.
inline __mmask16 non_finite(__m512 v) { return _mm512_cmp_ps_mask(abs_ps(v), _mm512_set1_ps(INFINITY), _CMP_NLT_UQ); }

// One 32-element block to q8 codes, with the unrounded scale d and the code sum. False, and
// nothing written, for a block holding NaN or +-Inf or so small that 1 / d overflows: such
// blocks take the reference quantizer, which defines them (weights/quant.h, all_finite).
inline bool q8_block(const float* x, int8_t* qs, float* d_out, int* sum) {
    const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
    if (non_finite(a) | non_finite(b)) return false;
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_ps(a), abs_ps(b)));
    const float d = amax / 127.f, id = d ? 1.f / d : 0.f;
    if (!std::isfinite(id)) return false;
    const __m512i qa = round_away(_mm512_mul_ps(a, _mm512_set1_ps(id)));
    const __m512i qb = round_away(_mm512_mul_ps(b, _mm512_set1_ps(id)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(qa));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtsepi32_epi8(qb));
    *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb));
    *d_out = d;
    return true;
}

// q8_K: codes rounded to nearest even, clamped at 127; 16-element sums; the scale, and the
// blocks the reference takes, from q8_K_iscale (simd/quantize_rows.h).
void quantize_q8_K(const float* x, void* dst, int64_t n) {
    block_q8_K* y = static_cast<block_q8_K*>(dst);
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        __m512 vmax = _mm512_setzero_ps();
        __mmask16 bad = 0;
        for (int j = 0; j < QK_K; j += 16) {
            const __m512 v = _mm512_loadu_ps(x + j);
            bad = static_cast<__mmask16>(bad | non_finite(v));
            vmax = _mm512_max_ps(vmax, abs_ps(v));
        }
        const float amax = _mm512_reduce_max_ps(vmax);
        const float iscale = q8_K_iscale(x, amax, bad != 0);
        if (iscale == 0) {
            quantize_row(DType::Q8_K, x, &y[i], QK_K);
            continue;
        }
        const __m512 s = _mm512_set1_ps(iscale);
        for (int j = 0; j < QK_K; j += 16) {
            __m512i q = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(s, _mm512_loadu_ps(x + j)),
                                                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + j), _mm512_cvtsepi32_epi8(q));
            y[i].bsums[j / 16] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
        }
        y[i].d = 1 / iscale;
    }
}

// f16 / bf16 with round to nearest even, as f32_to_f16 / f32_to_bf16 (NaN payloads aside).
void convert_f16(const float* x, void* dst, int64_t n) {
    uint16_t* y = static_cast<uint16_t*>(dst);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

}  // namespace

void round_to_f16_avx512(const float* x, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; ++i) out[i] = f16_to_f32(f32_to_f16(x[i]));
}

QuantizeFn avx512_quantizer(DType act) {
    switch (act) {
        case DType::Q8_0: return quantize_q8_0_rows<q8_block>;
        case DType::Q8_1: return quantize_q8_1_rows<q8_block>;
        case DType::Q8_K: return quantize_q8_K;
        case DType::F16: return convert_f16;
        default: return nullptr;
    }
}

}  // namespace lm::simd
