// The one matrix-multiply entry point. Model code never branches on weight type or ISA.
#pragma once
#include "weights/tensor.h"

namespace lm {

// y[t * rows + r] = sum_c W[r, c] * x[t * cols + c]   for t < n, r < rows,
// with rows = w.rows(), cols = w.cols(). Dispatches on w.type and the CPU's ISA.
// For block-quantized weights the activations are first quantized per call to the 8-bit
// block type ggml pairs with the weight type (its vec_dot_type), so results track llama.cpp.
// When w.packed is set (simd/repack.h) and this ISA has kernels for it, n < 8 reads the packed
// copy instead of w.data, with bit-identical results.
void matmul(float* y, const Tensor& w, const float* x, int n, int threads);

}  // namespace lm
