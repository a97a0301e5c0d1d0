// avx512 dot-product kernels (placeholder until vectorized): no specializations yet.
#include "simd/kernels.h"

namespace lm::simd {

TileFn avx512_tile(DType) { return nullptr; }

}  // namespace lm::simd
