// Run-time CPU dispatch: the one place that asks the CPU what it reaches and picks kernels.
// This file is built for the baseline ISA; *_avx2.cpp / *_avx512.cpp hold the wide kernels.
#include <atomic>

#include "simd/kernels.h"

namespace lm::simd {

namespace {

Isa detect() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return Isa::Avx2;
#endif
    return Isa::Scalar;
}

std::atomic<int> forced{-1};

}  // namespace

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Avx512: return "avx512";
        case Isa::Avx2: return "avx2";
        default: return "scalar";
    }
}

Isa best_isa() {
    static const Isa best = detect();
    return best;
}

Isa active_isa() {
    const int f = forced.load(std::memory_order_relaxed);
    return f < 0 ? best_isa() : static_cast<Isa>(f);
}

void force_isa(Isa isa) {
    if (static_cast<int>(isa) > static_cast<int>(best_isa())) isa = best_isa();
    forced.store(static_cast<int>(isa), std::memory_order_relaxed);
}

bool activation_type(DType weight, DType* out) {
    switch (weight) {
        case DType::F32: case DType::F16: case DType::BF16: *out = weight; return true;
        case DType::Q8_0: case DType::Q4_0: case DType::Q5_0: *out = DType::Q8_0; return true;
        case DType::Q4_1: *out = DType::Q8_1; return true;
        case DType::Q4_K: case DType::Q6_K: *out = DType::Q8_K; return true;
        default: return false;
    }
}

TileFn tile_kernel(DType weight, Isa isa) {
    TileFn fn = nullptr;
#if defined(__x86_64__)
    if (isa >= Isa::Avx512) fn = avx512_tile(weight);
    if (!fn && isa >= Isa::Avx2) fn = avx2_tile(weight);
#else
    (void)isa;
#endif
    return fn ? fn : scalar_tile(weight);
}

GemmFn gemm_kernel(Isa isa) {
#if defined(__x86_64__)
    if (isa >= Isa::Avx512) return gemm_avx512;
    if (isa >= Isa::Avx2) return gemm_avx2;
#else
    (void)isa;
#endif
    return nullptr;
}

QGemmFn qgemm_kernel(DType weight, Isa isa) {
#if defined(__x86_64__)
    if (isa >= Isa::Avx512) return avx512_qgemm(weight);
#else
    (void)weight, (void)isa;
#endif
    return nullptr;
}

}  // namespace lm::simd
