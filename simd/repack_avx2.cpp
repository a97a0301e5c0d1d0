// AVX2 decode kernels over the 16-row interleaved layouts of simd/repack.h, for q4_0, q4_1,
// q8_0, q4_K and q6_K: each 64-byte register of the layout is read as two 256-bit halves
// (rows 0-7, 8-15), and vpmaddubsw + vpmaddwd stand in for vpdpbusd. As in
// repack_avx512.cpp the integer block sums are exact and the float work is the scalar
// reference's (built with -ffp-contract=off), so results are bit-identical to scalar_tile's.
// The unpacked AVX2 kernels (dot_avx2.cpp) are compute-bound on these types: tinyllama-1.1b
// Q4_0 decode ran at ~20 % of the bandwidth roofline with them, Q4_K_M at ~30 %.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cstring>

#include "simd/kernels.h"
#include "simd/repack_x86.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

// Activation codes at..at+3 broadcast to every lane.
inline __m256i words(const int8_t* qs, int at) {
    int32_t w;
    std::memcpy(&w, qs + at, 4);
    return _mm256_set1_epi32(w);
}

// Per lane (row): the sum of 4 products of unsigned a and signed b, for q8_0's |w| <= 128
// against activations of magnitude <= 127: a pair is at most 32512, so never saturates.
inline __m256i dot4(__m256i a, __m256i b) { return _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)); }

// The 16-bit pair sums of vpmaddubsw, added up before one widening vpmaddwd: 4-bit codes
// give pairs of at most 2 x 15 x 127 = 3810, so 8 of them still fit 16 bits; 6-bit codes
// (2 x 63 x 127 = 16002) only 2.
inline __m256i pairs(__m256i a, __m256i b) { return _mm256_maddubs_epi16(a, b); }
inline __m256i widen(__m256i sum16) { return _mm256_madd_epi16(sum16, _mm256_set1_epi16(1)); }

// Stores the 16 rows of acc[0] (rows 0-7) and acc[1] (rows 8-15), nr of them real.
inline void put_rows(const __m256* acc, int nr, float* y) {
    alignas(32) float out[16];
    _mm256_store_ps(out, acc[0]);
    _mm256_store_ps(out + 8, acc[1]);
    for (int r = 0; r < nr; ++r) y[r] = out[r];
}

// isum(p, x, base): for the 8 rows of half `half`, the reference's sumi of the block.
// kMinAt: where q4_1's minimums are (0: none), added as m x (the activations' s).
struct Q4_0Half {
    using X = block_q8_0;
    static constexpr int kBlockBytes = 288, kScaleAt = 256, kOffset = 8, kMinAt = 0;
    template <class Block>
    static __m256i isum(const uint8_t* p, int half, const Block& x, __m256i base) {
        const __m256i nibble = _mm256_set1_epi8(0x0F);
        __m256i sum16 = _mm256_setzero_si256();  // 8 pair sums of 4-bit codes
        for (int s = 0; s < 4; ++s) {
            const __m256i v = load256(p + 64 * s + 32 * half);
            sum16 = _mm256_add_epi16(sum16, pairs(_mm256_and_si256(v, nibble), words(x.qs, 4 * s)));
            sum16 = _mm256_add_epi16(sum16, pairs(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibble), words(x.qs, 16 + 4 * s)));
        }
        return _mm256_add_epi32(base, widen(sum16));
    }
};

struct Q4_1Half : Q4_0Half {  // the same codes, without offset
    using X = block_q8_1;
    static constexpr int kBlockBytes = 320, kScaleAt = 256, kOffset = 0, kMinAt = 288;
};

// q8_0 codes are stored + 128; back to signed, |w| meets the activations with w's sign.
struct Q8_0Half {
    using X = block_q8_0;
    static constexpr int kBlockBytes = 544, kScaleAt = 512, kOffset = 0, kMinAt = 0;
    static __m256i isum(const uint8_t* p, int half, const block_q8_0& x, __m256i) {
        const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
        __m256i even = _mm256_setzero_si256(), odd = _mm256_setzero_si256();
        for (int s = 0; s < 8; s += 2) {
            const __m256i w0 = _mm256_xor_si256(load256(p + 64 * s + 32 * half), flip);
            const __m256i w1 = _mm256_xor_si256(load256(p + 64 * (s + 1) + 32 * half), flip);
            even = _mm256_add_epi32(even, dot4(_mm256_abs_epi8(w0), _mm256_sign_epi8(words(x.qs, 4 * s), w0)));
            odd = _mm256_add_epi32(odd, dot4(_mm256_abs_epi8(w1), _mm256_sign_epi8(words(x.qs, 4 * s + 4), w1)));
        }
        return _mm256_add_epi32(even, odd);
    }
};

template <class Step>
void block_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, const int32_t* sums, int nc,
                float* y, int64_t ldy) {
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK;
    for (int c = 0; c < nc; ++c) {
        using X = typename Step::X;
        const X* x = reinterpret_cast<const X*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        const int32_t* sum = Step::kOffset ? sums + c * nb : nullptr;
        __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t* p = group + b * Step::kBlockBytes;
            prefetch_block(p, Step::kBlockBytes);
            const __m256 dx = _mm256_set1_ps(_cvtsh_ss(x[b].d));
            const __m256i base = _mm256_set1_epi32(Step::kOffset ? -Step::kOffset * sum[b] : 0);
            for (int half = 0; half < 2; ++half) {
                const __m128i dw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + Step::kScaleAt + 16 * half));
                const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(dw), dx);
                const __m256i isum = Step::isum(p, half, x[b], base);
                __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(isum), d);
                if constexpr (Step::kMinAt != 0) {
                    const __m128i m = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + Step::kMinAt + 16 * half));
                    t = _mm256_add_ps(t, _mm256_mul_ps(_mm256_cvtph_ps(m), _mm256_set1_ps(_cvtsh_ss(x[b].s))));
                }
                acc[half] = _mm256_add_ps(acc[half], t);
            }
        }
        put_rows(acc, nr, y + c * ldy);
    }
}

// q4_K against q8_K, the AVX-512 kernel's sums per half (see q4_K_tile there): dot[j] chains
// sub-block j's 8 words; the high nibbles are shifted down (in place, their pair sums could
// pass 16 bits).
void q4_K_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, const int32_t*, int nc, float* y,
               int64_t ldy) {
    constexpr int kBlockBytes = 2368;
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK_K;
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    for (int c = 0; c < nc; ++c) {
        const block_q8_K* x = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* p = group + i * kBlockBytes;
            prefetch_block(p, kBlockBytes);
            const block_q8_K& xb = x[i];
            __m256i ysum[4];  // [Y_2m | Y_2m+1] per lane, for the mins
            for (int m = 0; m < 4; ++m) {
                const int32_t y_lo = xb.bsums[4 * m] + xb.bsums[4 * m + 1];
                const int32_t y_hi = xb.bsums[4 * m + 2] + xb.bsums[4 * m + 3];
                ysum[m] = _mm256_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(y_lo) & 0xFFFF) |
                                                                 static_cast<uint32_t>(y_hi) << 16));
            }
            for (int half = 0; half < 2; ++half) {
                // Registers 16h + 8g + l (l < 8) hold sub-blocks 4h + 2g (low nibbles) and
                // 4h + 2g + 1 (high): each run of 8 completes two chains, scaled at once (AVX2
                // has 16 registers: the chains must not all stay live).
                __m256i isum = _mm256_setzero_si256(), imin = _mm256_setzero_si256();
                for (int run = 0; run < 4; ++run) {
                    const int h = run / 2, g = run % 2, j = 4 * h + 2 * g;
                    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();  // 8 pair sums each
                    for (int l = 0; l < 8; ++l) {
                        const int L = 8 * g + l, at = 128 * h + 4 * L + 32 * g;
                        const __m256i v = load256(p + 64 * (16 * h + L) + 32 * half);
                        lo = _mm256_add_epi16(lo, pairs(_mm256_and_si256(v, nibble), words(xb.qs, at)));
                        hi = _mm256_add_epi16(hi, pairs(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibble), words(xb.qs, at + 32)));
                    }
                    lo = widen(lo);
                    hi = widen(hi);
                    const __m128i s0 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2048 + 16 * j + 8 * half));
                    const __m128i s1 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2064 + 16 * j + 8 * half));
                    isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_mullo_epi32(lo, _mm256_cvtepu8_epi32(s0)),
                                                                   _mm256_mullo_epi32(hi, _mm256_cvtepu8_epi32(s1))));
                }
                for (int m = 0; m < 4; ++m) {
                    const __m128i mins = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2176 + 32 * m + 16 * half));
                    imin = _mm256_add_epi32(imin, _mm256_madd_epi16(_mm256_cvtepu8_epi16(mins), ysum[m]));
                }
                const __m256 dy = _mm256_set1_ps(xb.d);
                const __m256 d = _mm256_mul_ps(
                    _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2304 + 16 * half))), dy);
                const __m256 dmin = _mm256_mul_ps(
                    _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2336 + 16 * half))), dy);
                acc[half] = _mm256_add_ps(acc[half], _mm256_sub_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(isum)),
                                                                   _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(imin))));
            }
        }
        put_rows(acc, nr, y + c * ldy);
    }
}

// q6_K against q8_K, per half as the AVX-512 kernel (see q6_K_tile there).
void q6_K_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, const int32_t*, int nc, float* y,
               int64_t ldy) {
    constexpr int kBlockBytes = 3360;
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK_K;
    const __m256i nibble = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30);
    for (int c = 0; c < nc; ++c) {
        const block_q8_K* x = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* p = group + i * kBlockBytes;
            prefetch_block(p, kBlockBytes);
            const block_q8_K& xb = x[i];
            for (int half = 0; half < 2; ++half) {
                // Registers L = 8q + 4t + u (u < 4) of half h feed sub-blocks 8h + 2q + t (low
                // nibbles) and that + 4 (high): each run of 4 completes two chains, scaled at once.
                __m256i isum = _mm256_setzero_si256();
                for (int run = 0; run < 8; ++run) {
                    const int h = run / 4, q = (run / 2) % 2, t = run % 2, j = 8 * h + 2 * q + t;
                    __m256i lo = _mm256_set1_epi32(-32 * xb.bsums[j]), hi = _mm256_set1_epi32(-32 * xb.bsums[j + 4]);
                    __m256i lo16 = _mm256_setzero_si256(), hi16 = _mm256_setzero_si256();  // 2 pair sums each
                    for (int u = 0; u < 4; ++u) {
                        const int L = 8 * q + 4 * t + u, l = L % 8;
                        const __m256i v = load256(p + 64 * (16 * h + L) + 32 * half);
                        const __m256i bits = load256(p + 2048 + 64 * (8 * h + l) + 32 * half);
                        const __m256i top0 = _mm256_and_si256(q ? _mm256_slli_epi16(bits, 2) : _mm256_slli_epi16(bits, 4), top);
                        const __m256i top1 = _mm256_and_si256(q ? _mm256_srli_epi16(bits, 2) : bits, top);
                        const __m256i c0 = _mm256_or_si256(_mm256_and_si256(v, nibble), top0);
                        const __m256i c1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibble), top1);
                        lo16 = _mm256_add_epi16(lo16, pairs(c0, words(xb.qs, 128 * h + 4 * L)));
                        hi16 = _mm256_add_epi16(hi16, pairs(c1, words(xb.qs, 128 * h + 64 + 4 * L)));
                        if (u % 2 == 1) {
                            lo = _mm256_add_epi32(lo, widen(lo16));
                            hi = _mm256_add_epi32(hi, widen(hi16));
                            lo16 = hi16 = _mm256_setzero_si256();
                        }
                    }
                    const __m128i s0 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 3072 + 16 * j + 8 * half));
                    const __m128i s1 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 3072 + 16 * (j + 4) + 8 * half));
                    isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_mullo_epi32(lo, _mm256_cvtepi8_epi32(s0)),
                                                                   _mm256_mullo_epi32(hi, _mm256_cvtepi8_epi32(s1))));
                }
                const __m256 d = _mm256_mul_ps(
                    _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 3328 + 16 * half))),
                    _mm256_set1_ps(xb.d));
                acc[half] = _mm256_add_ps(acc[half], _mm256_mul_ps(d, _mm256_cvtepi32_ps(isum)));
            }
        }
        put_rows(acc, nr, y + c * ldy);
    }
}

}  // namespace

PackedTileFn avx2_packed_tile(DType weight) {
    switch (weight) {
        case DType::Q4_0: return block_tile<Q4_0Half>;
        case DType::Q4_1: return block_tile<Q4_1Half>;
        case DType::Q8_0: return block_tile<Q8_0Half>;
        case DType::Q4_K: return q4_K_tile;
        case DType::Q6_K: return q6_K_tile;
        default: return nullptr;
    }
}

}  // namespace lm::simd
