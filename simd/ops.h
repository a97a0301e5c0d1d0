// Element-wise and row-wise kernels shared by inference and training. Each works on plain
// float buffers; the scalar versions here are the reference for any vectorized variant.
#pragma once
#include <cmath>
#include <cstdint>

namespace lm {

// out = x / sqrt(mean(x^2) + eps) * weight   (weight may be null: no scale)
void rmsnorm(float* out, const float* x, const float* weight, int n, float eps);
// out = (x - mean) / sqrt(var + eps) * weight + bias   (bias may be null); the row's mean and
// rstd = 1 / sqrt(var + eps) are also stored when the pointers are given (training keeps them).
void layernorm(float* out, const float* x, const float* weight, const float* bias, int n, float eps,
               float* mean_out = nullptr, float* rstd_out = nullptr);
// Backward of layernorm for one row, given its mean and rstd: with xhat = (x - mean) rstd and
// g = dy w, dx += rstd (g - mean(g) - xhat mean(g xhat)).
void layernorm_backward(float* dx, const float* dy, const float* x, const float* w, float mean, float rstd, int n);
// The row's share of the parameter gradients: dw += dy xhat, db += dy (db may be null).
void layernorm_param_grads(float* dw, float* db, const float* dy, const float* x, float mean, float rstd, int n);
// In place, numerically stable (max subtracted).
void softmax(float* x, int n);
// Rotary position embedding over n_heads consecutive heads of head_dim each, at position pos.
// neox = false rotates adjacent pairs (x[2i], x[2i+1]) as Llama/llama2.c do; neox = true
// rotates (x[i], x[i + head_dim/2]). theta_i = pos * freq_base^(-2i/head_dim).
// freq_factors (head_dim/2 values, Llama 3's rope_freqs.weight) divide each pair's angle;
// freq_scale multiplies all of them (linear RoPE scaling), as ggml_rope_ext does.
void rope(float* x, int head_dim, int n_heads, int pos, float freq_base, bool neox,
          const float* freq_factors = nullptr, float freq_scale = 1.0f);
// out = silu(gate) * up
void swiglu(float* out, const float* gate, const float* up, int n);
void gelu_tanh(float* out, const float* x, int n);
// Backward of gelu_tanh: dx (+)= gelu_tanh'(x) dy (overwrite: =).
void gelu_tanh_backward(float* dx, const float* dy, const float* x, int n, bool overwrite);
// gelu_erf(x) = x Phi(x) (BERT's exact GELU)
void gelu_erf(float* out, const float* x, int n);
// Backward of gelu_erf: dx (+)= gelu_erf'(x) dy (overwrite: =).
void gelu_erf_backward(float* dx, const float* dy, const float* x, int n, bool overwrite);
// Inverted dropout in place: x[i] = 0 where dropout_hash(seed + (first + i) * golden) <
// threshold (p * 2^32), else x[i] * scale (1 / (1 - p)). A mask is a pure function of the seed
// and the element's index, so a backward applies the same one without storing it.
void dropout(float* x, int n, uint32_t seed, uint32_t first, uint32_t threshold, float scale);
// y += x
void add(float* y, const float* x, int n);
float dot(const float* a, const float* b, int n);
int argmax(const float* x, int n);

namespace simd {
// d/dx gelu_tanh(x) for a float or an xsimd batch, written once for the scalar and vector
// kernels. With u = k (x + 0.044715 x^3): 0.5 (1 + tanh u) + 0.5 x sech^2(u) k (1 + 3 * 0.044715 x^2).
template <typename F>
F gelu_tanh_grad(F x) {
    using std::tanh;  // xsimd::tanh is found by argument lookup for batches
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    const F th = tanh(k * (x + 0.044715f * x * x * x));
    return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * k * (1.0f + 3.0f * 0.044715f * x * x);
}

// gelu_erf(x) = x Phi(x) and its derivative Phi(x) + x phi(x), for a float or an xsimd batch.
template <typename F>
F gelu_erf_value(F x) {
    using std::erf;  // xsimd::erf is found by argument lookup for batches
    return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
}
template <typename F>
F gelu_erf_grad(F x) {
    using std::erf, std::exp;
    return 0.5f * (1.0f + erf(x * 0.70710678118654752f)) + x * exp(-0.5f * x * x) * 0.39894228040143268f;
}

// MurmurHash3's 32-bit finalizer, for a uint32_t or an xsimd batch of them (dropout's mask).
constexpr uint32_t kDropoutGolden = 0x9E3779B9u;
template <typename U>
U dropout_hash(U h) {
    h = (h ^ (h >> 16)) * 0x85EBCA6Bu;
    h = (h ^ (h >> 13)) * 0xC2B2AE35u;
    return h ^ (h >> 16);
}

// Scalar references of the row kernels (their vector twins use them for tails).
void softmax_scalar(float* x, int n);
void swiglu_scalar(float* out, const float* gate, const float* up, int n);
void gelu_tanh_scalar(float* out, const float* x, int n);
void gelu_tanh_backward_scalar(float* dx, const float* dy, const float* x, int n, bool overwrite);
void gelu_erf_scalar(float* out, const float* x, int n);
void gelu_erf_backward_scalar(float* dx, const float* dy, const float* x, int n, bool overwrite);
void dropout_scalar(float* x, int n, uint32_t seed, uint32_t first, uint32_t threshold, float scale);
void layernorm_backward_scalar(float* dx, const float* dy, const float* x, const float* w, float mean, float rstd,
                               int n);
void layernorm_param_grads_scalar(float* dw, float* db, const float* dy, const float* x, float mean, float rstd, int n);

// One ISA level's row kernels: the scalar references, or their vector twins (simd/ops_vec.h,
// built for AVX2 and AVX-512 on x86). The entry points above use row_kernels(), the best
// level this CPU reaches.
struct RowKernels {
    void (*softmax)(float* x, int n);
    void (*swiglu)(float* out, const float* gate, const float* up, int n);
    void (*gelu_tanh)(float* out, const float* x, int n);
    void (*gelu_tanh_backward)(float* dx, const float* dy, const float* x, int n, bool overwrite);
    void (*gelu_erf)(float* out, const float* x, int n);
    void (*gelu_erf_backward)(float* dx, const float* dy, const float* x, int n, bool overwrite);
    void (*dropout)(float* x, int n, uint32_t seed, uint32_t first, uint32_t threshold, float scale);
    void (*layernorm_backward)(float* dx, const float* dy, const float* x, const float* w, float mean, float rstd,
                               int n);
    void (*layernorm_param_grads)(float* dw, float* db, const float* dy, const float* x, float mean, float rstd,
                                  int n);
};
const RowKernels& row_kernels();
const RowKernels& row_kernels_scalar();
const RowKernels& row_kernels_avx2();    // x86 only; needs AVX2 and FMA
const RowKernels& row_kernels_avx512();  // x86 only; needs AVX-512F/BW
}  // namespace simd

}  // namespace lm
