// Machine limits for the roofline of `lm bench`: read bandwidth and fp32 FMA throughput,
// measured with the widest vectors the CPU has.
#pragma once
#include <cstddef>

namespace lm {

// Bytes per second that `threads` threads read from a buffer of `bytes` (each sums its own
// slice), best of `reps` passes. The buffer should be far larger than the caches.
double measure_read_bandwidth(size_t bytes, int threads, int reps);
// fp32 FLOP/s (an FMA counts 2) with `threads` threads running independent FMA chains.
double measure_fma_peak(int threads);

namespace simd {
// Per-ISA loops behind the measurements (simd/peak*.cpp).
float sum_floats_scalar(const float* p, size_t n);
float fma_chains_scalar(long iters, int* flops_per_iter);
float sum_floats_avx512(const float* p, size_t n);
float fma_chains_avx512(long iters, int* flops_per_iter);
float sum_floats_avx2(const float* p, size_t n);
float fma_chains_avx2(long iters, int* flops_per_iter);
}  // namespace simd

}  // namespace lm
