// Attention of one query head over a KV cache: f16 (the fast paths below), or keys and values
// in llama.cpp's q8_0 / q4_0 blocks.
#pragma once
#include <cstddef>
#include <cstdint>

#include "weights/dtype.h"

namespace lm {

// One head's slice of a KV cache: its keys and values start at the head's first element of
// position 0, positions k_row / v_row bytes apart, each in f16 or q8_0 / q4_0 blocks.
struct KvView {
    const uint8_t* keys;
    DType k_type;
    size_t k_row;
    const uint8_t* values;
    DType v_type;
    size_t v_row;
    float softcap = 0;  // > 0: each score s becomes softcap * tanh(s / softcap) (Gemma 2)
};

// Stores n floats as a cache row of `type`: f16 as to_f16, blocks as quantize_row.
void store_kv_row(const float* x, DType type, uint8_t* out, int n);

// attend_block over any cache: the f16 kernels when keys and values are f16. Otherwise as
// llama.cpp's flash attention computes it for quantized caches: q converted to the keys'
// activation type (q8_0 for q8_0 / q4_0 keys, f16 for f16), each score the weight kernels'
// dot product, and the values dequantized to f32 and summed with f32 softmax weights (f16
// values: the weights rounded to f16, as attend does).
void attend_block(float* out, size_t out_stride, const float* q, size_t q_stride, int n, const KvView& kv, int len,
                  int head_dim, float scale, float* scratch);

// out[0..head_dim) = sum_t softmax_t(q . k_t * scale) v_t over t < len, where k_t and v_t
// start `stride` halves apart in `keys` / `values`. As in ggml's f16 dot products, q is
// rounded to f16 before it meets the keys and the softmax weights before they meet the
// values. `scratch` holds len + head_dim floats.
void attend(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
            int head_dim, float scale, float* scratch);

// Causal attention of n consecutive queries (rows q_stride floats apart; query i over the first
// len + i keys) into rows out_stride apart: the numbers of n calls of attend, but with AVX-512
// several queries share each value row (their weighted sums interleaved). `scratch` holds
// attend_block_scratch floats.
void attend_block(float* out, size_t out_stride, const float* q, size_t q_stride, int n, const uint16_t* keys,
                  const uint16_t* values, size_t stride, int len, int head_dim, float scale, float* scratch);
size_t attend_block_scratch(int n, int len, int head_dim);

// The f16 rows of the cache: out[i] = x[i] rounded to f16, as quantize_row(F16) does (with the
// CPU's conversion instructions where it has them).
void to_f16(const float* x, uint16_t* out, int n);

namespace simd {
void attend_scalar(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                   int head_dim, float scale, float* scratch);
// attend_scalar with each score s = scale * q.k replaced by softcap * tanh(s / softcap).
void attend_softcap_scalar(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride,
                           int len, int head_dim, float scale, float softcap, float* scratch);
// head_dim a multiple of 8; needs AVX2, FMA and F16C.
void attend_avx2(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                 int head_dim, float scale, float* scratch);
// head_dim a multiple of 16, at most kAttendAvx512MaxDim; needs AVX-512F (and F16C, FMA).
constexpr int kAttendAvx512MaxDim = 256;
void attend_avx512(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                   int head_dim, float scale, float* scratch);
// attend_block over q8_0 / q4_0 keys and values (not f16): false when it does not apply
// (another type, head_dim not a multiple of 32 or above 512). Scores as the q8_0 weight
// kernels sum them (per block, integer dot times both scales); each value block weighted by
// its softmax weight times its scale.
bool attend_typed_avx2(float* out, const float* q, const KvView& kv, int len, int head_dim, float scale,
                       float* scratch);
// attend_block's kernel: the same numbers as attend_avx512 for each query.
void attend_block_avx512(float* out, size_t out_stride, const float* q, size_t q_stride, int n, const uint16_t* keys,
                         const uint16_t* values, size_t stride, int len, int head_dim, float scale, float* scratch);
}  // namespace simd

}  // namespace lm
