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
#endif

}  // namespace
}  // namespace lm::simd
