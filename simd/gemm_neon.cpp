// The packed F32 GEMM (simd/gemm.h) for NEON: 8 rows x 8 tokens (16 q-register accumulators),
// with f16 / bf16 weights widened per block of rows. Empty on other architectures.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

struct F16ToF32 {
    static void convert(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(src + i))));
        for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    }
};

struct BF16ToF32 {
    static void convert(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(src + i), 16)));
        for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    }
};

using Kernel = Gemm<xsimd::neon64, 8, 2>;

}  // namespace

void gemm_neon(float* y, const void* w, DType type, const float* x, int64_t m, int64_t k, int n, int threads) {
    run_gemm<Kernel, F16ToF32, BF16ToF32>(y, w, type, x, m, k, n, threads);
}

}  // namespace lm::simd

#endif  // __aarch64__
