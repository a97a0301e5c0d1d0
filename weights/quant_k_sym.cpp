// Reference quantize / dequantize of the symmetric k-quants (x = d * sc * q, no min): q3_K,
// q6_K and the q8_K activation blocks. Like quant_k.cpp these repeat ggml's
// quantize_row_*_ref searches operation by operation, so the bytes match llama-quantize.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "weights/error.h"
#include "weights/quant.h"

// Quantized bytes must not depend on the target: no fused multiply-add (GCC contracts
// a * b + c by default in C++ wherever the ISA has FMA, e.g. on aarch64).
#pragma GCC optimize("fp-contract=off")

namespace lm {

namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: below it a group is all zero

// The element of largest magnitude, with its sign (the first on ties).
float signed_max(const float* x, int n, float* amax) {
    float max = 0;
    *amax = 0;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > *amax) *amax = std::fabs(x[i]), max = x[i];
    return max;
}

// Codes l = round(iscale * x) in [-nmax, nmax - 1] with x^2 weights: accumulates
// sum w x l and sum w l^2 and stores l + nmax (when L is given).
void signed_codes(const float* x, int n, int nmax, float iscale, int8_t* L, float* sumlx, float* suml2) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        if (L) L[i] = static_cast<int8_t>(l + nmax);
        const float w = x[i] * x[i], fl = static_cast<float>(l);
        *sumlx += w * x[i] * fl;
        *suml2 += w * fl * fl;
    }
}

// q6_K's sub-block fit (ggml's make_qx_quants with x^2 weights): the scale of the codes
// for inverse scale -nmax / max, then 18 neighbouring inverse scales -(nmax + 0.1 s) / max,
// keeping the one whose least-squares scale explains most of sum w x^2. L gets l + nmax.
float fit_symmetric(int n, int nmax, const float* x, int8_t* L) {
    float amax;
    const float max = signed_max(x, n, &amax);
    if (amax < kGroupMaxEps) {
        std::memset(L, 0, static_cast<size_t>(n));
        return 0.f;
    }
    float sumlx, suml2;
    signed_codes(x, n, nmax, static_cast<float>(-nmax) / max, L, &sumlx, &suml2);
    float scale = suml2 ? sumlx / suml2 : 0.f, best = scale * sumlx;
    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
        signed_codes(x, n, nmax, iscale, nullptr, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            signed_codes(x, n, nmax, iscale, L, &sumlx, &suml2);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// q3_K's sub-block fit (ggml's make_q3_quants with rmse): codes for -nmax / max, then up to
// 5 passes that move single codes to their best value given the others while that raises
// (sum w x l)^2 / sum w l^2. L gets l + nmax.
float fit_symmetric_refined(int n, int nmax, const float* x, int8_t* L) {
    float amax;
    const float max = signed_max(x, n, &amax);
    if (amax < kGroupMaxEps) {
        std::memset(L, 0, static_cast<size_t>(n));
        return 0.f;
    }
    const float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = static_cast<int8_t>(l);
        const float w = x[i] * x[i], fl = static_cast<float>(l);
        sumlx += w * x[i] * fl;
        suml2 += w * fl * fl;
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i], old = static_cast<float>(L[i]);
            float slx = sumlx - w * x[i] * old;
            if (!(slx > 0)) continue;
            float sl2 = suml2 - w * old * old;
            const int l = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (l == L[i]) continue;
            const float fl = static_cast<float>(l);
            slx += w * x[i] * fl;
            sl2 += w * fl * fl;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = static_cast<int8_t>(l);
                sumlx = slx, suml2 = sl2;
                ++changed;
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
    return sumlx / suml2;
}

}  // namespace

void quantize_row_q3_K(const float* x, block_q3_K* y, int64_t n) {
    check_k(n, "quantize_row q3_K");
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        int8_t L[QK_K];
        float scales[16], max_scale = 0, amax = 0;
        for (int j = 0; j < 16; ++j) {
            scales[j] = fit_symmetric_refined(16, 4, x + 16 * j, L + 16 * j);
            if (std::fabs(scales[j]) > amax) amax = std::fabs(scales[j]), max_scale = scales[j];
        }
        std::memset(y[i].scales, 0, sizeof y[i].scales);
        y[i].d = f32_to_f16(0.f);
        if (max_scale != 0) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < 16; ++j) {
                const int l = std::clamp<int>(static_cast<int8_t>(nearest_int(iscale * scales[j])), -32, 31) + 32;
                if (j < 8)
                    y[i].scales[j] = static_cast<uint8_t>(l & 0xF);
                else
                    y[i].scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
                y[i].scales[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
            }
            y[i].d = f32_to_f16(1 / iscale);
        }
        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32(y[i].d) * static_cast<float>(q3_K_scale(j, y[i].scales));
            if (!d) continue;
            for (int l = 0; l < 16; ++l)
                L[16 * j + l] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * j + l] / d), -4, 3) + 4);
        }
        std::memset(y[i].hmask, 0, sizeof y[i].hmask);
        for (int e = 0; e < QK_K; ++e) {
            if (L[e] > 3) {
                y[i].hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
                L[e] = static_cast<int8_t>(L[e] - 4);
            }
        }
        for (int h = 0; h < 2; ++h)
            for (int l = 0; l < 32; ++l) {
                const int8_t* q = L + 128 * h + l;
                y[i].qs[32 * h + l] = static_cast<uint8_t>(q[0] | q[32] << 2 | q[64] << 4 | q[96] << 6);
            }
    }
}

void dequantize_row_q3_K(const block_q3_K* x, float* y, int64_t n) {
    check_k(n, "dequantize_row q3_K");
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < 16; ++j) {  // sub-block j: elements 16j .. 16j+15, as in q2_K
            const float dl = d * static_cast<float>(q3_K_scale(j, x[i].scales));
            const int first = 16 * j;
            const uint8_t* q = x[i].qs + 32 * (j / 8) + 16 * (j % 2);
            const int shift = 2 * ((j % 8) / 2);
            for (int l = 0; l < 16; ++l) {
                const int e = first + l;
                const int high = (x[i].hmask[e % 32] >> (e / 32)) & 1;
                *y++ = dl * static_cast<float>(((q[l] >> shift) & 3) - (high ? 0 : 4));
            }
        }
    }
}

// q6_K: element l of half h (128 elements) and quarter k (0..3, 32 elements each) has its
// low nibble in ql[64h + l + 32 (k & 1)] (low nibble for k < 2, high otherwise) and its two
// high bits at bits 2k..2k+1 of qh[32h + l].
void quantize_row_q6_K(const float* x, block_q6_K* y, int64_t n) {
    check_k(n, "quantize_row q6_K");
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        int8_t L[QK_K];
        float scales[16], max_scale = 0, amax = 0;
        for (int j = 0; j < 16; ++j) {
            scales[j] = fit_symmetric(16, 32, x + 16 * j, L + 16 * j);
            if (std::fabs(scales[j]) > amax) amax = std::fabs(scales[j]), max_scale = scales[j];
        }
        if (amax < kGroupMaxEps) {
            std::memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = f32_to_f16(1 / iscale);
        for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[j])));
        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32(y[i].d) * static_cast<float>(y[i].scales[j]);
            if (!d) continue;
            for (int l = 0; l < 16; ++l)
                L[16 * j + l] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
        }
        for (int h = 0; h < 2; ++h) {
            const int8_t* q = L + 128 * h;
            uint8_t* ql = y[i].ql + 64 * h;
            uint8_t* qh = y[i].qh + 32 * h;
            for (int l = 0; l < 32; ++l) {
                ql[l] = static_cast<uint8_t>((q[l] & 0xF) | (q[l + 64] & 0xF) << 4);
                ql[l + 32] = static_cast<uint8_t>((q[l + 32] & 0xF) | (q[l + 96] & 0xF) << 4);
                qh[l] = static_cast<uint8_t>(q[l] >> 4 | (q[l + 32] >> 4) << 2 | (q[l + 64] >> 4) << 4 | (q[l + 96] >> 4) << 6);
            }
        }
    }
}

void dequantize_row_q6_K(const block_q6_K* x, float* y, int64_t n) {
    check_k(n, "dequantize_row q6_K");
    for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
        const float d = f16_to_f32(x[i].d);
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = x[i].ql + 64 * h;
            const uint8_t* qh = x[i].qh + 32 * h;
            const int8_t* sc = x[i].scales + 8 * h;
            float* out = y + 128 * h;
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                out[l] = d * sc[is] * static_cast<float>(q1);
                out[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
                out[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
                out[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
            }
        }
    }
}

// ggml's quantize_row_q8_K_ref: the extreme value maps to -127 (so +127 clamps), d = 1/iscale.
// Two cases ggml leaves to chance: a block holding NaN or +-Inf gets d = NaN and zero codes
// (see all_finite), and one so small that -127 / max overflows is all zeros, as is its product.
void quantize_row_q8_K(const float* x, block_q8_K* y, int64_t n) {
    check_k(n, "quantize_row q8_K");
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        const bool finite = all_finite(x, QK_K);
        float amax = 0, max = 0;
        for (int j = 0; j < QK_K; ++j) {
            if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
        }
        const float iscale = amax == 0 ? 0.f : -127.f / max;
        if (!finite || !std::isfinite(iscale) || amax == 0) {
            std::memset(&y[i], 0, sizeof y[i]);
            if (!finite) y[i].d = NAN;
            continue;
        }
        for (int j = 0; j < QK_K; ++j) y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
        for (int j = 0; j < QK_K / 16; ++j) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = static_cast<int16_t>(sum);
        }
        y[i].d = 1 / iscale;
    }
}

void dequantize_row_q8_K(const block_q8_K* x, float* y, int64_t n) {
    check_k(n, "dequantize_row q8_K");
    for (int64_t i = 0; i < n / QK_K; ++i)
        for (int j = 0; j < QK_K; ++j) *y++ = x[i].d * x[i].qs[j];
}

}  // namespace lm
