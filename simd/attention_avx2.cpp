#include "simd/attention.h"
#include "simd/ops.h"
#include "simd/x86.h"

namespace lm::simd {

void attend_avx2(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                 int head_dim, float scale, float* scratch) {
    float* att = scratch;
    float* q16 = scratch + len;
    for (int d = 0; d < head_dim; d += 8) {  // q through f16 and back
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(q + d), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(q16 + d, _mm256_cvtph_ps(h));
    }
    for (int t = 0; t < len; ++t) {
        const uint16_t* k = keys + t * stride;
        __m256 acc = _mm256_setzero_ps();
        for (int d = 0; d < head_dim; d += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q16 + d),
                                  _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + d))), acc);
        att[t] = hsum256(acc) * scale;
    }
    softmax(att, len);
    for (int d = 0; d < head_dim; d += 8) _mm256_storeu_ps(out + d, _mm256_setzero_ps());
    for (int t = 0; t < len; ++t) {
        const float a = _cvtsh_ss(_cvtss_sh(att[t], _MM_FROUND_TO_NEAREST_INT));
        const __m256 av = _mm256_set1_ps(a);
        const uint16_t* v = values + t * stride;
        for (int d = 0; d < head_dim; d += 8) {
            const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + d)));
            _mm256_storeu_ps(out + d, _mm256_fmadd_ps(av, vv, _mm256_loadu_ps(out + d)));
        }
    }
}

}  // namespace lm::simd
