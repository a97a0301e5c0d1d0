// AVX-512 VNNI decode kernels over the 16-row interleaved layouts of simd/repack.h. Lane r of
// every register is row r of the group, so one vpdpbusd does 4 codes of 16 rows and one
// unpack serves 16 rows. Each output repeats the scalar reference's arithmetic exactly
// (dot_scalar.cpp, after ggml's): the integer sum of a block (or of a super-block's scaled
// sub-blocks) is exact whatever the order it is added in, so the kernels accumulate codes x
// activations in vpdpbusd chains and scale them in integers; per block, one conversion and
// the reference's float multiplies and add, in block order. So packed results are
// bit-identical to scalar_tile's (both files are built with -ffp-contract=off: no FMAs).
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <algorithm>
#include <cstring>

#include "simd/kernels.h"
#include "simd/repack_x86.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

inline __m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// 16 fp16 values (one per row) as f32.
inline __m512 load_fp16x16(const uint8_t* p) { return _mm512_cvtph_ps(load256(p)); }

// y[r] = lane r of acc for the group's nr real rows.
inline void put_rows(__m512 acc, int nr, float* y) { _mm512_mask_storeu_ps(y, static_cast<__mmask16>((1u << nr) - 1), acc); }

// Activation codes at..at+3 broadcast to every lane (one word per row's 4 codes).
inline __m512i words(const int8_t* qs, int at) {
    int32_t w;
    std::memcpy(&w, qs + at, 4);
    return _mm512_set1_epi32(w);
}

// The 32-element types against q8_0 activations (q4_1: q8_1): isum(p, x, base) is, for 16
// rows, the reference's sumi of the block, given base = -offset x (sum of the activation
// codes). kMinAt: where q4_1's minimums are (0: none), added as m x (the activations' s).
struct Q4_0Step {
    using X = block_q8_0;
    static constexpr int kBlockBytes = 288, kScaleAt = 256, kOffset = 8, kMinAt = 0;
    template <class Block>
    static __m512i isum(const uint8_t* p, const Block& x, __m512i base) {
        // High nibbles stay in place (16 x code): their chain is 16 x the sum, shifted back once.
        const __m512i low = _mm512_set1_epi8(0x0F), high = _mm512_set1_epi8(static_cast<char>(0xF0));
        __m512i lo = base, hi = _mm512_setzero_si512();
        for (int s = 0; s < 4; ++s) {
            const __m512i v = load512(p + 64 * s);
            lo = _mm512_dpbusd_epi32(lo, _mm512_and_si512(v, low), words(x.qs, 4 * s));
            hi = _mm512_dpbusd_epi32(hi, _mm512_and_si512(v, high), words(x.qs, 16 + 4 * s));
        }
        return _mm512_add_epi32(lo, _mm512_srai_epi32(hi, 4));
    }
};

struct Q4_1Step : Q4_0Step {  // the same codes, without offset
    using X = block_q8_1;
    static constexpr int kBlockBytes = 320, kScaleAt = 256, kOffset = 0, kMinAt = 288;
};

struct Q5_0Step {
    using X = block_q8_0;
    static constexpr int kBlockBytes = 352, kScaleAt = 320, kOffset = 16, kMinAt = 0;
    static __m512i isum(const uint8_t* p, const block_q8_0& x, __m512i base) {
        const __m512i nibble = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
        __m512i lo = base, hi = _mm512_setzero_si512();
        for (int s = 0; s < 4; ++s) {
            const __m512i v = load512(p + 64 * s);
            uint64_t bits[2];
            std::memcpy(bits, p + 256 + 16 * s, 16);
            __m512i l = _mm512_and_si512(v, nibble), h = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
            l = _mm512_mask_add_epi8(l, _cvtu64_mask64(bits[0]), l, sixteen);
            h = _mm512_mask_add_epi8(h, _cvtu64_mask64(bits[1]), h, sixteen);
            lo = _mm512_dpbusd_epi32(lo, l, words(x.qs, 4 * s));
            hi = _mm512_dpbusd_epi32(hi, h, words(x.qs, 16 + 4 * s));
        }
        return _mm512_add_epi32(lo, hi);
    }
};

struct Q8_0Step {
    using X = block_q8_0;
    static constexpr int kBlockBytes = 544, kScaleAt = 512, kOffset = 128, kMinAt = 0;
    static __m512i isum(const uint8_t* p, const block_q8_0& x, __m512i base) {
        __m512i even = base, odd = _mm512_setzero_si512();  // two chains, half as long
        for (int s = 0; s < 8; s += 2) {
            even = _mm512_dpbusd_epi32(even, load512(p + 64 * s), words(x.qs, 4 * s));
            odd = _mm512_dpbusd_epi32(odd, load512(p + 64 * (s + 1)), words(x.qs, 4 * s + 4));
        }
        return _mm512_add_epi32(even, odd);
    }
};

// C columns at once: each block's weights are loaded (and unpacked) once for all of them,
// while every column's arithmetic stays the one-column sequence. With 8 columns this is the
// prompts' integer GEMM for these types (see matmul.cpp). Decode (pf null) asks for the
// group kPrefetchAhead bytes ahead; a prompt's passes over a group (from cache after the
// first) instead ask for their share of the next group's lines, pf[0 .. lines), spread over
// the blocks.
template <class Step, int C>
void block_cols(int64_t nb, const uint8_t* group, int nr, const uint8_t* xv, size_t x_stride, const int32_t* sums,
                float* y, int64_t ldy, const uint8_t* pf = nullptr, int64_t lines = 0) {
    const int64_t per_block = (lines + nb - 1) / nb;
    using X = typename Step::X;
    const X* x[C];
    __m512 acc[C];
    for (int c = 0; c < C; ++c) {
        x[c] = reinterpret_cast<const X*>(xv + c * x_stride);
        acc[c] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = group + b * Step::kBlockBytes;
        if (!pf) prefetch_block(p, Step::kBlockBytes);
        for (int64_t l = b * per_block; l < std::min(lines, (b + 1) * per_block); ++l)
            _mm_prefetch(reinterpret_cast<const char*>(pf) + 64 * l, _MM_HINT_T1);
        const __m512 dw = load_fp16x16(p + Step::kScaleAt);
        for (int c = 0; c < C; ++c) {
            const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(_cvtsh_ss(x[c][b].d)));
            const __m512i isum =
                Step::isum(p, x[c][b], _mm512_set1_epi32(Step::kOffset ? -Step::kOffset * sums[c * nb + b] : 0));
            __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), d);
            if constexpr (Step::kMinAt != 0)
                t = _mm512_add_ps(t, _mm512_mul_ps(load_fp16x16(p + Step::kMinAt), _mm512_set1_ps(_cvtsh_ss(x[c][b].s))));
            acc[c] = _mm512_add_ps(acc[c], t);
        }
    }
    for (int c = 0; c < C; ++c) put_rows(acc[c], nr, y + c * ldy);
}

template <class Step>
void block_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, const int32_t* sums, int nc,
                float* y, int64_t ldy) {
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK;
    const uint8_t* x = static_cast<const uint8_t*>(xv);
    auto cols = [&]<int C>(int c, const uint8_t* pf = nullptr, int64_t lines = 0) {
        block_cols<Step, C>(nb, group, nr, x + c * x_stride, x_stride, Step::kOffset ? sums + c * nb : nullptr,
                            y + c * ldy, ldy, pf, lines);
    };
    // Prompts: passes of 8 columns, pass i fetching part i of the next group (which follows this
    // one: row chunks go in order; past the last group the requests are harmless).
    const int passes = nc / 8;
    const int64_t group_lines = nb * Step::kBlockBytes / 64;
    const uint8_t* next = group + nb * Step::kBlockBytes;
    int c = 0;
    for (int i = 0; i < passes; ++i, c += 8) {
        const int64_t l0 = group_lines * i / passes, l1 = group_lines * (i + 1) / passes;
        cols.template operator()<8>(c, next + 64 * l0, l1 - l0);
    }
    for (; c + 4 <= nc; c += 4) cols.template operator()<4>(c);
    for (; c < nc; ++c) cols.template operator()<1>(c);
}

// q4_K against q8_K. Register 16h + L holds, for every row, 4 codes of sub-block 4h (low
// nibbles) and 4h + 1 (high) for L < 8, of 4h + 2 and 4h + 3 for L >= 8; dot[j] chains the 8
// words of sub-block j (odd j with the high nibbles in place: 16 x the sum).
void q4_K_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, const int32_t*, int nc, float* y,
               int64_t ldy) {
    constexpr int kBlockBytes = 2368;
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK_K;
    const __m512i low = _mm512_set1_epi8(0x0F), high = _mm512_set1_epi8(static_cast<char>(0xF0));
    for (int c = 0; c < nc; ++c) {
        const block_q8_K* x = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        __m512 acc = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* p = group + i * kBlockBytes;
            const block_q8_K& xb = x[i];
            __m512i dot[8];
            for (int j = 0; j < 8; ++j) dot[j] = _mm512_setzero_si512();
#pragma GCC unroll 32
            for (int r = 0; r < 32; ++r) {  // register r = 16h + L
                const int h = r / 16, L = r % 16, j = 4 * h + 2 * (L >= 8), at = 128 * h + 4 * L + (L >= 8 ? 32 : 0);
                const __m512i v = load512(p + 64 * r);
                prefetch_part(p, kBlockBytes, r, 32);
                dot[j] = _mm512_dpbusd_epi32(dot[j], _mm512_and_si512(v, low), words(xb.qs, at));
                dot[j + 1] = _mm512_dpbusd_epi32(dot[j + 1], _mm512_and_si512(v, high), words(xb.qs, at + 32));
            }
            __m512i even = _mm512_setzero_si512(), odd = _mm512_setzero_si512();
            for (int j = 0; j < 8; j += 2) {
                even = _mm512_add_epi32(even, _mm512_mullo_epi32(dot[j], _mm512_cvtepu8_epi32(load128(p + 2048 + 16 * j))));
                odd = _mm512_add_epi32(odd, _mm512_mullo_epi32(dot[j + 1], _mm512_cvtepu8_epi32(load128(p + 2064 + 16 * j))));
            }
            const __m512i isum = _mm512_add_epi32(even, _mm512_srai_epi32(odd, 4));
            __m512i imin = _mm512_setzero_si512();
            for (int m = 0; m < 4; ++m) {
                const int32_t y_lo = xb.bsums[4 * m] + xb.bsums[4 * m + 1];
                const int32_t y_hi = xb.bsums[4 * m + 2] + xb.bsums[4 * m + 3];
                const uint32_t pair = (static_cast<uint32_t>(y_lo) & 0xFFFF) | static_cast<uint32_t>(y_hi) << 16;
                const __m512i ysum = _mm512_set1_epi32(static_cast<int32_t>(pair));  // [Y_2m | Y_2m+1]
                imin = _mm512_add_epi32(imin, _mm512_madd_epi16(_mm512_cvtepu8_epi16(load256(p + 2176 + 32 * m)), ysum));
            }
            const __m512 dy = _mm512_set1_ps(xb.d);
            const __m512 d = _mm512_mul_ps(load_fp16x16(p + 2304), dy);
            const __m512 dmin = _mm512_mul_ps(load_fp16x16(p + 2336), dy);
            acc = _mm512_add_ps(acc, _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(isum)),
                                                   _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(imin))));
        }
        put_rows(acc, nr, y + c * ldy);
    }
}

// q6_K against q8_K. Register 16h + L of ql holds, for every row, the low 4 bits of codes
// 4L'.. of quarters q = 0 (low nibbles) and 2 (high) for L < 8, of q = 1 and 3 for L >= 8
// (L' = L mod 8); qh register 8h + L' their top 2 bits (bits 2q, 2q + 1). Codes 4L'.. are in
// 16-element sub-block 8h + 2q + L'/4; its chain starts at -32 x (its activation sum), so it
// ends at the reference's dot of (code - 32) with the activations.
void q6_K_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, const int32_t*, int nc, float* y,
               int64_t ldy) {
    constexpr int kBlockBytes = 3360;
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK_K;
    const __m512i nibble = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
    for (int c = 0; c < nc; ++c) {
        const block_q8_K* x = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        __m512 acc = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const uint8_t* p = group + i * kBlockBytes;
            const block_q8_K& xb = x[i];
            __m512i dot[16];
            for (int j = 0; j < 16; ++j) dot[j] = _mm512_set1_epi32(-32 * xb.bsums[j]);
#pragma GCC unroll 32
            for (int r = 0; r < 32; ++r) {  // register r = 16h + L
                const int h = r / 16, L = r % 16, q = L >= 8, l = L % 8;
                const __m512i v = load512(p + 64 * r);
                const __m512i bits = load512(p + 2048 + 64 * (8 * h + l));
                prefetch_part(p, kBlockBytes, r, 32);
                const __m512i top0 = _mm512_and_si512(_mm512_slli_epi16(bits, q ? 2 : 4), top);
                const __m512i top1 = _mm512_and_si512(q ? _mm512_srli_epi16(bits, 2) : bits, top);
                const __m512i c0 = _mm512_or_si512(_mm512_and_si512(v, nibble), top0);
                const __m512i c1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), nibble), top1);
                const int j = 8 * h + 2 * q + l / 4;  // quarter q; quarter q + 2 is sub-block j + 4
                dot[j] = _mm512_dpbusd_epi32(dot[j], c0, words(xb.qs, 128 * h + 4 * L));
                dot[j + 4] = _mm512_dpbusd_epi32(dot[j + 4], c1, words(xb.qs, 128 * h + 64 + 4 * L));
            }
            __m512i sums[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
            for (int j = 0; j < 16; ++j)
                sums[j % 2] = _mm512_add_epi32(sums[j % 2], _mm512_mullo_epi32(dot[j], _mm512_cvtepi8_epi32(load128(p + 3072 + 16 * j))));
            const __m512 d = _mm512_mul_ps(load_fp16x16(p + 3328), _mm512_set1_ps(xb.d));
            acc = _mm512_add_ps(acc, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_add_epi32(sums[0], sums[1]))));
        }
        put_rows(acc, nr, y + c * ldy);
    }
}

}  // namespace

PackedTileFn avx512_packed_tile(DType weight) {
    switch (weight) {
        case DType::Q4_0: return block_tile<Q4_0Step>;
        case DType::Q4_1: return block_tile<Q4_1Step>;
        case DType::Q5_0: return block_tile<Q5_0Step>;
        case DType::Q8_0: return block_tile<Q8_0Step>;
        case DType::Q4_K: return q4_K_tile;
        case DType::Q6_K: return q6_K_tile;
        default: return nullptr;
    }
}

}  // namespace lm::simd
