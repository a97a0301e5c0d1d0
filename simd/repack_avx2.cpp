// AVX2 decode kernels over the 16-row interleaved layouts of simd/repack.h, for q4_0 and
// q8_0: each 64-byte register of the layout is read as two 256-bit halves (rows 0-7, 8-15),
// and vpmaddubsw + vpmaddwd stand in for vpdpbusd. As in repack_avx512.cpp the integer block
// sums are exact and the float work is the scalar reference's (built with
// -ffp-contract=off), so results are bit-identical to scalar_tile's.
// The unpacked AVX2 kernels (dot_avx2.cpp) are compute-bound on these types: tinyllama-1.1b
// Q4_0 decode ran at ~20 % of the bandwidth roofline with them.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cstring>
#include <vector>

#include "simd/kernels.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// As in repack_avx512.cpp: the lines 2 KB ahead, into L2.
constexpr int kPrefetchAhead = 2048;
inline void prefetch_block(const uint8_t* p, int bytes) {
    for (int at = 0; at < bytes; at += 64) _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetchAhead + at, _MM_HINT_T1);
}

// Activation codes at..at+3 broadcast to every lane.
inline __m256i words(const int8_t* qs, int at) {
    int32_t w;
    std::memcpy(&w, qs + at, 4);
    return _mm256_set1_epi32(w);
}

// Per lane (row): the sum of 4 products of unsigned a and signed b. No pair can saturate
// 16 bits here: codes are at most 15 (q4_0) or 128 (|q8_0|), activations at most 127.
inline __m256i dot4(__m256i a, __m256i b) { return _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)); }

// Sum of the 32 codes of a q8_0 block.
inline int32_t code_sum(const block_q8_0& x) {
    const __m256i biased = _mm256_xor_si256(load256(x.qs), _mm256_set1_epi8(static_cast<char>(0x80)));
    const __m256i s = _mm256_sad_epu8(biased, _mm256_setzero_si256());
    const __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return static_cast<int32_t>(_mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1)) - QK * 128;
}

// isum(p, x, base): for the 8 rows of half `half`, the reference's sumi of the block.
struct Q4_0Half {
    static constexpr int kBlockBytes = 288, kScaleAt = 256, kOffset = 8;
    static __m256i isum(const uint8_t* p, int half, const block_q8_0& x, __m256i base) {
        const __m256i nibble = _mm256_set1_epi8(0x0F);
        __m256i lo = base, hi = _mm256_setzero_si256();
        for (int s = 0; s < 4; ++s) {
            const __m256i v = load256(p + 64 * s + 32 * half);
            lo = _mm256_add_epi32(lo, dot4(_mm256_and_si256(v, nibble), words(x.qs, 4 * s)));
            hi = _mm256_add_epi32(hi, dot4(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibble), words(x.qs, 16 + 4 * s)));
        }
        return _mm256_add_epi32(lo, hi);
    }
};

// q8_0 codes are stored + 128; back to signed, |w| meets the activations with w's sign.
struct Q8_0Half {
    static constexpr int kBlockBytes = 544, kScaleAt = 512, kOffset = 0;
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
void block_tile(int64_t k, const void* gv, int nr, const void* xv, size_t x_stride, int nc, float* y, int64_t ldy) {
    const uint8_t* group = static_cast<const uint8_t*>(gv);
    const int64_t nb = k / QK;
    thread_local std::vector<int32_t> bases;  // -offset x (sum of the block's activation codes)
    if (bases.size() < static_cast<size_t>(nb)) bases.resize(nb);
    for (int c = 0; c < nc; ++c) {
        const block_q8_0* x = reinterpret_cast<const block_q8_0*>(static_cast<const uint8_t*>(xv) + c * x_stride);
        if (Step::kOffset)
            for (int64_t b = 0; b < nb; ++b) bases[b] = -Step::kOffset * code_sum(x[b]);
        __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t* p = group + b * Step::kBlockBytes;
            prefetch_block(p, Step::kBlockBytes);
            const __m256 dx = _mm256_set1_ps(_cvtsh_ss(x[b].d));
            const __m256i base = _mm256_set1_epi32(Step::kOffset ? bases[b] : 0);
            for (int half = 0; half < 2; ++half) {
                const __m128i dw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + Step::kScaleAt + 16 * half));
                const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(dw), dx);
                const __m256i isum = Step::isum(p, half, x[b], base);
                acc[half] = _mm256_add_ps(acc[half], _mm256_mul_ps(_mm256_cvtepi32_ps(isum), d));
            }
        }
        alignas(32) float out[16];
        _mm256_store_ps(out, acc[0]);
        _mm256_store_ps(out + 8, acc[1]);
        for (int r = 0; r < nr; ++r) y[c * ldy + r] = out[r];
    }
}

}  // namespace

PackedTileFn avx2_packed_tile(DType weight) {
    switch (weight) {
        case DType::Q4_0: return block_tile<Q4_0Half>;
        case DType::Q8_0: return block_tile<Q8_0Half>;
        default: return nullptr;
    }
}

}  // namespace lm::simd
