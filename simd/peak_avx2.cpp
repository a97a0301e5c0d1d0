#include "simd/peak.h"
#include "simd/x86.h"

namespace lm::simd {

// Two streams side by side, as sum_floats_avx512.
float sum_floats_avx2(const float* p, size_t n) {
    const size_t half = n / 2 / 16 * 16;
    const float* q = p + half;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < half; i += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(q + i));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(q + i + 8));
    }
    return hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

float fma_chains_avx2(long iters, int* flops_per_iter) {
    __m256 acc[12];
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_set1_ps(static_cast<float>(j));
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
    for (long i = 0; i < iters; ++i)
        for (int j = 0; j < 12; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
    __m256 s = acc[0];
    for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, acc[j]);
    *flops_per_iter = 12 * 8 * 2;
    return hsum256(s);
}

}  // namespace lm::simd
