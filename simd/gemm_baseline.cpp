// The packed F32 GEMM (simd/gemm.h) for the baseline ISA the program is compiled for (SSE2 on
// x86-64, NEON on aarch64): the Scalar level's GEMM, so training and prompts always have one.
// 6 x 2-vector register tiles; f16 / bf16 B widened one element at a time.
#include "simd/gemm.h"
#include "simd/kernels.h"

namespace lm::simd {

namespace {

struct Ops {
    static void f16(const uint16_t* src, float* dst, int64_t n) {
        for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    }
    static void bf16(const uint16_t* src, float* dst, int64_t n) {
        for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    }
    template <int NR>
    static void transpose(const float* src, int64_t stride, int cols, int kc, float* dst) {
        transpose_columns<NR>(src, stride, cols, kc, dst);
    }
};

using Kernel = Gemm<xsimd::default_arch, 6, 2, Ops>;

}  // namespace

void gemm_baseline(const GemmArgs& g, int part, int parts) { Kernel::run(g, part, parts); }

}  // namespace lm::simd
