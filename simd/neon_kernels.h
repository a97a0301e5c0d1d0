// The NEON dot kernels, written once and compiled twice: dot_neon.cpp (aarch64 baseline,
// products by vmull_s8) and dot_neon_dotprod.cpp (ARMv8.2 sdot). The including file defines
// dot16(acc, a, b) -- 4 lanes of sums of products of 16 signed bytes -- before including this.
// Codes are widened to signed bytes (offsets applied first); each block's integer sum is
// scaled once, as in the scalar reference (dot_scalar.cpp). Internal linkage throughout.
#pragma once
#include <arm_neon.h>

#include <cmath>
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

// The 32 signed codes of a weight block: lo holds elements 0..15, hi 16..31.
struct Codes {
    int8x16_t lo, hi;
};

inline Codes nibbles(const uint8_t* qs, int offset) {
    const uint8x16_t v = vld1q_u8(qs);
    const int8x16_t o = vdupq_n_s8(static_cast<int8_t>(offset));
    return {vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), o),
            vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), o)};
}

// 0x10 in byte j where bit j of the 16 bits (b0 | b1 << 8) is set.
inline uint8x16_t bits16(uint8_t b0, uint8_t b1) {
    static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t v = vcombine_u8(vdup_n_u8(b0), vdup_n_u8(b1));
    return vandq_u8(vtstq_u8(v, vld1q_u8(kBit)), vdupq_n_u8(0x10));
}

struct Q4_0 {
    using W = block_q4_0;
    using X = block_q8_0;
    static Codes codes(const W& b) { return nibbles(b.qs, 8); }
};
struct Q4_1 {
    using W = block_q4_1;
    using X = block_q8_1;
    static Codes codes(const W& b) { return nibbles(b.qs, 0); }
};
struct Q5_0 {
    using W = block_q5_0;
    using X = block_q8_0;
    static Codes codes(const W& b) {
        const uint8x16_t v = vld1q_u8(b.qs), m = vdupq_n_u8(0x0F);
        const uint8x16_t lo = vorrq_u8(vandq_u8(v, m), bits16(b.qh[0], b.qh[1]));
        const uint8x16_t hi = vorrq_u8(vshrq_n_u8(v, 4), bits16(b.qh[2], b.qh[3]));
        const int8x16_t o = vdupq_n_s8(16);
        return {vsubq_s8(vreinterpretq_s8_u8(lo), o), vsubq_s8(vreinterpretq_s8_u8(hi), o)};
    }
};
struct Q5_1 {
    using W = block_q5_1;
    using X = block_q8_1;
    static Codes codes(const W& b) {
        const uint8x16_t v = vld1q_u8(b.qs), m = vdupq_n_u8(0x0F);
        const uint8x16_t lo = vorrq_u8(vandq_u8(v, m), bits16(b.qh[0], b.qh[1]));
        const uint8x16_t hi = vorrq_u8(vshrq_n_u8(v, 4), bits16(b.qh[2], b.qh[3]));
        return {vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi)};
    }
};
struct Q8_0 {
    using W = block_q8_0;
    using X = block_q8_0;
    static Codes codes(const W& b) { return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}; }
};

// The 32-element block types: per block, integer dot then one fused scale.
template <class T>
struct BlockKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        float32x4_t acc[R][C];
        float acc_m[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = vdupq_n_f32(0.f), acc_m[r][c] = 0.f;
        for (int64_t b = 0; b < k / QK; ++b) {
            for (int r = 0; r < R; ++r) {
                const typename T::W& wb = blocks<typename T::W>(w[r])[b];
                const Codes q = T::codes(wb);
                for (int c = 0; c < C; ++c) {
                    const typename T::X& xb = blocks<typename T::X>(x[c])[b];
                    const int32x4_t d = dot16(dot16(vdupq_n_s32(0), q.lo, vld1q_s8(xb.qs)), q.hi, vld1q_s8(xb.qs + 16));
                    const float s = f16_to_f32(wb.d) * f16_to_f32(xb.d);
                    acc[r][c] = vfmaq_n_f32(acc[r][c], vcvtq_f32_s32(d), s);
                    if constexpr (std::is_same_v<typename T::X, block_q8_1>)  // q4_1, q5_1: + m s
                        acc_m[r][c] = std::fma(f16_to_f32(wb.m), f16_to_f32(xb.s), acc_m[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = vaddvq_f32(acc[r][c]) + acc_m[r][c];
    }
};

// q4_K: sub-block j = 2c + h is nibble h of qs[32c ..]; mins come from q8_K's bsums. q5_K
// (kFive) adds bit j of qh[l] as bit 4 of element l of the sub-block.
template <class Block, bool kFive>
struct ScaleMinKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        float sum[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) sum[r][c] = 0.f;
        for (int64_t i = 0; i < k / QK_K; ++i) {
            for (int r = 0; r < R; ++r) {
                const Block& wb = blocks<Block>(w[r])[i];
                uint8_t sc[8], m[8];
                for (int j = 0; j < 8; ++j) q4_K_scale_min(j, wb.scales, &sc[j], &m[j]);
                for (int c = 0; c < C; ++c) {
                    const block_q8_K& xb = blocks<block_q8_K>(x[c])[i];
                    int32x4_t total = vdupq_n_s32(0);
                    int mins = 0;
                    for (int j = 0; j < 8; ++j) {
                        const uint8_t* q = wb.qs + 32 * (j / 2);
                        int32x4_t d = vdupq_n_s32(0);
                        for (int half = 0; half < 2; ++half) {
                            uint8x16_t v = vld1q_u8(q + 16 * half);
                            v = j % 2 ? vshrq_n_u8(v, 4) : vandq_u8(v, vdupq_n_u8(0x0F));
                            if constexpr (kFive) {
                                const int8x16_t down = vdupq_n_s8(static_cast<int8_t>(-j));
                                const uint8x16_t h = vshlq_u8(vld1q_u8(wb.qh + 16 * half), down);
                                v = vorrq_u8(v, vshlq_n_u8(vandq_u8(h, vdupq_n_u8(1)), 4));
                            }
                            d = dot16(d, vreinterpretq_s8_u8(v), vld1q_s8(xb.qs + 32 * j + 16 * half));
                        }
                        total = vmlaq_n_s32(total, d, sc[j]);
                        mins += m[j] * (xb.bsums[2 * j] + xb.bsums[2 * j + 1]);
                    }
                    sum[r][c] += f16_to_f32(wb.d) * xb.d * static_cast<float>(vaddvq_s32(total)) -
                                 f16_to_f32(wb.dmin) * xb.d * static_cast<float>(mins);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = sum[r][c];
    }
};

// q6_K: quarter q of half h is nibble (q >= 2) of ql[64h + 32 (q & 1) ..] with bits 2q..2q+1
// of qh[32h ..] on top, minus 32; 16-element sub-blocks 8h + 2q and 8h + 2q + 1.
struct Q6_KKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        float sum[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) sum[r][c] = 0.f;
        for (int64_t i = 0; i < k / QK_K; ++i) {
            for (int r = 0; r < R; ++r) {
                const block_q6_K& wb = blocks<block_q6_K>(w[r])[i];
                for (int c = 0; c < C; ++c) {
                    const block_q8_K& xb = blocks<block_q8_K>(x[c])[i];
                    int32x4_t total = vdupq_n_s32(0);
                    for (int h = 0; h < 2; ++h) {
                        for (int quarter = 0; quarter < 4; ++quarter) {
                            for (int half = 0; half < 2; ++half) {
                                const int l = 16 * half;
                                uint8x16_t low = vld1q_u8(wb.ql + 64 * h + 32 * (quarter & 1) + l);
                                low = quarter >= 2 ? vshrq_n_u8(low, 4) : vandq_u8(low, vdupq_n_u8(0x0F));
                                uint8x16_t high = vld1q_u8(wb.qh + 32 * h + l);
                                high = vandq_u8(vshlq_u8(high, vdupq_n_s8(static_cast<int8_t>(4 - 2 * quarter))),
                                                vdupq_n_u8(0x30));
                                const int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(low, high)), vdupq_n_s8(32));
                                const int32x4_t d =
                                    dot16(vdupq_n_s32(0), q, vld1q_s8(xb.qs + 128 * h + 32 * quarter + l));
                                total = vmlaq_n_s32(total, d, wb.scales[8 * h + 2 * quarter + half]);
                            }
                        }
                    }
                    sum[r][c] += f16_to_f32(wb.d) * xb.d * static_cast<float>(vaddvq_s32(total));
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = sum[r][c];
    }
};

// q2_K and q3_K: sub-block j (16 elements) has its 2-bit codes at bits 2 ((j % 8) / 2) of
// qs[32 (j / 8) + 16 (j % 2) ..]; q3_K (kThree) adds bit j / 2 of hmask[16 (j % 2) ..] as bit
// 2 and subtracts 4; q2_K's mins come from q8_K's bsums.
template <bool kThree>
struct LowBitKernel {
    using Block = std::conditional_t<kThree, block_q3_K, block_q2_K>;
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        float sum[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) sum[r][c] = 0.f;
        for (int64_t i = 0; i < k / QK_K; ++i) {
            for (int r = 0; r < R; ++r) {
                const Block& wb = blocks<Block>(w[r])[i];
                int8x16_t q[16];
                int scale[16];
                for (int j = 0; j < 16; ++j) {
                    uint8x16_t v = vld1q_u8(wb.qs + 32 * (j / 8) + 16 * (j % 2));
                    v = vandq_u8(vshlq_u8(v, vdupq_n_s8(static_cast<int8_t>(-2 * ((j % 8) / 2)))), vdupq_n_u8(3));
                    if constexpr (kThree) {
                        uint8x16_t h = vld1q_u8(wb.hmask + 16 * (j % 2));
                        h = vandq_u8(vshlq_u8(h, vdupq_n_s8(static_cast<int8_t>(-(j / 2)))), vdupq_n_u8(1));
                        q[j] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(v, vshlq_n_u8(h, 2))), vdupq_n_s8(4));
                        scale[j] = q3_K_scale(j, wb.scales);
                    } else {
                        q[j] = vreinterpretq_s8_u8(v);
                        scale[j] = wb.scales[j] & 0xF;
                    }
                }
                for (int c = 0; c < C; ++c) {
                    const block_q8_K& xb = blocks<block_q8_K>(x[c])[i];
                    int32x4_t total = vdupq_n_s32(0);
                    for (int j = 0; j < 16; ++j)
                        total = vmlaq_n_s32(total, dot16(vdupq_n_s32(0), q[j], vld1q_s8(xb.qs + 16 * j)), scale[j]);
                    float s = f16_to_f32(wb.d) * xb.d * static_cast<float>(vaddvq_s32(total));
                    if constexpr (!kThree) {
                        int mins = 0;
                        for (int j = 0; j < 16; ++j) mins += (wb.scales[j] >> 4) * xb.bsums[j];
                        s -= f16_to_f32(wb.dmin) * xb.d * static_cast<float>(mins);
                    }
                    sum[r][c] += s;
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[r][c] = sum[r][c];
    }
};

// Float rows, 8 elements per step in two accumulators; Load widens 4 elements to f32.
template <class Load>
struct FloatKernel {
    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        float32x4_t acc[R][C][2];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = vdupq_n_f32(0.f);
        int64_t i = 0;
        for (; i + 8 <= k; i += 8) {
            for (int r = 0; r < R; ++r) {
                const float32x4_t w0 = Load::get(w[r], i), w1 = Load::get(w[r], i + 4);
                for (int c = 0; c < C; ++c) {
                    acc[r][c][0] = vfmaq_f32(acc[r][c][0], w0, Load::get(x[c], i));
                    acc[r][c][1] = vfmaq_f32(acc[r][c][1], w1, Load::get(x[c], i + 4));
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) {
                float sum = vaddvq_f32(vaddq_f32(acc[r][c][0], acc[r][c][1]));
                for (int64_t j = i; j < k; ++j) sum += Load::scalar(w[r], j) * Load::scalar(x[c], j);
                out[r][c] = sum;
            }
    }
};

struct LoadF32 {
    static float32x4_t get(const uint8_t* p, int64_t i) { return vld1q_f32(reinterpret_cast<const float*>(p) + i); }
    static float scalar(const uint8_t* p, int64_t i) { return reinterpret_cast<const float*>(p)[i]; }
};
struct LoadF16 {
    static float32x4_t get(const uint8_t* p, int64_t i) {
        return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p) + i)));
    }
    static float scalar(const uint8_t* p, int64_t i) { return f16_to_f32(reinterpret_cast<const uint16_t*>(p)[i]); }
};

// bf16 x bf16 in vdpbf16ps's order, as dot_avx2.cpp's Bf16Kernel (which says why): per 32
// elements, 16 lanes (four vectors) where lane j adds the product of element 2j + 1, then of
// 2j; the lanes summed in hsum512's order (halves, halves, then (0 + 2) + (1 + 3)); the tail.
struct Bf16Kernel {
    // 8 elements as 4 pairs: the odd elements (top halves of the 32-bit words), the even ones.
    static void split(const uint8_t* p, float32x4_t& odd, float32x4_t& even) {
        const uint32x4_t v = vld1q_u32(reinterpret_cast<const uint32_t*>(p));
        odd = vreinterpretq_f32_u32(vandq_u32(v, vdupq_n_u32(0xFFFF0000u)));
        even = vreinterpretq_f32_u32(vshlq_n_u32(v, 16));
    }

    template <int R, int C>
    static void run(int64_t k, const uint8_t* const* w, const uint8_t* const* x, float (*out)[C]) {
        float32x4_t acc[R][C][4];  // lanes 0-3, 4-7, 8-11, 12-15
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c)
                for (int q = 0; q < 4; ++q) acc[r][c][q] = vdupq_n_f32(0.f);
        int64_t i = 0;
        for (; i + 32 <= k; i += 32)
            for (int q = 0; q < 4; ++q) {
                float32x4_t x_odd[C], x_even[C];
                for (int c = 0; c < C; ++c) split(x[c] + 2 * i + 16 * q, x_odd[c], x_even[c]);
                for (int r = 0; r < R; ++r) {
                    float32x4_t w_odd, w_even;
                    split(w[r] + 2 * i + 16 * q, w_odd, w_even);
                    for (int c = 0; c < C; ++c) {
                        acc[r][c][q] = vfmaq_f32(acc[r][c][q], w_odd, x_odd[c]);
                        acc[r][c][q] = vfmaq_f32(acc[r][c][q], w_even, x_even[c]);
                    }
                }
            }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) {
                const float32x4_t* a = acc[r][c];
                const float32x4_t g = vaddq_f32(vaddq_f32(a[0], a[2]), vaddq_f32(a[1], a[3]));
                const float32x2_t h = vadd_f32(vget_low_f32(g), vget_high_f32(g));  // g0 + g2, g1 + g3
                float sum = vget_lane_f32(h, 0) + vget_lane_f32(h, 1);
                for (int64_t j = i; j < k; ++j)
                    sum += bf16_to_f32(reinterpret_cast<const uint16_t*>(w[r])[j]) *
                           bf16_to_f32(reinterpret_cast<const uint16_t*>(x[c])[j]);
                out[r][c] = sum;
            }
    }
};

inline TileFn neon_kernel(DType weight) {
    switch (weight) {
        case DType::F32: return tile<FloatKernel<LoadF32>, 2>;
        case DType::F16: return tile<FloatKernel<LoadF16>, 2>;
        case DType::BF16: return tile<Bf16Kernel, 1>;
        case DType::Q8_0: return tile<BlockKernel<Q8_0>, 2>;
        case DType::Q4_0: return tile<BlockKernel<Q4_0>, 2>;
        case DType::Q4_1: return tile<BlockKernel<Q4_1>, 2>;
        case DType::Q5_0: return tile<BlockKernel<Q5_0>, 2>;
        case DType::Q5_1: return tile<BlockKernel<Q5_1>, 2>;
        case DType::Q2_K: return tile<LowBitKernel<false>, 2>;
        case DType::Q3_K: return tile<LowBitKernel<true>, 2>;
        case DType::Q4_K: return tile<ScaleMinKernel<block_q4_K, false>, 2>;
        case DType::Q5_K: return tile<ScaleMinKernel<block_q5_K, true>, 2>;
        case DType::Q6_K: return tile<Q6_KKernel, 2>;
        default: return nullptr;
    }
}

}  // namespace
}  // namespace lm::simd
