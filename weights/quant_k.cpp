// Reference quantize / dequantize of the k-quants with a scale and a min per sub-block: q2_K,
// q4_K and q5_K. Without an importance matrix llama-quantize runs ggml's quantize_row_*_ref;
// these repeat its search step by step (same float operations in the same order), so the
// blocks come out byte-identical. The symmetric k-quants are in quant_k_sym.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "weights/error.h"
#include "weights/quant.h"

// Quantized bytes must not depend on the target: no fused multiply-add (GCC contracts
// a * b + c by default in C++ wherever the ISA has FMA, e.g. on aarch64).
#pragma GCC optimize("fp-contract=off")

namespace lm {

void check_k(int64_t n, const char* what) {
    if (n < 0 || n % QK_K != 0) fail(what, ": ", n, " elements is not a multiple of ", QK_K);
}

namespace {

float weighted_error(float scale, float offset, const uint8_t* L, const float* x, const float* w, int n, bool abs_error) {
    float err = 0;
    for (int i = 0; i < n; ++i) {
        float diff = scale * static_cast<float>(L[i]) + offset - x[i];
        diff = abs_error ? std::fabs(diff) : diff * diff;
        err += w[i] * diff;
    }
    return err;
}

// Fits x ~ scale * L + offset (offset <= 0, L in [0, nmax]) minimizing the w-weighted
// squared (or absolute) error: starts from the min/max grid, then tries nstep + 1 grids of
// inverse scale (nmax + rmin + rdelta * step) / (max - min), each followed by the weighted
// least-squares scale and offset for its codes. Returns the scale; *neg_offset = -offset.
// (ggml's make_qkx2_quants.)
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_offset, float rmin,
                    float rdelta, int nstep, bool abs_error) {
    float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        std::memset(L, 0, static_cast<size_t>(n));
        *neg_offset = -min;
        return 0.f;
    }
    float iscale = static_cast<float>(nmax) / (max - min), scale = 1 / iscale;
    for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
    float best = weighted_error(scale, min, L, x, w, n, abs_error);
    uint8_t trial[32];
    for (int step = 0; step <= nstep; ++step) {
        iscale = (rmin + rdelta * static_cast<float>(step) + static_cast<float>(nmax)) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            trial[i] = static_cast<uint8_t>(l);
            const float fl = static_cast<float>(l);
            sum_l += w[i] * fl;
            sum_l2 += w[i] * fl * fl;
            sum_xl += w[i] * fl * x[i];
        }
        const float det = sum_w * sum_l2 - sum_l * sum_l;
        if (!(det > 0)) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        const float err = weighted_error(this_scale, this_min, trial, x, w, n, abs_error);
        if (err < best) {
            std::memcpy(L, trial, static_cast<size_t>(n));
            best = err, scale = this_scale, min = this_min;
        }
    }
    *neg_offset = -min;
    return scale;
}

// q4_K / q5_K sub-block weights: rms of the sub-block plus |x|.
void rms_plus_abs(const float* x, float* w) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[l] * x[l];
    const float rms = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = rms + std::fabs(x[l]);
}

// Packs 6-bit scale ls and min lm of sub-block j into the 12 scale bytes of q4_K / q5_K
// (inverse of q4_K_scale_min): bytes 0-3 / 4-7 hold the low 6 bits of sub-blocks 0-3,
// bytes 8-11 the low 4 bits of sub-blocks 4-7, their top 2 bits go to bits 6-7 of bytes 0-7.
void pack_scale_min(uint8_t* q, int j, int ls, int lm) {
    if (j < 4) {
        q[j] = static_cast<uint8_t>(ls);
        q[j + 4] = static_cast<uint8_t>(lm);
    } else {
        q[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        q[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
        q[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
}

// q4_K and q5_K: 8 sub-blocks of 32 fitted separately, their scales and mins quantized to 6
// bits against the largest, then the codes chosen again against the stored scales (codes
// of a sub-block whose stored scale is 0 stay as fitted). Fills scales, d, dmin and L.
template <class Block>
void quantize_scale_min_32(const float* x, Block& y, uint8_t* L, int nmax, float rmin, int nstep) {
    float scales[8], mins[8], max_scale = 0, max_min = 0, w[32];
    for (int j = 0; j < 8; ++j) {
        rms_plus_abs(x + 32 * j, w);
        scales[j] = fit_scale_min(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    std::memset(y.scales, 0, sizeof y.scales);
    for (int j = 0; j < 8; ++j) {
        // as ggml: the code goes through uint8_t before the clamp
        const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
        const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
        pack_scale_min(y.scales, j, ls, lm);
    }
    y.d = f32_to_f16(max_scale / 63.f);
    y.dmin = f32_to_f16(max_min / 63.f);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        q4_K_scale_min(j, y.scales, &sc, &m);
        const float d = f16_to_f32(y.d) * static_cast<float>(sc);
        if (!d) continue;
        const float dm = f16_to_f32(y.dmin) * static_cast<float>(m);
        for (int l = 0; l < 32; ++l)
            L[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / d), 0, nmax));
    }
}

}  // namespace

// q2_K: 16 sub-blocks of 16 fitted with |x| weights and absolute error, 4-bit scales and mins.
void quantize_row_q2_K(const float* x, block_q2_K* y, int64_t n) {
    check_k(n, "quantize_row q2_K");
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        uint8_t L[QK_K];
        float scales[16], mins[16], max_scale = 0, max_min = 0, w[16];
        for (int j = 0; j < 16; ++j) {
            for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
            scales[j] = fit_scale_min(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        std::memset(y[i].scales, 0, sizeof y[i].scales);
        y[i].d = y[i].dmin = f32_to_f16(0.f);
        if (max_scale > 0) {
            const float iscale = 15.f / max_scale;
            for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
            y[i].d = f32_to_f16(max_scale / 15.f);
        }
        if (max_min > 0) {
            const float iscale = 15.f / max_min;
            for (int j = 0; j < 16; ++j) y[i].scales[j] |= static_cast<uint8_t>(nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = f32_to_f16(max_min / 15.f);
        }
        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32(y[i].d) * static_cast<float>(y[i].scales[j] & 0xF);
            if (!d) continue;
            const float dm = f16_to_f32(y[i].dmin) * static_cast<float>(y[i].scales[j] >> 4);
            for (int l = 0; l < 16; ++l)
                L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[16 * j + l] + dm) / d), 0, 3));
        }
        for (int h = 0; h < 2; ++h)
            for (int l = 0; l < 32; ++l) {
                const uint8_t* q = L + 128 * h + l;
                y[i].qs[32 * h + l] = static_cast<uint8_t>(q[0] | q[32] << 2 | q[64] << 4 | q[96] << 6);
            }
    }
}

void dequantize_row_q2_K(const block_q2_K* x, float* y, int64_t n) {
    check_k(n, "dequantize_row q2_K");
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = f16_to_f32(x[i].d), dmin = f16_to_f32(x[i].dmin);
        for (int j = 0; j < 16; ++j) {  // sub-block j: elements 16j .. 16j+15
            const uint8_t sc = x[i].scales[j];
            const float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
            const uint8_t* q = x[i].qs + 32 * (j / 8) + 16 * (j % 2);
            const int shift = 2 * ((j % 8) / 2);
            for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l] >> shift) & 3) - ml;
        }
    }
}

void quantize_row_q4_K(const float* x, block_q4_K* y, int64_t n) {
    check_k(n, "quantize_row q4_K");
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        uint8_t L[QK_K];
        quantize_scale_min_32(x, y[i], L, 15, -1.f, 20);
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l) y[i].qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | L[64 * c + 32 + l] << 4);
    }
}

void dequantize_row_q4_K(const block_q4_K* x, float* y, int64_t n) {
    check_k(n, "dequantize_row q4_K");
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = f16_to_f32(x[i].d), dmin = f16_to_f32(x[i].dmin);
        for (int c = 0; c < 4; ++c) {
            uint8_t sc0, m0, sc1, m1;
            q4_K_scale_min(2 * c, x[i].scales, &sc0, &m0);
            q4_K_scale_min(2 * c + 1, x[i].scales, &sc1, &m1);
            const float d0 = d * sc0, o0 = dmin * m0, d1 = d * sc1, o1 = dmin * m1;
            const uint8_t* q = x[i].qs + 32 * c;
            for (int l = 0; l < 32; ++l) *y++ = d0 * static_cast<float>(q[l] & 0xF) - o0;
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] >> 4) - o1;
        }
    }
}

void quantize_row_q5_K(const float* x, block_q5_K* y, int64_t n) {
    check_k(n, "quantize_row q5_K");
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        uint8_t L[QK_K];
        quantize_scale_min_32(x, y[i], L, 31, -0.5f, 15);
        std::memset(y[i].qh, 0, sizeof y[i].qh);
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l) {
                const uint8_t lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                y[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | (hi & 0xF) << 4);
                y[i].qh[l] |= static_cast<uint8_t>((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
            }
    }
}

void dequantize_row_q5_K(const block_q5_K* x, float* y, int64_t n) {
    check_k(n, "dequantize_row q5_K");
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = f16_to_f32(x[i].d), dmin = f16_to_f32(x[i].dmin);
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            q4_K_scale_min(j, x[i].scales, &sc, &m);
            const float dl = d * sc, ml = dmin * m;
            const uint8_t* q = x[i].qs + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            for (int l = 0; l < 32; ++l) {
                const int v = ((q[l] >> shift) & 0xF) | ((x[i].qh[l] >> j) & 1) << 4;
                *y++ = dl * static_cast<float>(v) - ml;
            }
        }
    }
}

}  // namespace lm
