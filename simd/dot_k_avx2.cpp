// AVX2 dot kernels for the k-quants (q2_K .. q6_K) against q8_K activations: one 32-element slice per
// 256-bit register; vpmaddubsw (unsigned codes x signed activations) then vpmaddwd with the
// sub-block scales; a super-block is summed in integers before its float scale.
// Reference: dot_scalar.cpp.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cstring>
#include <type_traits>

#include "simd/kernels.h"
#include "simd/tile.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

template <class Block>
const Block* blocks(const uint8_t* p) {
    return reinterpret_cast<const Block*>(p);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 16-bit lanes: a in the low 128 bits, b in the high 128 bits.
inline __m256i two_scales(int a, int b) {
    return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(b)), _mm_set1_epi16(static_cast<int16_t>(a)));
}

// Sub-block j = 2c + h of a q4_K super-block: nibble h of qs[32c .. 32c+31]. q5_K (kFive)
// adds bit 4 of each code from bit j of qh[0 .. 31].
template <class Block, bool kFive>
struct ScaleMinKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        const __m256i nibble = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
        __m256 acc[R][C], acc_min[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = acc_min[r][c] = _mm256_setzero_ps();
        for (int64_t i = 0; i < k / QK_K; ++i) {
            __m256i sum[R][C];
            __m256i scales[R][8];
            for (int r = 0; r < R; ++r) {
                const Block& wb = blocks<Block>(w[r])[i];
                int16_t mins[16];
                for (int j = 0; j < 8; ++j) {
                    uint8_t sc, m;
                    q4_K_scale_min(j, wb.scales, &sc, &m);
                    scales[r][j] = _mm256_set1_epi16(sc);
                    mins[2 * j] = mins[2 * j + 1] = m;
                }
                const __m256i m_pairs = load256(mins);
                for (int c = 0; c < C; ++c) {
                    const block_q8_K& xb = blocks<block_q8_K>(x[c])[i];
                    const __m256i m = _mm256_madd_epi16(load256(xb.bsums), m_pairs);
                    const float dmin = f16_to_f32(wb.dmin) * xb.d;
                    acc_min[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_set1_ps(dmin), acc_min[r][c]);
                    sum[r][c] = _mm256_setzero_si256();
                }
            }
            for (int chunk = 0; chunk < 4; ++chunk) {
                __m256i y[C][2];
                for (int c = 0; c < C; ++c) {
                    const int8_t* qy = blocks<block_q8_K>(x[c])[i].qs + 64 * chunk;
                    y[c][0] = load256(qy), y[c][1] = load256(qy + 32);
                }
                for (int r = 0; r < R; ++r) {
                    const Block& wb = blocks<Block>(w[r])[i];
                    const __m256i v = load256(wb.qs + 32 * chunk);
                    __m256i lo = _mm256_and_si256(v, nibble), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
                    if constexpr (kFive) {  // bits 2c and 2c + 1 of each qh byte, to bit 4
                        const __m256i qh = load256(wb.qh);
                        const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * chunk), one);
                        const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * chunk + 1), one);
                        lo = _mm256_or_si256(lo, _mm256_slli_epi16(h0, 4));
                        hi = _mm256_or_si256(hi, _mm256_slli_epi16(h1, 4));
                    }
                    for (int c = 0; c < C; ++c) {
                        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y[c][0]), scales[r][2 * chunk]);
                        const __m256i p1 =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y[c][1]), scales[r][2 * chunk + 1]);
                        sum[r][c] = _mm256_add_epi32(sum[r][c], _mm256_add_epi32(p0, p1));
                    }
                }
            }
            for (int r = 0; r < R; ++r)
                for (int c = 0; c < C; ++c) {
                    const float d = f16_to_f32(blocks<Block>(w[r])[i].d) * blocks<block_q8_K>(x[c])[i].d;
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[r][c]), _mm256_set1_ps(d), acc[r][c]);
                }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum256(acc[r][c]) - hsum256(acc_min[r][c]);
    }
};

// q6_K quarter q (0..3) of half h: low nibbles of ql[64h + 32 (q & 1) ..] (high nibbles for
// q >= 2) and bits 2q..2q+1 of qh[32h ..]; it spans 16-element sub-blocks 8h + 2q, +1.
struct Q6_KKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        const __m256i nibble = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30);
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        for (int64_t i = 0; i < k / QK_K; ++i) {
            __m256i sum[R][C];
            for (int r = 0; r < R; ++r) {
                const __m256i sc16 = _mm256_cvtepi8_epi16(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks<block_q6_K>(w[r])[i].scales)));
                for (int c = 0; c < C; ++c) {  // sum sc (q - 32) y = sum sc q y - 32 sum sc bsum
                    const __m256i bs = load256(blocks<block_q8_K>(x[c])[i].bsums);
                    sum[r][c] =
                        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5));
                }
            }
            for (int h = 0; h < 2; ++h) {
                for (int quarter = 0; quarter < 4; ++quarter) {
                    __m256i y[C];
                    for (int c = 0; c < C; ++c) y[c] = load256(blocks<block_q8_K>(x[c])[i].qs + 128 * h + 32 * quarter);
                    for (int r = 0; r < R; ++r) {
                        const block_q6_K& wb = blocks<block_q6_K>(w[r])[i];
                        __m256i low = load256(wb.ql + 64 * h + 32 * (quarter & 1));
                        if (quarter >= 2) low = _mm256_srli_epi16(low, 4);
                        const __m256i qh = load256(wb.qh + 32 * h);
                        // bring bits 2q..2q+1 to bits 4-5
                        const int shift = 2 * quarter - 4;
                        const __m256i high = shift < 0 ? _mm256_slli_epi16(qh, -shift) : _mm256_srli_epi16(qh, shift);
                        const __m256i q = _mm256_or_si256(_mm256_and_si256(low, nibble), _mm256_and_si256(high, top));
                        const int8_t* sc = wb.scales + 8 * h + 2 * quarter;
                        const __m256i s = two_scales(sc[0], sc[1]);
                        for (int c = 0; c < C; ++c)
                            sum[r][c] =
                                _mm256_add_epi32(sum[r][c], _mm256_madd_epi16(_mm256_maddubs_epi16(q, y[c]), s));
                    }
                }
            }
            for (int r = 0; r < R; ++r)
                for (int c = 0; c < C; ++c) {
                    const float d = f16_to_f32(blocks<block_q6_K>(w[r])[i].d) * blocks<block_q8_K>(x[c])[i].d;
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[r][c]), _mm256_set1_ps(d), acc[r][c]);
                }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum256(acc[r][c]);
    }
};

// q2_K and q3_K: the 2-bit codes of elements 128h + 32s + l (l < 32) are bits 2s..2s+1 of
// qs[32h + l]; the 32 of them span sub-blocks 8h + 2s and 8h + 2s + 1. q3_K (kThree) adds bit
// 4h + s of hmask[l] as bit 2 of the code, and takes 4 off every code through the bsums (the
// codes stay unsigned for vpmaddubsw); q2_K subtracts dmin * its 4-bit mins through the bsums.
template <bool kThree>
struct LowBitKernel {
    using Block = std::conditional_t<kThree, block_q3_K, block_q2_K>;
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        const __m256i two = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
        __m256 acc[R][C], acc_min[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = acc_min[r][c] = _mm256_setzero_ps();
        for (int64_t i = 0; i < k / QK_K; ++i) {
            __m256i sum[R][C];
            int16_t scales[R][16];
            for (int r = 0; r < R; ++r) {
                const Block& wb = blocks<Block>(w[r])[i];
                int16_t mins[16];
                for (int j = 0; j < 16; ++j) {
                    if constexpr (kThree) {
                        scales[r][j] = static_cast<int16_t>(q3_K_scale(j, wb.scales));
                    } else {
                        scales[r][j] = static_cast<int16_t>(wb.scales[j] & 0xF);
                        mins[j] = static_cast<int16_t>(wb.scales[j] >> 4);
                    }
                }
                for (int c = 0; c < C; ++c) {
                    const block_q8_K& xb = blocks<block_q8_K>(x[c])[i];
                    const __m256i bs = load256(xb.bsums);
                    if constexpr (kThree) {  // sum sc (u - 4) y = sum sc u y - 4 sum sc bsum
                        sum[r][c] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                                     _mm256_slli_epi32(_mm256_madd_epi16(bs, load256(scales[r])), 2));
                    } else {
                        const __m256i m = _mm256_madd_epi16(bs, load256(mins));
                        const float dmin = f16_to_f32(wb.dmin) * xb.d;
                        acc_min[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_set1_ps(dmin), acc_min[r][c]);
                        sum[r][c] = _mm256_setzero_si256();
                    }
                }
            }
            for (int h = 0; h < 2; ++h)
                for (int shift = 0; shift < 4; ++shift) {
                    __m256i y[C];
                    for (int c = 0; c < C; ++c) y[c] = load256(blocks<block_q8_K>(x[c])[i].qs + 128 * h + 32 * shift);
                    for (int r = 0; r < R; ++r) {
                        const Block& wb = blocks<Block>(w[r])[i];
                        __m256i q = _mm256_and_si256(_mm256_srli_epi16(load256(wb.qs + 32 * h), 2 * shift), two);
                        if constexpr (kThree) {
                            const __m256i hb = _mm256_and_si256(_mm256_srli_epi16(load256(wb.hmask), 4 * h + shift), one);
                            q = _mm256_or_si256(q, _mm256_slli_epi16(hb, 2));
                        }
                        const int j = 8 * h + 2 * shift;
                        const __m256i sc = two_scales(scales[r][j], scales[r][j + 1]);
                        for (int c = 0; c < C; ++c)
                            sum[r][c] =
                                _mm256_add_epi32(sum[r][c], _mm256_madd_epi16(_mm256_maddubs_epi16(q, y[c]), sc));
                    }
                }
            for (int r = 0; r < R; ++r)
                for (int c = 0; c < C; ++c) {
                    const float d = f16_to_f32(blocks<Block>(w[r])[i].d) * blocks<block_q8_K>(x[c])[i].d;
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[r][c]), _mm256_set1_ps(d), acc[r][c]);
                }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum256(acc[r][c]) - hsum256(acc_min[r][c]);
    }
};

}  // namespace

TileFn avx2_k_tile(DType weight) {
    switch (weight) {
        case DType::Q4_K: return tile<ScaleMinKernel<block_q4_K, false>, 2>;
        case DType::Q5_K: return tile<ScaleMinKernel<block_q5_K, true>, 2>;
        case DType::Q6_K: return tile<Q6_KKernel, 2>;
        case DType::Q2_K: return tile<LowBitKernel<false>, 2>;
        case DType::Q3_K: return tile<LowBitKernel<true>, 2>;
        default: return nullptr;
    }
}

}  // namespace lm::simd
