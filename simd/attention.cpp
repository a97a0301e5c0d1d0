#include "simd/attention.h"

#include <algorithm>
#include <cmath>

#include "simd/kernels.h"
#include "simd/ops.h"
#include "weights/dtype.h"
#include "weights/quant.h"

namespace lm {

namespace simd {

void attend_scalar(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                   int head_dim, float scale, float* scratch) {
    attend_softcap_scalar(out, q, keys, values, stride, len, head_dim, scale, 0, scratch);
}

void attend_softcap_scalar(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride,
                           int len, int head_dim, float scale, float softcap, float* scratch) {
    float* att = scratch;
    float* q16 = scratch + len;
    for (int d = 0; d < head_dim; ++d) q16[d] = f16_to_f32(f32_to_f16(q[d]));
    for (int t = 0; t < len; ++t) {
        const uint16_t* k = keys + t * stride;
        float sum = 0;
        for (int d = 0; d < head_dim; ++d) sum += q16[d] * f16_to_f32(k[d]);
        att[t] = sum * scale;
        if (softcap > 0) att[t] = softcap * std::tanh(att[t] / softcap);
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
    // each query's weights (and q); the typed path's converted q and value row fit in 2 head_dim
    return static_cast<size_t>(n) * (static_cast<size_t>(len) + n) + 2 * static_cast<size_t>(head_dim);
}

void store_kv_row(const float* x, DType type, uint8_t* out, int n) {
    if (type == DType::F16) return to_f16(x, reinterpret_cast<uint16_t*>(out), n);
    static const simd::QuantizeFn q8_0 = simd::activation_quantizer(DType::Q8_0, simd::active_isa());
    if (type == DType::Q8_0) return q8_0(x, out, n);
    quantize_row(type, x, out, n);
}

namespace {
// One query over a cache that is not f16 throughout (KvView).
void attend_typed(float* out, const float* q, const KvView& kv, int len, int head_dim, float scale, float* scratch) {
#if defined(__x86_64__)
    static const bool avx2 = simd::isa_reachable(simd::Isa::Avx2);
    if (avx2 && kv.softcap == 0 && simd::active_isa() != simd::Isa::Scalar &&
        simd::attend_typed_avx2(out, q, kv, len, head_dim, scale, scratch))
        return;
#endif
    float* att = scratch;
    float* vrow = att + len;
    uint8_t* qx = reinterpret_cast<uint8_t*>(vrow + head_dim);  // q in the keys' activation type (<= 4 bytes each)
    DType act;
    simd::activation_type(kv.k_type, &act);
    store_kv_row(q, act, qx, head_dim);
    const simd::TileFn dot = simd::tile_kernel(kv.k_type, simd::active_isa());
    for (int t = 0; t < len; t += 16)  // the tile kernels take up to 16 rows at once
        dot(head_dim, kv.keys + t * kv.k_row, kv.k_row, std::min(16, len - t), qx, 0, 1, att + t, 1);
    for (int t = 0; t < len; ++t) {
        att[t] *= scale;
        if (kv.softcap > 0) att[t] = kv.softcap * std::tanh(att[t] / kv.softcap);
    }
    softmax(att, len);
    std::fill_n(out, head_dim, 0.0f);
    for (int t = 0; t < len; ++t) {
        float a = att[t];
        if (kv.v_type == DType::F16) a = f16_to_f32(f32_to_f16(a));
        dequantize_row(kv.v_type, kv.values + t * kv.v_row, vrow, head_dim);
        for (int d = 0; d < head_dim; ++d) out[d] += a * vrow[d];
    }
}
}  // namespace

void attend_block(float* out, size_t out_stride, const float* q, size_t q_stride, int n, const KvView& kv, int len,
                  int head_dim, float scale, float* scratch) {
    if (kv.k_type == DType::F16 && kv.v_type == DType::F16 && kv.softcap > 0) {
        for (int i = 0; i < n; ++i)
            simd::attend_softcap_scalar(out + i * out_stride, q + i * q_stride, reinterpret_cast<const uint16_t*>(kv.keys),
                                        reinterpret_cast<const uint16_t*>(kv.values), kv.k_row / 2, len + i, head_dim,
                                        scale, kv.softcap, scratch);
        return;
    }
    if (kv.k_type == DType::F16 && kv.v_type == DType::F16)
        return attend_block(out, out_stride, q, q_stride, n, reinterpret_cast<const uint16_t*>(kv.keys),
                            reinterpret_cast<const uint16_t*>(kv.values), kv.k_row / 2, len, head_dim, scale, scratch);
    for (int i = 0; i < n; ++i) attend_typed(out + i * out_stride, q + i * q_stride, kv, len + i, head_dim, scale, scratch);
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
