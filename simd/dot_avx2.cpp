// avx2 dot-product kernels (placeholder until vectorized): no specializations yet.
#include "simd/kernels.h"

namespace lm::simd {

TileFn avx2_tile(DType) { return nullptr; }

}  // namespace lm::simd
