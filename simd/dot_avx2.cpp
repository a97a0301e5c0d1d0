// AVX2 + FMA + F16C dot kernels for the float types and the 32-element block types: one
// block per 256-bit register; vpmaddubsw multiplies unsigned weight codes by signed
// activations (16-bit pair sums), vpmaddwd widens them to 32 bits. Code offsets (8 for q4_0,
// 16 for q5_0) are removed with the activation sums: sum (q - o) y = sum q y - o sum y.
// Scalar references: simd/dot_scalar.cpp. The k-quants are in dot_k_avx2.cpp.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cstring>

#include "simd/kernels.h"
#include "simd/tile.h"
#include "weights/quant.h"

namespace lm::simd {

TileFn avx2_k_tile(DType weight);

namespace {

template <class Block>
const Block* blocks(const uint8_t* p) {
    return reinterpret_cast<const Block*>(p);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 8 lanes of 32-bit sums of 4 products of unsigned a and signed b.
inline __m256i dot_u8s8(__m256i a, __m256i b) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1));
}

// 32 nibbles of a q4 block as bytes in element order (low nibbles, then high nibbles).
inline __m256i unpack_nibbles(const uint8_t* qs) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

// Byte j = 0x10 when bit j of qh is set (q5_0's fifth bit).
inline __m256i expand_bits(const uint8_t* qh_bytes) {
    uint32_t qh;
    std::memcpy(&qh, qh_bytes, 4);
    const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    const __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), pick), bit);
    return _mm256_and_si256(_mm256_cmpeq_epi8(v, bit), _mm256_set1_epi8(0x10));
}

inline float scale(uint16_t a, uint16_t b) { return f16_to_f32(a) * f16_to_f32(b); }

struct Q4_0Codes {
    static constexpr int kOffset = 8;
    static __m256i get(const block_q4_0& b) { return unpack_nibbles(b.qs); }
};

struct Q5_0Codes {
    static constexpr int kOffset = 16;
    static __m256i get(const block_q5_0& b) { return _mm256_or_si256(unpack_nibbles(b.qs), expand_bits(b.qh)); }
};

// q4_0 and q5_0 against q8_0: unsigned codes minus kOffset.
template <class Block, class Codes>
struct OffsetKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        const __m256i offset = _mm256_set1_epi8(Codes::kOffset);
        for (int64_t b = 0; b < k / QK; ++b) {
            __m256i y[C], y_offset[C];
            for (int c = 0; c < C; ++c) {
                y[c] = load256(blocks<block_q8_0>(x[c])[b].qs);
                y_offset[c] = dot_u8s8(offset, y[c]);
            }
            for (int r = 0; r < R; ++r) {
                const Block& wb = blocks<Block>(w[r])[b];
                const __m256i q = Codes::get(wb);
                for (int c = 0; c < C; ++c) {
                    const __m256i d = _mm256_sub_epi32(dot_u8s8(q, y[c]), y_offset[c]);
                    const float s = scale(wb.d, blocks<block_q8_0>(x[c])[b].d);
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(s), acc[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum256(acc[r][c]);
    }
};

// q8_0 against q8_0: signed x signed through |w| and y with w's sign (|w| <= 127).
struct Q8_0Kernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        for (int64_t b = 0; b < k / QK; ++b) {
            __m256i y[C];
            for (int c = 0; c < C; ++c) y[c] = load256(blocks<block_q8_0>(x[c])[b].qs);
            for (int r = 0; r < R; ++r) {
                const block_q8_0& wb = blocks<block_q8_0>(w[r])[b];
                const __m256i q = load256(wb.qs), q_abs = _mm256_sign_epi8(q, q);
                for (int c = 0; c < C; ++c) {
                    const __m256i d = dot_u8s8(q_abs, _mm256_sign_epi8(y[c], q));
                    const float s = scale(wb.d, blocks<block_q8_0>(x[c])[b].d);
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(s), acc[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum256(acc[r][c]);
    }
};

// Codes 0..15 of q4_1, 0..31 of q5_1 (the fifth bit as in q5_0).
struct Q4_1Codes {
    static __m256i get(const block_q4_1& b) { return unpack_nibbles(b.qs); }
};
struct Q5_1Codes {
    static __m256i get(const block_q5_1& b) { return _mm256_or_si256(unpack_nibbles(b.qs), expand_bits(b.qh)); }
};

// q4_1 and q5_1 against q8_1: codes without offset, plus m * s per block.
template <class Block, class Codes>
struct MinKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        __m256 acc[R][C];
        __m128 acc_m[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps(), acc_m[r][c] = _mm_setzero_ps();
        for (int64_t b = 0; b < k / QK; ++b) {
            __m256i y[C];
            for (int c = 0; c < C; ++c) y[c] = load256(blocks<block_q8_1>(x[c])[b].qs);
            for (int r = 0; r < R; ++r) {
                const Block& wb = blocks<Block>(w[r])[b];
                const __m256i q = Codes::get(wb);
                for (int c = 0; c < C; ++c) {
                    const block_q8_1& xb = blocks<block_q8_1>(x[c])[b];
                    const float s = scale(wb.d, xb.d);
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u8s8(q, y[c])), _mm256_set1_ps(s), acc[r][c]);
                    acc_m[r][c] = _mm_fmadd_ss(_mm_set_ss(f16_to_f32(wb.m)), _mm_set_ss(f16_to_f32(xb.s)), acc_m[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = hsum256(acc[r][c]) + _mm_cvtss_f32(acc_m[r][c]);
    }
};

// Float rows, 16 elements per step in two accumulators; the tail is one more step over
// zero-padded copies. Load converts 8 elements to f32 (kBytes each in memory).
template <class Load>
struct FloatKernel {
    template <int R, int C>
    static void step(__m256 (*acc)[C][2], const uint8_t* const* w, const uint8_t* const* x, int64_t i) {
        __m256 xv[C][2];
        for (int c = 0; c < C; ++c) xv[c][0] = Load::get(x[c], i), xv[c][1] = Load::get(x[c], i + 8);
        for (int r = 0; r < R; ++r) {
            const __m256 w0 = Load::get(w[r], i), w1 = Load::get(w[r], i + 8);
            for (int c = 0; c < C; ++c) {
                acc[r][c][0] = _mm256_fmadd_ps(w0, xv[c][0], acc[r][c][0]);
                acc[r][c][1] = _mm256_fmadd_ps(w1, xv[c][1], acc[r][c][1]);
            }
        }
    }

    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        __m256 acc[R][C][2];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= k; i += 16) step<R, C>(acc, w, x, i);
        if (i < k) {
            const size_t bytes = static_cast<size_t>(k - i) * Load::kBytes;
            alignas(32) uint8_t w_tail[R][16 * 4] = {}, x_tail[C][16 * 4] = {};
            const uint8_t* wt[R];
            const uint8_t* xt[C];
            for (int r = 0; r < R; ++r) std::memcpy(w_tail[r], w[r] + i * Load::kBytes, bytes), wt[r] = w_tail[r];
            for (int c = 0; c < C; ++c) std::memcpy(x_tail[c], x[c] + i * Load::kBytes, bytes), xt[c] = x_tail[c];
            step<R, C>(acc, wt, xt, 0);
        }
        for (int c = 0; c < C; ++c) {
            if constexpr (R == 4) {  // four rows reduced together, in hsum256's order
                __m128 f[4];
                for (int r = 0; r < 4; ++r) {
                    const __m256 v = _mm256_add_ps(acc[r][c][0], acc[r][c][1]);
                    f[r] = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
                }
                alignas(16) float sums[4];
                _mm_store_ps(sums, hsum128x4(f[0], f[1], f[2], f[3]));
                for (int r = 0; r < 4; ++r) out[r][c] = sums[r];
            } else {
                for (int r = 0; r < R; ++r) out[r][c] = hsum256(_mm256_add_ps(acc[r][c][0], acc[r][c][1]));
            }
        }
    }
};

struct LoadF32 {
    static constexpr int kBytes = 4;
    static __m256 get(const uint8_t* p, int64_t i) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p) + i); }
};

struct LoadF16 {
    static constexpr int kBytes = 2;
    static __m256 get(const uint8_t* p, int64_t i) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i)));
    }
};

// bf16 x bf16 in vdpbf16ps's order (dot_avx512.cpp's Bf16Kernel, which reproduces llama.cpp's
// logits): per 32 elements, 16 lanes where lane j adds the product of element 2j + 1, then of
// 2j; the lanes summed in hsum512's order, then the tail in order. A bf16 product is exact in
// f32, so each FMA rounds once, as each step of vdpbf16ps does (its flush of denormals aside).
// Any other order moves sums by an ulp, which flips bf16 roundings of the next activations:
// with two 8-lane accumulators stories260K-BF16's logits were 0.052 off llama.cpp's, now 1.9e-6.
struct Bf16Kernel {
    // 16 elements as 8 pairs: the odd elements (top halves of the 32-bit words), the even ones.
    static void split(const uint8_t* p, __m256& odd, __m256& even) {
        const __m256i v = load256(p);
        odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
        even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }

    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        __m256 acc[R][C][2];  // lanes 0-7 and 8-15 of vdpbf16ps's 16
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 32 <= k; i += 32)
            for (int h = 0; h < 2; ++h) {
                __m256 x_odd[C], x_even[C];
                for (int c = 0; c < C; ++c) split(x[c] + 2 * i + 32 * h, x_odd[c], x_even[c]);
                for (int r = 0; r < R; ++r) {
                    __m256 w_odd, w_even;
                    split(w[r] + 2 * i + 32 * h, w_odd, w_even);
                    for (int c = 0; c < C; ++c) {
                        acc[r][c][h] = _mm256_fmadd_ps(w_odd, x_odd[c], acc[r][c][h]);
                        acc[r][c][h] = _mm256_fmadd_ps(w_even, x_even[c], acc[r][c][h]);
                    }
                }
            }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) {
                float sum = hsum256(_mm256_add_ps(acc[r][c][0], acc[r][c][1]));  // = hsum512 of the 16 lanes
                for (int64_t j = i; j < k; ++j)
                    sum += bf16_to_f32(reinterpret_cast<const uint16_t*>(w[r])[j]) *
                           bf16_to_f32(reinterpret_cast<const uint16_t*>(x[c])[j]);
                out[r][c] = sum;
            }
    }
};

}  // namespace

TileFn avx2_tile(DType weight) {
    switch (weight) {
        case DType::F32: return tile<FloatKernel<LoadF32>, 1, false>;
        case DType::F16: return tile<FloatKernel<LoadF16>, 1, false>;
        case DType::BF16: return tile<Bf16Kernel, 1, false>;
        case DType::Q8_0: return tile<Q8_0Kernel, 2>;
        case DType::Q4_0: return tile<OffsetKernel<block_q4_0, Q4_0Codes>, 2>;
        case DType::Q5_0: return tile<OffsetKernel<block_q5_0, Q5_0Codes>, 2>;
        case DType::Q4_1: return tile<MinKernel<block_q4_1, Q4_1Codes>, 2>;
        case DType::Q5_1: return tile<MinKernel<block_q5_1, Q5_1Codes>, 2>;
        default: return avx2_k_tile(weight);
    }
}

}  // namespace lm::simd
