// The packed F32 GEMM (simd/gemm.h) for NEON: 12 x 8 register tiles (24 q-register
// accumulators), f16 / bf16 B widened while packing. Empty on other architectures.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

struct Ops {
    static void f16(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(src + i))));
        for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    }
    static void bf16(const uint16_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(src + i), 16)));
        for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    }
    template <int NR>
    static void transpose(const float* src, int64_t stride, int cols, int kc, float* dst) {
        transpose_columns<NR>(src, stride, cols, kc, dst);
    }
};

using Kernel = Gemm<xsimd::neon64, 12, 2, Ops>;

}  // namespace

void gemm_neon(const GemmArgs& g, int part, int parts) { Kernel::run(g, part, parts); }

}  // namespace lm::simd

#endif  // __aarch64__
