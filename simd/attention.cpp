#include "simd/attention.h"

#include <algorithm>

#include "simd/kernels.h"
#include "simd/ops.h"
#include "weights/dtype.h"

namespace lm {

namespace simd {

void attend_scalar(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                   int head_dim, float scale, float* scratch) {
    float* att = scratch;
    float* q16 = scratch + len;
    for (int d = 0; d < head_dim; ++d) q16[d] = f16_to_f32(f32_to_f16(q[d]));
    for (int t = 0; t < len; ++t) {
        const uint16_t* k = keys + t * stride;
        float sum = 0;
        for (int d = 0; d < head_dim; ++d) sum += q16[d] * f16_to_f32(k[d]);
        att[t] = sum * scale;
    }
    softmax(att, len);
    for (int d = 0; d < head_dim; ++d) out[d] = 0.0f;
    for (int t = 0; t < len; ++t) {
        const float a = f16_to_f32(f32_to_f16(att[t]));
        const uint16_t* v = values + t * stride;
        for (int d = 0; d < head_dim; ++d) out[d] += a * f16_to_f32(v[d]);
    }
}

}  // namespace simd

void to_f16(const float* x, uint16_t* out, int n) {
    static const simd::QuantizeFn convert = simd::activation_quantizer(DType::F16, simd::active_isa());
    convert(x, out, n);
}

void attend(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
            int head_dim, float scale, float* scratch) {
#if defined(__x86_64__)
    static const bool avx512 = simd::isa_reachable(simd::Isa::Avx512);
    if (avx512 && head_dim % 16 == 0 && head_dim <= simd::kAttendAvx512MaxDim)
        return simd::attend_avx512(out, q, keys, values, stride, len, head_dim, scale, scratch);
    static const bool avx2 = simd::isa_reachable(simd::Isa::Avx2);  // AVX2, FMA and F16C
    if (avx2 && head_dim % 8 == 0) return simd::attend_avx2(out, q, keys, values, stride, len, head_dim, scale, scratch);
#endif
    simd::attend_scalar(out, q, keys, values, stride, len, head_dim, scale, scratch);
}

size_t attend_block_scratch(int n, int len, int head_dim) {
    return static_cast<size_t>(n) * (static_cast<size_t>(len) + n) + head_dim;  // each query's weights (and q)
}

void attend_block(float* out, size_t out_stride, const float* q, size_t q_stride, int n, const uint16_t* keys,
                  const uint16_t* values, size_t stride, int len, int head_dim, float scale, float* scratch) {
#if defined(__x86_64__)
    static const bool avx512 = simd::isa_reachable(simd::Isa::Avx512);
    if (avx512 && head_dim % 16 == 0 && head_dim <= simd::kAttendAvx512MaxDim)
        return simd::attend_block_avx512(out, out_stride, q, q_stride, n, keys, values, stride, len, head_dim, scale, scratch);
#endif
    for (int i = 0; i < n; ++i)
        attend(out + i * out_stride, q + i * q_stride, keys, values, stride, len + i, head_dim, scale, scratch);
}

}  // namespace lm
