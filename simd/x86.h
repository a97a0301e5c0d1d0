// Small x86 helpers shared by the per-ISA kernel files. Internal linkage on purpose: each
// file is compiled for a different ISA, and their copies must never be merged by the linker.
#pragma once
// GCC 12's AVX-512 intrinsics (_mm512_inserti64x4, _mm512_cvtph_ps, ...) pass a deliberately
// "undefined" register that its own -Wuninitialized then reports; the warning is a false
// positive inside the compiler's header, so it is silenced for the kernel files only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace lm::simd {
namespace {

// Horizontal sums in a fixed order.
inline float hsum128(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}

inline float hsum256(__m256 v) { return hsum128(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1))); }

// Four sums at once, each in exactly hsum128's order: [hsum128(a), ..., hsum128(d)].
inline __m128 hsum128x4(__m128 a, __m128 b, __m128 c, __m128 d) {
    const __m128 u = _mm_add_ps(_mm_unpacklo_ps(a, b), _mm_unpackhi_ps(a, b));  // a0+a2, b0+b2, a1+a3, b1+b3
    const __m128 v = _mm_add_ps(_mm_unpacklo_ps(c, d), _mm_unpackhi_ps(c, d));
    return _mm_add_ps(_mm_movelh_ps(u, v), _mm_movehl_ps(v, u));
}

#if defined(__AVX512F__)
// 16 lanes -> 4 (lo + hi halves, twice), the first stage of hsum512.
inline __m128 fold512(__m512 v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, 0xEE)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

inline float hsum512(__m512 v) { return hsum128(fold512(v)); }

// dst[k * ld + j] = src[j * stride + k] for j < rows <= 16, k < 16: rows of src become columns
// (lanes past `rows` are neither read nor written).
inline void transpose16(const float* src, int64_t stride, int rows, float* dst, int ld) {
    __m512 r[16], t[16];
    for (int j = 0; j < 16; ++j) r[j] = j < rows ? _mm512_loadu_ps(src + j * stride) : _mm512_setzero_ps();
    for (int j = 0; j < 16; j += 2) {  // lane L: r_j[4L], r_j+1[4L], r_j[4L+1], r_j+1[4L+1] | [4L+2], [4L+3]
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 16; j += 4) {  // r[j + i] lane L: column 4L + i of rows j..j+3
        r[j] = _mm512_shuffle_ps(t[j], t[j + 2], 0x44);
        r[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], 0xEE);
        r[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        r[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
    }
    for (int h = 0; h < 16; h += 8)  // t[h + c], c < 8: columns c (lanes 0, 1) and 8 + c (lanes 2, 3) of rows h..h+7
        for (int i = 0; i < 4; ++i) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0x88);
            t[h + 4 + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0xDD);
        }
    const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1);
    for (int c = 0; c < 8; ++c) {  // whole columns c and 8 + c
        _mm512_mask_storeu_ps(dst + c * ld, keep, _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88));
        _mm512_mask_storeu_ps(dst + (c + 8) * ld, keep, _mm512_shuffle_f32x4(t[c], t[8 + c], 0xDD));
    }
}
#endif

}  // namespace
}  // namespace lm::simd
