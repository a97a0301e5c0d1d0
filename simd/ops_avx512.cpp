// The row kernels' AVX-512 twins (simd/ops_vec.h, 16 float lanes).
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include "simd/ops_vec.h"

namespace lm::simd {

const RowKernels& row_kernels_avx512() { return VecRows<xsimd::avx512bw>::kTable; }

}  // namespace lm::simd
