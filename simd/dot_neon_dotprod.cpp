// NEON dot kernels with the ARMv8.2 dot-product extension: int8 products by sdot (vdotq_s32),
// used when the CPU reports it (HWCAP_ASIMDDP). The kernels are in neon_kernels.h.
// Empty on other architectures.
#if defined(__aarch64__)
#pragma GCC target("arch=armv8.2-a+dotprod")
#include <arm_neon.h>

#include "simd/kernels.h"

namespace lm::simd {
namespace {

// 4 lanes, each the sum of 4 products of signed bytes (sdot).
inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }

}  // namespace
}  // namespace lm::simd

#include "simd/neon_kernels.h"

namespace lm::simd {

TileFn neon_dot_tile(DType weight) { return neon_kernel(weight); }

}  // namespace lm::simd

#endif  // __aarch64__
