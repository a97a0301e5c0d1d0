// Reference quantize / dequantize of the 32-element block types and the float types. These
// follow ggml's *_ref functions step by step so files we write load the same in llama.cpp.
#include "weights/quant.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "weights/error.h"

// Quantized bytes must not depend on the target: no fused multiply-add (GCC contracts
// a * b + c by default in C++ wherever the ISA has FMA, e.g. on aarch64).
#pragma GCC optimize("fp-contract=off")

namespace lm {

bool all_finite(const float* x, int64_t n) {
    bool finite = true;
    for (int64_t j = 0; j < n; ++j) finite &= std::fabs(x[j]) <= FLT_MAX;  // false for NaN and +-Inf
    return finite;
}

namespace {

// float -> int8 as static_cast truncates it, but defined for every input: NaN and values
// out of range (non-finite weights or activations from a hostile file) give 0.
int8_t to_int8(float v) { return v > -129.f && v < 128.f ? static_cast<int8_t>(v) : 0; }

// The element of largest magnitude, with its sign (ggml picks the first on ties).
float signed_absmax(const float* x, int n) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

float absmax(const float* x, int n) {
    float amax = 0;
    for (int j = 0; j < n; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    return amax;
}

// The q8 activation blocks of a row holding NaN or +-Inf: scale NaN, codes 0, so that every
// dot product with the block is NaN (codes alone would drop a NaN: the model would go on
// computing with garbage instead of reporting it).
template <class Block>
bool non_finite_block(const float* x, int n, Block& y) {
    if (all_finite(x, n)) return false;
    std::memset(&y, 0, sizeof y);
    if constexpr (requires { y.bsums; }) {
        y.d = NAN;
    } else {
        y.d = f32_to_f16(NAN);
        if constexpr (requires { y.s; }) y.s = y.d;
    }
    return true;
}

void quantize_q8_0(const float* x, block_q8_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        if (non_finite_block(x, QK, y[i])) continue;
        const float d = absmax(x, QK) / 127.f;
        const float id = d ? 1.f / d : 0.f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK; ++j) y[i].qs[j] = to_int8(std::roundf(x[j] * id));
    }
}

void quantize_q8_1(const float* x, block_q8_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        if (non_finite_block(x, QK, y[i])) continue;
        const float d = absmax(x, QK) / 127.f;
        const float id = d ? 1.f / d : 0.f;
        int sum = 0;
        for (int j = 0; j < QK; ++j) {
            y[i].qs[j] = to_int8(std::roundf(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].d = f32_to_f16(d);
        y[i].s = f32_to_f16(static_cast<float>(sum) * d);
    }
}

// d = max / -8 maps the extreme value to q = 0 (-8 after the offset); ggml truncates
// x * id + 8.5 and clamps at 15.
void quantize_q4_0(const float* x, block_q4_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        const float d = signed_absmax(x, QK) / -8.f;
        const float id = d ? 1.f / d : 0.f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK / 2; ++j) {
            const int q0 = std::min(15, static_cast<int>(to_int8(x[j] * id + 8.5f)));
            const int q1 = std::min(15, static_cast<int>(to_int8(x[j + 16] * id + 8.5f)));
            y[i].qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
        }
    }
}

void quantize_q4_1(const float* x, block_q4_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        float min = x[0], max = x[0];
        for (int j = 1; j < QK; ++j) {
            min = std::fmin(min, x[j]);
            max = std::fmax(max, x[j]);
        }
        const float d = (max - min) / 15.f;
        const float id = d ? 1.f / d : 0.f;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(min);
        for (int j = 0; j < QK / 2; ++j) {
            const int q0 = std::min(15, static_cast<int>(to_int8((x[j] - min) * id + 0.5f)));
            const int q1 = std::min(15, static_cast<int>(to_int8((x[j + 16] - min) * id + 0.5f)));
            y[i].qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
        }
    }
}

void quantize_q5_0(const float* x, block_q5_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        const float d = signed_absmax(x, QK) / -16.f;
        const float id = d ? 1.f / d : 0.f;
        y[i].d = f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; ++j) {
            const int q0 = std::min(31, static_cast<int>(to_int8(x[j] * id + 16.5f)));
            const int q1 = std::min(31, static_cast<int>(to_int8(x[j + 16] * id + 16.5f)));
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0xF) | (q1 & 0xF) << 4);
            qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
            qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
        }
        std::memcpy(y[i].qh, &qh, 4);
    }
}

// As q4_1 with 5 bits: d = (max - min) / 31, codes truncated from (x - min) / d + 0.5.
void quantize_q5_1(const float* x, block_q5_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK; ++j) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 31.f;
        const float id = d ? 1.f / d : 0.f;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(min);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; ++j) {
            const int q0 = static_cast<uint8_t>(to_int8((x[j] - min) * id + 0.5f));
            const int q1 = static_cast<uint8_t>(to_int8((x[j + 16] - min) * id + 0.5f));
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0xF) | (q1 & 0xF) << 4);
            qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
            qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
        }
        std::memcpy(y[i].qh, &qh, 4);
    }
}

void dequantize_q4_0(const block_q4_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += QK) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < QK / 2; ++j) {
            y[j] = static_cast<float>((x[i].qs[j] & 0xF) - 8) * d;
            y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_q4_1(const block_q4_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += QK) {
        const float d = f16_to_f32(x[i].d), m = f16_to_f32(x[i].m);
        for (int j = 0; j < QK / 2; ++j) {
            y[j] = static_cast<float>(x[i].qs[j] & 0xF) * d + m;
            y[j + 16] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
        }
    }
}

void dequantize_q5_0(const block_q5_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += QK) {
        const float d = f16_to_f32(x[i].d);
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < QK / 2; ++j) {
            const int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
            y[j] = static_cast<float>(((x[i].qs[j] & 0xF) | h0) - 16) * d;
            y[j + 16] = static_cast<float>(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void dequantize_q5_1(const block_q5_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += QK) {
        const float d = f16_to_f32(x[i].d), m = f16_to_f32(x[i].m);
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < QK / 2; ++j) {
            const int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
            y[j] = static_cast<float>((x[i].qs[j] & 0xF) | h0) * d + m;
            y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

void dequantize_q8_0(const block_q8_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += QK) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < QK; ++j) y[j] = x[i].qs[j] * d;
    }
}

void dequantize_q8_1(const block_q8_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += QK) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < QK; ++j) y[j] = x[i].qs[j] * d;
    }
}

void check_blocks(DType type, int64_t n, const char* what) {
    const int bs = info(type).block_size;
    if (n < 0 || n % bs != 0)
        fail(what, ": ", n, " elements is not a multiple of the ", dtype_name(type), " block size ", bs);
}

}  // namespace

bool can_quantize(DType type) {
    switch (type) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::Q8_0:
        case DType::Q8_1:
        case DType::Q8_K:
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K: return true;
        default: return false;
    }
}

bool can_dequantize(DType type) { return can_quantize(type); }

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    check_blocks(type, n, "dequantize_row");
    const int64_t nb = n / info(type).block_size;
    switch (type) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case DType::F16: {
            const uint16_t* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
            return;
        }
        case DType::BF16: {
            const uint16_t* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
            return;
        }
        case DType::Q4_0: dequantize_q4_0(static_cast<const block_q4_0*>(src), dst, nb); return;
        case DType::Q4_1: dequantize_q4_1(static_cast<const block_q4_1*>(src), dst, nb); return;
        case DType::Q5_0: dequantize_q5_0(static_cast<const block_q5_0*>(src), dst, nb); return;
        case DType::Q5_1: dequantize_q5_1(static_cast<const block_q5_1*>(src), dst, nb); return;
        case DType::Q8_0: dequantize_q8_0(static_cast<const block_q8_0*>(src), dst, nb); return;
        case DType::Q8_1: dequantize_q8_1(static_cast<const block_q8_1*>(src), dst, nb); return;
        case DType::Q2_K: dequantize_row_q2_K(static_cast<const block_q2_K*>(src), dst, n); return;
        case DType::Q3_K: dequantize_row_q3_K(static_cast<const block_q3_K*>(src), dst, n); return;
        case DType::Q4_K: dequantize_row_q4_K(static_cast<const block_q4_K*>(src), dst, n); return;
        case DType::Q5_K: dequantize_row_q5_K(static_cast<const block_q5_K*>(src), dst, n); return;
        case DType::Q6_K: dequantize_row_q6_K(static_cast<const block_q6_K*>(src), dst, n); return;
        case DType::Q8_K: dequantize_row_q8_K(static_cast<const block_q8_K*>(src), dst, n); return;
        default: fail("dequantize_row: type ", dtype_name(type), " is not supported by lm");
    }
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
    check_blocks(type, n, "quantize_row");
    const int64_t nb = n / info(type).block_size;
    switch (type) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case DType::F16: {
            uint16_t* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
            return;
        }
        case DType::BF16: {
            uint16_t* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
            return;
        }
        case DType::Q4_0: quantize_q4_0(src, static_cast<block_q4_0*>(dst), nb); return;
        case DType::Q4_1: quantize_q4_1(src, static_cast<block_q4_1*>(dst), nb); return;
        case DType::Q5_0: quantize_q5_0(src, static_cast<block_q5_0*>(dst), nb); return;
        case DType::Q5_1: quantize_q5_1(src, static_cast<block_q5_1*>(dst), nb); return;
        case DType::Q8_0: quantize_q8_0(src, static_cast<block_q8_0*>(dst), nb); return;
        case DType::Q8_1: quantize_q8_1(src, static_cast<block_q8_1*>(dst), nb); return;
        case DType::Q2_K: quantize_row_q2_K(src, static_cast<block_q2_K*>(dst), n); return;
        case DType::Q3_K: quantize_row_q3_K(src, static_cast<block_q3_K*>(dst), n); return;
        case DType::Q4_K: quantize_row_q4_K(src, static_cast<block_q4_K*>(dst), n); return;
        case DType::Q5_K: quantize_row_q5_K(src, static_cast<block_q5_K*>(dst), n); return;
        case DType::Q6_K: quantize_row_q6_K(src, static_cast<block_q6_K*>(dst), n); return;
        case DType::Q8_K: quantize_row_q8_K(src, static_cast<block_q8_K*>(dst), n); return;
        default: fail("quantize_row: type ", dtype_name(type), " has no quantizer in lm");
    }
}

namespace {

// Scale fields of the block types lm cannot dequantize: byte offsets in a block (ggml-common.h).
struct ScaleFields {
    size_t offsets[2];
    int count;
    bool f32;  // q8_K's d is a float
};

ScaleFields scale_fields(DType type) {
    switch (type) {
        case DType::Q5_1: case DType::Q8_1: case DType::Q5_K: return {{0, 2}, 2, false};
        case DType::Q2_K: return {{80, 82}, 2, false};  // after scales[16] and qs[64]
        case DType::Q3_K: return {{108, 0}, 1, false};  // after hmask[32], qs[64] and scales[12]
        case DType::Q8_K: return {{0, 0}, 1, true};
        default: return {{0, 0}, 0, false};
    }
}

bool scales_finite(DType type, const uint8_t* row, int64_t n) {
    const ScaleFields fields = scale_fields(type);
    const DTypeInfo& i = info(type);
    for (int64_t b = 0; b < n / i.block_size; ++b)
        for (int f = 0; f < fields.count; ++f) {
            const uint8_t* p = row + b * i.block_bytes + fields.offsets[f];
            float v;
            if (fields.f32) {
                std::memcpy(&v, p, 4);
            } else {
                uint16_t h;
                std::memcpy(&h, p, 2);
                v = f16_to_f32(h);
            }
            if (!std::isfinite(v)) return false;
        }
    return true;
}

}  // namespace

int64_t first_non_finite_row(const Tensor& t) {
    const int64_t cols = t.cols();
    std::vector<float> values(can_dequantize(t.type) ? static_cast<size_t>(cols) : 0);
    for (int64_t r = 0; r < t.rows(); ++r) {
        if (values.empty()) {
            if (!scales_finite(t.type, t.row(r), cols)) return r;
            continue;
        }
        dequantize_row(t.type, t.row(r), values.data(), cols);  // a bad scale spoils every value it scales
        if (!all_finite(values.data(), cols)) return r;
    }
    return -1;
}

}  // namespace lm
