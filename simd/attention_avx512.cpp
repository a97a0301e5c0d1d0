// Attention over the f16 cache with AVX-512 (simd/attention.h). Changes from the AVX2 kernel,
// which spent most of its time outside the arithmetic: scores are computed 16 keys at a time
// and their 16 horizontal sums done together by one transposing reduction (15 adds instead of
// 16 x 8 shuffles and adds); q and the outputs stay in registers (the kernels are instantiated
// per head_dim / 16); and a prompt's queries are mixed 4 at a time (2 or 1 for wider heads), so
// that each value row is loaded and widened once for them and their FMA chains interleave.
// Each output element is still one FMA chain over the keys in order, whatever the grouping.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/attention.h"
#include "simd/ops.h"

namespace lm::simd {

namespace {


inline __m512 load16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

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

// att[0..len) = the softmax weights of q over the keys, rounded to f16; NV = head_dim / 16, so
// that q and the accumulators stay in registers.
template <int NV>
void scores(float* att, const float* q, const uint16_t* keys, size_t stride, int len, float scale) {
    __m512 qv[NV];
    for (int c = 0; c < NV; ++c) qv[c] = round_f16(_mm512_loadu_ps(q + 16 * c));
    auto dot = [&](const uint16_t* k) {
        __m512 acc = _mm512_mul_ps(qv[0], load16(k));
        for (int c = 1; c < NV; ++c) acc = _mm512_fmadd_ps(qv[c], load16(k + 16 * c), acc);
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
}

// out_i = sum_t att_i[t] v_t over t < len + i for Q consecutive queries (weights att + i *
// att_stride, outputs out + i * out_stride): each output element one FMA chain over the keys in
// order, the Q queries' chains interleaved so that they do not wait on each other.
template <int NV, int Q>
void mix(float* out, size_t out_stride, const float* att, size_t att_stride, const uint16_t* values, size_t stride, int len) {
    __m512 o[Q][NV];
    for (int i = 0; i < Q; ++i)
        for (int c = 0; c < NV; ++c) o[i][c] = _mm512_setzero_ps();
    for (int t = 0; t < len + Q - 1; ++t) {
        const uint16_t* v = values + t * stride;
        __m512 vv[NV];
        for (int c = 0; c < NV; ++c) vv[c] = load16(v + 16 * c);
        for (int i = 0; i < Q; ++i) {
            if (t >= len + i) continue;
            const __m512 a = _mm512_set1_ps(att[i * att_stride + t]);
            for (int c = 0; c < NV; ++c) o[i][c] = _mm512_fmadd_ps(a, vv[c], o[i][c]);
        }
    }
    for (int i = 0; i < Q; ++i)
        for (int c = 0; c < NV; ++c) _mm512_storeu_ps(out + i * out_stride + 16 * c, o[i][c]);
}

// n causal queries (query i over len + i keys), Q of them mixed at a time.
template <int NV>
void attend_n(float* out, size_t out_stride, const float* q, size_t q_stride, int n, const uint16_t* keys, const uint16_t* values,
              size_t stride, int len, float scale, float* att) {
    constexpr int Q = NV <= 4 ? 4 : NV <= 8 ? 2 : 1;  // Q x NV accumulators fit the registers
    const size_t att_stride = static_cast<size_t>(len) + n;
    for (int i = 0; i < n; ++i) scores<NV>(att + i * att_stride, q + i * q_stride, keys, stride, len + i, scale);
    int i = 0;
    for (; i + Q <= n; i += Q) mix<NV, Q>(out + i * out_stride, out_stride, att + i * att_stride, att_stride, values, stride, len + i);
    for (; i < n; ++i) mix<NV, 1>(out + i * out_stride, out_stride, att + i * att_stride, att_stride, values, stride, len + i);
}

void attend_any(float* out, size_t out_stride, const float* q, size_t q_stride, int n, const uint16_t* keys, const uint16_t* values,
                size_t stride, int len, int head_dim, float scale, float* att) {
    switch (head_dim / 16) {
#define LM_ATTEND_CASE(NV) \
    case NV: return attend_n<NV>(out, out_stride, q, q_stride, n, keys, values, stride, len, scale, att);
        LM_ATTEND_CASE(1) LM_ATTEND_CASE(2) LM_ATTEND_CASE(3) LM_ATTEND_CASE(4) LM_ATTEND_CASE(5) LM_ATTEND_CASE(6)
        LM_ATTEND_CASE(7) LM_ATTEND_CASE(8) LM_ATTEND_CASE(9) LM_ATTEND_CASE(10) LM_ATTEND_CASE(11) LM_ATTEND_CASE(12)
        LM_ATTEND_CASE(13) LM_ATTEND_CASE(14) LM_ATTEND_CASE(15) LM_ATTEND_CASE(16)
#undef LM_ATTEND_CASE
    }
}

}  // namespace

void attend_avx512(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                   int head_dim, float scale, float* scratch) {
    attend_any(out, 0, q, 0, 1, keys, values, stride, len, head_dim, scale, scratch);
}

void attend_block_avx512(float* out, size_t out_stride, const float* q, size_t q_stride, int n, const uint16_t* keys,
                         const uint16_t* values, size_t stride, int len, int head_dim, float scale, float* scratch) {
    attend_any(out, out_stride, q, q_stride, n, keys, values, stride, len, head_dim, scale, scratch);
}

}  // namespace lm::simd
