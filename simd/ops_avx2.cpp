// The row kernels' AVX2 + FMA twins (simd/ops_vec.h, 8 float lanes).
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/ops_vec.h"

namespace lm::simd {

const RowKernels& row_kernels_avx2() { return VecRows<xsimd::fma3<xsimd::avx2>>::kTable; }

}  // namespace lm::simd
