// Reference quantize / dequantize of the k-quants (256-element super-blocks): q4_K, q6_K and
// the q8_K activation blocks. q8_K follows ggml's quantize_row_q8_K_ref exactly; the q4_K and
// q6_K quantizers are our own least-squares searches producing ggml's bit layout.
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

// Best (scale, offset <= 0) for x ~ scale * L + offset with L in [0, nmax]: tries a
// few inverse scales around the min/max one and solves least squares for each.
void fit_affine(const float* x, int n, int nmax, float* scale, float* offset) {
    float min = x[0], max = x[0];
    for (int i = 1; i < n; ++i) {
        min = std::min(min, x[i]);
        max = std::max(max, x[i]);
    }
    min = std::min(min, 0.f);  // the format can only subtract a non-negative min
    if (max <= min) {
        *scale = 0;
        *offset = min;
        return;
    }
    float best_err = INFINITY;
    *scale = (max - min) / static_cast<float>(nmax);
    *offset = min;
    for (int step = -8; step <= 8; ++step) {
        const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (max - min);
        double sl = 0, sll = 0, sx = 0, slx = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            sl += l, sll += l * l, sx += x[i], slx += l * x[i];
        }
        const double det = n * sll - sl * sl;
        if (det <= 0) continue;
        double s = (n * slx - sl * sx) / det, o = (sll * sx - sl * slx) / det;
        if (o > 0) s = slx / sll, o = 0;
        double err = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            const double e = s * l + o - x[i];
            err += e * e;
        }
        if (err < best_err) {
            best_err = static_cast<float>(err);
            *scale = static_cast<float>(s);
            *offset = static_cast<float>(o);
        }
    }
}

// Best signed scale for x ~ scale * L with L in [-nmax, nmax - 1] (q6_K: nmax 32).
float fit_symmetric(const float* x, int n, int nmax) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
    }
    if (amax == 0) return 0;
    float best_scale = max / -static_cast<float>(nmax), best_err = INFINITY;
    for (int step = -8; step <= 8; ++step) {
        const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
        double sll = 0, slx = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            sll += l * l, slx += l * x[i];
        }
        if (sll == 0) continue;
        const double s = slx / sll;
        double err = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            err += (s * l - x[i]) * (s * l - x[i]);
        }
        if (err < best_err) best_err = static_cast<float>(err), best_scale = static_cast<float>(s);
    }
    return best_scale;
}

// Packs 6-bit scale ls and min lm of sub-block j into q4_K's 12 scale bytes (inverse of
// q4_K_scale_min): bytes 0-3 / 4-7 hold the low 6 bits of sub-blocks 0-3, bytes 8-11 the low
// 4 bits of sub-blocks 4-7, and their top 2 bits go to the spare bits 6-7 of bytes 0-7.
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

void check_k(int64_t n, const char* what) {
    if (n % QK_K != 0) fail(what, ": ", n, " elements is not a multiple of ", QK_K);
}

}  // namespace

void quantize_row_q4_K(const float* x, block_q4_K* y, int64_t n) {
    check_k(n, "quantize_row q4_K");
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float scales[8], mins[8], max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; ++j) {
            float offset;
            fit_affine(x + 32 * j, 32, 15, &scales[j], &offset);
            mins[j] = -offset;
            max_scale = std::max(max_scale, scales[j]);
            max_min = std::max(max_min, mins[j]);
        }
        const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
        const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
        std::memset(y[i].scales, 0, sizeof y[i].scales);
        for (int j = 0; j < 8; ++j) {
            const int ls = std::min(63, nearest_int(inv_scale * scales[j]));
            const int lm = std::min(63, nearest_int(inv_min * mins[j]));
            pack_scale_min(y[i].scales, j, ls, lm);
        }
        y[i].d = f32_to_f16(max_scale / 63.f);
        y[i].dmin = f32_to_f16(max_min / 63.f);
        // Re-quantize against the rounded scales actually stored.
        uint8_t levels[QK_K];
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            q4_K_scale_min(j, y[i].scales, &sc, &m);
            const float d = f16_to_f32(y[i].d) * sc, dm = f16_to_f32(y[i].dmin) * m;
            for (int l = 0; l < 32; ++l) {
                const int q = d ? nearest_int((x[32 * j + l] + dm) / d) : 0;
                levels[32 * j + l] = static_cast<uint8_t>(std::clamp(q, 0, 15));
            }
        }
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                y[i].qs[32 * c + l] = static_cast<uint8_t>(levels[64 * c + l] | levels[64 * c + 32 + l] << 4);
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

// q6_K: element l of half h (128 elements) and quarter k (0..3, 32 elements each) has its
// low nibble in ql[64h + l + 32 (k & 1)] (low nibble for k < 2, high otherwise) and its two
// high bits at bits 2k..2k+1 of qh[32h + l].
void quantize_row_q6_K(const float* x, block_q6_K* y, int64_t n) {
    check_k(n, "quantize_row q6_K");
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float scales[16], max_scale = 0, amax = 0;
        for (int j = 0; j < 16; ++j) {
            scales[j] = fit_symmetric(x + 16 * j, 16, 32);
            if (std::fabs(scales[j]) > amax) amax = std::fabs(scales[j]), max_scale = scales[j];
        }
        const float iscale = amax > 0 ? -128.f / max_scale : 0.f;
        y[i].d = f32_to_f16(amax > 0 ? 1.f / iscale : 0.f);
        uint8_t levels[QK_K];
        for (int j = 0; j < 16; ++j) {
            y[i].scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[j])));
            const float d = f16_to_f32(y[i].d) * y[i].scales[j];
            for (int l = 0; l < 16; ++l) {
                const int q = d ? nearest_int(x[16 * j + l] / d) : 0;
                levels[16 * j + l] = static_cast<uint8_t>(std::clamp(q, -32, 31) + 32);
            }
        }
        for (int h = 0; h < 2; ++h) {
            const uint8_t* L = levels + 128 * h;
            uint8_t* ql = y[i].ql + 64 * h;
            uint8_t* qh = y[i].qh + 32 * h;
            for (int l = 0; l < 32; ++l) {
                ql[l] = static_cast<uint8_t>((L[l] & 0xF) | (L[l + 64] & 0xF) << 4);
                ql[l + 32] = static_cast<uint8_t>((L[l + 32] & 0xF) | (L[l + 96] & 0xF) << 4);
                qh[l] = static_cast<uint8_t>(L[l] >> 4 | (L[l + 32] >> 4) << 2 | (L[l + 64] >> 4) << 4 |
                                             (L[l + 96] >> 4) << 6);
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
