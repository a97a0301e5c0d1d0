// What the AVX-512 and AVX2 decode kernels over the packed layouts (repack_avx512.cpp,
// repack_avx2.cpp) share: prefetching. Included by those two files, internal linkage.
#pragma once
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cstdint>

namespace lm::simd {
namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Decode streams each packed group from memory once. The hardware prefetchers alone keep
// too few lines in flight while the kernel computes, so the kernels ask for the lines
// kPrefetchAhead bytes ahead, into L2; past the end of a group that is the next group, which
// comes next. The super-block kernels spread the requests over their register loop rather
// than issuing ~40 at once. Measured on the benchmark machine (tinyllama-1.1b decode, 2
// threads, weights in huge pages): 2 KB ahead beat 1 and 4 KB by 3-7 %, and spreading the
// requests lifted Q4_K_M by another 2-3 %.
constexpr int kPrefetchAhead = 2048;
// Part `part` of `parts` of the lines of the block of `bytes` at p + kPrefetchAhead.
inline void prefetch_part(const uint8_t* p, int bytes, int part, int parts) {
    const int lines = (bytes + 63) / 64;
    for (int l = lines * part / parts; l < lines * (part + 1) / parts; ++l)
        _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetchAhead + 64 * l, _MM_HINT_T1);
}
inline void prefetch_block(const uint8_t* p, int bytes) { prefetch_part(p, bytes, 0, 1); }

}  // namespace
}  // namespace lm::simd
