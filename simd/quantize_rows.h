// The row loops of the vector activation quantizers (quantize_avx2.cpp, quantize_avx512.cpp)
// around each ISA's block function, and the choice of q8_K's scale: what the reference does
// (weights/quant.cpp, quant_k_sym.cpp), in one place, so both stay bit-identical to it. Blocks
// the vector code cannot define (NaN, +-Inf, a scale whose inverse overflows) take the
// reference quantizer. Internal linkage: included by those two files only.
#pragma once
#include <cmath>
#include <cstdint>

#include "weights/quant.h"

namespace lm::simd {
namespace {

// Block(x, qs, &d, &sum): 32 floats to q8 codes, the unrounded scale d and the code sum;
// false, and nothing written, for a block the reference must quantize.
template <auto Block>
void quantize_q8_0_rows(const float* x, void* dst, int64_t n) {
    block_q8_0* y = static_cast<block_q8_0*>(dst);
    for (int64_t i = 0; i < n / QK; ++i) {
        float d;
        int sum;
        if (Block(x + i * QK, y[i].qs, &d, &sum))
            y[i].d = f32_to_f16(d);
        else
            quantize_row(DType::Q8_0, x + i * QK, &y[i], QK);
    }
}

template <auto Block>
void quantize_q8_1_rows(const float* x, void* dst, int64_t n) {
    block_q8_1* y = static_cast<block_q8_1*>(dst);
    for (int64_t i = 0; i < n / QK; ++i) {
        float d;
        int sum;
        if (!Block(x + i * QK, y[i].qs, &d, &sum)) {
            quantize_row(DType::Q8_1, x + i * QK, &y[i], QK);
            continue;
        }
        y[i].d = f32_to_f16(d);
        y[i].s = f32_to_f16(static_cast<float>(sum) * d);
    }
}

// q8_K's inverse scale for the QK_K floats at x, whose largest magnitude is amax (bad: one
// of them is NaN or +-Inf): the signed extreme maps to -127, the first element of largest
// magnitude giving the sign, as the reference. 0 when the reference must quantize the block
// (zeros, non-finite values, or so small that -127 / amax overflows).
inline float q8_K_iscale(const float* x, float amax, bool bad) {
    if (bad || amax == 0 || !std::isfinite(127.f / amax)) return 0;
    int first = 0;
    while (first < QK_K - 1 && std::fabs(x[first]) != amax) ++first;
    return -127.f / x[first];
}

}  // namespace
}  // namespace lm::simd
