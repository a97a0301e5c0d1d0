// Attention of one query head over an f16 KV cache.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lm {

// out[0..head_dim) = sum_t softmax_t(q . k_t * scale) v_t over t < len, where k_t and v_t
// start `stride` halves apart in `keys` / `values`. As in ggml's f16 dot products, q is
// rounded to f16 before it meets the keys and the softmax weights before they meet the
// values. `scratch` holds len + head_dim floats.
void attend(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
            int head_dim, float scale, float* scratch);

// The f16 rows of the cache: out[i] = x[i] rounded to f16, as quantize_row(F16) does (with the
// CPU's conversion instructions where it has them).
void to_f16(const float* x, uint16_t* out, int n);

namespace simd {
void attend_scalar(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                   int head_dim, float scale, float* scratch);
// head_dim a multiple of 8; needs AVX2, FMA and F16C.
void attend_avx2(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                 int head_dim, float scale, float* scratch);
// head_dim a multiple of 16, at most kAttendAvx512MaxDim; needs AVX-512F (and F16C, FMA).
constexpr int kAttendAvx512MaxDim = 256;
void attend_avx512(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                   int head_dim, float scale, float* scratch);
}  // namespace simd

}  // namespace lm
