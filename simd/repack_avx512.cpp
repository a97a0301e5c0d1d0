// AVX-512 VNNI decode kernels over the 16-row interleaved layouts of simd/repack.h. Lane r of
// every register is row r of the group, so one vpdpbusd does 4 codes of 16 rows and one
// unpack serves 16 rows. Each output repeats the unpacked kernel's arithmetic exactly
// (dot_avx512.cpp, dot_k_avx512.cpp): acc[l] holds, for all 16 rows, what lane l of that
// kernel's accumulator holds, with the same integer sums, products and fused adds, and the
// rows are reduced in hsum512's order. So packed and unpacked results are bit-identical.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cstring>
#include <vector>

#include "simd/kernels.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

inline __m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 16 fp16 values (one per row) as f32.
inline __m512 load_fp16x16(const uint8_t* p) { return _mm512_cvtph_ps(load256(p)); }

// out[r] = hsum512 of lane r across a[0..15], in hsum512's order (fold halves, then quarters).
inline void reduce16(const __m512* a, float* out) {
    __m512 h[8], f[4];
    for (int i = 0; i < 8; ++i) h[i] = _mm512_add_ps(a[i], a[i + 8]);
    for (int i = 0; i < 4; ++i) f[i] = _mm512_add_ps(h[i], h[i + 4]);
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_add_ps(f[0], f[2]), _mm512_add_ps(f[1], f[3])));
}

// Decode streams each packed group from memory once. The hardware prefetchers alone keep
// too few lines in flight while the kernel computes (it reached ~70 % of the read bandwidth a
// plain summing loop gets); asking for the lines kPrefetchAhead bytes ahead, into L2, lifts
// a 2-thread q4_0 sweep from ~19 to ~24 GB/s on the benchmark machine (3-6 KB all did
// about as well). Past the end of a group it fetches the next group, which comes next.
constexpr int kPrefetchAhead = 4096;
inline void prefetch_block(const uint8_t* p, int bytes) {
    for (int at = 0; at < bytes; at += 64) _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetchAhead + at, _MM_HINT_T1);
}

// hsum128 of lane r across a[0..3].
inline __m512 reduce4(const __m512* a) { return _mm512_add_ps(_mm512_add_ps(a[0], a[2]), _mm512_add_ps(a[1], a[3])); }

// Activation codes 4s..4s+3 of a q8_0 block as one word (broadcast straight from memory).
inline int32_t word(const block_q8_0& x, int s) {
    int32_t w;
    std::memcpy(&w, x.qs + 4 * s, 4);
    return w;
}

// dword(q, x) - offset for 16 rows: 4 codes of each row against one activation word.
inline __m512 dot_words(__m512i q, int32_t x_word, int32_t neg_offset) {
    return _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_set1_epi32(neg_offset), q, _mm512_set1_epi32(x_word)));
}

// The 32-element types against q8_0 activations. The unpacked kernel works on pairs of
// blocks: lanes 0-7 take the even block's 8 code words, lanes 8-15 the odd block's, so block
// b feeds acc[8 (b & 1) + i] with its word i.
struct Q4_0Step {
    static constexpr int kBlockBytes = 288, kScaleAt = 256, kOffset = 8;
    static void run(const uint8_t* p, const block_q8_0& x, const int32_t* neg, __m512 scale, __m512* acc) {
        const __m512i nibble = _mm512_set1_epi8(0x0F);
        for (int s = 0; s < 4; ++s) {
            const __m512i v = load512(p + 64 * s);
            const __m512i lo = _mm512_and_si512(v, nibble), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
            acc[s] = _mm512_fmadd_ps(dot_words(lo, word(x, s), neg[s]), scale, acc[s]);
            acc[s + 4] = _mm512_fmadd_ps(dot_words(hi, word(x, s + 4), neg[s + 4]), scale, acc[s + 4]);
        }
    }
};

struct Q5_0Step {
    static constexpr int kBlockBytes = 352, kScaleAt = 320, kOffset = 16;
    static void run(const uint8_t* p, const block_q8_0& x, const int32_t* neg, __m512 scale, __m512* acc) {
        const __m512i nibble = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
        for (int s = 0; s < 4; ++s) {
            const __m512i v = load512(p + 64 * s);
            uint64_t high[2];
            std::memcpy(high, p + 256 + 16 * s, 16);
            __m512i lo = _mm512_and_si512(v, nibble), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
            lo = _mm512_mask_add_epi8(lo, _cvtu64_mask64(high[0]), lo, sixteen);
            hi = _mm512_mask_add_epi8(hi, _cvtu64_mask64(high[1]), hi, sixteen);
            acc[s] = _mm512_fmadd_ps(dot_words(lo, word(x, s), neg[s]), scale, acc[s]);
            acc[s + 4] = _mm512_fmadd_ps(dot_words(hi, word(x, s + 4), neg[s + 4]), scale, acc[s + 4]);
        }
    }
};

struct Q8_0Step {
    static constexpr int kBlockBytes = 544, kScaleAt = 512, kOffset = 128;
    static void run(const uint8_t* p, const block_q8_0& x, const int32_t* neg, __m512 scale, __m512* acc) {
        for (int s = 0; s < 8; ++s)
            acc[s] = _mm512_fmadd_ps(dot_words(load512(p + 64 * s), word(x, s), neg[s]), scale, acc[s]);
    }
};

template <class Step>
void block_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, int nc, float* y, int64_t ldy) {
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK;
    const __m256i offset = _mm256_set1_epi8(static_cast<char>(Step::kOffset));
    thread_local std::vector<int32_t> neg_offsets;  // -offset x (sum of 4 codes), per word of each block
    if (neg_offsets.size() < static_cast<size_t>(8 * nb)) neg_offsets.resize(8 * nb);
    int32_t* neg = neg_offsets.data();
    for (int c = 0; c < nc; ++c) {  // one column at a time: the group stays in cache
        const block_q8_0* x = reinterpret_cast<const block_q8_0*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        for (int64_t b = 0; b < nb; ++b) {
            const __m256i off = _mm256_dpbusd_epi32(_mm256_setzero_si256(), offset, load256(x[b].qs));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(neg + 8 * b), _mm256_sub_epi32(_mm256_setzero_si256(), off));
        }
        __m512 acc[16];
        for (int l = 0; l < 16; ++l) acc[l] = _mm512_setzero_ps();
        auto block = [&](int64_t b, __m512* half) {
            const uint8_t* p = group + b * Step::kBlockBytes;
            prefetch_block(p, Step::kBlockBytes);
            const __m512 scale = _mm512_mul_ps(load_fp16x16(p + Step::kScaleAt), _mm512_set1_ps(_cvtsh_ss(x[b].d)));
            Step::run(p, x[b], neg + 8 * b, scale, half);
        };
        for (int64_t b = 0; b < nb; b += 2) {  // even blocks feed acc[0..7], odd ones acc[8..15]
            block(b, acc);
            if (b + 1 < nb) block(b + 1, acc + 8);
        }
        alignas(64) float out[16];
        reduce16(acc, out);
        for (int r = 0; r < nr; ++r) y[c * ldy + r] = out[r];
    }
}

// q4_K against q8_K. The unpacked kernel's integer lane L of a super-block sums, over its four
// registers g, scale x (4 products): g = 2h takes the low nibbles of qs[64h + 4L ..], g = 2h+1
// the high ones, against activation words at 128h + 32 (g & 1) + 4L (L < 8) or
// 128h + 64 + 32 (g & 1) + 4 (L - 8). Sub-blocks 2m, 2m+1 with m = 2h + (L >= 8).
void q4_K_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, int nc, float* y, int64_t ldy) {
    constexpr int kBlockBytes = 2368;
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK_K;
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    for (int c = 0; c < nc; ++c) {
        const block_q8_K* x = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        __m512 acc[16], acc_min[4];
        for (int l = 0; l < 16; ++l) acc[l] = _mm512_setzero_ps();
        for (int m = 0; m < 4; ++m) acc_min[m] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* p = group + i * kBlockBytes;
            prefetch_block(p, kBlockBytes);
            const block_q8_K& xb = x[i];
            const __m512 dy = _mm512_set1_ps(xb.d);
            const __m512 d = _mm512_mul_ps(load_fp16x16(p + 2304), dy);
            const __m512 dmin = _mm512_mul_ps(load_fp16x16(p + 2336), dy);
            __m512i scales[4];
            for (int m = 0; m < 4; ++m) scales[m] = _mm512_cvtepu8_epi16(load256(p + 2048 + 32 * m));
#pragma GCC unroll 16  // acc[l] stays in a register
            for (int l = 0; l < 16; ++l) {
                __m512i sum = _mm512_setzero_si512();
                for (int h = 0; h < 2; ++h) {
                    const int at = 128 * h + (l < 8 ? 4 * l : 64 + 4 * (l - 8));
                    int32_t x_lo, x_hi;
                    std::memcpy(&x_lo, xb.qs + at, 4);
                    std::memcpy(&x_hi, xb.qs + at + 32, 4);
                    const __m512i v = load512(p + 64 * (16 * h + l));
                    const __m512i lo = _mm512_and_si512(v, nibble);
                    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
                    const __m512i p_lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_set1_epi32(x_lo));
                    const __m512i p_hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, _mm512_set1_epi32(x_hi));
                    // |4 products| <= 7680 fits 16 bits: [p_lo | p_hi] pairs meet [scale 2m | scale 2m+1]
                    const __m512i pair = _mm512_mask_blend_epi16(0xAAAAAAAA, p_lo, _mm512_slli_epi32(p_hi, 16));
                    sum = _mm512_dpwssd_epi32(sum, pair, scales[2 * h + (l >= 8)]);
                }
                acc[l] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), d, acc[l]);
            }
            for (int m = 0; m < 4; ++m) {
                const int32_t y_lo = xb.bsums[4 * m] + xb.bsums[4 * m + 1];
                const int32_t y_hi = xb.bsums[4 * m + 2] + xb.bsums[4 * m + 3];
                const uint32_t pair = (static_cast<uint32_t>(y_lo) & 0xFFFF) | static_cast<uint32_t>(y_hi) << 16;
                const __m512i ysum = _mm512_set1_epi32(static_cast<int32_t>(pair));  // [Y_2m | Y_2m+1]
                const __m512i mins = _mm512_madd_epi16(_mm512_cvtepu8_epi16(load256(p + 2176 + 32 * m)), ysum);
                acc_min[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mins), dmin, acc_min[m]);
            }
        }
        alignas(64) float out[16], out_min[16];
        reduce16(acc, out);
        _mm512_store_ps(out_min, reduce4(acc_min));
        for (int r = 0; r < nr; ++r) y[c * ldy + r] = out[r] - out_min[r];
    }
}

// q6_K against q8_K. The unpacked kernel's integer lane L starts at -32 (s_2L b_2L + s_2L+1 b_2L+1)
// for L < 8 (s: sub-block scales, b: activation bsums) and adds, for registers g = 0..3,
// s_(4g + L/4) x (4 products of the codes of elements 64g + 4L..) with the activation words
// there. Codes of g = 2h, 2h+1 are the low / high nibbles of ql register (h, L) plus two bits
// of qh register (h, L mod 8): bits 0-1 / 4-5 for L < 8, bits 2-3 / 6-7 for L >= 8.
void q6_K_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, int nc, float* y, int64_t ldy) {
    constexpr int kBlockBytes = 3360;
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK_K;
    const __m512i nibble = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
    for (int c = 0; c < nc; ++c) {
        const block_q8_K* x = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        __m512 acc[16];
        for (int l = 0; l < 16; ++l) acc[l] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* p = group + i * kBlockBytes;
            prefetch_block(p, kBlockBytes);
            const block_q8_K& xb = x[i];
            const __m512 d = _mm512_mul_ps(load_fp16x16(p + 3328), _mm512_set1_ps(xb.d));
            auto scales = [&](int v) { return _mm512_cvtepi8_epi16(load256(p + 3072 + 32 * v)); };
            // s_j b_j for 16 rows: s_j is the low (j mod 8 < 4) or high half of pair vector 4 (j / 8) + j mod 4
            auto scaled_bsum = [&](int j) {
                const int32_t b = xb.bsums[j] & 0xFFFF;
                const int32_t half = j % 8 < 4 ? b : static_cast<int32_t>(static_cast<uint32_t>(b) << 16);
                return _mm512_madd_epi16(scales(4 * (j / 8) + j % 4), _mm512_set1_epi32(half));
            };
#pragma GCC unroll 16  // acc[l] stays in a register
            for (int l = 0; l < 16; ++l) {
                __m512i sum = _mm512_setzero_si512();
                if (l < 8)
                    sum = _mm512_sub_epi32(
                        sum, _mm512_slli_epi32(_mm512_add_epi32(scaled_bsum(2 * l), scaled_bsum(2 * l + 1)), 5));
                for (int h = 0; h < 2; ++h) {
                    const __m512i v = load512(p + 64 * (16 * h + l));
                    const __m512i high = load512(p + 2048 + 64 * (8 * h + l % 8));
                    const __m512i top0 = _mm512_and_si512(_mm512_slli_epi16(high, l < 8 ? 4 : 2), top);
                    const __m512i top1 = _mm512_and_si512(l < 8 ? high : _mm512_srli_epi16(high, 2), top);
                    const __m512i q0 = _mm512_or_si512(_mm512_and_si512(v, nibble), top0);
                    const __m512i q1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), nibble), top1);
                    int32_t x0, x1;
                    std::memcpy(&x0, xb.qs + 128 * h + 4 * l, 4);
                    std::memcpy(&x1, xb.qs + 128 * h + 64 + 4 * l, 4);
                    const __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q0, _mm512_set1_epi32(x0));
                    const __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q1, _mm512_set1_epi32(x1));
                    // |4 products| <= 4 x 63 x 128 fits 16 bits: [p0 | p1] meet [s_(8h + l/4) | s_(8h + 4 + l/4)]
                    const __m512i pair = _mm512_mask_blend_epi16(0xAAAAAAAA, p0, _mm512_slli_epi32(p1, 16));
                    sum = _mm512_dpwssd_epi32(sum, pair, scales(4 * h + l / 4));
                }
                acc[l] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), d, acc[l]);
            }
        }
        alignas(64) float out[16];
        reduce16(acc, out);
        for (int r = 0; r < nr; ++r) y[c * ldy + r] = out[r];
    }
}

}  // namespace

PackedTileFn avx512_packed_tile(DType weight) {
    switch (weight) {
        case DType::Q4_0: return block_tile<Q4_0Step>;
        case DType::Q5_0: return block_tile<Q5_0Step>;
        case DType::Q8_0: return block_tile<Q8_0Step>;
        case DType::Q4_K: return q4_K_tile;
        case DType::Q6_K: return q6_K_tile;
        default: return nullptr;
    }
}

}  // namespace lm::simd
