// AVX-512 (with VNNI and BF16) dot kernels for the float types and the 32-element block types.
// Two 32-element blocks fill one 512-bit register; vpdpbusd multiplies unsigned weight codes
// by signed activations, and the weight offset (8 for q4_0, 16 for q5_0, 128 for q8_0 read
// as unsigned) is removed with the activation block sums: sum (q - o) y = sum q y - o sum y.
// Scalar references: simd/dot_scalar.cpp. The k-quants are in dot_k_avx512.cpp.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <algorithm>

#include "simd/kernels.h"
#include "simd/tile.h"
#include "weights/quant.h"

namespace lm::simd {

TileFn avx512_k_tile(DType weight);

namespace {

template <class Block>
const Block* blocks(const uint8_t* p) {
    return reinterpret_cast<const Block*>(p);
}

// [a x 8 lanes, b x 8 lanes] from two fp16 scales.
inline __m512 pair_scale(uint16_t a, uint16_t b) {
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(a | static_cast<uint32_t>(b) << 16)));
    const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    return _mm512_permutexvar_ps(idx, _mm512_zextps128_ps512(f));
}

// The 32 codes of block a then those of block b.
inline __m512i load_pair(const int8_t* a, const int8_t* b) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)), 1);
}

// Nibbles of two q4 blocks as bytes in element order: [a low, a high, b low, b high] x 16.
inline __m512i unpack_nibbles(const uint8_t* a, const uint8_t* b) {
    const __m256i v = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(b), reinterpret_cast<const __m128i*>(a));
    __m512i t = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(v));
    t = _mm512_mask_srli_epi16(t, 0xFF00FF00u, t, 4);
    return _mm512_and_si512(t, _mm512_set1_epi8(0x0F));
}

// Activation-side values for one pair of q8_0 blocks, shared by all weight rows.
struct Q8Pair {
    __m512i q;       // codes
    __m512i offset;  // o * (sums of 4 codes), matching vpdpbusd's lanes
};

template <int kOffset>
inline Q8Pair q8_pair(const block_q8_0& a, const block_q8_0& b) {
    Q8Pair p;
    p.q = load_pair(a.qs, b.qs);
    p.offset = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(kOffset)), p.q);
    return p;
}

// fp16 scales (each block's first field) of `count` <= 16 blocks, kStride bytes apart, as f32.
template <int kStride>
inline __m512 gather_scales(const void* first, int count) {
    const __m512i offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32(kStride));
    const __mmask16 valid = static_cast<__mmask16>((1u << count) - 1);
    const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, offsets, first, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

// Lane indices [2p x 8, 2p+1 x 8]: the scales of pair p of a 16-block group.
alignas(64) constexpr int32_t kPairIndex[8][16] = {{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
                                                   {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
                                                   {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},
                                                   {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
                                                   {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},
                                                   {10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
                                                   {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13},
                                                   {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15}};

// Shared loop of q8_0, q4_0 and q5_0 weights (all against q8_0 activations): Codes gives the
// unsigned codes of a pair of weight blocks; kOffset is subtracted from each code. Blocks go
// in groups of 16 whose scale products are formed once (gathered), then spread per pair.
template <class Block, int kOffset, class Codes>
struct PairKernel {
    // Pair p of the group: weight blocks wa[r], wb[r] against activation blocks xa[c], xb[c].
    template <int R, int C>
    static void step(__m512 (*acc)[C], const __m512 (*scale)[C], int p, const Block* const* wa, const Block* const* wb,
                     const block_q8_0* const* xa, const block_q8_0* const* xb) {
        const __m512i spread = _mm512_load_si512(kPairIndex[p]);
        Q8Pair xp[C];
        for (int c = 0; c < C; ++c) xp[c] = q8_pair<kOffset>(*xa[c], *xb[c]);
        for (int r = 0; r < R; ++r) {
            const __m512i q = Codes::get(*wa[r], *wb[r]);
            for (int c = 0; c < C; ++c) {
                const __m512i d =
                    _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q, xp[c].q), xp[c].offset);
                acc[r][c] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_permutexvar_ps(spread, scale[r][c]), acc[r][c]);
            }
        }
    }

    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        const int64_t nb = k / QK;
        __m512 acc[R][C], scale[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
        const Block* wa[R];
        const Block* wb[R];
        const block_q8_0* xa[C];
        const block_q8_0* xb[C];
        static const Block zero_w{};
        static const block_q8_0 zero_x{};
        for (int64_t g = 0; g < nb; g += 16) {
            const int count = static_cast<int>(std::min<int64_t>(16, nb - g));
            __m512 dx[C];
            for (int c = 0; c < C; ++c) dx[c] = gather_scales<sizeof(block_q8_0)>(blocks<block_q8_0>(x[c]) + g, count);
            for (int r = 0; r < R; ++r) {
                const __m512 dw = gather_scales<sizeof(Block)>(blocks<Block>(w[r]) + g, count);
                for (int c = 0; c < C; ++c) scale[r][c] = _mm512_mul_ps(dw, dx[c]);
            }
            for (int j = 0; j < count; j += 2) {  // odd count: the last block pairs with zeros
                const bool single = j + 1 == count;
                for (int r = 0; r < R; ++r) wa[r] = blocks<Block>(w[r]) + g + j, wb[r] = single ? &zero_w : wa[r] + 1;
                for (int c = 0; c < C; ++c)
                    xa[c] = blocks<block_q8_0>(x[c]) + g + j, xb[c] = single ? &zero_x : xa[c] + 1;
                step<R, C>(acc, scale, j / 2, wa, wb, xa, xb);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum512(acc[r][c]);
    }
};

struct Q4_0Codes {
    static __m512i get(const block_q4_0& a, const block_q4_0& b) { return unpack_nibbles(a.qs, b.qs); }
};

struct Q8_0Codes {  // signed codes read as unsigned: q + 128
    static __m512i get(const block_q8_0& a, const block_q8_0& b) {
        return _mm512_xor_si512(load_pair(a.qs, b.qs), _mm512_set1_epi8(static_cast<char>(0x80)));
    }
};

struct Q5_0Codes {  // bit 4 of element j is bit j of qh; pair layout puts a's 32 bits first
    static __m512i get(const block_q5_0& a, const block_q5_0& b) {
        uint32_t ha, hb;
        std::memcpy(&ha, a.qh, 4);
        std::memcpy(&hb, b.qh, 4);
        const __mmask64 high = _cvtu64_mask64(ha | static_cast<uint64_t>(hb) << 32);
        const __m512i q = unpack_nibbles(a.qs, b.qs);
        return _mm512_mask_add_epi8(q, high, q, _mm512_set1_epi8(16));
    }
};

// q4_1 against q8_1: codes have no offset; the weight minimum adds m * s per block.
struct Q4_1Kernel {
    template <int R, int C>
    static void step(__m512 (*acc)[C], __m128 (*acc_m)[C], const block_q4_1* const* wa, const block_q4_1* const* wb,
                     const block_q8_1* const* xa, const block_q8_1* const* xb) {
        __m512i yq[C];
        __m512 ys[C];
        __m128 ysum[C];
        for (int c = 0; c < C; ++c) {
            yq[c] = load_pair(xa[c]->qs, xb[c]->qs);
            ys[c] = pair_scale(xa[c]->d, xb[c]->d);
            ysum[c] =
                _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(xa[c]->s | static_cast<uint32_t>(xb[c]->s) << 16)));
        }
        for (int r = 0; r < R; ++r) {
            const __m512i q = unpack_nibbles(wa[r]->qs, wb[r]->qs);
            const __m512 sw = pair_scale(wa[r]->d, wb[r]->d);
            const __m128 m =
                _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(wa[r]->m | static_cast<uint32_t>(wb[r]->m) << 16)));
            for (int c = 0; c < C; ++c) {
                const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, yq[c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(sw, ys[c]), acc[r][c]);
                acc_m[r][c] = _mm_fmadd_ps(m, ysum[c], acc_m[r][c]);
            }
        }
    }

    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        const int64_t nb = k / QK;
        __m512 acc[R][C];
        __m128 acc_m[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps(), acc_m[r][c] = _mm_setzero_ps();
        const block_q4_1* wa[R];
        const block_q4_1* wb[R];
        const block_q8_1* xa[C];
        const block_q8_1* xb[C];
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            for (int r = 0; r < R; ++r) wa[r] = blocks<block_q4_1>(w[r]) + b, wb[r] = wa[r] + 1;
            for (int c = 0; c < C; ++c) xa[c] = blocks<block_q8_1>(x[c]) + b, xb[c] = xa[c] + 1;
            step<R, C>(acc, acc_m, wa, wb, xa, xb);
        }
        if (b < nb) {
            static const block_q4_1 zero_w{};
            static const block_q8_1 zero_x{};
            for (int r = 0; r < R; ++r) wa[r] = blocks<block_q4_1>(w[r]) + b, wb[r] = &zero_w;
            for (int c = 0; c < C; ++c) xa[c] = blocks<block_q8_1>(x[c]) + b, xb[c] = &zero_x;
            step<R, C>(acc, acc_m, wa, wb, xa, xb);
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) {
                const __m128 m = acc_m[r][c];
                out[r][c] = hsum512(acc[r][c]) + (_mm_cvtss_f32(m) + _mm_cvtss_f32(_mm_shuffle_ps(m, m, 1)));
            }
    }
};

// Float rows: 32 elements per step in two accumulators per output; the tail is one more
// step with masked (zero-filled) loads. Load widens 16 elements to f32.
template <class Load>
struct FloatKernel {
    template <int R, int C>
    static void step(__m512 (*acc)[C][2], const uint8_t* const* w, const uint8_t* const* x, int64_t i, __mmask16 m0,
                     __mmask16 m1) {
        __m512 xv[C][2];
        for (int c = 0; c < C; ++c) xv[c][0] = Load::get(x[c], i, m0), xv[c][1] = Load::get(x[c], i + 16, m1);
        for (int r = 0; r < R; ++r) {
            const __m512 w0 = Load::get(w[r], i, m0), w1 = Load::get(w[r], i + 16, m1);
            for (int c = 0; c < C; ++c) {
                acc[r][c][0] = _mm512_fmadd_ps(w0, xv[c][0], acc[r][c][0]);
                acc[r][c][1] = _mm512_fmadd_ps(w1, xv[c][1], acc[r][c][1]);
            }
        }
    }

    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        __m512 acc[R][C][2];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm512_setzero_ps();
        int64_t i = 0;
        if constexpr (R == 4 && Load::kPrefetch) {
            // Decode streams the rows once: each row's stream asks for the same offset in the
            // row 4 below (the next register block) while it reads this one.
            const int64_t ahead = 4 * (w[1] - w[0]);
            for (; i + 32 <= k; i += 32) {
                for (int r = 0; r < R; ++r) _mm_prefetch(reinterpret_cast<const char*>(w[r] + Load::kBytes * i + ahead), _MM_HINT_T1);
                step<R, C>(acc, w, x, i, 0xFFFF, 0xFFFF);
            }
        }
        for (; i + 32 <= k; i += 32) step<R, C>(acc, w, x, i, 0xFFFF, 0xFFFF);
        if (i < k) {
            const int64_t rem = k - i;
            const __mmask16 m0 = rem >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << rem) - 1);
            const __mmask16 m1 = rem > 16 ? static_cast<__mmask16>((1u << (rem - 16)) - 1) : 0;
            step<R, C>(acc, w, x, i, m0, m1);
        }
        for (int c = 0; c < C; ++c) {
            if constexpr (R == 4) {  // four rows reduced together, in hsum512's order
                __m128 f[4];
                for (int r = 0; r < 4; ++r) f[r] = fold512(_mm512_add_ps(acc[r][c][0], acc[r][c][1]));
                alignas(16) float sums[4];
                _mm_store_ps(sums, hsum128x4(f[0], f[1], f[2], f[3]));
                for (int r = 0; r < 4; ++r) out[r][c] = sums[r];
            } else {
                for (int r = 0; r < R; ++r) out[r][c] = hsum512(_mm512_add_ps(acc[r][c][0], acc[r][c][1]));
            }
        }
    }
};

// kPrefetch: whether decode asks for the next rows ahead (FloatKernel::run). The widening
// work keeps f16 rows from streaming at full rate on their own: tinyllama-1.1b F16 decode
// went from 12.4 to 14.0 t/s on 2 threads with it. f32 rows stream at the probe's rate
// without it, and slowed by 2-3 % with it.
struct LoadF32 {
    static constexpr int kBytes = 4;
    static constexpr bool kPrefetch = false;
    static __m512 get(const uint8_t* p, int64_t i, __mmask16 m) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(p) + i);
    }
};

struct LoadF16 {
    static constexpr int kBytes = 2;
    static constexpr bool kPrefetch = true;  // 32 elements: one line per row and step
    static __m512 get(const uint8_t* p, int64_t i, __mmask16 m) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p + 2 * i));
    }
};

// bf16 x bf16 with vdpbf16ps: 32 products per instruction, pairs summed into 16 f32 lanes.
struct Bf16Kernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        __m512 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 32 <= k; i += 32) {
            __m512bh xv[C];
            for (int c = 0; c < C; ++c) xv[c] = (__m512bh)_mm512_loadu_si512(x[c] + 2 * i);
            for (int r = 0; r < R; ++r) {
                const __m512bh wv = (__m512bh)_mm512_loadu_si512(w[r] + 2 * i);
                for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv, xv[c]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) {
                float sum = hsum512(acc[r][c]);
                for (int64_t j = i; j < k; ++j)
                    sum += bf16_to_f32(reinterpret_cast<const uint16_t*>(w[r])[j]) *
                           bf16_to_f32(reinterpret_cast<const uint16_t*>(x[c])[j]);
                out[r][c] = sum;
            }
    }
};

}  // namespace

TileFn avx512_tile(DType weight) {
    switch (weight) {
        case DType::F32: return tile<FloatKernel<LoadF32>, 2, false>;
        case DType::F16: return tile<FloatKernel<LoadF16>, 2, false>;
        case DType::BF16: return tile<Bf16Kernel, 4, false>;
        case DType::Q8_0: return tile<PairKernel<block_q8_0, 128, Q8_0Codes>, 4>;
        case DType::Q4_0: return tile<PairKernel<block_q4_0, 8, Q4_0Codes>, 4>;
        case DType::Q5_0: return tile<PairKernel<block_q5_0, 16, Q5_0Codes>, 4>;
        case DType::Q4_1: return tile<Q4_1Kernel, 4>;
        default: return avx512_k_tile(weight);
    }
}

}  // namespace lm::simd
