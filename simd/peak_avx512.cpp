#include "simd/peak.h"
#include "simd/x86.h"

namespace lm::simd {

// Two streams (the two halves of the slice) read side by side: more DRAM pages in flight
// than one sequential stream, which measures a little higher on every machine tried.
float sum_floats_avx512(const float* p, size_t n) {
    const size_t half = n / 2 / 32 * 32;
    const float* q = p + half;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < half; i += 32) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(q + i));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(q + i + 16));
    }
    return hsum512(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

// 16 independent chains cover the FMA latency on both ports.
float fma_chains_avx512(long iters, int* flops_per_iter) {
    __m512 acc[16];
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j));
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
    for (long i = 0; i < iters; ++i)
        for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
    __m512 s = acc[0];
    for (int j = 1; j < 16; ++j) s = _mm512_add_ps(s, acc[j]);
    *flops_per_iter = 16 * 16 * 2;
    return hsum512(s);
}

}  // namespace lm::simd
