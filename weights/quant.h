// Block-quantized formats, bit-identical to ggml's block structs (ggml-common.h), with the
// reference (scalar) quantize and dequantize of each. The dot-product kernels are in simd/.
#pragma once
#include <cstdint>
#include <cstring>

#include "weights/dtype.h"
#include "weights/tensor.h"

namespace lm {

constexpr int QK = 32;    // elements per block of the 32-wide types
constexpr int QK_K = 256; // elements per super-block of the k-quants

// x[j] = d * (q[j] - 8); q[j] is the low nibble of qs[j] for j < 16, the high nibble of
// qs[j - 16] otherwise.
struct block_q4_0 {
    uint16_t d;  // fp16
    uint8_t qs[QK / 2];
};

// x[j] = d * q[j] + m, nibbles as in q4_0.
struct block_q4_1 {
    uint16_t d, m;  // fp16
    uint8_t qs[QK / 2];
};

// x[j] = d * (q[j] - 16); 5-bit q: nibbles as in q4_0, bit 4 of element j is bit j of qh.
struct block_q5_0 {
    uint16_t d;  // fp16
    uint8_t qh[4];
    uint8_t qs[QK / 2];
};

// x[j] = d * q[j] + m, 5-bit q stored as in q5_0.
struct block_q5_1 {
    uint16_t d, m;  // fp16
    uint8_t qh[4];
    uint8_t qs[QK / 2];
};

// x[j] = d * qs[j]
struct block_q8_0 {
    uint16_t d;  // fp16
    int8_t qs[QK];
};

// As q8_0, plus s = d * sum(qs), used to fold in the weight's offset m (q4_1).
struct block_q8_1 {
    uint16_t d, s;  // fp16
    int8_t qs[QK];
};

// Super-block of 16 sub-blocks of 16: x = d * (scales[j] & 15) * q - dmin * (scales[j] >> 4),
// 2-bit q: element 128h + 32s + l (s = 0..3, l < 32) is bits 2s..2s+1 of qs[32h + l].
struct block_q2_K {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    uint16_t d, dmin;  // fp16
};

// Super-block of 16 sub-blocks of 16: x = d * (sc[j] - 32) * (q - 4), 6-bit sc packed in
// `scales` (see q3_K_scale), q: 2 low bits in qs as in q2_K, bit 2 of element e is bit e / 32
// of hmask[e % 32].
struct block_q3_K {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    uint16_t d;  // fp16
};

// Super-block of 8 sub-blocks of 32: x = d * sc[j] * q - dmin * m[j], with 6-bit sc and m
// packed in `scales` (see q4_K_scale_min) and 4-bit q: the 64 elements of chunk c are the
// low nibbles (sub-block 2c) then the high nibbles (sub-block 2c+1) of qs[32c .. 32c+31].
struct block_q4_K {
    uint16_t d, dmin;  // fp16
    uint8_t scales[12];
    uint8_t qs[QK_K / 2];
};

// As q4_K with 5-bit q: the low 4 bits as q4_K's nibbles, bit 4 of element 64c + l (l < 64)
// is bit 2c + l / 32 of qh[l % 32].
struct block_q5_K {
    uint16_t d, dmin;  // fp16
    uint8_t scales[12];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};

// Super-block of 16 sub-blocks of 16: x = d * scales[j] * (q - 32), 6-bit q: 4 low bits in
// ql, 2 high bits in qh (layout in dequantize_q6_K).
struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;  // fp16
};

// Activation blocks for the k-quants: x = d * qs, bsums[j] = sum of qs[16j .. 16j+15].
struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
};

static_assert(sizeof(block_q4_0) == 18 && alignof(block_q4_0) == 2);
static_assert(sizeof(block_q4_1) == 20);
static_assert(sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q5_1) == 24);
static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q8_1) == 36);
static_assert(sizeof(block_q2_K) == 84);
static_assert(sizeof(block_q3_K) == 110);
static_assert(sizeof(block_q4_K) == 144);
static_assert(sizeof(block_q5_K) == 176);
static_assert(sizeof(block_q6_K) == 210);
static_assert(sizeof(block_q8_K) == 292);

// Sub-block j (0..7) of a q4_K super-block: its 6-bit scale and min (ggml get_scale_min_k4).
inline void q4_K_scale_min(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Sub-block j (0..15) of a q3_K super-block: its signed scale. The low 4 bits are nibbles of
// scales[0..7] (j < 8: low nibble of byte j, else high nibble of byte j - 8), the top 2 bits
// are bits 2 (j / 4) .. 2 (j / 4) + 1 of scales[8 + j % 4]; stored with an offset of 32.
inline int q3_K_scale(int j, const uint8_t* scales) {
    const int low = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | high << 4) - 32;
}

// Does `type` have a reference quantizer / dequantizer here?
bool can_quantize(DType type);
bool can_dequantize(DType type);

// n elements (a multiple of the type's block size) of a row; throw lm::Error otherwise.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);
void quantize_row(DType type, const float* src, void* dst, int64_t n);

// No NaN or +-Inf among x[0..n). The q8 activation quantizers give a block that holds one a
// NaN scale and zero codes, so that the non-finite value reaches every output it touches.
bool all_finite(const float* x, int64_t n);

// The first row of t holding a NaN or an Inf among its values or block scales (f16 / f32
// scale fields of every block type, also those lm only names); -1 when there is none.
int64_t first_non_finite_row(const Tensor& t);

// Round to nearest, ties to even (ggml's nearest_int), valid for |x| < 2^22.
inline int nearest_int(float x) {
    float v = x + 12582912.f;
    int32_t i;
    std::memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

// The k-quant quantizers: with a scale and a min per sub-block (weights/quant_k.cpp) and
// symmetric ones (weights/quant_k_sym.cpp). All follow ggml's quantize_row_*_ref exactly.
void quantize_row_q2_K(const float* x, block_q2_K* y, int64_t n);
void quantize_row_q4_K(const float* x, block_q4_K* y, int64_t n);
void quantize_row_q5_K(const float* x, block_q5_K* y, int64_t n);
void quantize_row_q3_K(const float* x, block_q3_K* y, int64_t n);
void quantize_row_q6_K(const float* x, block_q6_K* y, int64_t n);
void quantize_row_q8_K(const float* x, block_q8_K* y, int64_t n);
void dequantize_row_q2_K(const block_q2_K* x, float* y, int64_t n);
void dequantize_row_q4_K(const block_q4_K* x, float* y, int64_t n);
void dequantize_row_q5_K(const block_q5_K* x, float* y, int64_t n);
void dequantize_row_q3_K(const block_q3_K* x, float* y, int64_t n);
void dequantize_row_q6_K(const block_q6_K* x, float* y, int64_t n);
void dequantize_row_q8_K(const block_q8_K* x, float* y, int64_t n);
// A row length that is not a multiple of QK_K: throws lm::Error naming `what`.
void check_k(int64_t n, const char* what);

}  // namespace lm
