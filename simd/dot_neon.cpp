// NEON dot kernels for the aarch64 baseline: int8 products by vmull_s8 + vpadalq_s16.
// The kernels themselves are in neon_kernels.h. Empty on other architectures.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "simd/kernels.h"

namespace lm::simd {
namespace {

// 4 lanes of 32-bit sums of products of 16 signed bytes each of a and b.
inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
}

}  // namespace
}  // namespace lm::simd

#include "simd/neon_kernels.h"

namespace lm::simd {

TileFn neon_tile(DType weight) { return neon_kernel(weight); }

}  // namespace lm::simd

#endif  // __aarch64__
