#include "simd/peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "simd/kernels.h"
#include "weights/mmap.h"

namespace lm {

namespace simd {

float sum_floats_scalar(const float* p, size_t n) {
    float acc[8] = {};
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
    return acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
}

float fma_chains_scalar(long iters, int* flops_per_iter) {
    float acc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float a = 0.999f, b = 0.001f;
    for (long i = 0; i < iters; ++i)
        for (float& x : acc) x = x * a + b;
    *flops_per_iter = 16;
    return acc[0] + acc[7];
}

}  // namespace simd

namespace {
enum class Level { Scalar, Avx2, Avx512 };
[[maybe_unused]] Level level() {
#if defined(__x86_64__)
    if (simd::isa_reachable(simd::Isa::Avx512)) return Level::Avx512;
    if (simd::isa_reachable(simd::Isa::Avx2)) return Level::Avx2;
#endif
    return Level::Scalar;
}

float sum_floats(const float* p, size_t n) {
#if defined(__x86_64__)
    switch (level()) {
        case Level::Avx512: return simd::sum_floats_avx512(p, n);
        case Level::Avx2: return simd::sum_floats_avx2(p, n);
        default: break;
    }
#endif
    return simd::sum_floats_scalar(p, n);
}

float fma_chains(long iters, int* flops) {
#if defined(__x86_64__)
    switch (level()) {
        case Level::Avx512: return simd::fma_chains_avx512(iters, flops);
        case Level::Avx2: return simd::fma_chains_avx2(iters, flops);
        default: break;
    }
#endif
    return simd::fma_chains_scalar(iters, flops);
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
volatile float g_sink;  // keeps the measured loops from being optimized away
}  // namespace

double measure_read_bandwidth(size_t bytes, int threads, int reps) {
    const size_t n = bytes / sizeof(float) / 64 * 64;
    StreamedVector<float> buf(n);  // in huge pages, like the repacked weights decode streams
    // First touch by the threads that will read, so pages sit near them.
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; i += 1024) std::fill(buf.begin() + i, buf.begin() + std::min(n, i + 1024), 1.0f);
    double best = 0;
    for (int r = 0; r < reps; ++r) {
        const double t0 = now();
        float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
        {
            const size_t id = omp_get_thread_num(), nt = omp_get_num_threads();
            const size_t chunk = n / nt / 64 * 64, begin = id * chunk, end = id + 1 == nt ? n : begin + chunk;
            total += sum_floats(buf.data() + begin, end - begin);
        }
        const double dt = now() - t0;
        g_sink = total;
        best = std::max(best, n * sizeof(float) / dt);
    }
    return best;
}

double measure_fma_peak(int threads) {
    const long iters = 20000000;
    double best = 0;
    for (int r = 0; r < 7; ++r) {  // best of several: a shared machine only ever slows a pass down
        int flops = 0;
        const double t0 = now();
        float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
        total += fma_chains(iters, &flops);
        const double dt = now() - t0;
        g_sink = total;
        best = std::max(best, static_cast<double>(iters) * flops * threads / dt);
    }
    return best;
}

}  // namespace lm
