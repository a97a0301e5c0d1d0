// The one matrix-multiply entry point. Model code never branches on weight type or ISA.
#pragma once
#include <cstdint>
#include <string>

#include "weights/tensor.h"

namespace lm {

// One dense product over arbitrary strides, the GEMM behind prompts and training:
//   C[M, N] = A[M, K] . B[K, N] + bias         (overwrite)
//   C[M, N] += A[M, K] . B[K, N] + bias        (otherwise)
// with A(m, k) = a[m * a_rs + k * a_cs], B(k, n) = b[k * b_rs + n * b_cs] and C(m, n) =
// c[m * ldc + n], and bias[N] (may be null) added to every row. A is f32; B is f32, f16 or bf16. So out = x W^T, dx = dy W and dW = dy^T x
// are all one call, with nothing transposed in memory. Results are bit-identical for any
// thread count and any share split (simd/gemm.h).
struct GemmArgs {
    float* c;
    int64_t ldc;
    const float* a;
    int64_t a_rs, a_cs;
    const void* b;
    DType b_type;
    int64_t b_rs, b_cs;
    int M, N, K;
    bool overwrite;
    const float* bias = nullptr;
    // Set by gemm(): its shares run together, one per thread of an OpenMP team, so a kernel may
    // share work between them (and synchronize them).
    bool team = false;
};

// The whole product on up to `threads` threads (one OpenMP region; on the calling thread when
// the work is small or the caller is already inside a parallel region).
void gemm(const GemmArgs& g, int threads);
// Share `part` of `parts` of the product on the calling thread, for callers that run several
// products in one parallel region. The shares of 0..parts-1 together compute the whole.
void gemm_share(const GemmArgs& g, int part, int parts);

// y[t * rows + r] = sum_c W[r, c] * x[t * cols + c]   for t < n, r < rows,
// with rows = w.rows(), cols = w.cols(). Dispatches on w.type and the CPU's ISA.
// For block-quantized weights the activations are first quantized per call to the 8-bit
// block type ggml pairs with the weight type (its vec_dot_type), so results track llama.cpp.
// When w.packed is set (simd/repack.h) and this ISA has kernels for it, matmul reads the
// packed copy instead of w.data: decode, and prompts over the types simd/matmul.cpp hands to
// the packed kernels, with the scalar reference's results bit for bit; the other prompts
// through the integer GEMM.
void matmul(float* y, const Tensor& w, const float* x, int n, int threads);

// Several weights applied to the same activations (q, k, v; gate, up): the same results as
// one matmul per part, but in decode x is converted once per activation type and the rows of
// all the weights are shared out in one parallel region, so the threads meet once. At most 4.
struct MatmulPart {
    float* y;
    const Tensor* w;
};
void matmul(const MatmulPart* parts, int count, const float* x, int n, int threads);

// Runs matmul's kernels at the named ISA level ("scalar", "avx2", "avx512", "amx", "neon",
// "neon-dotprod") instead of the best this CPU has, to compare levels (lm bench --isa).
// False, changing nothing, when the CPU cannot run that level.
bool force_matmul_isa(const std::string& name);

// The physical cores this process may run on (its CPU affinity, SMT siblings counted once):
// the thread count when the caller gives none (-t, the C API's 0).
int default_threads();

}  // namespace lm
