// Attention over the f16 cache with AVX-512 (simd/attention.h). Two changes from the AVX2 kernel, which spent most of its time outside the
// arithmetic: scores are computed 16 keys at a time and their 16 horizontal sums done
// together by one transposing reduction (15 adds instead of 16 x 8 shuffles and adds), and
// the output stays in registers across the keys instead of round-tripping through memory
// for every key. Each output element is still one FMA chain over the keys in order.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/attention.h"
#include "simd/ops.h"

namespace lm::simd {

namespace {


inline __m512 load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

inline __m512 round_f16(__m512 x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }

// The reduction below leaves the sum of acc[s] in lane kLane[s]; so key t0 + kLane[s] is
// accumulated in acc[s], and lane L of the result is key t0 + L.
constexpr int kLane[16] = {0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15};

// Lane kLane[s] of the result = the sum of the 16 lanes of acc[s].
inline __m512 reduce16(__m512* a) {
    __m512 w[8], x[4], y[2];
    for (int j = 0; j < 8; ++j)  // 128-bit chunks: [a_j 0+2, a_j 1+3, a_j+8 0+2, a_j+8 1+3]
        w[j] = _mm512_add_ps(_mm512_shuffle_f32x4(a[j], a[j + 8], 0x44), _mm512_shuffle_f32x4(a[j], a[j + 8], 0xEE));
    for (int j = 0; j < 4; ++j)  // chunks: sums for a_j, a_j+8, a_j+4, a_j+12 (4 partials each)
        x[j] = _mm512_add_ps(_mm512_shuffle_f32x4(w[j], w[j + 4], 0x88), _mm512_shuffle_f32x4(w[j], w[j + 4], 0xDD));
    for (int j = 0; j < 2; ++j)  // within chunks: [x_j 0+2, x_j+2 0+2, x_j 1+3, x_j+2 1+3]
        y[j] = _mm512_add_ps(_mm512_unpacklo_ps(x[j], x[j + 2]), _mm512_unpackhi_ps(x[j], x[j + 2]));
    // within chunks: [x_0, x_2, x_1, x_3] whole; chunk c of x_j is acc[j + {0, 8, 4, 12}[c]]
    return _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], 0x44), _mm512_shuffle_ps(y[0], y[1], 0xEE));
}

}  // namespace

void attend_avx512(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                   int head_dim, float scale, float* scratch) {
    const int nv = head_dim / 16;
    float* att = scratch;
    __m512 qv[kAttendAvx512MaxDim / 16];
    for (int c = 0; c < nv; ++c) qv[c] = round_f16(_mm512_loadu_ps(q + 16 * c));
    auto dot = [&](const uint16_t* k) {
        __m512 acc = _mm512_mul_ps(qv[0], load_f16(k));
        for (int c = 1; c < nv; ++c) acc = _mm512_fmadd_ps(qv[c], load_f16(k + 16 * c), acc);
        return acc;
    };
    const __m512 sv = _mm512_set1_ps(scale);
    int t = 0;
    for (; t + 16 <= len; t += 16) {
        __m512 acc[16];
        for (int s = 0; s < 16; ++s) acc[s] = dot(keys + (t + kLane[s]) * stride);
        _mm512_storeu_ps(att + t, _mm512_mul_ps(reduce16(acc), sv));
    }
    for (; t < len; ++t) att[t] = hsum512(dot(keys + t * stride)) * scale;
    softmax(att, len);
    for (t = 0; t + 16 <= len; t += 16) _mm512_storeu_ps(att + t, round_f16(_mm512_loadu_ps(att + t)));
    if (t < len) {
        const __mmask16 m = static_cast<__mmask16>((1u << (len - t)) - 1);
        _mm512_mask_storeu_ps(att + t, m, round_f16(_mm512_maskz_loadu_ps(m, att + t)));
    }
    __m512 o[kAttendAvx512MaxDim / 16];
    for (int c = 0; c < nv; ++c) o[c] = _mm512_setzero_ps();
    for (t = 0; t < len; ++t) {
        const __m512 a = _mm512_set1_ps(att[t]);
        const uint16_t* v = values + t * stride;
        for (int c = 0; c < nv; ++c) o[c] = _mm512_fmadd_ps(a, load_f16(v + 16 * c), o[c]);
    }
    for (int c = 0; c < nv; ++c) _mm512_storeu_ps(out + 16 * c, o[c]);
}

}  // namespace lm::simd
