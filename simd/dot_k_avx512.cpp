// AVX-512 dot kernels for the k-quants against q8_K activations. Codes are unsigned (q4_K
// 0..15, q6_K 0..63), so vpmaddubsw multiplies them by the signed activations into 16-bit
// pair sums, and vpmaddwd applies the sub-block scales while widening to 32 bits; a whole
// super-block is summed in integers before its one float scale. Reference: dot_scalar.cpp.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cstring>

#include "simd/kernels.h"
#include "simd/tile.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

template <class Block>
const Block* blocks(const uint8_t* p) {
    return reinterpret_cast<const Block*>(p);
}

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 32 bytes at a then 32 bytes at b.
inline __m512i load_halves(const int8_t* a, const int8_t* b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load256(a)), load256(b), 1);
}

// The 8 six-bit scales and mins of a q4_K super-block, one per byte (layout as in
// q4_K_scale_min): bytes 0-3 of the first 8 give sub-blocks 0-3, bytes 8-11 the low nibbles
// of sub-blocks 4-7 whose top two bits sit in bits 6-7 of bytes 0-7.
inline void q4_K_scales(const uint8_t* q, uint64_t* scales, uint64_t* mins) {
    uint64_t lo;
    uint32_t hi;
    std::memcpy(&lo, q, 8);
    std::memcpy(&hi, q + 8, 4);
    const uint64_t sc_low = lo & 0x3f3f3f3f, m_low = (lo >> 32) & 0x3f3f3f3f;
    const uint64_t sc_high = (hi & 0x0f0f0f0f) | ((lo >> 6) & 0x03030303) << 4;
    const uint64_t m_high = ((hi >> 4) & 0x0f0f0f0f) | ((lo >> 38) & 0x03030303) << 4;
    *scales = sc_low | sc_high << 32;
    *mins = m_low | m_high << 32;
}

// 16-bit lane e of the result holds element idx[e] of the 16-bit values in v.
inline __m512i spread16(__m512i v, const __m512i& idx) { return _mm512_permutexvar_epi16(idx, v); }

// Indices for q4_K: register g holds sub-blocks (a, b) as 16 pair sums each.
inline __m512i pair_index(int a, int b) {
    alignas(64) int16_t idx[32];
    for (int e = 0; e < 32; ++e) idx[e] = static_cast<int16_t>(e < 16 ? a : b);
    return _mm512_load_si512(idx);
}

// Indices for q6_K: register g holds sub-blocks 4g .. 4g+3 as 8 pair sums each.
inline __m512i quad_index(int g) {
    alignas(64) int16_t idx[32];
    for (int e = 0; e < 32; ++e) idx[e] = static_cast<int16_t>(4 * g + e / 8);
    return _mm512_load_si512(idx);
}

// q4_K: qs[0..63] holds sub-blocks 0 and 2 (low nibbles) and 1 and 3 (high nibbles), so
// the activation registers are [y0|y2], [y1|y3], [y4|y6], [y5|y7] (32-element sub-blocks).
struct Q4_KKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        const __m512i idx[4] = {pair_index(0, 2), pair_index(1, 3), pair_index(4, 6), pair_index(5, 7)};
        const __m512i nibble = _mm512_set1_epi8(0x0F);
        __m512 acc[R][C];
        __m128 acc_min[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps(), acc_min[r][c] = _mm_setzero_ps();
        for (int64_t i = 0; i < k / QK_K; ++i) {
            __m512i y[C][4];
            __m128i y_sums[C];  // the 8 sub-block sums of the activation codes, as int16
            for (int c = 0; c < C; ++c) {
                const block_q8_K& xb = blocks<block_q8_K>(x[c])[i];
                for (int h = 0; h < 2; ++h) {
                    y[c][2 * h] = load_halves(xb.qs + 128 * h, xb.qs + 128 * h + 64);
                    y[c][2 * h + 1] = load_halves(xb.qs + 128 * h + 32, xb.qs + 128 * h + 96);
                }
                const __m256i pairs = _mm256_madd_epi16(load256(xb.bsums), _mm256_set1_epi16(1));
                y_sums[c] = _mm_packs_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
            }
            for (int r = 0; r < R; ++r) {
                const block_q4_K& wb = blocks<block_q4_K>(w[r])[i];
                uint64_t sc8, m8;
                q4_K_scales(wb.scales, &sc8, &m8);
                const __m512i sc16 =
                    _mm512_zextsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc8))));
                const __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(m8)));
                __m512i q[4], s[4];
                for (int h = 0; h < 2; ++h) {
                    const __m512i v = load512(wb.qs + 64 * h);
                    q[2 * h] = _mm512_and_si512(v, nibble);
                    q[2 * h + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
                }
                for (int g = 0; g < 4; ++g) s[g] = spread16(sc16, idx[g]);
                const float d = f16_to_f32(wb.d), dmin = f16_to_f32(wb.dmin);
                for (int c = 0; c < C; ++c) {
                    __m512i sum = _mm512_setzero_si512();
                    for (int g = 0; g < 4; ++g)
                        sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(q[g], y[c][g]), s[g]);
                    const float dy = blocks<block_q8_K>(x[c])[i].d;
                    acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(d * dy), acc[r][c]);
                    const __m128i mins = _mm_madd_epi16(m16, y_sums[c]);  // sum_j m_j (sum of sub-block j)
                    acc_min[r][c] = _mm_fmadd_ps(_mm_cvtepi32_ps(mins), _mm_set1_ps(dmin * dy), acc_min[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum512(acc[r][c]) - hsum128(acc_min[r][c]);
    }
};

// q6_K, per half of 128: ql[0..63] low nibbles are elements 0..63, high nibbles 64..127;
// qh[0..31] bits 0-1, 2-3, 4-5, 6-7 are the top bits of elements l, l+32, l+64, l+96.
struct Q6_KKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        const __m512i idx[4] = {quad_index(0), quad_index(1), quad_index(2), quad_index(3)};
        const __m512i nibble = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
        // Shifts that bring qh's bit pairs (0-1 | 2-3) and (4-5 | 6-7) to bits 4-5.
        const __m512i shift_low = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
        const __m512i shift_high = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
        __m512 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
        for (int64_t i = 0; i < k / QK_K; ++i) {
            __m512i y[C][4];
            __m256i bsums[C];
            for (int c = 0; c < C; ++c) {
                const block_q8_K& xb = blocks<block_q8_K>(x[c])[i];
                for (int g = 0; g < 4; ++g) y[c][g] = load512(xb.qs + 64 * g);
                bsums[c] = load256(xb.bsums);
            }
            for (int r = 0; r < R; ++r) {
                const block_q6_K& wb = blocks<block_q6_K>(w[r])[i];
                const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb.scales)));
                __m512i q[4], s[4];
                for (int h = 0; h < 2; ++h) {
                    const __m512i low = load512(wb.ql + 64 * h);
                    const __m512i high = _mm512_broadcast_i64x4(load256(wb.qh + 32 * h));
                    const __m512i top_low = _mm512_and_si512(_mm512_sllv_epi16(high, shift_low), top);
                    const __m512i top_high = _mm512_and_si512(_mm512_srlv_epi16(high, shift_high), top);
                    q[2 * h] = _mm512_or_si512(_mm512_and_si512(low, nibble), top_low);
                    q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(low, 4), nibble), top_high);
                }
                for (int g = 0; g < 4; ++g) s[g] = spread16(_mm512_castsi256_si512(sc16), idx[g]);
                const float d = f16_to_f32(wb.d);
                for (int c = 0; c < C; ++c) {
                    // sum sc (q - 32) y = sum sc q y - 32 sum sc bsum
                    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums[c], sc16), 5);
                    __m512i sum = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(offset));
                    for (int g = 0; g < 4; ++g)
                        sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(q[g], y[c][g]), s[g]);
                    const float dy = blocks<block_q8_K>(x[c])[i].d;
                    acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(d * dy), acc[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum512(acc[r][c]);
    }
};

}  // namespace

TileFn avx512_k_tile(DType weight) {
    switch (weight) {
        case DType::Q4_K: return tile<Q4_KKernel, 4>;
        case DType::Q6_K: return tile<Q6_KKernel, 4>;
        default: return nullptr;
    }
}

}  // namespace lm::simd
