// Scalar reference dot products, one per weight type, written after ggml's scalar
// ggml_vec_dot_* so that quantized results track llama.cpp: integer sums within a block,
// scaled by the product of the two block scales. Every SIMD kernel is tested against these.
#include <cstring>

#include "simd/kernels.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

float dot_f32(int64_t k, const void* wv, const void* xv) {
    const float *w = static_cast<const float*>(wv), *x = static_cast<const float*>(xv);
    double sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += static_cast<double>(w[i]) * x[i];
    return static_cast<float>(sum);
}

float dot_f16(int64_t k, const void* wv, const void* xv) {
    const uint16_t *w = static_cast<const uint16_t*>(wv), *x = static_cast<const uint16_t*>(xv);
    double sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += static_cast<double>(f16_to_f32(w[i])) * f16_to_f32(x[i]);
    return static_cast<float>(sum);
}

float dot_bf16(int64_t k, const void* wv, const void* xv) {
    const uint16_t *w = static_cast<const uint16_t*>(wv), *x = static_cast<const uint16_t*>(xv);
    double sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += static_cast<double>(bf16_to_f32(w[i])) * bf16_to_f32(x[i]);
    return static_cast<float>(sum);
}

float dot_q8_0(int64_t k, const void* wv, const void* xv) {
    const block_q8_0 *w = static_cast<const block_q8_0*>(wv), *x = static_cast<const block_q8_0*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK; ++j) sumi += w[i].qs[j] * x[i].qs[j];
        sum += static_cast<float>(sumi) * (f16_to_f32(w[i].d) * f16_to_f32(x[i].d));
    }
    return sum;
}

float dot_q4_0(int64_t k, const void* wv, const void* xv) {
    const block_q4_0* w = static_cast<const block_q4_0*>(wv);
    const block_q8_0* x = static_cast<const block_q8_0*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK / 2; ++j) {
            sumi += ((w[i].qs[j] & 0xF) - 8) * x[i].qs[j];
            sumi += ((w[i].qs[j] >> 4) - 8) * x[i].qs[j + 16];
        }
        sum += static_cast<float>(sumi) * (f16_to_f32(w[i].d) * f16_to_f32(x[i].d));
    }
    return sum;
}

// x = d q + m: sum x y = d dy sum(q qy) + m * (dy sum qy), the latter being q8_1's s.
float dot_q4_1(int64_t k, const void* wv, const void* xv) {
    const block_q4_1* w = static_cast<const block_q4_1*>(wv);
    const block_q8_1* x = static_cast<const block_q8_1*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK / 2; ++j) {
            sumi += (w[i].qs[j] & 0xF) * x[i].qs[j];
            sumi += (w[i].qs[j] >> 4) * x[i].qs[j + 16];
        }
        sum += static_cast<float>(sumi) * (f16_to_f32(w[i].d) * f16_to_f32(x[i].d)) +
               f16_to_f32(w[i].m) * f16_to_f32(x[i].s);
    }
    return sum;
}

float dot_q5_0(int64_t k, const void* wv, const void* xv) {
    const block_q5_0* w = static_cast<const block_q5_0*>(wv);
    const block_q8_0* x = static_cast<const block_q8_0*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK; ++i) {
        uint32_t qh;
        std::memcpy(&qh, w[i].qh, 4);
        int sumi = 0;
        for (int j = 0; j < QK / 2; ++j) {
            const int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
            sumi += (((w[i].qs[j] & 0xF) | h0) - 16) * x[i].qs[j];
            sumi += (((w[i].qs[j] >> 4) | h1) - 16) * x[i].qs[j + 16];
        }
        sum += static_cast<float>(sumi) * (f16_to_f32(w[i].d) * f16_to_f32(x[i].d));
    }
    return sum;
}

float dot_q5_1(int64_t k, const void* wv, const void* xv) {
    const block_q5_1* w = static_cast<const block_q5_1*>(wv);
    const block_q8_1* x = static_cast<const block_q8_1*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK; ++i) {
        uint32_t qh;
        std::memcpy(&qh, w[i].qh, 4);
        int sumi = 0;
        for (int j = 0; j < QK / 2; ++j) {
            const int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
            sumi += ((w[i].qs[j] & 0xF) | h0) * x[i].qs[j];
            sumi += ((w[i].qs[j] >> 4) | h1) * x[i].qs[j + 16];
        }
        sum += static_cast<float>(sumi) * (f16_to_f32(w[i].d) * f16_to_f32(x[i].d)) +
               f16_to_f32(w[i].m) * f16_to_f32(x[i].s);
    }
    return sum;
}

// q2_K and q3_K address sub-block j (16 elements) the same way: 2-bit codes at bits
// 2 ((j % 8) / 2) of qs[32 (j / 8) + 16 (j % 2) + l].
inline int two_bits(const uint8_t* qs, int j, int l) {
    return (qs[32 * (j / 8) + 16 * (j % 2) + l] >> (2 * ((j % 8) / 2))) & 3;
}

// x = d sc_j q - dmin m_j: d dy sum_j sc_j (q_j . qy_j)  -  dmin dy sum_j m_j bsums_j.
float dot_q2_K(int64_t k, const void* wv, const void* xv) {
    const block_q2_K* w = static_cast<const block_q2_K*>(wv);
    const block_q8_K* x = static_cast<const block_q8_K*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 16; ++j) {
            int dot = 0;
            for (int l = 0; l < 16; ++l) dot += two_bits(w[i].qs, j, l) * x[i].qs[16 * j + l];
            sumi += (w[i].scales[j] & 0xF) * dot;
            summ += (w[i].scales[j] >> 4) * x[i].bsums[j];
        }
        sum += f16_to_f32(w[i].d) * x[i].d * static_cast<float>(sumi) -
               f16_to_f32(w[i].dmin) * x[i].d * static_cast<float>(summ);
    }
    return sum;
}

float dot_q3_K(int64_t k, const void* wv, const void* xv) {
    const block_q3_K* w = static_cast<const block_q3_K*>(wv);
    const block_q8_K* x = static_cast<const block_q8_K*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        int sumi = 0;
        for (int j = 0; j < 16; ++j) {
            int dot = 0;
            for (int l = 0; l < 16; ++l) {
                const int e = 16 * j + l;
                const int q = two_bits(w[i].qs, j, l) - ((w[i].hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
                dot += q * x[i].qs[e];
            }
            sumi += q3_K_scale(j, w[i].scales) * dot;
        }
        sum += f16_to_f32(w[i].d) * x[i].d * static_cast<float>(sumi);
    }
    return sum;
}

// Per super-block: d dy sum_j sc_j (q_j . qy_j)  -  dmin dy sum_j m_j (sum of qy_j), the
// latter from q8_K's bsums (two 16-sums per 32-element sub-block).
float dot_q4_K(int64_t k, const void* wv, const void* xv) {
    const block_q4_K* w = static_cast<const block_q4_K*>(wv);
    const block_q8_K* x = static_cast<const block_q8_K*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            q4_K_scale_min(j, w[i].scales, &sc, &m);
            const uint8_t* q = w[i].qs + 32 * (j / 2);
            const int8_t* qy = x[i].qs + 32 * j;
            const int shift = 4 * (j % 2);
            int dot = 0;
            for (int l = 0; l < 32; ++l) dot += ((q[l] >> shift) & 0xF) * qy[l];
            sumi += sc * dot;
            summ += m * (x[i].bsums[2 * j] + x[i].bsums[2 * j + 1]);
        }
        sum += f16_to_f32(w[i].d) * x[i].d * static_cast<float>(sumi) -
               f16_to_f32(w[i].dmin) * x[i].d * static_cast<float>(summ);
    }
    return sum;
}

// As q4_K with the fifth bit of element 32j + l at bit j of qh[l].
float dot_q5_K(int64_t k, const void* wv, const void* xv) {
    const block_q5_K* w = static_cast<const block_q5_K*>(wv);
    const block_q8_K* x = static_cast<const block_q8_K*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            q4_K_scale_min(j, w[i].scales, &sc, &m);
            const uint8_t* q = w[i].qs + 32 * (j / 2);
            const int8_t* qy = x[i].qs + 32 * j;
            const int shift = 4 * (j % 2);
            int dot = 0;
            for (int l = 0; l < 32; ++l) dot += (((q[l] >> shift) & 0xF) | ((w[i].qh[l] >> j) & 1) << 4) * qy[l];
            sumi += sc * dot;
            summ += m * (x[i].bsums[2 * j] + x[i].bsums[2 * j + 1]);
        }
        sum += f16_to_f32(w[i].d) * x[i].d * static_cast<float>(sumi) -
               f16_to_f32(w[i].dmin) * x[i].d * static_cast<float>(summ);
    }
    return sum;
}

float dot_q6_K(int64_t k, const void* wv, const void* xv) {
    const block_q6_K* w = static_cast<const block_q6_K*>(wv);
    const block_q8_K* x = static_cast<const block_q8_K*>(xv);
    float sum = 0;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        int sumi = 0;
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = w[i].ql + 64 * h;
            const uint8_t* qh = w[i].qh + 32 * h;
            const int8_t* qy = x[i].qs + 128 * h;
            const int8_t* sc = w[i].scales + 8 * h;
            for (int quarter = 0; quarter < 4; ++quarter) {
                const uint8_t* low = ql + 32 * (quarter & 1);
                const int shift = 4 * (quarter >> 1);
                for (int half = 0; half < 2; ++half) {
                    int dot = 0;
                    for (int l = 16 * half; l < 16 * half + 16; ++l) {
                        const int q = (((low[l] >> shift) & 0xF) | ((qh[l] >> (2 * quarter)) & 3) << 4) - 32;
                        dot += q * qy[32 * quarter + l];
                    }
                    sumi += sc[2 * quarter + half] * dot;
                }
            }
        }
        sum += f16_to_f32(w[i].d) * x[i].d * static_cast<float>(sumi);
    }
    return sum;
}

using DotFn = float (*)(int64_t k, const void* w, const void* x);

template <DotFn dot>
void tile(int64_t k, const void* w, size_t w_stride, int nr, const void* x, size_t x_stride, int nc, float* y,
          int64_t ldy) {
    const uint8_t* wb = static_cast<const uint8_t*>(w);
    const uint8_t* xb = static_cast<const uint8_t*>(x);
    for (int c = 0; c < nc; ++c)
        for (int r = 0; r < nr; ++r) y[c * ldy + r] = dot(k, wb + r * w_stride, xb + c * x_stride);
}

}  // namespace

TileFn scalar_tile(DType weight) {
    switch (weight) {
        case DType::F32: return tile<dot_f32>;
        case DType::F16: return tile<dot_f16>;
        case DType::BF16: return tile<dot_bf16>;
        case DType::Q8_0: return tile<dot_q8_0>;
        case DType::Q4_0: return tile<dot_q4_0>;
        case DType::Q4_1: return tile<dot_q4_1>;
        case DType::Q5_0: return tile<dot_q5_0>;
        case DType::Q5_1: return tile<dot_q5_1>;
        case DType::Q2_K: return tile<dot_q2_K>;
        case DType::Q3_K: return tile<dot_q3_K>;
        case DType::Q4_K: return tile<dot_q4_K>;
        case DType::Q5_K: return tile<dot_q5_K>;
        case DType::Q6_K: return tile<dot_q6_K>;
        default: return nullptr;
    }
}

}  // namespace lm::simd
